"""Video reframing: targets, camera path guarantees, rendering, and tools/reframe.py end
to end on a synthetic video and on DAVIS-2016 ground truth."""
import csv
import json
import pathlib
import sys

import cv2
import numpy as np
import pytest

import tracking_testing
import train_testing
from input_pipeline import synthetic
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader, VideoWriter
from wcs_jax.reframing.camera_path import (CameraConfig, max_window_size,
                                           native_output_size, plan_camera_path)
from wcs_jax.reframing.render import crop_window, draw_debug, render_videos
from wcs_jax.reframing.targets import Observation, hotspot_peak, observe

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
import reframe  # noqa: E402  (tools/ is not a package)

EPS = 1e-6


# ----------------------------------------------------------------- synthetic video


def _trajectory(num_frames, frame_size):
  """Known disc centres `[T, 2]`: smooth loops that stay inside the frame, at most
  ~5.8 px per frame on x (below the default bound of 0.02 * 320 = 6.4 px)."""
  t = np.arange(num_frames)
  width, height = frame_size
  x = width / 2 + 110 * np.sin(2 * np.pi * t / 120)
  y = height / 2 + 45 * np.sin(2 * np.pi * t / 70 + 1.0)
  return np.stack([x, y], 1)


def _disc_mask(center, radius, frame_size):
  width, height = frame_size
  y, x = np.mgrid[:height, :width] + 0.5
  return (x - center[0]) ** 2 + (y - center[1]) ** 2 <= radius ** 2


def _hotspot(center, frame_size, sigma=3.0):
  """8-bit Gaussian spot at `center` (a hotspot map as track.py writes it)."""
  width, height = frame_size
  y, x = np.mgrid[:height, :width] + 0.5
  spot = np.exp(-((x - center[0]) ** 2 + (y - center[1]) ** 2) / (2 * sigma ** 2))
  return np.round(255 * spot).astype(np.uint8)


def _frame(mask, hotspot, rng_texture):
  """Textured background with the disc (and a bright salient spot) pasted in."""
  frame = rng_texture.copy()
  frame[mask] = (200, 60, 40)
  frame[hotspot > 128] = (255, 255, 120)
  return frame


