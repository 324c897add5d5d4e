"""Procedural stand-ins for every dataset, written in each dataset's official layout.

The embedded default data of the project: with it the whole chain (build, train, track,
evaluate, export) runs on a fresh machine with no download. Everything a real download
holds is mimicked at the level the code reads it, so `python -m input_pipeline.build`
builds these folders exactly as it builds the real ones.

The scene model, shared by all layouts:

* Backgrounds: smooth multi-octave colour noise, with a few textured distractor blobs
  baked in (so "anything textured" is not the answer), larger than the frame; videos
  pan across it along a smooth path.
* Objects: star-shaped blobs, radius `r(a) = R * s(t) * (1 + sum_k A_k(t) cos(k a +
  phi_k(t)))` (harmonics k = 2..4, sum of |A_k| <= 0.35) in a frame stretched by
  (ax, ay) and rotated by theta(t), filled with their own noise texture that moves and
  deforms with them. Over a video the centre follows a sum of two sinusoids per axis,
  theta and the scale s drift, and the harmonic phases and amplitudes change: the
  object moves and deforms.
* Salient spot (the hotspot): a bright, saturated disc of radius 0.22 (object units)
  centred at distance <= 0.4 from the object centre, so always inside the object
  (the shape's radius never drops below 0.65). Its centre in image coordinates is the
  ground-truth hotspot track.
* SALICON-like images: 1-3 objects, only the frontmost with a spot. Each of 8-15
  simulated workers makes 4-9 fixations, 65% of them drawn from a Gaussian around the
  spot (sigma = the spot's radius), 20% uniformly on the salient object, 15% from a
  centre-biased Gaussian over the image.

Every example is drawn from its own generator seeded by (seed, layout, index), so
`write` is deterministic for a seed, an example does not depend on how many others are
written, and `video_track` recomputes the ground-truth track of any written video
without rendering it.

Layouts (`write(layout, ...)`), `num` examples in all, split about 3:1 where the
dataset has two splits (at least one example in each when num >= 2):

| layout | written |
|---|---|
| salicon | 2017 release: `images/{train,val}/COCO_{train,val}2014_%012d.jpg`, `maps/{train,val}/*.png` (gaze maps, `input_pipeline.fixations`), `fixations/{train,val}/*.mat` (`gaze` struct per worker: `location`, `timestamp`, `fixations` as 1-based [x, y]) |
| duts | `DUTS-TR/DUTS-TR-{Image,Mask}/`, `DUTS-TE/DUTS-TE-{Image,Mask}/` (jpg; png 0/255) |
| sbd | `benchmark_RELEASE/dataset/{img,inst,cls}/`, `train.txt`, `val.txt` (`GTinst`, `GTcls` .mat structs) |
| davis2016 | `JPEGImages/480p/<seq>/%05d.jpg`, `Annotations/480p/<seq>/%05d.png` (0/255), `ImageSets/480p/{train,val}.txt` (DAVIS-2016 form) |
| segtrackv2 | `JPEGImages/<seq>/<seq>_%05d.png` (.bmp for every third sequence, as some real ones), `GroundTruth/<seq>/<seq>_%05d.png` (0/255) or, for the two-object sequences (odd indices), `GroundTruth/<seq>/{1,2}/` (no `ImageSets/`: nothing reads it) |
| youtube_objects | `<category>/data/%04d/shots/001/images/frame%04d.jpg` (from frame 1), `labels/%05d.jpg` (JPEG 0/255) on frames 1, 11, 21, ... |

Image sizes are `size=(W, H)` for all layouts (default 320x240); the DAVIS folder is
named `480p` whatever the size, as the layout demands.
"""
from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import zlib

import cv2
import numpy as np
import scipy.io
import scipy.sparse

from input_pipeline import fixations as fixations_lib
from wcs_jax.evaluation import layouts

