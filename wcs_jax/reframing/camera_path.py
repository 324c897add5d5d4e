"""Camera path planning for reframing: where a fixed-aspect window looks in each frame.

The application of the paper's supplementary material (auto zoom, retargeting): a
virtual camera that crops every frame to a window of a requested aspect ratio,
centred on the tracked hotspot while keeping the object in view, and moving like a
camera operator would rather than jumping with every frame's estimate.

Window geometry. `max_window_size` is the largest window of the aspect that fits in
the frame. A window's *zoom* is its magnification relative to that window: zoom 1 is
the largest window, zoom 2 a window of half its width and height. The requested zoom
(`CameraConfig.zoom`) is the closest the camera gets; where the object's box (plus
a margin) does not fit at that zoom, the camera zooms out, down to `min_zoom`.

The plan (offline: the whole track is known, so the path can anticipate):
  1. Targets. Per frame the focus (hotspot peak, or the mask's centroid) and the
     mask's box; frames without an observation hold the last one (the first
     observation is held backwards over the frames before it).
  2. Zoom. Per frame the largest zoom <= `zoom` at which the box plus margins fits,
     clipped to >= `min_zoom`; Gaussian-smoothed in log space (`smoothing_sigma`),
     never above the per-frame value, then limited to `max_zoom_rate` by the lower
     envelope `z_t = min_s(z*_s + r |t - s|)` (log space): the tightest path at the
     rate bound that never zooms in past a frame's fit, zooming out *before* the
     object grows rather than after.
  3. Pan, per axis. The frame bounds of the window centre and the interval that
     keeps the padded box inside the window (where the box does not fit, the one
     that keeps the window inside the box) give a per-frame interval; the focus
     clipped to it is the frame's preferred centre. That sequence is smoothed with
     a zero-lag Gaussian (`smoothing_sigma`), passed through a dead zone (the
     camera holds while the target stays within `dead_zone` of the window size
     from the centre, then follows it from the dead zone's edge), and eased with a
     second Gaussian (`easing_sigma`) so the camera starts and stops smoothly.
  4. Constraints. A forward-backward pass shrinks each frame's interval to the
     centres from which every later interval stays reachable at `max_pan_speed`
     (the box constraint is dropped at a frame where that is impossible); a final
     forward pass follows the eased path, clipped to the speed bound and that
     tube.

Guarantees (tested): the window is always inside the frame; the centre moves at
most `max_pan_speed` per frame on each axis; `|ln zoom_t - ln zoom_{t-1}| <=
max_zoom_rate`; zoom stays in [min_zoom, zoom]. The box is inside the window
wherever it fits and the speed bound allows reaching it.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from wcs_jax.reframing.targets import Observation


@dataclasses.dataclass(frozen=True)
class CameraConfig:
  """Parameters of the virtual camera (the `tools/reframe.py` flags of the same names).

  Attributes:
    aspect: window aspect as (width, height), e.g. (9, 16) for vertical video.
    zoom: requested magnification relative to the largest window of the aspect
      (1 = largest window, 2 = half its width and height); >= 1.
    min_zoom: the camera zooms out down to this to keep the object's box in view;
      1 <= min_zoom <= zoom (min_zoom == zoom fixes the zoom).
    margin: space kept between the object's box and the window edges, as a
      fraction of the window's width (height) on each side; in [0, 0.5).
    smoothing_sigma: standard deviation, in frames, of the zero-lag Gaussian that
      smooths the per-frame targets (pan and zoom); 0 = none.
    dead_zone: the camera holds while the smoothed target stays within this
      fraction of the window's width (height) of the window centre.
    easing_sigma: standard deviation, in frames, of the Gaussian applied after the
      dead zone, so pans start and stop gradually; 0 = none.
    max_pan_speed: largest movement of the window centre per frame on each axis,
      as a fraction of the frame's longer side (0.02 at 854x480: 17 px per frame).
    max_zoom_rate: largest change of ln(zoom) per frame (0.02: 2% per frame, a
      factor 2 in 35 frames). At most ln(1 + 2 max_pan_speed), so that a window
      growing against the frame's border never has to pan faster than
      `max_pan_speed`.
  """
  aspect: tuple[float, float] = (9, 16)
  zoom: float = 1.0
  min_zoom: float = 1.0
  margin: float = 0.05
  smoothing_sigma: float = 3.0
  dead_zone: float = 0.05
  easing_sigma: float = 4.0
  max_pan_speed: float = 0.02
  max_zoom_rate: float = 0.02

  def __post_init__(self):
    if len(self.aspect) != 2 or min(self.aspect) <= 0:
      raise ValueError(f"aspect must be two positive numbers (width, height), got {self.aspect}")
    if not 1.0 <= self.min_zoom <= self.zoom:
      raise ValueError(f"need 1 <= min_zoom <= zoom, got min_zoom={self.min_zoom}, "
                       f"zoom={self.zoom}")
    if not 0.0 <= self.margin < 0.5:
      raise ValueError(f"margin must be in [0, 0.5), got {self.margin}")
    if self.smoothing_sigma < 0 or self.easing_sigma < 0:
      raise ValueError("smoothing_sigma and easing_sigma must be >= 0, got "
                       f"{self.smoothing_sigma} and {self.easing_sigma}")
    if not 0.0 <= self.dead_zone < 0.5:
      raise ValueError(f"dead_zone must be in [0, 0.5), got {self.dead_zone}")
    if not self.max_pan_speed > 0:
      raise ValueError(f"max_pan_speed must be positive, got {self.max_pan_speed}")
    if not 0 < self.max_zoom_rate <= math.log1p(2 * self.max_pan_speed):
      raise ValueError(
          f"max_zoom_rate must be in (0, ln(1 + 2 max_pan_speed)] = "
          f"(0, {math.log1p(2 * self.max_pan_speed):.4f}], got {self.max_zoom_rate}")


@dataclasses.dataclass(frozen=True)
class CameraPath:
  """The planned window of every frame.

  Attributes:
    frame_size: (width, height) of the source frames.
    center: `[T, 2]` window centre (x, y), continuous pixel coordinates.
    size: `[T, 2]` window (width, height) in source pixels.
    zoom: `[T]` magnification relative to the largest window of the aspect.
    target: `[T, 2]` the focus the camera followed (held over frames without an
      observation); NaN where no frame had one.
  """
  frame_size: tuple[int, int]
  center: np.ndarray
  size: np.ndarray
  zoom: np.ndarray
  target: np.ndarray

  @property
  def windows(self) -> np.ndarray:
    """`[T, 4]` windows as (x, y, w, h), (x, y) the top-left corner."""
    return np.concatenate([self.center - self.size / 2, self.size], axis=1)

  def to_dict(self, config: CameraConfig) -> dict:
    """A JSON-ready description: frame size, config and per-frame windows."""
    frames = []
    for t, ((x, y, w, h), zoom, target) in enumerate(
        zip(self.windows, self.zoom, self.target)):
      frames.append({
          "frame": t, "x": float(x), "y": float(y), "w": float(w), "h": float(h),
          "zoom": float(zoom),
          "target": None if np.isnan(target).any() else [float(v) for v in target]})
    return {"frame_size": list(self.frame_size), "config": dataclasses.asdict(config),
            "frames": frames}


def max_window_size(frame_size: tuple[int, int],
                    aspect: tuple[float, float]) -> tuple[float, float]:
  """(width, height) of the largest window of `aspect` inside a frame of `frame_size`."""
  width, height = frame_size
  ratio = aspect[0] / aspect[1]
  if width / height > ratio:
    return height * ratio, float(height)
  return float(width), width / ratio


def native_output_size(frame_size: tuple[int, int],
                       aspect: tuple[float, float]) -> tuple[int, int]:
  """The largest window's size rounded to even numbers (video encoders want even)."""
  return tuple(max(2, 2 * round(v / 2)) for v in max_window_size(frame_size, aspect))


