"""Tests of the online tracker (wcs_jax/inference): crop geometry against the training
pairs, pasting, merging objects, first-frame prompts, the recovery policy, and real
tracking runs (a colour-segmenting stand-in network on a hand-made video with a known
track; the JAX networks with random weights on DAVIS frames)."""
import itertools
import json
import os

import cv2
import jax
import numpy as np
import pytest
import tensorflow as tf

import tracking_testing
import train_testing
from input_pipeline import hotspot as hotspot_lib
from input_pipeline import pairs
from wcs_jax.evaluation import segmentation
from wcs_jax.inference import compose
from wcs_jax.inference import crops
from wcs_jax.inference import first_frame
from wcs_jax.inference import outputs
from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.inference.backend import load_backend
from wcs_jax.inference.jax_backend import JaxBackend
from wcs_jax.inference.jax_backend import random_variables
from wcs_jax.inference.tracker import Tracker
from wcs_jax.inference.tracker import TrackerConfig
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader
from wcs_jax.models import build

TINY = dict(backbone="efficientnet-b0", decoder_channels=8)
SIZE = 64


@pytest.fixture(scope="module")
def tiny_backend():
  """The three networks, EfficientNet-B0 and 8-wide decoders at 64 x 64, random weights."""
  with train_testing.fast_compiles():
    yield JaxBackend.random(TINY, SIZE, seed=0)


@pytest.fixture(scope="module")
def blackswan(shared_data):
  root = shared_data / "davis2016"
  frames = list(itertools.islice(FrameReader(root / "JPEGImages/480p/blackswan"), 5))
  return frames, mask_io.read_label_map(root / "Annotations/480p/blackswan/00000.png")


def smooth_image(height=120, width=160, seed=0):
  rng = np.random.default_rng(seed)
  image = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 3)
  return (image - image.min()) / (image.max() - image.min())


# ------------------------------------------------------------------ crop geometry

@pytest.mark.parametrize("window", [crops.Window(80.3, 60.7, 50.0),   # inside
                                    crops.Window(10.0, 100.0, 90.5),  # over two edges
                                    crops.Window(80.0, 60.0, 300.0)])  # larger than the frame
def test_crop_matches_training_pairs(window):
  image = smooth_image()
  fill = image.mean(axis=(0, 1))
  [expected] = pairs.crop([tf.constant(image)], tf.constant([window.cx, window.cy, window.side], tf.float32),
                          32, tf.eye(3), [tf.constant(fill, tf.float32)])
  expected = expected.numpy()
  np.testing.assert_allclose(crops.crop(image, window, 32, fill), expected, atol=1e-5)
  # uint8 frames (what the tracker crops) differ by the 8-bit rounding only.
  u8 = crops.crop(np.round(image * 255).astype(np.uint8), window, 32, np.round(fill * 255))
  np.testing.assert_allclose(u8 / 255.0, expected, atol=2.5 / 255)


def test_template_and_search_windows_match_training_pairs():
  box = (30.0, 40.0, 70.0, 60.0)
  expected = pairs.template_window(tf.constant(box), 1.5).numpy()
  window = crops.template_window(box, 1.5)
  np.testing.assert_allclose([window.cx, window.cy, window.side], expected)
  assert (window.cx, window.cy, window.side) == (50.0, 50.0, 60.0)
  # Training's search window without jitter or rescaling is centred on the box.
  search = pairs.search_window(tf.constant(box), tf.constant([1, 2]), 2.0, 0.0, 0.0).numpy()
  window = crops.search_window(50.0, 50.0, 40.0, 2.0)
  np.testing.assert_allclose([window.cx, window.cy, window.side], search, rtol=1e-6)


def test_paste_inverts_crop_and_covers_the_window():
  window = crops.Window(50.0, 40.0, 40.0)
  assert window.roi(100, 80) == (30, 20, 70, 60)
  assert crops.Window(-50.0, 40.0, 40.0).roi(100, 80) is None
  assert crops.Window(5.0, 5.0, 40.0).roi(100, 80) == (0, 0, 25, 25)
  # A linear map survives crop then paste exactly (bilinear both ways, 2x enlargement).
  ys, xs = np.mgrid[0:80, 0:100].astype(np.float32)
  ramp = (0.3 * xs + 0.7 * ys) / 100
  small = crops.crop(ramp, window, 20, 0.0)
  values, roi = crops.paste(small, window, 100, 80)
  assert roi == (30, 20, 70, 60) and values.shape == (40, 40)
  np.testing.assert_allclose(values[1:-1, 1:-1], ramp[21:59, 31:69], atol=1e-4)