def _texture(frame_size, seed=0):
  width, height = frame_size
  noise = np.random.default_rng(seed).uniform(0, 255, (height // 4, width // 4, 3))
  return cv2.resize(noise.astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)


def _contains(window, box):
  x, y, w, h = window
  return (box[0] >= x - EPS and box[1] >= y - EPS and box[2] <= x + w + EPS
          and box[3] <= y + h + EPS)


def _check_bounds(path, config):
  """The hard guarantees: inside the frame, pan speed, zoom rate and range."""
  width, height = path.frame_size
  windows = path.windows
  assert (windows[:, 0] >= -EPS).all() and (windows[:, 1] >= -EPS).all()
  assert (windows[:, 0] + windows[:, 2] <= width + EPS).all()
  assert (windows[:, 1] + windows[:, 3] <= height + EPS).all()
  np.testing.assert_allclose(windows[:, 2] / windows[:, 3], config.aspect[0] / config.aspect[1])
  max_step = config.max_pan_speed * max(width, height)
  assert np.abs(np.diff(path.center, axis=0)).max(initial=0) <= max_step + EPS
  assert np.abs(np.diff(np.log(path.zoom))).max(initial=0) <= config.max_zoom_rate + EPS
  assert (path.zoom >= config.min_zoom - EPS).all() and (path.zoom <= config.zoom + EPS).all()


# ----------------------------------------------------------------- geometry, targets


@pytest.mark.parametrize("frame_size, aspect, largest, native", [
    ((854, 480), (9, 16), (270, 480), (270, 480)),
    ((854, 480), (1, 1), (480, 480), (480, 480)),
    ((854, 480), (4, 5), (384, 480), (384, 480)),
    ((854, 480), (16, 9), (480 * 16 / 9, 480), (854, 480)),
    ((480, 854), (16, 9), (480, 270), (480, 270)),
    ((100, 100), (3, 1), (100, 100 / 3), (100, 34)),
])
def test_window_sizes(frame_size, aspect, largest, native):
  np.testing.assert_allclose(max_window_size(frame_size, aspect), largest)
  assert native_output_size(frame_size, aspect) == native


def test_observe_box_centroid_and_hotspot():
  mask = np.zeros((10, 12), bool)
  mask[2:5, 3:9] = True  # rows 2..4, cols 3..8
  observation = observe(mask)
  assert observation.box == (3.0, 2.0, 9.0, 5.0)
  assert observation.focus == (6.0, 3.5)  # centroid of pixel centres

  hotspot = np.zeros((10, 12), np.uint8)
  hotspot[7, 10] = 90
  hotspot[3:5, 4:7] = 250  # a quantised plateau: its centre, not its first pixel
  assert hotspot_peak(hotspot) == (5.5, 4.0)
  assert observe(mask, hotspot).focus == (5.5, 4.0)
  assert observe(mask, np.zeros((10, 12))).focus == (6.0, 3.5)  # no peak: centroid
  assert observe(np.zeros((10, 12), bool), hotspot) is None
  with pytest.raises(ValueError, match="differs"):
    observe(mask, np.zeros((9, 12)))


@pytest.mark.parametrize("kwargs, message", [
    ({"zoom": 0.5}, "min_zoom <= zoom"),
    ({"zoom": 2.0, "min_zoom": 3.0}, "min_zoom <= zoom"),
    ({"margin": 0.5}, "margin"),
    ({"dead_zone": -0.1}, "dead_zone"),
    ({"max_pan_speed": 0.0}, "max_pan_speed"),
    ({"max_pan_speed": 0.01, "max_zoom_rate": 0.05}, "max_zoom_rate"),
    ({"aspect": (0, 1)}, "aspect"),
])
def test_config_validation(kwargs, message):
  with pytest.raises(ValueError, match=message):
    CameraConfig(**kwargs)


# ----------------------------------------------------------------- camera path


@pytest.mark.parametrize("aspect, zoom", [((9, 16), 1.0), ((1, 1), 2.0), ((4, 5), 1.5)])
def test_path_follows_known_moving_target(aspect, zoom):
  frame_size, num_frames, radius = (320, 180), 150, 12
  centers = _trajectory(num_frames, frame_size)
  # The hotspot sits off the disc's centre, as a salient spot inside the object does.
  observations = [observe(_disc_mask(c, radius, frame_size),
                          _hotspot(c + (4, -3), frame_size)) for c in centers]
  config = CameraConfig(aspect=aspect, zoom=zoom)
  path = plan_camera_path(observations, frame_size, config)
  _check_bounds(path, config)
  inside = [_contains(w, o.box) for w, o in zip(path.windows, observations)]
  assert np.mean(inside) >= 0.95
  np.testing.assert_allclose(path.target, [o.focus for o in observations])
  # Centred on the hotspot, up to the dead zone and easing lag.
  offset = np.abs(path.center - path.target) / path.size
  assert np.median(offset) < 0.1


def test_speed_bound_holds_when_the_target_jumps():
  frame_size = (320, 180)
  box_left = Observation(focus=(40.0, 90.0), box=(30.0, 80.0, 50.0, 100.0))
  box_right = Observation(focus=(280.0, 90.0), box=(270.0, 80.0, 290.0, 100.0))
  observations = [box_left] * 30 + [box_right] * 40
  config = CameraConfig(aspect=(9, 16))
  path = plan_camera_path(observations, frame_size, config)
  _check_bounds(path, config)
  # The 101 px window keeps the left box up to centre x = 75.6 and the right one
  # from 239.5: 164 px, 26 frames at 6.4 px per frame. The camera keeps the left box
  # to the last frame before the jump and needs at most one frame beyond that.
  inside = np.array([_contains(w, o.box) for w, o in zip(path.windows, observations)])
  assert inside[:30].all() and not inside[30:55].any() and inside[57:].all()


def test_zooms_out_to_fit_a_growing_object_within_the_rate_bound():
  frame_size, num_frames = (320, 180), 120
  radii = np.where(np.arange(num_frames) < 60, 10.0, 40.0)  # grows at once at frame 60
  observations = [observe(_disc_mask((160, 90), r, frame_size)) for r in radii]
  config = CameraConfig(aspect=(1, 1), zoom=3.0, min_zoom=1.0)
  path = plan_camera_path(observations, frame_size, config)
  _check_bounds(path, config)
  big_box = np.subtract(observations[-1].box[2:], observations[-1].box[:2])
  fit = (180 * (1 - 2 * config.margin) / big_box).min()  # largest zoom with margins
  assert path.zoom[0] == pytest.approx(3.0) and path.zoom[-1] == pytest.approx(fit)
  # Zooming out starts before the object grows, so the box is in view at every frame.
  assert all(_contains(w, o.box) for w, o in zip(path.windows, observations))


def test_empty_masks_hold_the_last_position():
  frame_size = (320, 180)
  seen = Observation(focus=(100.0, 60.0), box=(90.0, 50.0, 110.0, 70.0))
  later = Observation(focus=(200.0, 60.0), box=(190.0, 50.0, 210.0, 70.0))
  observations = [None] * 5 + [seen] * 20 + [None] * 40 + [later] * 20
  config = CameraConfig(aspect=(1, 1), zoom=2.0)
  path = plan_camera_path(observations, frame_size, config)
  _check_bounds(path, config)
  np.testing.assert_allclose(path.target[:5], [seen.focus] * 5)  # held backwards
  np.testing.assert_allclose(path.target[25:65], [seen.focus] * 40)  # held
  # While nothing is seen the camera rests where it last saw the object.
  np.testing.assert_allclose(path.center[5:45], path.center[5:6].repeat(40, 0), atol=0.01)
  assert _contains(path.windows[30], seen.box)


def test_no_observation_at_all_centres_the_window():
  path = plan_camera_path([None] * 8, (320, 180), CameraConfig(aspect=(1, 1), zoom=2.0))
  np.testing.assert_allclose(path.center, [[160, 90]] * 8)
  np.testing.assert_allclose(path.size, [[90, 90]] * 8)
  assert np.isnan(path.target).all()
  assert path.to_dict(CameraConfig())["frames"][0]["target"] is None


def test_hotspot_at_the_object_edge_shifts_the_window_just_enough():
  box = (100.0, 60.0, 160.0, 120.0)  # 60 px wide, fits the 101.25 px window of 9:16
  observations = [Observation(focus=(102.0, 90.0), box=box)] * 10
  config = CameraConfig(aspect=(9, 16))
  path = plan_camera_path(observations, (320, 180), config)
  # Centred on the hotspot the box's right part would fall out; the window moves
  # only until the box's right edge is `margin` inside: 160 + 0.05 w - w / 2.
  w = 180 * 9 / 16
  np.testing.assert_allclose(path.center[:, 0], 160 + config.margin * w - w / 2)


def test_object_larger_than_the_window_keeps_the_window_inside_it():
  box = (50.0, 20.0, 250.0, 160.0)  # wider than the 101 px window of 9:16
  observations = [Observation(focus=(60.0, 90.0), box=box)] * 10
  path = plan_camera_path(observations, (320, 180), CameraConfig(aspect=(9, 16)))
  x, _, w, _ = path.windows[-1]
  assert x == pytest.approx(box[0])  # focus near the left: window at the box's left edge
  assert w == pytest.approx(180 * 9 / 16)


# ----------------------------------------------------------------- rendering


def test_crop_window_samples_sub_pixel_positions():
  ramp = np.tile(np.arange(120, dtype=np.uint8)[None, :, None], (40, 1, 3))  # value = column
  up = crop_window(ramp, (10.25, 0, 20, 40), (20, 40))  # same scale: shifted samples
  np.testing.assert_allclose(up[5, :, 0], 10.25 + np.arange(20), atol=0.5 + EPS)
  # Half size: output pixel u covers source [10.25 + 2u, 12.25 + 2u); the blur
  # against aliasing keeps a linear ramp linear.
  down = crop_window(ramp, (10.25, 0, 40, 40), (20, 20))
  np.testing.assert_allclose(down[10, 2:-2, 0], 10.25 + 2 * np.arange(2, 18) + 0.5,
                             atol=0.5 + EPS)


def test_draw_debug_pads_to_even_and_dims_outside():
  frame = np.full((45, 61, 3), 200, np.uint8)
  canvas = draw_debug(frame, (20.0, 0.0, 20.0, 45.0), None)
  assert canvas.shape == (46, 62, 3)
  assert (canvas[20, 30] == 200).all()
  assert (canvas[20, 5] == 80).all()


def test_rendering_streams_in_flat_memory(tmp_path):
  """600 frames of 320x180 (100 MiB if they were all kept, with the debug copies)."""
  psutil = pytest.importorskip("psutil")
  frame_size, num_frames = (320, 180), 600
  centers = _trajectory(num_frames, frame_size)
  observations = [Observation(focus=tuple(c), box=(*(c - 10), *(c + 10))) for c in centers]
  path = plan_camera_path(observations, frame_size, CameraConfig(aspect=(1, 1)))
  texture = _texture(frame_size)
  process, rss = psutil.Process(), {}

  def frames():
    for t in range(num_frames):
      if t in (100, num_frames - 1):
        rss[t] = process.memory_info().rss
      yield np.roll(texture, t, axis=1)

  count = render_videos(frames(), path, observations, tmp_path / "o.mp4", (180, 180), 24,
                        tmp_path / "o.debug.mp4")
  assert count == num_frames
  assert rss[num_frames - 1] - rss[100] < 20 * 2 ** 20


# ----------------------------------------------------------------- tools/reframe.py


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory):
  """An mp4 with a disc moving along the known trajectory, its masks and hotspots."""
  root = tmp_path_factory.mktemp("synthetic_clip")
  frame_size, num_frames, radius = (160, 96), 40, 8
  centers = _trajectory(num_frames, (320, 180)) / 2
  texture = _texture(frame_size)
  (root / "masks").mkdir()
  (root / "hotspots").mkdir()
  with VideoWriter(root / "clip.mp4", fps=20) as writer:
    for t, center in enumerate(centers):
      mask = _disc_mask(center, radius, frame_size)
      hotspot = _hotspot(center + (2, -1), frame_size)
      writer.write(_frame(mask, hotspot, texture))
      cv2.imwrite(str(root / "masks" / f"{t:05d}.png"), 255 * mask.astype(np.uint8))
      cv2.imwrite(str(root / "hotspots" / f"{t:05d}.png"), hotspot)
  return root, centers, radius


def _read_video(path):
  reader = FrameReader(path)
  frames = list(reader)
  return reader.info, frames


def test_cli_on_synthetic_video(synthetic_clip, tmp_path, capsys):
  root, centers, radius = synthetic_clip
  output = tmp_path / "out" / "clip_1x1.mp4"
  reframe.main(["--input", str(root / "clip.mp4"), "--masks-dir", str(root / "masks"),
                "--hotspots-dir", str(root / "hotspots"), "--aspect", "1:1", "--zoom", "1.5",
                "--output", str(output)])
  assert "40 frames 160x96 -> 96x96" in capsys.readouterr().out
  info, frames = _read_video(output)
  assert (info.width, info.height, len(frames)) == (96, 96, 40)
  assert info.fps == pytest.approx(20)
  debug_info, debug_frames = _read_video(tmp_path / "out" / "clip_1x1.debug.mp4")
  assert (debug_info.width, debug_info.height, len(debug_frames)) == (160, 96, 40)
  assert (tmp_path / "out" / "clip_1x1.path.png").stat().st_size > 10_000

  path = json.loads((tmp_path / "out" / "clip_1x1.path.json").read_text())
  assert path["frame_size"] == [160, 96] and path["config"]["zoom"] == 1.5
  windows = np.array([[f["x"], f["y"], f["w"], f["h"]] for f in path["frames"]])
  assert len(windows) == 40
  np.testing.assert_allclose(windows[:, 2], 64)  # 96 / 1.5
  boxes = np.concatenate([centers - radius, centers + radius], 1)
  assert np.mean([_contains(w, b) for w, b in zip(windows, boxes)]) >= 0.95
  # The target is the hotspot peak, not the disc's centre.
  np.testing.assert_allclose([f["target"] for f in path["frames"]], centers + (2, -1), atol=0.6)
  # The disc is red; the window is on it, so the rendered frames show it.
  middle = frames[20].astype(int)
  assert ((middle[..., 0] > 150) & (middle[..., 1] < 110)).sum() > 100


def test_cli_follows_the_chosen_object_of_palette_masks(synthetic_clip, tmp_path):
  """Object 2 is the moving disc, object 1 a static distractor in a corner."""
  root, centers, radius = synthetic_clip
  masks = tmp_path / "palette"
  for t, center in enumerate(centers):
    label_map = _disc_mask(center, radius, (160, 96)).astype(np.uint8) * 2
    label_map[80:90, 5:15] = 1
    mask_io.write_palette_png(masks / f"{t:05d}.png", label_map)
  targets = {}
  for object_id in (None, 2):
    output = tmp_path / f"object_{object_id}.mp4"
    reframe.main(["--input", str(root / "clip.mp4"), "--masks-dir", str(masks),
                  "--aspect", "1:1", "--zoom", "2", "--output", str(output), "--no-debug"]
                 + ([] if object_id is None else ["--object-id", str(object_id)]))
    path = json.loads(output.with_suffix(".path.json").read_text())
    targets[object_id] = np.array([f["target"] for f in path["frames"]])
  np.testing.assert_allclose(targets[2], centers, atol=0.6)  # the disc's centroid
  assert np.abs(targets[None] - centers).max() > 5  # the union's centroid is not
  # An id no frame has is a wrong id, not an empty track: refused, listing the ids present.
  output = tmp_path / "object_5.mp4"
  with pytest.raises(SystemExit) as exit_info:
    reframe.main(["--input", str(root / "clip.mp4"), "--masks-dir", str(masks), "--aspect", "1:1",
                  "--output", str(output), "--object-id", "2", "--object-id", "1+5@shot0"])
  assert str(exit_info.value.code) == (f"reframe.py: error: --object-id 1+5: no frame of {masks} has "
                                       "object 5; the ids present are 1, 2")
  assert not list(tmp_path.glob("object_5*"))


def test_cli_errors_for_video_input(synthetic_clip, tmp_path):
  root, _, _ = synthetic_clip
  masks = tmp_path / "masks"
  masks.mkdir()
  for mask in sorted((root / "masks").glob("*.png"))[:-1]:
    (masks / mask.name).write_bytes(mask.read_bytes())
  base = ["--input", str(root / "clip.mp4"), "--output", str(tmp_path / "o.mp4")]
  with pytest.raises(SystemExit, match="masks: 39 masks for 40 frames"):
    reframe.main(base + ["--masks-dir", str(masks)])
  missing = r"masks: no hotspot map named 00039\.\* for mask .*00039.png"
  with pytest.raises(SystemExit, match=missing):
    reframe.main(base + ["--masks-dir", str(root / "masks"), "--hotspots-dir", str(masks)])
  for kind, flag in (("mask", "--masks-dir"), ("hotspot map", "--hotspots-dir")):
    small = tmp_path / f"small_{kind[:4]}"
    small.mkdir()
    source = root / ("masks" if kind == "mask" else "hotspots")
    for path in sorted(source.glob("*.png")):
      cv2.imwrite(str(small / path.name), cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (80, 48),
                                                   interpolation=cv2.INTER_NEAREST))
    extra = [flag, str(small)] if kind == "mask" else ["--masks-dir", str(root / "masks"), flag, str(small)]
    with pytest.raises(SystemExit, match=f"{small / '00000.png'}: {kind} is 80x48, the frames are 160x96"):
      reframe.main(base + extra)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("aspect, size, expected", [
    ("9:16", None, (270, 480)), ("16:9", None, (854, 480)), ("4:5", "192x240", (192, 240))])