def plan_camera_path(observations: Sequence[Observation | None],
                     frame_size: tuple[int, int],
                     config: CameraConfig = CameraConfig()) -> CameraPath:
  """Plans the window of every frame (see the module docstring for the method).

  Args:
    observations: per frame the target, or None where the object was not seen.
    frame_size: (width, height) of the frames.
    config: camera parameters.

  Returns:
    The `CameraPath`, one window per observation.
  """
  num_frames = len(observations)
  if num_frames == 0:
    raise ValueError("cannot plan a camera path over zero frames")
  frame = np.asarray(frame_size, np.float64)
  focus, box = _held_targets(observations, frame)
  max_size = np.asarray(max_window_size(frame_size, config.aspect))
  zoom = _plan_zoom(box, max_size, config)
  size = max_size[None, :] / zoom[:, None]
  max_step = config.max_pan_speed * frame.max()
  center = np.stack([
      _plan_axis(focus[:, a], box[:, a], box[:, a + 2], size[:, a], frame[a], max_step,
                 config) for a in (0, 1)], axis=1)
  observed = np.array([o is not None for o in observations])
  target = focus if observed.any() else np.full_like(focus, np.nan)
  return CameraPath(frame_size=tuple(int(v) for v in frame_size), center=center,
                    size=size, zoom=zoom, target=target)