LAYOUTS = ("salicon", "duts", "sbd", "davis2016", "segtrackv2", "youtube_objects")
DEFAULT_SIZE = (320, 240)  # (width, height)
DEFAULT_NUM_FRAMES = {"davis2016": 24, "segtrackv2": 24, "youtube_objects": 31}
# YouTube-Objects annotates one frame in ten.
YTO_LABEL_STEP = 10
# SBD class ids are 1..20 (the PASCAL VOC classes).
_NUM_VOC_CLASSES = 20

_HARMONICS = np.array([2, 3, 4])
_SPOT_RADIUS = 0.22
_JPEG_QUALITY = 92


# ----------------------------------------------------------------------------------
# Scene model.


@dataclasses.dataclass(frozen=True)
class ObjectMotion:
  """Pose and shape of one object over T frames (image pixels, x right, y down).

  Attributes:
    center: `[T, 2]` (x, y) of the object's centre.
    theta: `[T]` rotation in radians.
    scale: `[T]` size factor s(t).
    amplitudes: `[T, 3]` harmonic amplitudes A_k(t), k = 2, 3, 4.
    phases: `[T, 3]` harmonic phases phi_k(t).
    radius: base radius R in pixels.
    aspect: (ax, ay) stretch of the object frame.
    spot: (x, y) of the spot centre in object units, or None for an object without
      a salient spot.
  """
  center: np.ndarray
  theta: np.ndarray
  scale: np.ndarray
  amplitudes: np.ndarray
  phases: np.ndarray
  radius: float
  aspect: tuple[float, float]
  spot: tuple[float, float] | None

  def to_image(self, local_xy: tuple[float, float]) -> np.ndarray:
    """`[T, 2]` image coordinates of a point given in object units."""
    u = local_xy[0] * self.aspect[0] * self.radius * self.scale
    v = local_xy[1] * self.aspect[1] * self.radius * self.scale
    cos, sin = np.cos(self.theta), np.sin(self.theta)
    return self.center + np.stack([cos * u - sin * v, sin * u + cos * v], axis=-1)

  @property
  def hotspot(self) -> np.ndarray:
    """`[T, 2]` (x, y) of the spot centre; the object centre when it has no spot."""
    return self.to_image(self.spot) if self.spot is not None else self.center


@dataclasses.dataclass(frozen=True)
class VideoTrack:
  """Ground truth of a synthetic video's objects, frame by frame.

  Attributes:
    centers: `[T, K, 2]` (x, y) object centres in pixels.
    hotspots: `[T, K, 2]` (x, y) centres of the objects' salient spots.
  """
  centers: np.ndarray
  hotspots: np.ndarray


@dataclasses.dataclass(frozen=True)
class SyntheticVideo:
  """A rendered video.

  Attributes:
    frames: `[T, H, W, 3]` uint8 RGB.
    masks: `[T, K, H, W]` bool visible mask of each object (later objects occlude
      earlier ones).
    track: centres and hotspots of the K objects.
  """
  frames: np.ndarray
  masks: np.ndarray
  track: VideoTrack


def _rng(seed: int, layout: str, index: int) -> tuple[np.random.Generator, np.random.Generator]:
  """Independent (motion, appearance) generators of example `index` of a layout."""
  return _split_seed(np.random.SeedSequence([seed, zlib.crc32(layout.encode()), index]))


def noise_texture(rng: np.random.Generator, height: int, width: int,
                  cell: float = 24.0) -> np.ndarray:
  """Smooth random colour texture.

  Three octaves of bicubically upsampled Gaussian noise give two fields that blend
  three random colours.

  Args:
    rng: random generator.
    height: texture height.
    width: texture width.
    cell: size in pixels of the coarsest noise cell.

  Returns:
    `[H, W, 3]` float32 in [0, 1].
  """
  fields = []
  for _ in range(2):
    field = np.zeros((height, width), np.float32)
    for octave in range(3):
      step = max(cell / 2 ** octave, 2.0)
      grid = rng.standard_normal((int(height / step) + 3, int(width / step) + 3))
      field += 0.5 ** octave * cv2.resize(grid.astype(np.float32), (width, height),
                                          interpolation=cv2.INTER_CUBIC)
    low, high = np.percentile(field, (2, 98))
    fields.append(np.clip((field - low) / max(high - low, 1e-6), 0.0, 1.0)[..., None])
  colours = rng.uniform(0.05, 0.95, size=(3, 3)).astype(np.float32)
  base = colours[0] * (1.0 - fields[0]) + colours[1] * fields[0]
  return base * (1.0 - 0.5 * fields[1]) + colours[2] * (0.5 * fields[1])