# ------------------------------------------------------------------ several objects

def test_label_map_gives_overlaps_to_the_more_probable_object():
  a = compose.Placed(np.array([[0.9, 0.6], [0.4, 0.7]], np.float32), (0, 0, 2, 2))
  b = compose.Placed(np.array([[0.8, 0.9], [0.3, 0.7]], np.float32), (0, 0, 2, 2))
  c = compose.Placed(np.array([[0.95]], np.float32), (2, 1, 3, 2))
  labels = compose.label_map([a, b, None, c], 3, 2)
  np.testing.assert_array_equal(labels, [[1, 2, 0], [0, 1, 4]])  # the tie 0.7/0.7 stays 1
  merged = compose.hotspot_map([a, b], 3, 2)
  np.testing.assert_allclose(merged, [[0.9, 0.9, 0], [0.4, 0.7, 0]])
  assert compose.object_extent(labels, 1, None) == ((0, 0, 2, 2), 2)
  assert compose.object_extent(labels, 4, (2, 1, 3, 2)) == ((2, 1, 3, 2), 1)
  assert compose.object_extent(labels, 3, None) == (None, 0)
  assert compose.peak(c) == (2, 1) and compose.peak(b) == (1, 0)


# ------------------------------------------------------------------ first-frame prompts

def test_mask_guidance_matches_training_guidance():
  mask = np.zeros((40, 50), bool)
  mask[5:30, 10:22] = True
  mask[20:30, 22:45] = True  # an L shape: the centroid's nearest mask pixel
  expected = hotspot_lib.mask_guidance(tf.constant(mask[..., None], tf.float32), "gaussian", 0.25).numpy()[..., 0]
  np.testing.assert_allclose(first_frame.mask_guidance(mask, 0.25), expected, atol=1e-6)


def test_bad_prompts_are_named_errors():
  with pytest.raises(first_frame.InitialisationError, match=r"--click 854,10 lies outside the 854x480"):
    first_frame.check_clicks([(854, 10)], 854, 480)
  with pytest.raises(first_frame.InitialisationError, match=r"--box 10,10,10,50"):
    first_frame.check_boxes([(10, 10, 10, 50)], 854, 480)
  with pytest.raises(first_frame.InitialisationError, match="outside|overlapping"):
    first_frame.check_boxes([(900, 10, 950, 50)], 854, 480)
  assert first_frame.check_boxes([(-5, 10, 20, 500)], 854, 480) == [(0.0, 10.0, 20.0, 480.0)]
  with pytest.raises(first_frame.InitialisationError, match="no object pixel"):
    first_frame.from_mask(np.zeros((4, 6), np.uint8), 6, 4, 0.25)
  with pytest.raises(first_frame.InitialisationError, match="the mask is 6x4, the first frame 8x4"):
    first_frame.from_mask(np.ones((4, 6), np.uint8), 8, 4, 0.25)
  objects = first_frame.from_mask(np.array([[0, 3, 3], [7, 0, 3]], np.uint8), 3, 2, 0.25)
  assert [o.prompt for o in objects] == [("mask", 3), ("mask", 7)]


def test_load_backend_errors():
  # A directory that is not a tools/convert_to_torch.py export.
  with pytest.raises((ValueError, OSError), match="convert_to_torch"):
    load_backend("torch", weights="somewhere")
  with pytest.raises(ValueError, match="--backend must be one of"):
    load_backend("tflite")
  with pytest.raises(ValueError, match="--backend onnx needs --weights DIR"):
    load_backend("onnx")
  with pytest.raises(ValueError, match="wcsnet_template.onnx is missing|config of a tools/convert_to_torch.py export"):
    load_backend("onnx", weights="somewhere")
  with pytest.raises(ValueError, match="needs --workdir"):
    load_backend("jax")


# ------------------------------------------------------------------ tracking with a stand-in network

