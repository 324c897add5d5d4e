"""tools/evaluate.py end to end: the real DAVIS sample, small trees in the official
SegTrackv2, YouTube-Objects and DAVIS-2016 layouts with values known by hand, hotspot
scoring, bad input, and the mask I/O it is built on."""
import importlib.util
import json
import math
import pathlib
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

import tracking_testing
import train_testing
from input_pipeline import synthetic
from wcs_jax import inference
from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def evaluate():
  spec = importlib.util.spec_from_file_location("evaluate_tool", REPO / "tools" / "evaluate.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def run(evaluate, *argv):
  """Runs the tool; returns the JSON it wrote."""
  argv = [str(a) for a in argv]
  evaluate.main(argv)
  return json.loads(pathlib.Path(argv[argv.index("--output") + 1]).read_text())


def error_of(evaluate, *argv) -> str:
  with pytest.raises(SystemExit) as raised:
    evaluate.main([str(a) for a in argv])
  return str(raised.value)


def box(shape, top, left, height, width):
  mask = np.zeros(shape, np.uint8)
  mask[top:top + height, left:left + width] = 1
  return mask


def write_grey(path, mask):
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  cv2.imwrite(str(path), (mask > 0).astype(np.uint8) * 255)


def write_frame(path, shape):
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  cv2.imwrite(str(path), np.full(shape + (3,), 128, np.uint8))


SHAPE = (24, 32)
OBJECT = box(SHAPE, 6, 8, 8, 12)           # 96 pixels
LEFT_HALF = box(SHAPE, 6, 8, 8, 6)         # its left half: J = 48 / 96


# ---------------------------------------------------------------- real data

def test_davis_osvos_blackswan(evaluate, shared_data, tmp_path, capsys):
  output = tmp_path / "eval" / "osvos.json"
  report = run(evaluate, "--dataset", "davis2016", "--data-dir", shared_data / "davis2016",
               "--results-dir", shared_data / "davis2016_osvos", "--sequences", "blackswan",
               "--output", output)
  assert set(report) == {"J", "F", "JF_mean", "sequences"}
  assert set(report["J"]) == set(report["F"]) == {"mean", "recall", "decay"}
  assert set(report["sequences"]) == {"blackswan"}
  assert set(report["sequences"]["blackswan"]) == {"J", "F"}
  # The official DAVIS code's values (see test_metrics_segmentation.py for provenance).
  assert report["J"]["mean"] == pytest.approx(0.9430200107249278, abs=1e-12)
  assert report["F"]["mean"] == pytest.approx(0.9740964785153858, abs=1e-12)
  assert report["JF_mean"] == pytest.approx((0.9430200107249278 + 0.9740964785153858) / 2)
  table = capsys.readouterr().out
  assert "Tab. 1" in table and "94.3" in table and "97.4" in table and "95.9" in table
  rows = (tmp_path / "eval" / "osvos.csv").read_text().splitlines()
  assert rows[0].startswith("level,name,category,J_mean") and len(rows) == 3
  assert rows[1].startswith("sequence,blackswan,,0.94302")
  with Image.open(tmp_path / "eval" / "osvos.png") as plot:
    assert plot.format == "PNG"


# ---------------------------------------------------------------- layouts, values by hand

def make_davis_pairs_layout(root, predictions):
  """DAVIS-2016 release layout with ImageSets/480p/val.txt frame pairs; 5 frames each."""
  lines = []
  for name in ("alpha", "beta"):
    for index in range(5):
      write_frame(root / f"JPEGImages/480p/{name}/{index:05d}.jpg", SHAPE)
      write_grey(root / f"Annotations/480p/{name}/{index:05d}.png", OBJECT)
      lines.append(f"/JPEGImages/480p/{name}/{index:05d}.jpg "
                   f"/Annotations/480p/{name}/{index:05d}.png")
      if 1 <= index <= 3:   # first and last frame are not scored: no prediction needed
        mask = OBJECT if name == "alpha" else np.zeros(SHAPE, np.uint8)
        mask_io.write_palette_png(predictions / name / f"{index:05d}.png", mask)
  (root / "ImageSets/480p").mkdir(parents=True)
  (root / "ImageSets/480p/val.txt").write_text("\n".join(lines) + "\n")


def test_davis_frame_pair_split_file(evaluate, tmp_path):
  make_davis_pairs_layout(tmp_path / "DAVIS", tmp_path / "pred")
  report = run(evaluate, "--dataset", "davis2016", "--data-dir", tmp_path / "DAVIS",
               "--results-dir", tmp_path / "pred", "--output", tmp_path / "out.json")
  # alpha: exact (J = F = 1); beta: nothing predicted (J = 0, F = 0 with P = 1, R = 0).
  assert report["sequences"]["alpha"]["J"] == {"mean": 1.0, "recall": 1.0, "decay": 0.0}
  assert report["sequences"]["beta"]["F"] == {"mean": 0.0, "recall": 0.0, "decay": 0.0}
  assert report["J"]["mean"] == 0.5 and report["F"]["mean"] == 0.5 and report["JF_mean"] == 0.5


def test_segtrackv2_objects_are_merged(evaluate, tmp_path, capsys):
  root, predictions = tmp_path / "SegTrackv2", tmp_path / "pred"
  second = box(SHAPE, 16, 2, 4, 4)
  for index in range(3):
    stem = f"frog_{index:05d}"
    write_frame(root / f"JPEGImages/frog/{stem}.bmp", SHAPE)
    write_grey(root / f"GroundTruth/frog/{stem}.png", OBJECT)
    mask_io.write_palette_png(predictions / "frog" / f"{stem}.png", LEFT_HALF)
    stem = f"penguin_{index:05d}"
    write_frame(root / f"JPEGImages/penguin/{stem}.png", SHAPE)
    write_grey(root / f"GroundTruth/penguin/1/{stem}.png", OBJECT)
    write_grey(root / f"GroundTruth/penguin/2/{stem}.png", second)
    # Two object ids; every id counts as foreground, as the ground truth's union.
    mask_io.write_palette_png(predictions / "penguin" / f"{stem}.png", OBJECT + 2 * second)
  report = run(evaluate, "--dataset", "segtrackv2", "--data-dir", root,
               "--results-dir", predictions, "--output", tmp_path / "out.json")
  assert report["sequences"]["frog"]["J"]["mean"] == pytest.approx(0.5)
  assert report["sequences"]["penguin"]["J"]["mean"] == 1.0
  assert report["J"]["mean"] == pytest.approx(0.75)
  assert "Tab. 2" in capsys.readouterr().out


def test_youtube_objects_mean_over_categories(evaluate, tmp_path, capsys):
  root, predictions = tmp_path / "youtube_masks", tmp_path / "pred"
  shots = {("aeroplane", "0001", "001"): OBJECT, ("aeroplane", "0002", "001"): np.zeros(SHAPE, np.uint8),
           ("cat", "0001", "003"): OBJECT}
  for (category, video, shot), predicted in shots.items():
    shot_dir = root / category / "data" / video / "shots" / shot
    for number in (1, 11, 21):   # every 10th frame annotated, JPEG ground truth
      write_grey(shot_dir / "labels" / f"{number:05d}.jpg", OBJECT)
      mask_io.write_palette_png(predictions / f"{category}_{video}_{shot}" / f"frame{number:04d}.png",
                                predicted)
  report = run(evaluate, "--dataset", "youtube_objects", "--data-dir", root,
               "--results-dir", predictions, "--output", tmp_path / "out.json")
  assert set(report["sequences"]) == {"aeroplane_0001_001", "aeroplane_0002_001", "cat_0001_003"}
  # aeroplane: (1 + 0) / 2; cat: 1; mean over categories 0.75 (not 2/3 over sequences).
  assert report["categories"]["aeroplane"]["J"]["mean"] == pytest.approx(0.5)
  assert report["categories"]["cat"]["J"]["mean"] == pytest.approx(1.0)
  assert report["J"]["mean"] == pytest.approx(0.75)
  table = capsys.readouterr().out
  assert "Tab. 3" in table and "aeroplane" in table
  csv_rows = (tmp_path / "out.csv").read_text().splitlines()
  assert any(row.startswith("category,aeroplane,aeroplane,0.5") for row in csv_rows)


def test_hotspot_by_hand(evaluate, tmp_path, capsys):
  gt, predictions = tmp_path / "GT", tmp_path / "pred"
  two_by_two = lambda values: np.asarray(values, float).reshape(2, 2)  # noqa: E731
  # Sequence a: prediction [3, 1, 0, 0] (as 8-bit 255, 85, 0, 0), ground truth
  # [1, 1, 0, 0], one fixation on the first pixel (values worked out in
  # test_metrics_saliency.py).
  map_io.write_map(predictions / "a/00000.png", two_by_two([1, 1 / 3, 0, 0]))
  map_io.write_map(gt / "maps/a/00000.png", two_by_two([1, 1, 0, 0]))
  map_io.write_map(gt / "fixations/a/00000.png", two_by_two([1, 0, 0, 0]))
  # Sequence b: a perfect prediction: KLD 0, CC 1, SIM 1; NSS: map [1, 1, 0, 0] has
  # mean .5 and sample std sqrt(1 / 3): (1 - .5) / sqrt(1 / 3) = sqrt(3) / 2.
  map_io.write_map(predictions / "b/00000.png", two_by_two([1, 1, 0, 0]))
  map_io.write_map(gt / "maps/b/00000.png", two_by_two([1, 1, 0, 0]))
  map_io.write_map(gt / "fixations/b/00000.png", two_by_two([1, 0, 0, 0]))
  report = run(evaluate, "--task", "hotspot", "--data-dir", gt, "--results-dir", predictions,
               "--output", tmp_path / "hot.json")
  assert set(report) == {"KLD", "NSS", "CC", "SIM"}
  # Maps are read as float32: 85 / 255 is 1/3 to 3e-8.
  assert report["KLD"] == pytest.approx(0.5 * math.log(4 / 3) / 2, abs=1e-7)
  assert report["NSS"] == pytest.approx((math.sqrt(2) + math.sqrt(3) / 2) / 2)
  assert report["CC"] == pytest.approx((2 / math.sqrt(6) + 1) / 2)
  assert report["SIM"] == pytest.approx((0.75 + 1) / 2)
  assert "Tab. 5" in capsys.readouterr().out
  assert (tmp_path / "hot.csv").read_text().splitlines()[1].startswith("sequence,a,")
  assert (tmp_path / "hot.png").is_file()
  map_io.write_map(predictions / "a/00000.png", np.zeros((3, 3)))  # hotspot map of the wrong size
  message = error_of(evaluate, "--task", "hotspot", "--data-dir", gt, "--results-dir", predictions,
                     "--output", tmp_path / "hot.json")
  assert message == (f"evaluate.py: error: {predictions / 'a/00000.png'}: prediction is 3x3 (WxH) but "
                     f"{gt / 'maps/a/00000.png'} is 2x2"), message
  map_io.write_map(predictions / "a/00000.png", two_by_two([1, 1 / 3, 0, 0]))
  (gt / "fixations/b/00000.png").unlink()
  assert str(gt / "fixations/b/00000.png") in error_of(
      evaluate, "--task", "hotspot", "--data-dir", gt, "--results-dir", predictions,
      "--output", tmp_path / "hot.json")
  # A ground-truth map without a prediction is an error, not a smaller benchmark.
  map_io.write_map(gt / "fixations/b/00000.png", two_by_two([1, 0, 0, 0]))
  (predictions / "b/00000.png").unlink()
  message = error_of(evaluate, "--task", "hotspot", "--data-dir", gt, "--results-dir", predictions,
                     "--output", tmp_path / "hot2.json")
  assert message == (f"evaluate.py: error: missing prediction {predictions / 'b/00000.png'} (1 of 2 "
                     f"ground-truth maps under {gt / 'maps'} have none; every map is scored)"), message
  assert not (tmp_path / "hot2.json").exists()


# ---------------------------------------------------------------- bad input

@pytest.fixture()
def davis_tree(tmp_path):
  make_davis_pairs_layout(tmp_path / "DAVIS", tmp_path / "pred")
  return tmp_path / "DAVIS", tmp_path / "pred"


def davis_args(root, predictions, tmp_path):
  return ("--dataset", "davis2016", "--data-dir", root, "--results-dir", predictions,
          "--output", tmp_path / "out.json")


def test_missing_frame_names_the_file(evaluate, davis_tree, tmp_path):
  root, predictions = davis_tree
  (predictions / "beta/00002.png").unlink()
  message = error_of(evaluate, *davis_args(root, predictions, tmp_path))
  assert "missing prediction" in message and str(predictions / "beta/00002.png") in message


def test_flags_are_checked_before_anything_is_written(evaluate, davis_tree, tmp_path, capsys):
  root, predictions = davis_tree
  assert error_of(evaluate, "--data-dir", root, "--results-dir", predictions, "--output", tmp_path / "o.json") == "2"
  assert "error: --dataset is required for --task segmentation" in capsys.readouterr().err
  assert error_of(evaluate, "--dataset", "davis2016", "--data-dir", root, "--results-dir", predictions,
                  "--output", tmp_path / "o.txt") == "2"
  assert f"error: --output: expected a .json file name, got {tmp_path / 'o.txt'}" in \
      capsys.readouterr().err
  message = error_of(evaluate, *davis_args(root, predictions, tmp_path), "--sequences", "gamma")
  assert message == f"evaluate.py: error: davis2016 at {root} has no sequence(s) ['gamma']", message
  assert not (tmp_path / "out.json").exists()


def test_missing_sequence_folder_names_it(evaluate, davis_tree, tmp_path):
  root, predictions = davis_tree
  for path in (predictions / "beta").iterdir():
    path.unlink()
  (predictions / "beta").rmdir()
  assert str(predictions / "beta") in error_of(evaluate, *davis_args(root, predictions, tmp_path))


def test_size_mismatch_names_the_file(evaluate, davis_tree, tmp_path):
  root, predictions = davis_tree
  mask_io.write_palette_png(predictions / "alpha/00001.png", np.zeros((12, 16), np.uint8))
  message = error_of(evaluate, *davis_args(root, predictions, tmp_path))
  assert str(predictions / "alpha/00001.png") in message and "16x12" in message
  assert "32x24" in message
  # --resize-predictions scales it instead (an empty mask: alpha frame 1 scores 0).
  report = run(evaluate, *davis_args(root, predictions, tmp_path), "--resize-predictions")
  assert report["sequences"]["alpha"]["J"]["mean"] == pytest.approx(2 / 3)


def test_wrong_layout_names_the_folder(evaluate, tmp_path):
  (tmp_path / "DAVIS/ImageSets/2016").mkdir(parents=True)
  (tmp_path / "DAVIS/ImageSets/2016/val.txt").write_text("bear\n")
  (tmp_path / "pred").mkdir()
  message = error_of(evaluate, *davis_args(tmp_path / "DAVIS", tmp_path / "pred", tmp_path))
  assert str(tmp_path / "DAVIS/Annotations/480p/bear") in message
  (tmp_path / "empty").mkdir()
  message = error_of(evaluate, "--dataset", "segtrackv2", "--data-dir", tmp_path / "empty",
                     "--results-dir", tmp_path / "pred", "--output", tmp_path / "out.json")
  assert str(tmp_path / "empty/GroundTruth") in message
  message = error_of(evaluate, "--dataset", "youtube_objects", "--data-dir", tmp_path / "empty",
                     "--results-dir", tmp_path / "pred", "--output", tmp_path / "out.json")
  assert "labels" in message and str(tmp_path / "empty") in message


def test_colour_prediction_is_refused_with_its_name(evaluate, davis_tree, tmp_path):
  root, predictions = davis_tree
  colour = np.zeros(SHAPE + (3,), np.uint8)
  colour[..., 0] = 200
  Image.fromarray(colour).save(predictions / "alpha/00002.png")
  message = error_of(evaluate, *davis_args(root, predictions, tmp_path))
  assert str(predictions / "alpha/00002.png") in message and "colour" in message


def test_workdir_tracks_then_scores(evaluate, davis_tree, tmp_path, monkeypatch, capsys):
  """The --workdir path with a stand-in tracker of known output: exact scores."""
  root, _ = davis_tree
  seen = {}

  class StandInTracker:
    """Predicts the object on even frames, nothing on odd ones."""

    @classmethod
    def from_workdir(cls, workdir):
      seen["workdir"] = workdir
      return cls()

    def track(self, frames, init="auto", **prompts):
      seen["init"] = init
      for index, frame in enumerate(frames):
        assert frame.shape == SHAPE + (3,) and frame.dtype == np.uint8
        yield inference.FrameResult(
            index=index, frame=frame, mask=OBJECT if index % 2 == 0 else OBJECT * 0,
            hotspot=np.zeros(SHAPE, np.float32), objects=[], network_seconds=0.0,
            crop_paste_seconds=0.0, prompts=[])

  monkeypatch.setattr(inference, "Tracker", StandInTracker)
  report = run(evaluate, "--dataset", "davis2016", "--data-dir", root, "--workdir",
               tmp_path / "run", "--output", tmp_path / "out.json")
  assert seen == {"workdir": tmp_path / "run", "init": "auto"}
  # Scored frames 1, 2, 3: J = 0, 1, 0 in both sequences.
  assert report["J"]["mean"] == pytest.approx(1 / 3)
  assert report["seconds_per_frame"] >= 0
  assert sorted(p.name for p in (tmp_path / "out.tracks/alpha").iterdir()) == [
      f"{i:05d}.png" for i in range(5)]
  assert "s per frame" in capsys.readouterr().out


@pytest.mark.parametrize("init, prompt", [
    ("mask", None),
    ("click", {"clicks": [(13.0, 9.0)]}),  # the 8x12 box's centre-most pixel at distance 4
    ("box", {"boxes": [(8.0, 6.0, 20.0, 14.0)]}),  # rows 6..13, columns 8..19, edge coordinates
])
def test_workdir_init_from_the_first_ground_truth(evaluate, davis_tree, tmp_path, monkeypatch, init, prompt):
  root, _ = davis_tree
  seen = []

  class StandInTracker:

    @classmethod
    def from_workdir(cls, workdir):
      return cls()

    def track(self, frames, init="auto", **prompts):
      seen.append((init, {k: v for k, v in prompts.items() if k in ("clicks", "boxes", "mask") and v is not None}))
      for index, frame in enumerate(frames):
        yield inference.FrameResult(index=index, frame=frame, mask=OBJECT, hotspot=np.zeros(SHAPE, np.float32),
                                    objects=[], network_seconds=0.0, crop_paste_seconds=0.0,
                                    prompts=[])

  monkeypatch.setattr(inference, "Tracker", StandInTracker)
  report = run(evaluate, "--dataset", "davis2016", "--data-dir", root, "--workdir", tmp_path / "run",
               "--init", init, "--output", tmp_path / "out.json")
  assert report["init"] == init and len(seen) == 2
  for got_init, prompts in seen:
    assert got_init == init
    if init == "mask":
      assert set(prompts) == {"mask"} and np.array_equal(prompts["mask"], OBJECT.astype(bool))
    else:
      assert prompts == prompt
  assert report["J"]["mean"] == 1.0


def test_init_needs_workdir_and_ground_truth(evaluate, davis_tree, tmp_path, capsys):
  root, predictions = davis_tree
  assert error_of(evaluate, *davis_args(root, predictions, tmp_path), "--init", "mask") == "2"
  assert "--init applies to --workdir (tracking) only" in capsys.readouterr().err
  write_grey(root / "Annotations/480p/alpha/00000.png", np.zeros(SHAPE, np.uint8))
  message = error_of(evaluate, "--dataset", "davis2016", "--data-dir", root, "--workdir", tmp_path / "run",
                     "--init", "click", "--output", tmp_path / "out.json")
  assert "first frame of sequence alpha" in message and "is empty" in message


def test_hold_first_mask_baseline_on_the_real_val_sequences(evaluate, shared_data, tmp_path):
  """The baseline a tracker must beat (issue 17: J mean 35.3, F 26.1 on the four real val
  sequences), equal to scoring a folder where every frame holds a copy of the first
  ground-truth mask."""
  root = shared_data / "davis2016_trainval"
  still = run(evaluate, "--dataset", "davis2016", "--data-dir", root, "--hold-first-mask",
              "--output", tmp_path / "still.json")
  assert round(100 * still["J"]["mean"], 1) == 35.3 and round(100 * still["F"]["mean"], 1) == 26.1
  copies = tmp_path / "copies"
  for name in ("blackswan", "car-shadow"):
    annotations = sorted((root / "Annotations/480p" / name).glob("*.png"))
    (copies / name).mkdir(parents=True)
    for frame in sorted((root / "JPEGImages/480p" / name).glob("*.jpg")):
      shutil.copy(annotations[0], copies / name / f"{frame.stem}.png")
  copied = run(evaluate, "--dataset", "davis2016", "--data-dir", root, "--results-dir", copies,
               "--sequences", "blackswan", "car-shadow", "--output", tmp_path / "copies.json")
  for name in ("blackswan", "car-shadow"):
    assert copied["sequences"][name] == still["sequences"][name]
  assert 0.3 < still["sequences"]["blackswan"]["J"]["mean"] < 0.7  # the swan swims out of its first mask


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """A stage-2 workdir of random weights (`tracking_testing`), compiled cheaply."""
  path = tracking_testing.write_random_workdir(tmp_path_factory.mktemp("run"))
  with train_testing.fast_compiles():
    yield path


def test_workdir_runs_the_real_tracker(evaluate, tiny_run, tmp_path, capsys):
  """The real tracker (random weights, automatic initialisation) on a synthetic
  DAVIS-2016 tree: every frame gets a mask of the frame's size, the contract JSON has
  the time per frame, and its scores are those of the written masks."""
  root = synthetic.write("davis2016", tmp_path / "DAVIS", 3, size=(64, 48), num_frames=4)
  names = sorted({line.split("/")[3] for line in
                  (root / "ImageSets/480p/train.txt").read_text().split()})
  assert len(names) == 2
  output = tmp_path / "eval/out.json"
  report = run(evaluate, "--dataset", "davis2016", "--data-dir", root, "--split", "train",
               "--workdir", tiny_run, "--output", output)
  assert "s per frame" in capsys.readouterr().out
  assert sorted(report["sequences"]) == names
  assert 0 < report["seconds_per_frame"] < 60
  for measure in ("J", "F"):
    assert set(report[measure]) == {"mean", "recall", "decay"}
    assert 0 <= report[measure]["mean"] <= 1 and 0 <= report[measure]["recall"] <= 1
  assert report["JF_mean"] == pytest.approx((report["J"]["mean"] + report["F"]["mean"]) / 2)
  for name in names:
    written = sorted((tmp_path / "eval/out.tracks" / name).iterdir())
    assert [p.name for p in written] == [f"{i:05d}.png" for i in range(4)]
    for path in written:
      labels = mask_io.read_label_map(path)
      assert labels.shape == (48, 64) and set(np.unique(labels)) <= {0, 1}
  rescored = run(evaluate, "--dataset", "davis2016", "--data-dir", root, "--split", "train",
                 "--results-dir", tmp_path / "eval/out.tracks", "--output", tmp_path / "re.json")
  assert rescored["J"] == report["J"] and rescored["F"] == report["F"]
  assert (tmp_path / "eval/out.csv").exists() and (tmp_path / "eval/out.png").exists()


def test_crf_without_pydensecrf_is_a_clear_error(evaluate, davis_tree, tmp_path):
  if importlib.util.find_spec("pydensecrf") is not None:
    pytest.skip("pydensecrf is installed")
  root, predictions = davis_tree
  message = error_of(evaluate, *davis_args(root, predictions, tmp_path), "--crf")
  assert "pydensecrf" in message and "pip install" in message


# ---------------------------------------------------------------- mask I/O

def test_palette_round_trip_with_the_davis_palette(tmp_path):
  ids = np.zeros((5, 7), np.uint8)
  ids[1:3, 2:4], ids[4, 6] = 1, 2
  mask_io.write_palette_png(tmp_path / "sub/00000.png", ids)
  with Image.open(tmp_path / "sub/00000.png") as image:
    assert image.mode == "P"
    assert image.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]   # black, red, green
  np.testing.assert_array_equal(mask_io.read_label_map(tmp_path / "sub/00000.png"), ids)
  assert mask_io.read_binary_mask(tmp_path / "sub/00000.png").sum() == 5
  with pytest.raises(ValueError, match="0..255"):
    mask_io.write_palette_png(tmp_path / "x.png", np.full((2, 2), 300))