def _smooth_path(rng: np.random.Generator, num_frames: int, low: float, high: float,
                 speed: float) -> np.ndarray:
  """`[T]` values that stay in [low, high]: a sum of two random sinusoids."""
  t = np.arange(num_frames, dtype=np.float64)
  mid, half = 0.5 * (low + high), 0.5 * (high - low)
  frequencies = rng.uniform(0.3, 1.0, size=2) * speed
  phases = rng.uniform(0, 2 * np.pi, size=2)
  weights = rng.dirichlet([1.0, 1.0])
  start = rng.uniform(-0.6, 0.6)
  wave = sum(w * np.sin(f * t + p) for w, f, p in zip(weights, frequencies, phases))
  return mid + half * np.clip(start + 0.4 * (wave - wave[0]), -1.0, 1.0)


def sample_motion(rng: np.random.Generator, num_frames: int, size: tuple[int, int], *,
                  with_spot: bool, radius_range: tuple[float, float] = (0.13, 0.22),
                  speed: float = 0.15) -> ObjectMotion:
  """Random pose, shape and motion of one object over `num_frames` frames.

  Args:
    rng: random generator.
    num_frames: T (1 for a still image).
    size: (W, H) of the image.
    with_spot: whether the object carries a salient spot.
    radius_range: base radius R as fractions of min(W, H).
    speed: angular frequency scale (radians per frame) of the motion.
  """
  width, height = size
  radius = rng.uniform(*radius_range) * min(width, height)
  aspect = tuple(rng.uniform(0.75, 1.3, size=2))
  # Largest extent: R * max(aspect) * s_max * (1 + 0.35).
  extent = radius * max(aspect) * 1.15 * 1.35
  margin_x = min(extent, 0.45 * width)
  margin_y = min(extent, 0.45 * height)
  center = np.stack([_smooth_path(rng, num_frames, margin_x, width - margin_x, speed),
                     _smooth_path(rng, num_frames, margin_y, height - margin_y, speed)], -1)
  t = np.arange(num_frames, dtype=np.float64)
  theta = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.04, 0.04) * t
  scale = 1.0 + 0.15 * np.sin(rng.uniform(0.05, 0.2) * t + rng.uniform(0, 2 * np.pi))
  base_amplitudes = rng.dirichlet(np.ones(3)) * rng.uniform(0.1, 0.3)
  wobble = 1.0 + 0.15 * np.sin(np.outer(t, rng.uniform(0.1, 0.3, size=3))
                               + rng.uniform(0, 2 * np.pi, size=3))
  amplitudes = base_amplitudes * wobble
  phases = rng.uniform(0, 2 * np.pi, size=3) + np.outer(t, rng.uniform(-0.1, 0.1, size=3))
  spot = None
  if with_spot:
    distance, angle = rng.uniform(0.0, 0.4), rng.uniform(0, 2 * np.pi)
    spot = (distance * math.cos(angle), distance * math.sin(angle))
  return ObjectMotion(center=center, theta=theta, scale=scale, amplitudes=amplitudes,
                      phases=phases, radius=radius, aspect=aspect, spot=spot)


@dataclasses.dataclass(frozen=True)
class _Appearance:
  texture: np.ndarray  # [S, S, 3] float32, object units [-1.5, 1.5] mapped onto it.
  spot_colour: np.ndarray  # [3]


def _sample_appearance(rng: np.random.Generator) -> _Appearance:
  texture = noise_texture(rng, 96, 96, cell=rng.uniform(10, 30))
  # A saturated colour in HSV, full value: stands out from the muted textures.
  hsv = np.array([[[rng.uniform(0, 180), 255, 255]]], np.uint8)
  spot_colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0
  return _Appearance(texture=texture, spot_colour=spot_colour)