class ColourBackend:
  """A stand-in for the networks that segments pure red pixels and puts the hotspot at
  the red region's centroid: it lets the tests check the tracker's geometry (crops,
  pastes, windows, policy) against a known answer."""
  image_size = 48
  has_first_frame_networks = False
  has_hotspot = True

  def __init__(self):
    self.searches = []

  def encode_template(self, image, mask, hotspot):
    return len(image)

  def join_codes(self, codes):
    return sum(codes)

  def track(self, code, search):
    assert search.shape == (code, 48, 48, 3) and search.dtype == np.float32
    self.searches.append(search)
    red = ((search[..., 0] > 0.6) & (search[..., 1] < 0.3)).astype(np.float32)
    hot = np.zeros_like(red)
    for k in range(code):
      ys, xs = np.nonzero(red[k])
      if len(ys):
        hot[k] = first_frame.gaussian(48, 48, xs.mean(), ys.mean(), 3.0)
    return red, hot


def disc_video(centres, radii, width=160, height=120):
  """Grey noise with a red disc at each frame's centre and radius."""
  rng = np.random.default_rng(0)
  frames, masks = [], []
  for (cx, cy), r in zip(centres, radii):
    frame = rng.integers(60, 140, (height, width, 3), dtype=np.uint8)
    mask = first_frame.gaussian(width, height, cx, cy, 1.0) >= np.exp(-r * r / 2)
    frame[mask] = (255, 0, 0)
    frames.append(frame)
    masks.append(mask)
  return frames, masks


def jaccard(a, b):
  return segmentation.region_similarity(b, a)


def test_tracker_follows_a_moving_growing_object():
  t = np.arange(30)
  centres = np.stack([30 + 3.5 * t, 60 + 25 * np.sin(t / 5)], -1)
  radii = 8 + 0.5 * t
  frames, masks = disc_video(centres, radii)
  tracker = Tracker(ColourBackend(), TrackerConfig(image_size=48))
  results = list(tracker.track(frames, "mask", mask=masks[0]))
  assert [r.index for r in results] == list(range(30))
  scores = [jaccard(r.mask == 1, m) for r, m in zip(results, masks)]
  assert min(scores) > 0.9, scores
  for r, (cx, cy) in zip(results[1:], centres[1:]):
    record = r.objects[0]
    assert not record.lost
    assert abs(record.hotspot[0] - cx) <= 2 and abs(record.hotspot[1] - cy) <= 2
    np.testing.assert_allclose(r.hotspot.max(), 1.0, atol=0.05)
  # The search window follows the object's scale: side ~ search_context * extent.
  last = results[-1].objects[0]
  x0, y0, x1, y1 = results[-2].objects[0].bbox
  assert 2.0 * 0.8 * (x1 - x0) < last.window[2] < 2.0 * 1.2 * (x1 - x0)


def test_recovery_widens_then_searches_the_whole_frame_then_returns():
  """The recovery policy at its defaults (only the crop side is small, for speed)."""
  config = TrackerConfig(image_size=48)
  factor = config.widen_factor
  assert factor == 1.25 and config.lost_area_fraction == 0.15  # the documented defaults
  t = np.arange(18)
  centres = np.stack([40 + 2.0 * t, np.full(18, 60.0)], -1)
  frames, masks = disc_video(centres, np.full(18, 10.0))
  hidden = range(3, 11)  # the object disappears (occluded) for eight frames
  for k in hidden:
    frames[k] = np.where(masks[k][..., None], 100, frames[k]).astype(np.uint8)
  results = list(Tracker(ColourBackend(), config).track(frames, "mask", mask=masks[0]))
  records = [r.objects[0] for r in results]
  assert [r.lost for r in records] == [False] * 3 + [True] * 8 + [False] * 7
  side = records[3].window[2]
  # 21 px extent x search_context 2 = 42; frame k's window is the one it was searched in:
  # lost after frame 3, widened from 4 by 1.25 per frame while it fits in the frame
  # (42 x 1.25^5 = 128.2 < 160); 1.25^6 exceeds it: the whole frame from frame 9.
  assert side == 42.0
  np.testing.assert_allclose([records[k].window[2] for k in range(4, 9)], side * factor ** np.arange(1, 6))
  assert records[4].window[:2] == records[8].window[:2] == records[3].window[:2]
  assert records[9].window == records[10].window == (80.0, 60.0, 160.0)
  assert jaccard(results[11].mask == 1, masks[11]) > 0.8  # found again in the whole frame
  assert abs(records[12].window[0] - centres[11][0]) <= 1.5 and records[12].window[2] < 100
  assert all(jaccard(r.mask == 1, m) > 0.9 for r, m in zip(results[12:], masks[12:]))


