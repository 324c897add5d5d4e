"""TFDS builders: every dataset on synthetic data in its layout, SALICON and DAVIS on the
real samples in ../shared/data, bad downloads, and mask encodings."""
import json
import pathlib
import shutil

import numpy as np
import pytest
import scipy.io
import scipy.ndimage
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from input_pipeline import build as build_lib
from input_pipeline import synthetic
from input_pipeline.datasets import reading

tf.config.set_visible_devices([], "GPU")

SIZE = (64, 48)  # (W, H)
FRAMES = {"davis2016": 12, "segtrackv2": 12, "youtube_objects": 21}
NUM = 5


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> pathlib.Path:
  root = tmp_path_factory.mktemp("synthetic")
  for layout in synthetic.LAYOUTS:
    synthetic.write(layout, root / layout, num=NUM, seed=4, size=SIZE,
                    num_frames=FRAMES.get(layout))
  return root


def _load(name, data_dir, split, skip=()):
  builder = tfds.builder(name, data_dir=str(data_dir))
  decoders = {key: tfds.decode.SkipDecoding() for key in skip}
  return list(tfds.as_numpy(builder.as_dataset(split, decoders=decoders or None,
                                               shuffle_files=False)))


def _split_counts(name, data_dir):
  builder = tfds.builder(name, data_dir=str(data_dir))
  return {split: info.num_examples for split, info in builder.info.splits.items()}


def _png_grey(path) -> np.ndarray:
  return np.asarray(Image.open(path))


# ----------------------------------------------------------------------------------
# Synthetic data, one test per layout.


def test_salicon_synthetic_2017_layout(synthetic_root, tmp_path):
  manual = synthetic_root / "salicon"
  build_lib.build("salicon", manual, tmp_path)
  assert _split_counts("salicon", tmp_path) == {"train": 4, "validation": 1}
  examples = _load("salicon", tmp_path, "train", skip=("image",))
  assert sorted(e["image_id"].decode() for e in examples) == [
      f"COCO_train2014_{i:012d}" for i in range(4)]
  for example in examples:
    image_id = example["image_id"].decode()
    assert example["image"] == (manual / "images" / "train" / f"{image_id}.jpg").read_bytes()
    assert example["gaze"].shape == (48, 64, 1) and example["gaze"].dtype == np.uint8
    assert example["gaze"].max() == 255
    np.testing.assert_array_equal(example["gaze"][..., 0],
                                  _png_grey(manual / "maps" / "train" / f"{image_id}.png"))
    gaze = scipy.io.loadmat(manual / "fixations" / "train" / f"{image_id}.mat")["gaze"]
    points = np.concatenate([w["fixations"] for w in gaze.flatten()]).astype(int) - 1
    expected = np.zeros((48, 64), np.uint8)
    expected[points[:, 1], points[:, 0]] = 1
    np.testing.assert_array_equal(example["fixations"][..., 0], expected)