def _draw_object(canvas: np.ndarray, motion: ObjectMotion, appearance: _Appearance,
                 t: int) -> np.ndarray:
  """Paints object `motion` at frame t onto `canvas` ([H, W, 3] float32, in place).

  Returns:
    `[H, W]` bool: the pixels the object covers.
  """
  height, width = canvas.shape[:2]
  covered = np.zeros((height, width), bool)
  cx, cy = motion.center[t]
  cos, sin = math.cos(motion.theta[t]), math.sin(motion.theta[t])
  unit = motion.radius * motion.scale[t]
  # Only the box that can hold the object is computed: r(a) <= 1 + sum |A_k|.
  extent = unit * max(motion.aspect) * (1.0 + np.abs(motion.amplitudes[t]).sum()) + 1.0
  x0, x1 = max(int(cx - extent), 0), min(int(math.ceil(cx + extent)) + 1, width)
  y0, y1 = max(int(cy - extent), 0), min(int(math.ceil(cy + extent)) + 1, height)
  if x0 >= x1 or y0 >= y1:
    return covered
  dx = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
  dy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
  # Object units: the base (undeformed) shape is the unit disc.
  u = (cos * dx + sin * dy) / (motion.aspect[0] * unit)
  v = (-sin * dx + cos * dy) / (motion.aspect[1] * unit)
  angle = np.arctan2(v, u)
  boundary = 1.0 + np.einsum(
      "k,khw->hw", motion.amplitudes[t],
      np.cos(_HARMONICS[:, None, None] * angle[None] + motion.phases[t][:, None, None]))
  inside = u * u + v * v <= boundary * boundary
  texture = appearance.texture
  side = texture.shape[0]
  map_x = ((u / 3.0 + 0.5) * (side - 1)).astype(np.float32)
  map_y = ((v / 3.0 + 0.5) * (side - 1)).astype(np.float32)
  colour = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
  box = canvas[y0:y1, x0:x1]
  box[inside] = colour[inside]
  if motion.spot is not None:
    distance = np.hypot(u - motion.spot[0], v - motion.spot[1]) / _SPOT_RADIUS
    spot = inside & (distance <= 1.0)
    # Brightest at the centre: a small radial highlight inside the coloured disc.
    glow = np.clip(1.0 - distance[spot], 0.0, 1.0)[:, None]
    box[spot] = appearance.spot_colour * (1.0 - 0.5 * glow) + 0.5 * glow
  covered[y0:y1, x0:x1] = inside
  return covered


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
  """Noise texture with 1-3 spot-less textured distractor blobs baked in."""
  canvas = noise_texture(rng, height, width, cell=rng.uniform(16, 48))
  for _ in range(rng.integers(1, 4)):
    motion = sample_motion(rng, 1, (width, height), with_spot=False,
                           radius_range=(0.05, 0.12))
    _draw_object(canvas, motion, _sample_appearance(rng), 0)
  return canvas


def render_video(seed: int | np.random.SeedSequence, num_frames: int,
                 size: tuple[int, int] = DEFAULT_SIZE, num_objects: int = 1, *,
                 spots: int | None = None) -> SyntheticVideo:
  """Renders one synthetic video.

  Args:
    seed: seed of the example.
    num_frames: T.
    size: (W, H).
    num_objects: K objects, drawn in order (later ones in front).
    spots: how many of the objects carry a salient spot: the last ones, drawn in
      front, so no spot-less object hides a spot; default all.

  Returns:
    The frames, visible masks and track.
  """
  motion_rng, appearance_rng = _split_seed(seed)
  video, _ = _render(motion_rng, appearance_rng, num_frames, size, num_objects,
                     num_objects if spots is None else spots)
  return video


def _split_seed(seed: int | np.random.SeedSequence) -> tuple[np.random.Generator, np.random.Generator]:
  """(motion, appearance) generators: a track needs only the first."""
  sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
  motion, appearance = sequence.spawn(2)
  return np.random.default_rng(motion), np.random.default_rng(appearance)