def test_two_objects_are_one_batch_with_ids_1_and_2():
  t = np.arange(6)
  frames, first_masks = disc_video(np.stack([30 + 4 * t, np.full(6, 40.0)], -1), np.full(6, 9.0))
  _, second_masks = disc_video(np.stack([120 - 4 * t, np.full(6, 85.0)], -1), np.full(6, 9.0))
  for frame, mask in zip(frames, second_masks):
    frame[mask] = (255, 0, 0)
  backend = ColourBackend()
  labels0 = first_masks[0] + 2 * second_masks[0].astype(np.uint8)
  results = list(Tracker(backend, TrackerConfig(image_size=48)).track(frames, "mask", mask=labels0))
  assert all(s.shape[0] == 2 for s in backend.searches)  # one call per frame for both
  for r, a, b in zip(results, first_masks, second_masks):
    assert set(np.unique(r.mask)) == {0, 1, 2}
    assert jaccard(r.mask == 1, a) > 0.9 and jaccard(r.mask == 2, b) > 0.9
    assert [o.id for o in r.objects] == [1, 2]


def test_three_objects_with_ids_3_5_7_become_1_2_3_and_tracklets_record_the_mapping(tmp_path):
  from wcs_jax.inference import session  # pylint: disable=g-import-not-at-top
  t = np.arange(5)
  frames, masks = disc_video(np.stack([30 + 3 * t, np.full(5, 30.0)], -1), np.full(5, 8.0))
  labels0 = np.where(masks[0], 3, 0).astype(np.uint8)
  for cx, cy, given in ((120, 30, 5), (75, 90, 7)):
    _, more = disc_video([(cx, cy)] * 5, np.full(5, 8.0))
    for frame, mask in zip(frames, more):
      frame[mask] = (255, 0, 0)
    labels0[more[0]] = given
  backend = ColourBackend()
  session.track_to_folder(Tracker(backend, TrackerConfig(image_size=48)), frames, tmp_path, init="mask",
                          mask=labels0, progress=False)
  assert all(s.shape[0] == 3 for s in backend.searches)  # one call per frame for all three
  tracklets = json.loads((tmp_path / "tracklets.json").read_text())
  assert [(o["id"], o["prompt"][0], o["prompt"][1]) for o in tracklets["objects"]] == [
      (1, "mask", 3), (2, "mask", 5), (3, "mask", 7)]
  for index in range(5):
    written = mask_io.read_label_map(tmp_path / "masks" / f"{index:05d}.png")
    assert set(np.unique(written)) == {0, 1, 2, 3}
    assert [o["id"] for o in tracklets["frames"][index]["objects"]] == [1, 2, 3]


@pytest.mark.parametrize("width,height,frames_n", [(161, 121, 3), (160, 120, 1)])
def test_odd_sizes_and_a_one_frame_video_write_complete_outputs(tmp_path, width, height, frames_n):
  from wcs_jax.inference import session  # pylint: disable=g-import-not-at-top
  from wcs_jax.io.video import FrameReader  # pylint: disable=g-import-not-at-top
  frames, masks = disc_video([(60 + 2 * k, 50) for k in range(frames_n)], [9] * frames_n, width, height)
  summary = session.track_to_folder(Tracker(ColourBackend(), TrackerConfig(image_size=48)), frames, tmp_path,
                                    init="mask", mask=masks[0], progress=False)
  assert summary.frames == frames_n
  tracklets = json.loads((tmp_path / "tracklets.json").read_text())
  assert tracklets["num_frames"] == frames_n and not tracklets["interrupted"]
  assert (tracklets["width"], tracklets["height"]) == (width, height)
  for index in range(frames_n):
    assert mask_io.read_label_map(tmp_path / "masks" / f"{index:05d}.png").shape == (height, width)
    assert jaccard(mask_io.read_label_map(tmp_path / "masks" / f"{index:05d}.png") == 1, masks[index]) > 0.9
  info = FrameReader(tmp_path / "overlay.mp4").info
  # H.264 (yuv420p) needs even sides: the overlay repeats the last row and column.
  assert (info.width, info.height, info.num_frames) == (width + width % 2, height + height % 2, frames_n)