def test_cli_on_davis_ground_truth(shared_data, tmp_path, capsys, aspect, size, expected):
  davis = shared_data / "davis2016"
  output = tmp_path / "blackswan.mp4"
  argv = ["--input", str(davis / "JPEGImages/480p/blackswan"),
          "--masks-dir", str(davis / "Annotations/480p/blackswan"),
          "--aspect", aspect, "--output", str(output), "--no-debug", "--strategy", "follow"]
  reframe.main(argv + (["--size", size] if size else []))
  info, frames = _read_video(output)
  assert (info.width, info.height, len(frames)) == (*expected, 50)
  w, h = (int(v) for v in aspect.split(":"))
  assert abs(info.width / info.height - w / h) <= 2 / info.height
  assert not (tmp_path / "blackswan.debug.mp4").exists()
  path = json.loads((tmp_path / "blackswan.path.json").read_text())
  for f in path["frames"]:
    assert f["x"] >= -EPS and f["y"] >= -EPS
    assert f["x"] + f["w"] <= 854 + EPS and f["y"] + f["h"] <= 480 + EPS
    assert f["w"] / f["h"] == pytest.approx(w / h)


def test_cli_bad_input(shared_data, tmp_path, capsys):
  davis = shared_data / "davis2016"
  frames = str(davis / "JPEGImages/480p/blackswan")
  masks_of_other = str(davis / "Annotations/480p/car-shadow")  # 40 masks, 50 frames
  base = ["--input", frames, "--output", str(tmp_path / "o.mp4")]
  with pytest.raises(SystemExit, match="car-shadow: 40 masks for 50 frames"):
    reframe.main(base + ["--masks-dir", masks_of_other])
  with pytest.raises(SystemExit, match="nowhere"):
    reframe.main(["--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "o.mp4"),
                  "--masks-dir", masks_of_other])
  with pytest.raises(SystemExit):
    reframe.main(base + ["--masks-dir", masks_of_other, "--aspect", "9:16", "--size", "300x300"])
  assert "is not of --aspect 9:16" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    reframe.main(base + ["--masks-dir", masks_of_other, "--click", "3,4"])
  assert "--click and --box need --workdir" in capsys.readouterr().err
  masks = str(davis / "Annotations/480p/blackswan")
  for flag, value, message in (
      ("--aspect", "9-16", "--aspect: expected two numbers as A:B, got '9-16'"),
      ("--aspect", "9:0", "--aspect: expected positive W:H, got '9:0'"),
      ("--aspect", "nan:1", "--aspect: expected positive W:H, got 'nan:1'"),
      ("--aspect", "inf:1", "--aspect: expected positive W:H, got 'inf:1'"),
      ("--size", "100", "--size: expected two numbers as AxB, got '100'"),
      ("--size", "101x180", "--size: expected positive even WxH (H.264 needs even sizes), got '101x180'")):
    with pytest.raises(SystemExit) as exit_info:
      reframe.main(base + ["--masks-dir", masks, flag, value])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err, (flag, value)
  for name in ("o.mov", "o.png"):  # any other video or image name is refused, not taken for a folder
    with pytest.raises(SystemExit) as exit_info:
      reframe.main(["--input", frames, "--masks-dir", masks, "--output", str(tmp_path / name)])
    # SystemExit(message): Python prints it on stderr and exits with status 1.
    assert str(exit_info.value.code).startswith(f"reframe.py: error: --output {tmp_path / name}: expected OUT.mp4")
    assert not (tmp_path / name).exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """A stage-2 workdir of random weights (`tracking_testing`), compiled cheaply."""
  path = tracking_testing.write_random_workdir(tmp_path_factory.mktemp("run"))
  with train_testing.fast_compiles():
    yield path