def _motions(motion_rng: np.random.Generator, num_frames: int, size: tuple[int, int],
             num_objects: int, spots: int) -> tuple[list[ObjectMotion], np.ndarray]:
  """Object motions and the `[T, 2]` camera pan offset (background crop origin)."""
  width, height = size
  motions = [sample_motion(motion_rng, num_frames, size, with_spot=k >= num_objects - spots)
             for k in range(num_objects)]
  pad = int(0.15 * max(width, height))
  pan = np.stack([_smooth_path(motion_rng, num_frames, 0, 2 * pad, 0.1),
                  _smooth_path(motion_rng, num_frames, 0, 2 * pad, 0.1)], -1)
  return motions, pan


def _track(motions: list[ObjectMotion]) -> VideoTrack:
  return VideoTrack(centers=np.stack([m.center for m in motions], axis=1),
                    hotspots=np.stack([m.hotspot for m in motions], axis=1))


def _render(motion_rng: np.random.Generator, appearance_rng: np.random.Generator,
            num_frames: int, size: tuple[int, int], num_objects: int,
            spots: int) -> tuple[SyntheticVideo, list[ObjectMotion]]:
  width, height = size
  motions, pan = _motions(motion_rng, num_frames, size, num_objects, spots)
  pad = int(0.15 * max(width, height))
  background = _background(appearance_rng, height + 2 * pad, width + 2 * pad)
  appearances = [_sample_appearance(appearance_rng) for _ in motions]
  frames = np.empty((num_frames, height, width, 3), np.uint8)
  masks = np.zeros((num_frames, num_objects, height, width), bool)
  for t in range(num_frames):
    x0, y0 = np.rint(pan[t]).astype(int)
    canvas = background[y0:y0 + height, x0:x0 + width].copy()
    for k, (motion, appearance) in enumerate(zip(motions, appearances)):
      covered = _draw_object(canvas, motion, appearance, t)
      masks[t, :k] &= ~covered
      masks[t, k] = covered
    frames[t] = np.clip(np.rint(canvas * 255.0), 0, 255).astype(np.uint8)
  return SyntheticVideo(frames=frames, masks=masks, track=_track(motions)), motions


def _simulate_fixations(rng: np.random.Generator, motion: ObjectMotion, mask: np.ndarray,
                        num_workers: int) -> list[np.ndarray]:
  """Fixations of each worker on a still image.

  Args:
    rng: random generator.
    motion: the salient object (T = 1).
    mask: `[H, W]` its visible pixels.
    num_workers: how many workers look at the image.

  Returns:
    One `[n_i, 2]` float array of 0-based (x, y) per worker.
  """
  height, width = mask.shape
  hotspot = motion.hotspot[0]
  spot_sigma = _SPOT_RADIUS * motion.radius * motion.scale[0] * min(motion.aspect)
  object_pixels = np.argwhere(mask)[:, ::-1].astype(np.float64)
  workers = []
  for _ in range(num_workers):
    count = int(rng.integers(4, 10))
    kind = rng.choice(3, size=count, p=[0.65, 0.2, 0.15])
    points = np.empty((count, 2))
    points[kind == 0] = hotspot + rng.normal(0, spot_sigma, size=(np.sum(kind == 0), 2))
    if len(object_pixels):
      points[kind == 1] = object_pixels[rng.integers(0, len(object_pixels), np.sum(kind == 1))]
    else:
      points[kind == 1] = hotspot
    points[kind == 2] = (np.array([width, height]) / 2
                         + rng.normal(0, 0.25, size=(np.sum(kind == 2), 2)) * [width, height])
    workers.append(np.clip(points, 0, [width - 1, height - 1]))
  return workers


# ----------------------------------------------------------------------------------
# Files.


def _split_sizes(num: int) -> tuple[int, int]:
  """(first, second) split sizes, about 3:1, at least one each for num >= 2."""
  second = 0 if num < 2 else max(1, round(num / 4))
  return num - second, second