def test_a_run_that_fails_midway_says_so_in_its_outputs(tmp_path):
  from wcs_jax.inference import session  # pylint: disable=g-import-not-at-top
  frames, masks = disc_video([(40 + 2 * k, 50) for k in range(6)], [9] * 6)
  frames[4] = frames[4][:100]  # a frame of another size, as a damaged or foreign file would be
  with pytest.raises(ValueError, match="frame 4 is 160x100"):
    session.track_to_folder(Tracker(ColourBackend(), TrackerConfig(image_size=48)), frames, tmp_path,
                            init="mask", mask=masks[0], progress=False)
  tracklets = json.loads((tmp_path / "tracklets.json").read_text())
  assert tracklets["num_frames"] == 4 and tracklets["error"].startswith("ValueError: frame 4 is 160x100")
  assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == [f"{k:05d}.png" for k in range(4)]


def test_an_object_that_leaves_the_frame_for_20_frames_is_found_when_it_returns():
  centres = [(40 + 5 * k, 60) for k in range(10)] + [(400, 60)] * 20 + [(140 - 5 * k, 60) for k in range(10)]
  frames, masks = disc_video(centres, [10] * 40)
  results = list(Tracker(ColourBackend(), TrackerConfig(image_size=48, widen_factor=1.5)).track(
      frames, "mask", mask=masks[0]))
  lost = [r.objects[0].lost for r in results]
  assert lost == [False] * 10 + [True] * 20 + [False] * 10, lost
  assert results[29].objects[0].window == (80.0, 60.0, 160.0)  # searching the whole frame when it returns
  assert all(jaccard(r.mask == 1, m) > 0.8 for r, m in zip(results[30:], masks[30:]))


def test_frames_of_another_size_and_empty_videos_are_errors():
  frames, masks = disc_video([(40, 40), (42, 40)], [8, 8])
  frames[1] = frames[1][:100]
  tracker = Tracker(ColourBackend(), TrackerConfig(image_size=48))
  with pytest.raises(ValueError, match="frame 1 is 160x100, the first frame 160x120"):
    list(tracker.track(frames, "mask", mask=masks[0]))
  with pytest.raises(ValueError, match="no frames"):
    list(tracker.track([], "mask", mask=masks[0]))
  with pytest.raises(first_frame.InitialisationError, match="--init click needs --click"):
    list(tracker.track(frames, "click"))
  with pytest.raises(first_frame.InitialisationError, match="--box given with --init click"):
    list(tracker.track(frames, "click", clicks=[(3, 4)], boxes=[(1, 1, 5, 5)]))
  with pytest.raises(BackendUnavailableError, match="--init click needs EG-Net and Gaze2Mask-Net"):
    list(tracker.track(frames, "click", clicks=[(3, 4)]))


# ------------------------------------------------------------------ the JAX networks (random weights)

class EmptyMaskBackend(ColourBackend):
  """First-frame networks that fail: a gaze pyramid peaking at (20, 30) of the 48 x 48
  frame (value 1 - d / 16, so its half-maximum region is the disc of radius 8) and a
  lower bump elsewhere, and a Gaze2Mask-Net that returns an empty mask."""
  has_first_frame_networks = True

  def gaze(self, image):
    assert image.shape == (1, 48, 48, 3)
    ys, xs = np.mgrid[:48, :48]
    pyramid = np.maximum(1 - np.hypot(xs - 20, ys - 30) / 16, 0)
    bump = 0.9 * (np.hypot(xs - 40, ys - 8) <= 3)
    return np.maximum(pyramid, bump)[None].astype(np.float32)

  def gaze_to_mask(self, image, gaze):
    return np.zeros(image.shape[:3], np.float32)