def test_cli_workdir_tracks_from_a_click(tiny_run, tmp_path, capsys):
  """The real tracker (random weights) initialised by a click on a synthetic clip: the
  reframed video has the requested aspect and one frame per input frame."""
  video = synthetic.render_video(7, 8, size=(96, 64))
  with VideoWriter(tmp_path / "clip.mp4", fps=10) as writer:
    for frame in video.frames:
      writer.write(frame)
  ys, xs = np.nonzero(video.masks[0, 0])
  click = (float(np.median(xs)), float(np.median(ys)))
  output = tmp_path / "out" / "clip_9x16.mp4"
  reframe.main(["--input", str(tmp_path / "clip.mp4"), "--workdir", str(tiny_run),
                "--click", f"{click[0]:g},{click[1]:g}", "--aspect", "9:16",
                "--strategy", "follow", "--output", str(output)])
  assert "8 frames 96x64 -> 36x64" in capsys.readouterr().out
  info, frames = _read_video(output)
  assert (info.width, info.height, len(frames)) == (36, 64, 8)
  assert abs(info.width / info.height - 9 / 16) <= 2 / info.height
  debug_info, debug_frames = _read_video(output.with_name("clip_9x16.debug.mp4"))
  assert (debug_info.width, debug_info.height, len(debug_frames)) == (96, 64, 8)
  path = json.loads(output.with_name("clip_9x16.path.json").read_text())
  assert len(path["frames"]) == 8
  # The first frame's object is the clicked one (its component, or a disc around the
  # click), so the first target lies near the click.
  assert np.hypot(*np.subtract(path["frames"][0]["target"], click)) < 16