def _held_targets(observations: Sequence[Observation | None],
                  frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """`[T, 2]` focus and `[T, 4]` box, held over frames without an observation.

  With no observation at all the camera looks at the frame's centre and the box is
  a point there (it constrains nothing).
  """
  first = next((o for o in observations if o is not None), None)
  if first is None:
    centre = frame / 2
    first = Observation(focus=tuple(centre), box=(*centre, *centre))
  focus, box, last = [], [], first
  for observation in observations:
    last = observation or last
    focus.append(last.focus)
    box.append(last.box)
  return np.asarray(focus, np.float64), np.asarray(box, np.float64)


def _gaussian(signal: np.ndarray, sigma: float) -> np.ndarray:
  """Zero-lag Gaussian smoothing over time; edges replicate the end values."""
  if sigma == 0 or signal.size < 2:
    return signal.copy()
  return ndimage.gaussian_filter1d(signal, sigma, mode="nearest")


def _plan_zoom(box: np.ndarray, max_size: np.ndarray, config: CameraConfig) -> np.ndarray:
  """`[T]` zoom: the box's fit, smoothed and rate-limited from below (step 2)."""
  box_size = np.maximum(box[:, 2:] - box[:, :2], 1e-9)
  fit = np.min(max_size * (1 - 2 * config.margin) / box_size, axis=1)
  log_fit = np.log(np.clip(fit, config.min_zoom, config.zoom))
  log_zoom = np.minimum(_gaussian(log_fit, config.smoothing_sigma), log_fit)
  rate = config.max_zoom_rate
  for t in range(1, len(log_zoom)):
    log_zoom[t] = min(log_zoom[t], log_zoom[t - 1] + rate)
  for t in range(len(log_zoom) - 2, -1, -1):
    log_zoom[t] = min(log_zoom[t], log_zoom[t + 1] + rate)
  return np.exp(log_zoom)


def _plan_axis(focus: np.ndarray, box_lo: np.ndarray, box_hi: np.ndarray,
               size: np.ndarray, frame: float, max_step: float,
               config: CameraConfig) -> np.ndarray:
  """`[T]` window centre along one axis (steps 3 and 4).

  Args:
    focus: `[T]` focus coordinate.
    box_lo, box_hi: `[T]` the box's extent on this axis.
    size: `[T]` window extent on this axis.
    frame: the frame's extent on this axis.
    max_step: largest movement per frame, in pixels.
    config: camera parameters.
  """
  frame_lo, frame_hi = size / 2, frame - size / 2
  # Centres that keep the padded box inside the window where it fits, else keep
  # the window inside the box (as much object as possible); clipping both ends
  # into the frame bounds keeps the interval non-empty near the frame's border.
  pad = np.clip((size - (box_hi - box_lo)) / 2, 0, config.margin * size)
  fits = box_hi - box_lo <= size
  keep_lo = np.where(fits, box_hi + pad - size / 2, box_lo + size / 2)
  keep_hi = np.where(fits, box_lo - pad + size / 2, box_hi - size / 2)
  keep_lo = np.clip(keep_lo, frame_lo, frame_hi)
  keep_hi = np.clip(keep_hi, frame_lo, frame_hi)

  smoothed = _gaussian(np.clip(focus, keep_lo, keep_hi), config.smoothing_sigma)
  held = smoothed.copy()
  for t in range(1, len(held)):
    radius = config.dead_zone * size[t]
    held[t] = np.clip(held[t - 1], smoothed[t] - radius, smoothed[t] + radius)
  eased = _gaussian(held, config.easing_sigma)

  tube_lo, tube_hi = _reachable_tube(keep_lo, keep_hi, frame_lo, frame_hi, max_step)
  center = np.empty_like(eased)
  center[0] = np.clip(eased[0], tube_lo[0], tube_hi[0])
  for t in range(1, len(center)):
    lo = max(tube_lo[t], center[t - 1] - max_step)
    hi = min(tube_hi[t], center[t - 1] + max_step)
    center[t] = np.clip(eased[t], lo, hi) if lo <= hi else np.clip(
        center[t - 1], frame_lo[t], frame_hi[t])
  return center


def _reachable_tube(keep_lo: np.ndarray, keep_hi: np.ndarray, frame_lo: np.ndarray,
                    frame_hi: np.ndarray, max_step: float) -> tuple[np.ndarray, np.ndarray]:
  """Per-frame centre intervals from which every later one stays reachable.

  Forward, each frame's interval is cut to what the previous one reaches at
  `max_step` (falling back to the frame bounds where the box cannot be kept);
  backward, to what reaches the next one. After both passes, from any centre in a
  frame's interval some centre of the next frame's interval is within `max_step`.
  """
  lo, hi = keep_lo.copy(), keep_hi.copy()
  for t in range(1, len(lo)):
    for candidate_lo, candidate_hi in ((keep_lo[t], keep_hi[t]), (frame_lo[t], frame_hi[t])):
      new_lo = max(candidate_lo, lo[t - 1] - max_step)
      new_hi = min(candidate_hi, hi[t - 1] + max_step)
      if new_lo <= new_hi:
        lo[t], hi[t] = new_lo, new_hi
        break
    else:
      lo[t], hi[t] = frame_lo[t], frame_hi[t]
  for t in range(len(lo) - 2, -1, -1):
    new_lo = max(lo[t], lo[t + 1] - max_step)
    new_hi = min(hi[t], hi[t + 1] + max_step)
    if new_lo <= new_hi:
      lo[t], hi[t] = new_lo, new_hi
  return lo, hi