def test_greyscale_encodings(tmp_path):
  cv2.imwrite(str(tmp_path / "binary.png"), OBJECT * 255)
  cv2.imwrite(str(tmp_path / "ids.png"), OBJECT * 2)
  cv2.imwrite(str(tmp_path / "lossy.jpg"), OBJECT * 255)
  np.testing.assert_array_equal(mask_io.read_label_map(tmp_path / "binary.png"), OBJECT)
  np.testing.assert_array_equal(mask_io.read_label_map(tmp_path / "ids.png"), OBJECT * 2)
  np.testing.assert_array_equal(mask_io.read_binary_mask(tmp_path / "lossy.jpg"), OBJECT > 0)
  with pytest.raises(mask_io.MaskFormatError, match="lossy.jpg"):
    mask_io.read_label_map(tmp_path / "lossy.jpg")
  with pytest.raises(FileNotFoundError, match="nothing.png"):
    mask_io.read_binary_mask(tmp_path / "nothing.png")
  (tmp_path / "text.png").write_text("not an image")
  with pytest.raises(mask_io.MaskFormatError, match="text.png"):
    mask_io.read_binary_mask(tmp_path / "text.png")


def test_first_frame_links_cli(tiny_run, tmp_path, capsys):
  """`python -m wcs_jax.evaluation.first_frame`: every link scored on each first frame
  (random weights: any IoU, but in [0, 1] and the same as the per-frame table), EG-Net's
  NSS/CC on the SALICON layout, the JSON written; a first frame without ground truth is
  named before the run loads."""
  from wcs_jax.evaluation import first_frame as first_frame_evaluation
  root = synthetic.write("davis2016", tmp_path / "DAVIS", 4, size=(64, 48), num_frames=1)
  salicon = synthetic.write("salicon", tmp_path / "SALICON", 4, size=(64, 48))
  output = tmp_path / "out/first_frame.json"
  first_frame_evaluation.main(["--workdir", str(tiny_run), "--data-dir", str(root), "--split", "train",
                               "--salicon-dir", str(salicon), "--output", str(output)])
  assert "EG-Net gaze on 1 SALICON images" in capsys.readouterr().out
  report = json.loads(output.read_text())
  assert report["frames"] == 3 and report["gaze"]["images"] == 1
  for mode in first_frame_evaluation.MODES:
    ious = [row[mode] for row in report["per_frame"].values()]
    assert all(0 <= v <= 1 for v in ious) and report[mode]["mean"] == pytest.approx(np.mean(ious))
  first = sorted((root / "Annotations/480p").iterdir())[0]
  for png in first.iterdir():
    png.unlink()
  with pytest.raises((ValueError, FileNotFoundError), match=first.name):
    first_frame_evaluation.main(["--workdir", str(tmp_path / "no-run"), "--data-dir", str(root),
                                 "--split", "train"])