# ------------------------------------------- shots, strategies, audio, batch, keyframes

from test_video_io import probe, write_source  # noqa: E402
from wcs_jax.reframing import keyframes  # noqa: E402
from wcs_jax.reframing.render import letterbox  # noqa: E402
from wcs_jax.reframing.shots import ShotDetector  # noqa: E402
from wcs_jax.reframing.strategies import choose_strategy, plan_video  # noqa: E402
from wcs_jax.reframing.subjects import frame_subjects, parse_rule  # noqa: E402

DAVIS_SEQUENCES = ("blackswan", "car-shadow", "libby", "motocross-jump")  # 50, 40, 49, 40 frames


@pytest.fixture(scope="module")
def davis_reel(shared_data, tmp_path_factory):
  """Two DAVIS-2016 sequences back to back as one H.264 video with a tone as its audio
  (blackswan's 50 frames, then car-shadow's 40), and their masks renumbered."""
  root = tmp_path_factory.mktemp("reel")
  davis = shared_data / "davis2016"
  frames = []
  (root / "masks").mkdir()
  for sequence in DAVIS_SEQUENCES[:2]:
    frames += list(FrameReader(davis / "JPEGImages/480p" / sequence))
    for mask in sorted((davis / "Annotations/480p" / sequence).glob("*.png")):
      (root / "masks" / f"{len(list((root / 'masks').iterdir())):05d}.png").write_bytes(
          mask.read_bytes())
  write_source(root / "reel.mp4", frames, fps=24, audio_seconds=len(frames) / 24)
  return root


