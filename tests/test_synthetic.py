"""Synthetic data: determinism, scene properties, layouts on disk, the track API, the CLI."""
import hashlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.ndimage
from PIL import Image

from input_pipeline import fixations
from input_pipeline import synthetic

SIZE = (64, 48)
REPO = pathlib.Path(__file__).resolve().parents[1]


def _digest(root: pathlib.Path) -> dict[str, str]:
  """File name -> hash of the content (of a .mat file: without its 116-byte text header,
  which holds the time of writing)."""
  return {p.relative_to(root).as_posix():
          hashlib.sha1(p.read_bytes()[116 if p.suffix == ".mat" else 0:]).hexdigest()
          for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("layout", synthetic.LAYOUTS)
def test_write_is_deterministic_per_seed(tmp_path, layout):
  kwargs = dict(num=3, size=SIZE, num_frames=11 if layout in synthetic.DEFAULT_NUM_FRAMES else None)
  first = _digest(synthetic.write(layout, tmp_path / "a", seed=5, **kwargs))
  again = _digest(synthetic.write(layout, tmp_path / "b", seed=5, **kwargs))
  other = _digest(synthetic.write(layout, tmp_path / "c", seed=6, **kwargs))
  assert first and first == again
  assert set(other) == set(first) and other != first


def test_example_does_not_depend_on_how_many_are_written(tmp_path):
  few = _digest(synthetic.write("duts", tmp_path / "few", num=1, seed=1, size=SIZE))
  many = _digest(synthetic.write("duts", tmp_path / "many", num=6, seed=1, size=SIZE))
  name = "DUTS-TR/DUTS-TR-Image/ILSVRC2012_test_00000000.jpg"
  assert few[name] == many[name]


def test_video_moves_deforms_and_keeps_its_hotspot_inside():
  video = synthetic.render_video(3, num_frames=16, size=(96, 72))
  assert video.frames.shape == (16, 72, 96, 3) and video.frames.dtype == np.uint8
  assert video.masks.shape == (16, 1, 72, 96) and video.masks.dtype == bool
  assert video.track.centers.shape == video.track.hotspots.shape == (16, 1, 2)
  masks = video.masks[:, 0]
  for t in range(16):
    x, y = np.floor(video.track.hotspots[t, 0]).astype(int)
    assert masks[t, y, x], f"hotspot outside the object at frame {t}"
    # The centre of the object is also inside it (star-shaped blob).
    cx, cy = np.floor(video.track.centers[t, 0]).astype(int)
    assert masks[t, cy, cx]
  travel = np.linalg.norm(video.track.centers[-1, 0] - video.track.centers[0, 0])
  areas = masks.reshape(16, -1).sum(1)
  assert travel > 1.0
  assert areas.max() > 1.05 * areas.min()  # Scale and shape change.
  background = ~masks[0] & ~masks[-1]
  assert np.abs(video.frames[0][background].astype(int)
                - video.frames[-1][background].astype(int)).mean() > 2  # Camera pan.


@pytest.mark.parametrize("seed", range(4))
def test_the_spot_carrying_object_is_in_front(seed):
  video = synthetic.render_video(seed, num_frames=1, size=(64, 48), num_objects=3, spots=1)
  x, y = np.floor(video.track.hotspots[0, 2]).astype(int)
  assert video.masks[0, 2, y, x]  # Visible: nothing is drawn over it.
  np.testing.assert_array_equal(video.track.hotspots[0, :2], video.track.centers[0, :2])


def test_later_objects_occlude_earlier_ones():
  video = synthetic.render_video(0, num_frames=6, size=(64, 48), num_objects=3)
  assert not np.any(video.masks.sum(axis=1) > 1)


def test_video_track_matches_the_written_masks(tmp_path):
  root = synthetic.write("segtrackv2", tmp_path, num=2, seed=9, size=SIZE, num_frames=8)
  for index in range(2):
    name = synthetic.sequence_name("segtrackv2", index)
    track = synthetic.video_track("segtrackv2", index, seed=9, size=SIZE, num_frames=8)
    num_objects = track.centers.shape[1]
    assert num_objects == index + 1
    for t in range(8):
      for k in range(num_objects):
        folder = root / "GroundTruth" / name / (str(k + 1) if num_objects > 1 else "")
        mask = np.asarray(Image.open(folder / f"{name}_{t:05d}.png")) > 127
        x, y = np.floor(track.hotspots[t, k]).astype(int)
        if mask.any() and num_objects == 1:
          assert mask[y, x]
        if mask.sum() > 20:  # Visible enough for a centroid: near the object centre.
          centroid = np.argwhere(mask).mean(0)[::-1]
          assert np.linalg.norm(centroid - track.centers[t, k]) < 0.2 * max(SIZE)


def test_salicon_layout_fixations_cluster_and_map_matches(tmp_path):
  root = synthetic.write("salicon", tmp_path, num=4, seed=2, size=SIZE)
  mats = sorted((root / "fixations").rglob("*.mat"))
  assert [m.parent.name for m in mats] == ["train", "train", "train", "val"]
  for mat in mats:
    gaze = scipy.io.loadmat(mat)["gaze"]
    assert gaze.dtype.names == ("location", "timestamp", "fixations")
    points = np.concatenate([w["fixations"] for w in gaze.flatten()]) - 1  # 1-based x, y.
    assert points.min() >= 0 and np.all(points < SIZE)
    # Clustered: most fixations lie near their median (the salient spot).
    distance = np.linalg.norm(points - np.median(points, axis=0), axis=1)
    assert np.mean(distance < 0.15 * max(SIZE)) > 0.5
    stored = np.asarray(Image.open(root / "maps" / mat.parent.name / f"{mat.stem}.png"))
    np.testing.assert_array_equal(stored, fixations.gaze_map(points, SIZE[1], SIZE[0]))
    assert (root / "images" / mat.parent.name / f"{mat.stem}.jpg").is_file()


def test_sbd_layout_is_real_mat_structs(tmp_path):
  root = synthetic.write("sbd", tmp_path, num=3, seed=0, size=SIZE)
  dataset = root / "benchmark_RELEASE" / "dataset"
  ids = (dataset / "train.txt").read_text().split() + (dataset / "val.txt").read_text().split()
  assert sorted(ids) == ["2008_000000", "2008_000001", "2008_000002"]
  for image_id in ids:
    gtinst = scipy.io.loadmat(dataset / "inst" / f"{image_id}.mat")["GTinst"][0, 0]
    segmentation = gtinst["Segmentation"]
    categories = gtinst["Categories"]
    assert segmentation.shape == (SIZE[1], SIZE[0]) and segmentation.dtype == np.uint8
    assert categories.shape[1] == 1 and 1 <= categories.min() and categories.max() <= 20
    assert set(np.unique(segmentation)) == set(range(len(categories) + 1))
    assert gtinst["Boundaries"].shape == (len(categories), 1)
    gtcls = scipy.io.loadmat(dataset / "cls" / f"{image_id}.mat")["GTcls"][0, 0]
    for i, category in enumerate(categories[:, 0], start=1):
      assert np.all(gtcls["Segmentation"][segmentation == i] == category)


def test_youtube_objects_labels_every_tenth_frame(tmp_path):
  root = synthetic.write("youtube_objects", tmp_path, num=2, seed=0, size=SIZE, num_frames=21)
  shot = root / "bird" / "data" / "0001" / "shots" / "001"
  assert len(list((shot / "images").glob("frame*.jpg"))) == 21
  assert sorted(p.name for p in (shot / "labels").iterdir()) == [
      "00001.jpg", "00011.jpg", "00021.jpg"]
  assert synthetic.sequence_name("youtube_objects", 1) == "bird_0001_001"


def test_gaze_map_is_the_salicon_toolkit_blur():
  rng = np.random.default_rng(0)
  points = rng.uniform(0, [159, 119], size=(40, 2))
  points = np.concatenate([points, points[:5]])  # Repeated fixations count twice.
  ours = fixations.gaze_map(points, 120, 160)
  counts = np.zeros((120, 160))
  for x, y in np.rint(points).astype(int):
    counts[y, x] += 1
  reference = scipy.ndimage.gaussian_filter(counts, fixations.gaze_sigma(120, 160))
  reference = (reference - reference.min()) / (reference.max() - reference.min()) * 255
  assert np.abs(ours.astype(float) - reference).max() <= 1.0
  assert ours.max() == 255
  assert fixations.gaze_sigma(480, 640) == pytest.approx(19.0)
  assert fixations.gaze_sigma(240, 320) == pytest.approx(9.5)
  assert not fixations.gaze_map(np.zeros((0, 2)), 12, 16).any()
  assert fixations.fixation_map([[3, 2], [99, 99], [-1, 0]], 12, 16).sum() == 1


def test_write_rejects_bad_arguments(tmp_path):
  with pytest.raises(ValueError, match="unknown layout 'voc'"):
    synthetic.write("voc", tmp_path, num=1)
  with pytest.raises(ValueError, match="num must be >= 1"):
    synthetic.write("duts", tmp_path, num=0)
  with pytest.raises(ValueError, match="at least 16x16"):
    synthetic.write("duts", tmp_path, num=1, size=(8, 8))
  with pytest.raises(ValueError, match="has no videos"):
    synthetic.video_track("duts", 0)


def test_cli_writes_a_layout_and_rejects_a_bad_size(tmp_path):
  script = REPO / "tools" / "make_synthetic_data.py"
  done = subprocess.run([sys.executable, str(script), "--layout", "davis2016", "--output",
                         str(tmp_path), "--num", "2", "--seed", "1", "--size", "40x32",
                         "--frames", "3"], capture_output=True, text=True, cwd=REPO)
  assert done.returncode == 0, done.stderr
  assert (tmp_path / "ImageSets" / "480p" / "val.txt").read_text().splitlines() == [
      f"/JPEGImages/480p/blob-001/{t:05d}.jpg /Annotations/480p/blob-001/{t:05d}.png"
      for t in range(3)]
  assert Image.open(tmp_path / "JPEGImages" / "480p" / "blob-000" / "00002.jpg").size == (40, 32)
  bad = subprocess.run([sys.executable, str(script), "--layout", "duts", "--output",
                        str(tmp_path), "--size", "40by32"], capture_output=True, text=True,
                       cwd=REPO)
  assert bad.returncode == 2 and "expected WxH" in bad.stderr


@pytest.mark.parametrize("layout", ["davis2016", "segtrackv2", "youtube_objects"])
def test_evaluation_reads_the_synthetic_layouts(tmp_path, layout):
  """`tools/evaluate.py` (wcs_jax.evaluation.layouts and scoring) finds the same sequences
  and frame names in the synthetic folders as the builders record."""
  from wcs_jax.evaluation import layouts, scoring  # pylint: disable=g-import-not-at-top
  root = synthetic.write(layout, tmp_path, num=4, seed=0, size=SIZE, num_frames=11)
  listed = layouts.read_sequences(layout, root, split="val")
  scored = [f.name for f in scoring.scored_frames(layout, listed[0])]
  if layout == "davis2016":
    assert [s.name for s in listed] == ["blob-003"]  # The validation sequence.
    assert scored == [f"{t:05d}" for t in range(1, 10)]
  else:
    assert sorted(s.name for s in listed) == sorted(
        synthetic.sequence_name(layout, i) for i in range(4))
  if layout == "youtube_objects":
    assert scored == ["frame0001", "frame0011"]
    assert listed[0].category == "aeroplane"