def test_automatic_fallback_is_object_sized_and_reported_on_the_console(tmp_path, capsys):
  """An empty Gaze2Mask-Net output falls back to the gaze peak's half-maximum region
  inside the disc a click at the peak would fall back to (radius 2 * 0.05 * sqrt(48 * 48)
  = 4.8 px here), says so on stderr and in tracklets.json."""
  from wcs_jax.inference import session
  frames, _ = disc_video([(20, 30)] * 3, [6] * 3, width=48, height=48)
  tracker = Tracker(EmptyMaskBackend(), TrackerConfig(image_size=48))
  (obj,) = tracker.initialise(frames[0], "auto")
  ys, xs = np.mgrid[:48, :48]
  np.testing.assert_array_equal(obj.mask, np.hypot(xs - 20, ys - 30) <= 4.8)
  assert obj.fallback and obj.mask.sum() < 0.03 * 48 * 48
  session.track_to_folder(tracker, frames, tmp_path, overlay_video=False, progress=False, label="sequence s")
  err = capsys.readouterr().err
  assert "warning: sequence s: object 1 (auto, frame 0): the first-frame networks gave an empty mask" in err
  tracklets = json.loads((tmp_path / "tracklets.json").read_text())
  assert tracklets["objects"][0]["fallback"] is True


def test_jax_tracker_from_the_first_ground_truth_mask(tiny_backend, blackswan):
  frames, first_mask = blackswan
  results = list(Tracker(tiny_backend, TrackerConfig(image_size=SIZE)).track(frames, "mask", mask=first_mask))
  assert len(results) == 5
  np.testing.assert_array_equal(results[0].mask, first_mask)  # frame 0 is the given mask
  for r in results:
    assert r.mask.shape == (480, 854) and r.mask.dtype == np.uint8
    assert set(np.unique(r.mask)) <= {0, 1}
    assert r.hotspot.shape == (480, 854) and 0 <= r.hotspot.min() and r.hotspot.max() <= 1
    assert len(r.objects) == 1 and r.objects[0].id == 1
  assert all(r.network_seconds > 0 and r.crop_paste_seconds > 0 for r in results[1:])


def test_jax_tracker_two_clicks_auto_and_box(tiny_backend, blackswan):
  frames, _ = blackswan
  tracker = Tracker(tiny_backend, TrackerConfig(image_size=SIZE))
  results = list(tracker.track(frames[:3], "click", clicks=[(400, 200), (100, 100)]))
  auto = list(tracker.track(frames[:2], "auto"))
  boxed = list(tracker.track(frames[:2], "box", boxes=[(120, 70, 520, 390)]))
  assert [o["prompt"] for o in results[0].prompts] == [["click", 400.0, 200.0], ["click", 100.0, 100.0]]
  for r in results:
    assert set(np.unique(r.mask)) <= {0, 1, 2} and [o.id for o in r.objects] == [1, 2]
  # Each click's object contains the click (its component, or the fallback disc).
  assert results[0].mask[200, 400] in (1, 2) and results[0].objects[0].area > 0
  assert auto[0].prompts[0]["prompt"] == ["auto"] and auto[1].mask.shape == (480, 854)
  # A box bounds its object in the first frame.
  x0, y0, x1, y1 = boxed[0].objects[0].bbox
  assert 120 <= x0 < x1 <= 520 and 70 <= y0 < y1 <= 390


def test_random_variables_have_the_networks_structure_and_flax_default_scales():
  model = build.from_config(TINY, "egnet")
  drawn = random_variables(model, SIZE, 1)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jax.ShapeDtypeStruct((1, SIZE, SIZE, 3), np.float32))
  assert jax.tree.map(np.shape, drawn) == jax.tree.map(lambda a: a.shape, dict(shapes))
  for path, leaf in jax.tree_util.tree_leaves_with_path(drawn):
    name = path[-1].key
    if name == "kernel" and leaf.size > 1000:
      np.testing.assert_allclose(leaf.std() * np.sqrt(np.prod(leaf.shape[:-1])), 1.0, rtol=0.1)
    elif name in ("scale", "var"):
      assert (leaf == 1).all()
    elif name in ("bias", "mean"):
      assert (leaf == 0).all()


# ------------------------------------------------------------------ outputs