def test_shot_cuts_of_four_davis_sequences_back_to_back(shared_data):
  detector = ShotDetector()
  starts, count = [], 0
  for sequence in DAVIS_SEQUENCES:
    reader = FrameReader(shared_data / "davis2016/JPEGImages/480p" / sequence)
    starts.append(count)
    for frame in reader:
      detector.update(frame)
      count += 1
  assert detector.cuts() == starts[1:]  # exactly at 50, 90, 139
  changes = np.array(detector.changes)
  within = np.delete(changes, starts)
  # Margin: motion and pans inside a sequence stay under half the threshold.
  assert within.max() < detector.config.threshold / 2 < changes[starts[1:]].min()
  assert detector.shots() == [(0, 50), (50, 90), (90, 139), (139, 179)]


def test_reframe_keeps_audio_and_cuts_the_camera_path_at_the_shot(davis_reel, tmp_path, capsys):
  """9:16 and 1:1 in one run, following the object in every shot; the window jumps at
  the cut (faster than the pan speed bound allows) instead of gliding, and the output
  is H.264 with the source's audio of the same duration."""
  out = tmp_path / "out"
  reframe.main(["--input", str(davis_reel / "reel.mp4"), "--masks-dir", str(davis_reel / "masks"),
                "--aspect", "9:16,1:1", "--strategy", "follow", "--output", str(out),
                "--no-debug"])
  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 2 and all("2 shot(s) (2 follow)" in line for line in lines)
  _, _, source_times, _, source_audio_end, _ = probe(davis_reel / "reel.mp4")
  for name, size in (("reel_9x16", (270, 480)), ("reel_1x1", (480, 480))):
    codec, count, times, audio_codec, audio_end, _ = probe(out / f"{name}.mp4")
    assert (codec, count, audio_codec) == ("h264", 90, "aac")
    np.testing.assert_allclose(times, source_times, atol=1e-4)
    assert abs(audio_end - (times[-1] + 1 / 24)) <= 1 / 24
    assert audio_end == pytest.approx(source_audio_end)
    info = FrameReader(out / f"{name}.mp4").info
    assert (info.width, info.height, info.audio_streams) == (*size, 1)
    path = json.loads((out / f"{name}.path.json").read_text())
    assert [(s["start"], s["end"], s["strategy"]) for s in path["shots"]] == [
        (0, 50, "follow"), (50, 90, "follow")]
    centre_x = np.array([f["x"] + f["w"] / 2 for f in path["frames"]])
    steps = np.abs(np.diff(centre_x))
    max_step = CameraConfig().max_pan_speed * 854
    assert steps[np.arange(89) != 49].max() <= max_step + EPS  # within each shot
    rows = list(csv.DictReader(open(out / f"{name}.keyframes.csv", encoding="utf-8")))
    assert {(r["shot"], r["frame"]) for r in rows} >= {("0", "0"), ("0", "49"), ("1", "50"),
                                                       ("1", "89")}
  # As one shot, the same path glides through the cut at the speed bound.
  reframe.main(["--input", str(davis_reel / "reel.mp4"), "--masks-dir", str(davis_reel / "masks"),
                "--aspect", "1:1", "--strategy", "follow", "--no-shots", "--no-debug",
                "--output", str(tmp_path / "one_shot.mp4")])
  glide = json.loads((tmp_path / "one_shot.path.json").read_text())
  cut = json.loads((out / "reel_1x1.path.json").read_text())
  glide_x = np.array([f["x"] for f in glide["frames"]])
  cut_x = np.array([f["x"] for f in cut["frames"]])
  assert np.abs(np.diff(glide_x)).max() <= CameraConfig().max_pan_speed * 854 + EPS
  assert abs(cut_x[50] - cut_x[49]) > 2 * np.abs(np.diff(glide_x[45:55])).max()