def _write_image(path: pathlib.Path, pixels: np.ndarray) -> None:
  """Writes `[H, W, 3]` RGB or `[H, W]` grey uint8 pixels; the suffix picks the format."""
  path.parent.mkdir(parents=True, exist_ok=True)
  if pixels.ndim == 3:
    pixels = pixels[..., ::-1]  # OpenCV writes BGR.
  params = [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY] if path.suffix == ".jpg" else []
  if not cv2.imwrite(str(path), np.ascontiguousarray(pixels, np.uint8), params):
    raise OSError(f"could not write {path}")


def _binary_255(mask: np.ndarray) -> np.ndarray:
  return np.where(mask, 255, 0).astype(np.uint8)


def _write_lines(path: pathlib.Path, lines: list[str]) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text("".join(line + "\n" for line in lines))


def _num_objects(layout: str, index: int) -> int:
  """Objects of video `index`: SegTrackv2 alternates one- and two-object sequences."""
  return 2 if layout == "segtrackv2" and index % 2 == 1 else 1


def sequence_name(layout: str, index: int) -> str:
  """Name of the `index`-th synthetic video as its dataset's builder reports it."""
  if layout == "davis2016":
    return f"blob-{index:03d}"
  if layout == "segtrackv2":
    return f"blob_{index:03d}"
  if layout == "youtube_objects":
    category, video = _yto_video(index)
    return f"{category}_{video}_001"
  raise ValueError(f"layout {layout!r} has no videos; expected one of "
                   "davis2016, segtrackv2, youtube_objects")


def _yto_video(index: int) -> tuple[str, str]:
  """(category, video id) of the `index`-th YouTube-Objects video."""
  categories = layouts.YOUTUBE_OBJECTS_CATEGORIES
  return categories[index % len(categories)], f"{index // len(categories) + 1:04d}"


def _video(layout: str, index: int, seed: int, size: tuple[int, int],
           num_frames: int) -> SyntheticVideo:
  motion_rng, appearance_rng = _rng(seed, layout, index)
  num_objects = _num_objects(layout, index)
  video, _ = _render(motion_rng, appearance_rng, num_frames, size, num_objects, num_objects)
  return video


def video_track(layout: str, index: int, *, seed: int = 0,
                size: tuple[int, int] = DEFAULT_SIZE,
                num_frames: int | None = None) -> VideoTrack:
  """Ground-truth track of a video that `write` writes, without rendering it.

  Args:
    layout: davis2016, segtrackv2 or youtube_objects.
    index: the video's index (its name is `sequence_name(layout, index)`).
    seed, size, num_frames: as given to `write`.

  Returns:
    Object centres and hotspots, `[T, K, 2]` each; frame t is the t-th frame of the
    sequence in file-name order.
  """
  sequence_name(layout, index)  # Validates the layout.
  num_frames = num_frames or DEFAULT_NUM_FRAMES[layout]
  motion_rng, _ = _rng(seed, layout, index)
  num_objects = _num_objects(layout, index)
  motions, _ = _motions(motion_rng, num_frames, size, num_objects, num_objects)
  return _track(motions)