def test_overlay_is_the_documented_blend_and_leaves_other_pixels_alone():
  rng = np.random.default_rng(0)
  frame = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
  labels = np.zeros((40, 60), np.uint8)
  labels[5:12, 8:20] = 1
  labels[30:35, 40:55] = 2
  hotspot = np.zeros((40, 60), np.float32)
  hotspot[10:25, 15:30] = rng.uniform(0, 1, (15, 15))
  got = outputs.overlay(frame, labels, hotspot).astype(np.float64)
  # Reference in float64: tint, round, then blend with the JET colour of round(255 h).
  palette = mask_io.davis_palette().astype(np.float64)
  tinted = np.where(labels[..., None] > 0,
                    np.round((1 - outputs.MASK_ALPHA) * frame + outputs.MASK_ALPHA * palette[labels]), frame)
  jet = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0, ::-1]
  heat = jet[np.round(hotspot * 255).astype(int)].astype(np.float64)
  weight = (outputs.HOTSPOT_ALPHA * hotspot)[..., None]
  expected = (1 - weight) * tinted + weight * heat
  np.testing.assert_allclose(got, expected, atol=1.0)   # rounding of the two uint8 steps
  untouched = (labels == 0) & (hotspot == 0)
  np.testing.assert_array_equal(got[untouched], frame[untouched])
  assert np.abs(got - frame).max() > 50   # the blend did something


def test_output_writer_streams_in_order_and_reports_worker_errors(tmp_path):
  record = compose.ObjectRecord(id=1, hotspot=(2, 1), bbox=(0, 0, 3, 2), area=4)
  frame = np.zeros((4, 6, 3), np.uint8)
  labels = np.zeros((4, 6), np.uint8)
  labels[:2, :3] = 1
  hotspot = np.zeros((4, 6), np.float32)
  written = []  # on_written runs once the frame's files exist
  on_written = lambda i: written.append((i, (tmp_path / f"ok/masks/{i:05d}.png").is_file()))
  with outputs.OutputWriter(tmp_path / "ok", 6, 4, None, [{"prompt": ["mask", 1], "fallback": False}],
                            on_written=on_written) as writer:
    for index in range(5):
      writer.write(index, frame, labels, hotspot, [record])
  assert written == [(i, True) for i in range(5)]
  tracklets = json.loads((tmp_path / "ok" / "tracklets.json").read_text())
  assert [f["frame"] for f in tracklets["frames"]] == list(range(5)) and tracklets["num_frames"] == 5
  assert tracklets["frames"][0]["objects"][0] == {"id": 1, "hotspot": [2, 1], "bbox": [0, 0, 3, 2],
                                                   "area": 4, "lost": False, "window": None}
  np.testing.assert_array_equal(mask_io.read_label_map(tmp_path / "ok/masks/00004.png"), labels)
  assert sum(1 for _ in FrameReader(tmp_path / "ok" / "overlay.mp4")) == 5
  writer = outputs.OutputWriter(tmp_path / "bad", 6, 4, None, [], overlay_video=False)
  writer.write(0, frame, np.zeros((4, 6, 2), np.uint8), hotspot, [])  # not a label map
  with pytest.raises(ValueError, match="expected a \\[H, W\\] integer label map"):
    for index in range(1, 4):
      writer.write(index, frame, labels, hotspot, [])
    writer.close()


# ------------------------------------------------------------------ a trained smoke model

SMOKE_WORKDIR = os.environ.get("WCS_SMOKE_WORKDIR")


@pytest.mark.skipif(not SMOKE_WORKDIR, reason="needs a trained smoke run: python -m wcs_jax.train --config "
                    "configs/smoke.py --workdir DIR, then WCS_SMOKE_WORKDIR=DIR")
def test_smoke_trained_tracker_follows_held_out_synthetic_videos():
  """The smoke chain's WCS-Net follows synthetic videos it never saw (render_video's seeds
  are not the training layouts' seeds) from their first ground-truth masks: mean J >= 0.8
  over frames 1..T-2 (the DAVIS protocol's frames) of six videos."""
  scores = tracking_testing.held_out_tracking_j(Tracker.from_workdir(SMOKE_WORKDIR))
  assert np.mean(scores) >= 0.8, np.round(scores, 2)