def test_letterbox_when_the_object_is_larger_than_the_window(shared_data, tmp_path, capsys):
  """Blackswan's swan (366-384 px wide) cannot fit a 270-px 9:16 window: auto picks
  letterbox, the frame is shown whole in the middle over a blurred copy of itself."""
  davis = shared_data / "davis2016"
  out = tmp_path / "swan.mp4"
  reframe.main(["--input", str(davis / "JPEGImages/480p/blackswan"),
                "--masks-dir", str(davis / "Annotations/480p/blackswan"),
                "--aspect", "9:16", "--output", str(out), "--no-debug"])
  assert "1 shot(s) (1 letterbox)" in capsys.readouterr().out
  path = json.loads((tmp_path / "swan.path.json").read_text())
  assert path["shots"][0]["strategy"] == "letterbox"
  assert all((f["x"], f["y"], f["w"], f["h"]) == (0, 0, 854, 480) for f in path["frames"])
  frame = FrameReader(davis / "JPEGImages/480p/blackswan").__iter__().__next__()
  rendered = next(iter(FrameReader(out)))
  assert rendered.shape == (480, 270, 3)
  # The frame fitted: 270 x 152 in the middle (rows 164..316).
  fitted = cv2.resize(frame, (270, 152), interpolation=cv2.INTER_AREA).astype(int)
  assert np.abs(rendered[164:316].astype(int) - fitted).mean() < 8
  # Above and below: the blurred background, smooth (small pixel-to-pixel change).
  band = rendered[:150].astype(int)
  assert np.abs(np.diff(band, axis=1)).mean() < 1.5 < np.abs(np.diff(fitted, axis=1)).mean()
  # A window of the output's aspect is not letterboxed.
  image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)
  np.testing.assert_array_equal(crop_window(image, (0, 0, 64, 48), (64, 48)), image)
  assert letterbox(image, (32, 48)).shape == (48, 32, 3)