def _write_salicon(root: pathlib.Path, num: int, seed: int, size: tuple[int, int]) -> None:
  height, width = size[1], size[0]
  num_train, _ = _split_sizes(num)
  for index in range(num):
    split = "train" if index < num_train else "val"
    stem = f"COCO_{split}2014_{index:012d}"
    motion_rng, appearance_rng = _rng(seed, "salicon", index)
    num_objects = int(motion_rng.integers(1, 4))
    video, motions = _render(motion_rng, appearance_rng, 1, size, num_objects, spots=1)
    # The salient object is the last one, in front of the others.
    workers = _simulate_fixations(motion_rng, motions[-1], video.masks[0, -1],
                                  num_workers=int(motion_rng.integers(8, 16)))
    gaze = np.empty((len(workers), 1),
                    dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
    for i, points in enumerate(workers):
      # Mouse samples: a few jittered samples per fixation, 1-based like MATLAB.
      location = np.repeat(points, 5, axis=0) + motion_rng.normal(0, 1.5, (5 * len(points), 2))
      timestamp = np.arange(len(location), dtype=np.float64)[:, None] * 20.0
      gaze[i, 0] = (location + 1.0, timestamp, np.rint(points) + 1.0)
    _write_image(root / "images" / split / f"{stem}.jpg", video.frames[0])
    all_points = np.rint(np.concatenate(workers))
    _write_image(root / "maps" / split / f"{stem}.png",
                 fixations_lib.gaze_map(all_points, height, width))
    mat_path = root / "fixations" / split / f"{stem}.mat"
    mat_path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(mat_path, {"image": stem, "resolution": np.array([[height, width]]),
                                "gaze": gaze}, do_compression=True)


def _write_duts(root: pathlib.Path, num: int, seed: int, size: tuple[int, int]) -> None:
  num_train, _ = _split_sizes(num)
  for index in range(num):
    split = "DUTS-TR" if index < num_train else "DUTS-TE"
    stem = f"ILSVRC2012_test_{index:08d}"
    motion_rng, appearance_rng = _rng(seed, "duts", index)
    num_objects = int(motion_rng.integers(1, 3))
    video, _ = _render(motion_rng, appearance_rng, 1, size, num_objects, num_objects)
    _write_image(root / split / f"{split}-Image" / f"{stem}.jpg", video.frames[0])
    _write_image(root / split / f"{split}-Mask" / f"{stem}.png",
                 _binary_255(video.masks[0].any(axis=0)))


def _sparse_boundary(mask: np.ndarray) -> scipy.sparse.csc_matrix:
  eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=0)
  return scipy.sparse.csc_matrix(mask & ~eroded.astype(bool))


def _write_sbd(root: pathlib.Path, num: int, seed: int, size: tuple[int, int]) -> None:
  dataset = root / "benchmark_RELEASE" / "dataset"
  num_train, _ = _split_sizes(num)
  names = {"train": [], "val": []}
  for index in range(num):
    stem = f"2008_{index:06d}"
    names["train" if index < num_train else "val"].append(stem)
    motion_rng, appearance_rng = _rng(seed, "sbd", index)
    num_objects = int(motion_rng.integers(1, 5))
    classes = motion_rng.integers(1, _NUM_VOC_CLASSES + 1, size=num_objects)
    video, _ = _render(motion_rng, appearance_rng, 1, size, num_objects, num_objects)
    visible = [k for k in range(num_objects) if video.masks[0, k].any()]
    instances = np.zeros(video.masks.shape[2:], np.uint8)
    semantic = np.zeros_like(instances)
    for new_id, k in enumerate(visible, start=1):
      instances[video.masks[0, k]] = new_id
      semantic[video.masks[0, k]] = classes[k]
    boundaries = np.empty((len(visible), 1), dtype=object)
    for i, k in enumerate(visible):
      boundaries[i, 0] = _sparse_boundary(video.masks[0, k])
    class_boundaries = np.empty((_NUM_VOC_CLASSES, 1), dtype=object)
    for c in range(_NUM_VOC_CLASSES):
      class_boundaries[c, 0] = _sparse_boundary(semantic == c + 1)
    _write_image(dataset / "img" / f"{stem}.jpg", video.frames[0])
    for folder in ("inst", "cls"):
      (dataset / folder).mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(dataset / "inst" / f"{stem}.mat", {"GTinst": {
        "Segmentation": instances, "Boundaries": boundaries,
        "Categories": classes[visible].astype(np.uint8)[:, None]}}, do_compression=True)
    scipy.io.savemat(dataset / "cls" / f"{stem}.mat", {"GTcls": {
        "Segmentation": semantic, "Boundaries": class_boundaries,
        "CategoriesPresent": np.unique(semantic[semantic > 0]).astype(np.uint8)[:, None]}},
        do_compression=True)
  for split, stems in names.items():
    _write_lines(dataset / f"{split}.txt", stems)