def test_salicon_without_maps_derives_the_same_gaze(synthetic_root, tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(synthetic_root / "salicon", manual, ignore=shutil.ignore_patterns("maps"))
  build_lib.build("salicon", manual, tmp_path / "data")
  for example in _load("salicon", tmp_path / "data", "validation"):
    stored = _png_grey(synthetic_root / "salicon" / "maps" / "val" /
                       f"{example['image_id'].decode()}.png")
    np.testing.assert_array_equal(example["gaze"][..., 0], stored)


def test_duts_synthetic(synthetic_root, tmp_path):
  manual = synthetic_root / "duts"
  build_lib.build("duts", manual, tmp_path)
  assert _split_counts("duts", tmp_path) == {"train": 4, "test": 1}
  for split, folder in (("train", "DUTS-TR"), ("test", "DUTS-TE")):
    for example in _load("duts", tmp_path, split):
      image_id = example["image_id"].decode()
      assert example["image"].shape == (48, 64, 3) and example["image"].dtype == np.uint8
      mask = _png_grey(manual / folder / f"{folder}-Mask" / f"{image_id}.png")
      np.testing.assert_array_equal(example["mask"][..., 0], (mask >= 128).astype(np.uint8))
      assert 0 < example["mask"].sum() < 48 * 64


def test_sbd_synthetic(synthetic_root, tmp_path):
  dataset = synthetic_root / "sbd" / "benchmark_RELEASE" / "dataset"
  build_lib.build("sbd", synthetic_root / "sbd", tmp_path)
  assert _split_counts("sbd", tmp_path) == {"train": 4, "validation": 1}
  builder = tfds.builder("sbd", data_dir=str(tmp_path))
  assert builder.info.features["labels"].feature.names[14] == "person"
  for example in _load("sbd", tmp_path, "train") + _load("sbd", tmp_path, "validation"):
    gtinst = scipy.io.loadmat(dataset / "inst" / f"{example['image_id'].decode()}.mat")["GTinst"][0, 0]
    np.testing.assert_array_equal(example["instances"][..., 0], gtinst["Segmentation"])
    np.testing.assert_array_equal(example["labels"], gtinst["Categories"][:, 0] - 1)
    assert example["instances"].max() == len(example["labels"])


def _check_video(example, manual_frames, num_frames, height=48, width=64):
  """Common checks of a video example whose frames are `manual_frames` (files)."""
  assert example["frames"].shape == (num_frames,) or len(example["frames"]) == num_frames
  assert len(example["masks"]) == len(example["has_mask"]) == num_frames
  assert [n.decode() for n in example["frame_names"]] == [p.stem for p in manual_frames]
  for data, path in zip(example["frames"], manual_frames):
    if path.suffix in (".jpg", ".png"):
      assert data == path.read_bytes()  # Stored as downloaded.
    else:
      decoded = tf.io.decode_image(data, channels=3).numpy()
      np.testing.assert_array_equal(decoded, np.asarray(Image.open(path).convert("RGB")))
  masks = np.stack([tf.io.decode_image(m, channels=1).numpy() for m in example["masks"]])
  assert masks.shape == (num_frames, height, width, 1)
  assert set(np.unique(masks)) <= {0, 1}
  return masks[..., 0]


def test_davis2016_synthetic(synthetic_root, tmp_path):
  manual = synthetic_root / "davis2016"
  build_lib.build("davis2016", manual, tmp_path)
  assert _split_counts("davis2016", tmp_path) == {"train": 4, "validation": 1}
  examples = _load("davis2016", tmp_path, "train", skip=("frames", "masks"))
  assert sorted(e["sequence"].decode() for e in examples) == [f"blob-{i:03d}" for i in range(4)]
  for example in examples:
    name = example["sequence"].decode()
    frames = sorted((manual / "JPEGImages" / "480p" / name).iterdir())
    masks = _check_video(example, frames, FRAMES["davis2016"])
    assert example["has_mask"].all() and example["category"] == b""
    for t in (0, 11):
      source = _png_grey(manual / "Annotations" / "480p" / name / f"{t:05d}.png")
      np.testing.assert_array_equal(masks[t], source // 255)


def test_segtrackv2_synthetic_merges_objects(synthetic_root, tmp_path):
  manual = synthetic_root / "segtrackv2"
  build_lib.build("segtrackv2", manual, tmp_path)
  assert _split_counts("segtrackv2", tmp_path) == {"test": NUM}
  examples = {e["sequence"].decode(): e
              for e in _load("segtrackv2", tmp_path, "test", skip=("frames", "masks"))}
  assert sorted(examples) == [f"blob_{i:03d}" for i in range(NUM)]
  for name, example in examples.items():
    frames = sorted((manual / "JPEGImages" / name).iterdir())
    masks = _check_video(example, frames, FRAMES["segtrackv2"])
    assert example["has_mask"].all()
    truth = manual / "GroundTruth" / name
    object_dirs = sorted(p for p in truth.iterdir() if p.is_dir()) or [truth]
    for t in (0, 7):
      union = np.zeros((48, 64), bool)
      for folder in object_dirs:
        union |= _png_grey(folder / f"{name}_{t:05d}.png") > 127
      np.testing.assert_array_equal(masks[t], union)
  assert len(sorted((manual / "GroundTruth" / "blob_001").iterdir())) == 2
  assert sorted((manual / "JPEGImages" / "blob_002").iterdir())[0].suffix == ".bmp"


def test_youtube_objects_synthetic(synthetic_root, tmp_path):
  manual = synthetic_root / "youtube_objects"
  build_lib.build("youtube_objects", manual, tmp_path)
  assert _split_counts("youtube_objects", tmp_path) == {"test": NUM}
  examples = _load("youtube_objects", tmp_path, "test", skip=("frames", "masks"))
  assert sorted(e["sequence"].decode() for e in examples) == sorted(
      synthetic.sequence_name("youtube_objects", i) for i in range(NUM))
  for example in examples:
    category, video, shot = example["sequence"].decode().split("_")
    assert example["category"].decode() == category
    shot_dir = manual / category / "data" / video / "shots" / shot
    frames = sorted((shot_dir / "images").iterdir())
    masks = _check_video(example, frames, FRAMES["youtube_objects"])
    np.testing.assert_array_equal(example["has_mask"], np.arange(21) % 10 == 0)
    assert not masks[~example["has_mask"]].any()
    label = np.asarray(Image.open(shot_dir / "labels" / "00011.jpg"))
    np.testing.assert_array_equal(masks[10], label >= 128)


# ----------------------------------------------------------------------------------
# Real samples.


def test_salicon_real_examples(shared_data, tmp_path):
  manual = shared_data / "salicon_examples"
  build_lib.build("salicon", manual, tmp_path)
  assert _split_counts("salicon", tmp_path) == {"train": 10}
  annotation = json.loads((manual / "annotations" / "fixations_train2014examples.json").read_text())
  examples = {e["image_id"].decode(): e for e in _load("salicon", tmp_path, "train")}
  assert sorted(examples) == sorted(i["file_name"][:-4] for i in annotation["images"])
  entry = annotation["images"][0]
  example = examples[entry["file_name"][:-4]]
  assert example["image"].shape == (480, 640, 3)
  # Reference: the SALICON toolkit's recipe (salicon-api buildFixMap) written out here.
  counts = np.zeros((480, 640))
  for worker in annotation["annotations"]:
    if worker["image_id"] == entry["id"]:
      for row, col in worker["fixations"]:
        counts[row - 1, col - 1] += 1
  reference = scipy.ndimage.gaussian_filter(counts, 19)
  reference = (reference - reference.min()) / (reference.max() - reference.min()) * 255
  assert np.abs(example["gaze"][..., 0] - reference).max() <= 1.0
  np.testing.assert_array_equal(example["fixations"][..., 0], (counts > 0).astype(np.uint8))


def test_davis2016_real_sample(shared_data, tmp_path):
  manual = shared_data / "davis2016"
  with pytest.raises(FileNotFoundError, match=r"requested split\(s\) \['train'\].*train.txt"):
    build_lib.build("davis2016", manual, tmp_path / "only_train", splits=["train"])
  build_lib.build("davis2016", manual, tmp_path)
  assert _split_counts("davis2016", tmp_path) == {"validation": 4}
  examples = {e["sequence"].decode(): e
              for e in _load("davis2016", tmp_path, "validation", skip=("frames", "masks"))}
  assert {name: len(e["frames"]) for name, e in examples.items()} == {
      "blackswan": 50, "car-shadow": 40, "libby": 49, "motocross-jump": 40}
  blackswan = examples["blackswan"]
  assert blackswan["has_mask"].all()
  assert blackswan["frame_names"][0] == b"00000"
  assert blackswan["frames"][3] == (manual / "JPEGImages" / "480p" / "blackswan" / "00003.jpg").read_bytes()
  assert tf.io.decode_image(blackswan["frames"][3], channels=3).shape == (480, 854, 3)
  mask = tf.io.decode_image(blackswan["masks"][3], channels=1).numpy()[..., 0]
  np.testing.assert_array_equal(
      mask, _png_grey(manual / "Annotations" / "480p" / "blackswan" / "00003.png") // 255)


# ----------------------------------------------------------------------------------
# Bad downloads and mask encodings.


@pytest.fixture()
def duts_copy(synthetic_root, tmp_path) -> pathlib.Path:
  manual = tmp_path / "duts"
  shutil.copytree(synthetic_root / "duts", manual)
  return manual


def test_missing_folder_is_named(duts_copy, tmp_path):
  shutil.rmtree(duts_copy / "DUTS-TR" / "DUTS-TR-Mask")
  with pytest.raises(FileNotFoundError, match=r"DUTS-TR/DUTS-TR-Mask: folder not found; expected"):
    build_lib.build("duts", duts_copy, tmp_path / "data")
  with pytest.raises(FileNotFoundError, match=r"--manual-dir is not a folder"):
    build_lib.build("duts", tmp_path / "nowhere", tmp_path / "data")


def test_corrupt_image_is_named(duts_copy, tmp_path):
  image = duts_copy / "DUTS-TR" / "DUTS-TR-Image" / "ILSVRC2012_test_00000001.jpg"
  image.write_bytes(image.read_bytes()[:200])
  with pytest.raises(reading.DownloadError,
                     match=r"ILSVRC2012_test_00000001.jpg: cannot be decoded as an image"):
    build_lib.build("duts", duts_copy, tmp_path / "data")


def test_mask_size_mismatch_is_named(duts_copy, tmp_path):
  mask = duts_copy / "DUTS-TE" / "DUTS-TE-Mask" / "ILSVRC2012_test_00000004.png"
  Image.fromarray(np.zeros((48, 63), np.uint8)).save(mask)
  with pytest.raises(reading.DownloadError,
                     match=r"ILSVRC2012_test_00000004.png: mask is 63x48 but its image .* is "
                           r"64x48; expected the same size"):
    build_lib.build("duts", duts_copy, tmp_path / "data")


def test_missing_mask_file_is_named(duts_copy, tmp_path):
  (duts_copy / "DUTS-TR" / "DUTS-TR-Mask" / "ILSVRC2012_test_00000002.png").unlink()
  with pytest.raises(FileNotFoundError,
                     match=r"ILSVRC2012_test_00000002.png: file not found; expected the mask of"):
    build_lib.build("duts", duts_copy, tmp_path / "data")


def test_unknown_split_is_refused(tmp_path):
  with pytest.raises(ValueError, match=r"unknown split\(s\) \['val'\]"):
    build_lib.build("duts", tmp_path, tmp_path / "data", splits=["val"])


def _mask_encodings(foreground: np.ndarray, folder: pathlib.Path) -> dict[str, pathlib.Path]:
  """The same mask as 0/255 and 0/1 greyscale PNG, palette PNG and 0/255 JPEG."""
  folder.mkdir(parents=True, exist_ok=True)
  paths = {name: folder / f"{name}.{'jpg' if name == 'jpeg' else 'png'}"
           for name in ("grey255", "grey01", "palette", "jpeg")}
  Image.fromarray(foreground.astype(np.uint8) * 255).save(paths["grey255"])
  Image.fromarray(foreground.astype(np.uint8)).save(paths["grey01"])
  palette = Image.fromarray(foreground.astype(np.uint8) * 2, mode="P")  # Object id 2.
  palette.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
  palette.save(paths["palette"])
  Image.fromarray(foreground.astype(np.uint8) * 255).save(paths["jpeg"], quality=90)
  return paths


def test_mask_encodings_read_as_binary(tmp_path):
  foreground = np.zeros((48, 64), bool)
  foreground[10:30, 20:50] = True
  for name, path in _mask_encodings(foreground, tmp_path).items():
    mask = reading.read_binary_mask(path, tmp_path / "image.jpg", (64, 48))
    np.testing.assert_array_equal(mask, foreground, err_msg=name)


def test_mask_encodings_through_a_builder(duts_copy, tmp_path):
  mask_dir = duts_copy / "DUTS-TR" / "DUTS-TR-Mask"
  foreground = {}
  for index, encoding in enumerate(("grey01", "palette", "grey255")):
    stem = f"ILSVRC2012_test_{index:08d}"
    foreground[stem] = _png_grey(mask_dir / f"{stem}.png") >= 128
    encoded = _mask_encodings(foreground[stem], tmp_path / stem)[encoding]
    shutil.copy(encoded, mask_dir / f"{stem}.png")
  build_lib.build("duts", duts_copy, tmp_path / "data", splits=["train"])
  assert _split_counts("duts", tmp_path / "data") == {"train": 4}
  for example in _load("duts", tmp_path / "data", "train"):
    stem = example["image_id"].decode()
    if stem in foreground:
      np.testing.assert_array_equal(example["mask"][..., 0], foreground[stem].astype(np.uint8))


def test_build_command_line(synthetic_root, tmp_path, capsys):
  assert build_lib.main(["--dataset", "duts", "--manual-dir", str(synthetic_root / "duts"),
                         "--data-dir", str(tmp_path), "--splits", "test"]) == 0
  out = capsys.readouterr().out
  assert "test: 1 examples" in out and "train" not in out
  assert (tmp_path / "duts" / "1.0.0" / "dataset_info.json").is_file()


def test_build_command_line_reports_errors_without_traceback(tmp_path, capsys):
  assert build_lib.main(["--dataset", "sbd", "--manual-dir", str(tmp_path / "none"),
                         "--data-dir", str(tmp_path / "data")]) == 1
  err = capsys.readouterr().err
  assert err.startswith("error: ") and "benchmark_RELEASE/dataset/img" in err


def test_youtube_objects_frames_named_by_number(synthetic_root, tmp_path):
  """Frames stored as %05d.jpg (as in some copies of the release) match their labels by
  number and keep the frame%04d names the evaluation expects."""
  manual = tmp_path / "yto"
  shutil.copytree(synthetic_root / "youtube_objects" / "aeroplane", manual / "aeroplane")
  images = manual / "aeroplane" / "data" / "0001" / "shots" / "001" / "images"
  for path in list(images.iterdir()):
    path.rename(images / f"{int(path.stem[5:]):05d}.jpg")
  build_lib.build("youtube_objects", manual, tmp_path / "data")
  (example,) = _load("youtube_objects", tmp_path / "data", "test", skip=("frames", "masks"))
  assert [n.decode() for n in example["frame_names"]] == [f"frame{t:04d}" for t in range(1, 22)]
  np.testing.assert_array_equal(example["has_mask"], np.arange(21) % 10 == 0)
  assert example["frames"][10] == (images / "00011.jpg").read_bytes()