def test_strategy_choice_per_shot():
  frame_size, config = (320, 180), CameraConfig(aspect=(1, 1))

  def still(box, n=10):
    return [Observation(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), box)] * n

  moving = [Observation((30 + 26 * t, 90), (20 + 26 * t, 80, 40 + 26 * t, 100)) for t in range(10)]
  huge = still((10, 0, 310, 170))
  assert choose_strategy(still((100, 60, 140, 100)), frame_size, config) == "steady"
  assert choose_strategy(moving, frame_size, config) == "follow"
  assert choose_strategy(huge, frame_size, config) == "letterbox"
  path, chosen = plan_video(still((100, 60, 140, 100)) + moving + huge, frame_size, config,
                            [(0, 10), (10, 20), (20, 30)])
  assert chosen == ["steady", "follow", "letterbox"]
  assert np.ptp(path.center[:10], axis=0).max() == 0  # steady: one window
  assert np.ptp(path.center[10:20, 0]) > 50  # follow: pans after the object (at 6.4 px/frame)
  np.testing.assert_allclose(path.windows[20:], [[0, 0, 320, 180]] * 10)
  with pytest.raises(ValueError, match="do not tile"):
    plan_video(moving, frame_size, config, [(0, 4), (5, 10)])


def test_subject_rules_per_shot_and_time():
  rules = [parse_rule("1"), parse_rule("1+2@1.5-"), parse_rule("2@shot1")]  # last wins
  assert rules[1].ids == (1, 2)
  subjects = frame_subjects(rules, [(0, 4), (4, 8)], fps=2)  # frame t at t/2 s
  assert subjects == [(1,), (1,), (1,), (1, 2), (2,), (2,), (2,), (2,)]
  assert frame_subjects([], [(0, 2)], 2) == [None, None]
  for bad in ("x", "0", "2@shot", "1@5-3", "1@a-b"):
    with pytest.raises(ValueError, match="--object-id"):
      parse_rule(bad)
  with pytest.raises(ValueError, match="shot3.*2 shot"):
    frame_subjects([parse_rule("1@shot3")], [(0, 4), (4, 8)], 2)


def test_after_effects_keyframes_show_the_window(tmp_path):
  observations = [Observation((100 + 3 * t, 90), (90 + 3 * t, 80, 110 + 3 * t, 100))
                  for t in range(20)]
  path, _ = plan_video(observations, (320, 180), CameraConfig(aspect=(1, 1), zoom=2),
                       [(0, 20)], ["follow"])
  position, scale = keyframes.after_effects_transform(path, (90, 90))
  anchor = np.array([160, 90])
  for t in (0, 10, 19):
    x, y, w, h = path.windows[t]
    for corner, target in (((x, y), (0, 0)), ((x + w, y + h), (90, 90))):
      np.testing.assert_allclose(position[t] + scale[t] / 100 * (np.array(corner) - anchor),
                                 target, atol=1e-9)
  keyframes.write_after_effects(tmp_path / "k.ae.txt", path, (90, 90), 24)
  text = (tmp_path / "k.ae.txt").read_text()
  assert text.startswith("Adobe After Effects 8.0 Keyframe Data")
  assert text.count("\n\t19\t") == 2 and "End of Keyframe Data" in text
  steady, _ = plan_video(observations[:1] * 20, (320, 180), CameraConfig(aspect=(1, 1)),
                         [(0, 20)], ["steady"])
  assert keyframes.keyframe_indices(steady, [(0, 20)]) == [[0, 19]]
  assert keyframes.timecode(24 * 3661 + 5, 24) == "01:01:01:05"


def test_batch_of_videos_survives_a_corrupt_file(synthetic_clip, tmp_path, capsys):
  root, _, _ = synthetic_clip
  clips = tmp_path / "clips"
  clips.mkdir()
  for name in ("a.mp4", "c.mp4"):
    (clips / name).write_bytes((root / "clip.mp4").read_bytes())
  (clips / "b.mp4").write_bytes(b"not a video" * 100)
  masks = tmp_path / "masks"
  for name in ("a", "b", "c"):
    (masks / name).mkdir(parents=True)
    for mask in (root / "masks").iterdir():
      (masks / name / mask.name).write_bytes(mask.read_bytes())
  out = tmp_path / "out"
  with pytest.raises(SystemExit) as exit_info:
    reframe.main(["--input", str(clips), "--masks-dir", str(masks), "--aspect", "9:16,1:1",
                  "--output", str(out), "--no-debug"])
  assert exit_info.value.code == 1
  err = capsys.readouterr().err
  assert "2 of 3 videos reframed; failed:" in err and "b.mp4" in err.split("failed:")[1]
  for name in ("a", "c"):
    for aspect, size in (("9x16", (54, 96)), ("1x1", (96, 96))):
      info = FrameReader(out / f"{name}_{aspect}.mp4").info
      assert (info.width, info.height, info.num_frames) == (*size, 40)
  assert not list(out.glob("b_*.mp4"))