def _write_davis2016(root: pathlib.Path, num: int, seed: int, size: tuple[int, int],
                     num_frames: int) -> None:
  num_train, _ = _split_sizes(num)
  lines = {"train": [], "val": []}
  for index in range(num):
    name = sequence_name("davis2016", index)
    video = _video("davis2016", index, seed, size, num_frames)
    split = "train" if index < num_train else "val"
    for t in range(num_frames):
      frame = f"/JPEGImages/480p/{name}/{t:05d}.jpg"
      annotation = f"/Annotations/480p/{name}/{t:05d}.png"
      _write_image(root / frame[1:], video.frames[t])
      _write_image(root / annotation[1:], _binary_255(video.masks[t].any(axis=0)))
      lines[split].append(f"{frame} {annotation}")
  for split, split_lines in lines.items():
    _write_lines(root / "ImageSets" / "480p" / f"{split}.txt", split_lines)


def _write_segtrackv2(root: pathlib.Path, num: int, seed: int, size: tuple[int, int],
                      num_frames: int) -> None:
  for index in range(num):
    name = sequence_name("segtrackv2", index)
    video = _video("segtrackv2", index, seed, size, num_frames)
    suffix = ".bmp" if index % 3 == 2 else ".png"
    num_objects = video.masks.shape[1]
    for t in range(num_frames):
      stem = f"{name}_{t:05d}"
      _write_image(root / "JPEGImages" / name / f"{stem}{suffix}", video.frames[t])
      for k in range(num_objects):
        folder = root / "GroundTruth" / name
        if num_objects > 1:
          folder = folder / str(k + 1)
        _write_image(folder / f"{stem}.png", _binary_255(video.masks[t, k]))


def _write_youtube_objects(root: pathlib.Path, num: int, seed: int, size: tuple[int, int],
                           num_frames: int) -> None:
  for index in range(num):
    category, video_id = _yto_video(index)
    shot = root / category / "data" / video_id / "shots" / "001"
    video = _video("youtube_objects", index, seed, size, num_frames)
    for t in range(num_frames):
      number = t + 1
      _write_image(shot / "images" / f"frame{number:04d}.jpg", video.frames[t])
      if t % YTO_LABEL_STEP == 0:
        _write_image(shot / "labels" / f"{number:05d}.jpg",
                     _binary_255(video.masks[t].any(axis=0)))


def write(layout: str, output_dir: str | os.PathLike, num: int, seed: int = 0,
          size: tuple[int, int] = DEFAULT_SIZE, num_frames: int | None = None) -> pathlib.Path:
  """Writes `num` synthetic examples of `layout` under `output_dir`.

  Args:
    layout: one of `LAYOUTS`.
    output_dir: root of the layout (what the user would pass as `--manual-dir`);
      created if missing.
    num: number of examples (images, or videos) over all splits.
    seed: the data are a function of (seed, layout, example index).
    size: (W, H) of every image.
    num_frames: frames per video (video layouts only); default
      `DEFAULT_NUM_FRAMES[layout]`.

  Returns:
    `output_dir` as a path.

  Raises:
    ValueError: unknown layout, num < 1, a size under 16x16 or num_frames < 1.
  """
  if layout not in LAYOUTS:
    raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
  if num < 1:
    raise ValueError(f"num must be >= 1, got {num}")
  width, height = size
  if min(width, height) < 16:
    raise ValueError(f"size must be at least 16x16, got {width}x{height}")
  root = pathlib.Path(output_dir)
  root.mkdir(parents=True, exist_ok=True)
  if layout in DEFAULT_NUM_FRAMES:
    num_frames = num_frames or DEFAULT_NUM_FRAMES[layout]
    if num_frames < 1:
      raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    writer = {"davis2016": _write_davis2016, "segtrackv2": _write_segtrackv2,
              "youtube_objects": _write_youtube_objects}[layout]
    writer(root, num, seed, (width, height), num_frames)
  else:
    writer = {"salicon": _write_salicon, "duts": _write_duts, "sbd": _write_sbd}[layout]
    writer(root, num, seed, (width, height))
  return root
