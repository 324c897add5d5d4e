"""Rendering a camera path: the reframed video, a debug video and a plot of the path.

Frames stream through one at a time (`render_videos`), so memory stays flat
however long the video.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from wcs_jax.io.video import DEFAULT_QUALITY, VideoWriter
from wcs_jax.reframing.camera_path import CameraPath
from wcs_jax.reframing.targets import Observation

# Debug overlay colours (RGB).
_WINDOW_COLOUR = (255, 220, 0)
_BOX_COLOUR = (0, 200, 255)
_FOCUS_COLOUR = (255, 40, 40)
# Brightness kept outside the window in the debug video.
_OUTSIDE_DIM = 0.4
# Fixed-point bits for sub-pixel drawing with OpenCV.
_SHIFT = 4
# A window whose aspect differs from the output's by more than this is letterboxed.
LETTERBOX_TOLERANCE = 0.02
# Letterbox background: Gaussian sigma as a fraction of the output's longer side, and
# the brightness kept.
BACKGROUND_BLUR = 0.03
BACKGROUND_DIM = 0.6


def crop_window(frame: np.ndarray, window: Sequence[float],
                output_size: tuple[int, int]) -> np.ndarray:
  """The output frame of one window: the window resampled to the output size or,
  where the window's aspect is not the output's (the letterbox strategy's whole
  frame), the window fitted inside the output over a blurred background.

  Args:
    frame: `[H, W, C]` uint8 frame.
    window: (x, y, w, h), top-left corner and size in continuous pixel coordinates.
    output_size: (width, height) of the result.

  Returns:
    `[height, width, C]` uint8.
  """
  _, _, w, h = (float(v) for v in window)
  out_w, out_h = output_size
  if abs((w / h) / (out_w / out_h) - 1) <= LETTERBOX_TOLERANCE:
    return _resample(frame, window, output_size)
  return letterbox(_resample_crop(frame, window), output_size)


def _resample_crop(frame: np.ndarray, window: Sequence[float]) -> np.ndarray:
  """The window of the frame at its own resolution (rounded to whole pixels)."""
  x, y, w, h = (float(v) for v in window)
  return _resample(frame, window, (max(1, round(w)), max(1, round(h))))


def letterbox(content: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
  """`content` scaled to fit inside the output and centred, over a background of the
  same content scaled to cover the output, blurred (sigma `BACKGROUND_BLUR` of the
  output's longer side) and dimmed (`BACKGROUND_DIM`).

  Args:
    content: `[h, w, C]` uint8.
    output_size: (width, height).

  Returns:
    `[height, width, C]` uint8.
  """
  out_w, out_h = output_size
  h, w = content.shape[:2]
  cover = max(out_w / w, out_h / h)
  x0, y0 = (w * cover - out_w) / 2 / cover, (h * cover - out_h) / 2 / cover
  # The blur is computed at a quarter of the output size (its sigma is several
  # pixels there) and scaled up: the same picture at a fraction of the work.
  small = (max(1, out_w // 4), max(1, out_h // 4))
  background = _resample(content, (x0, y0, out_w / cover, out_h / cover), small)
  sigma = BACKGROUND_BLUR * max(small)
  background = cv2.GaussianBlur(background, (0, 0), sigmaX=sigma, sigmaY=sigma,
                                borderType=cv2.BORDER_REPLICATE)
  background = cv2.resize(background, output_size, interpolation=cv2.INTER_LINEAR)
  canvas = (background * BACKGROUND_DIM).astype(np.uint8)
  fit = min(out_w / w, out_h / h)
  fit_w, fit_h = min(out_w, max(1, round(w * fit))), min(out_h, max(1, round(h * fit)))
  left, top = (out_w - fit_w) // 2, (out_h - fit_h) // 2
  canvas[top:top + fit_h, left:left + fit_w] = _resample(content, (0, 0, w, h), (fit_w, fit_h))
  return canvas


def _resample(frame: np.ndarray, window: Sequence[float],
                output_size: tuple[int, int]) -> np.ndarray:
  """Resamples a window of a frame to exactly the output size (any aspect).

  The window keeps its sub-pixel position (bilinear sampling), so a slow pan moves
  smoothly instead of in whole-pixel steps. Where the output is smaller than the
  window, the source is first low-passed with a Gaussian of standard deviation
  `(scale - 1) / 2` pixels (scale = source pixels per output pixel) against
  aliasing.

  Args:
    frame: `[H, W, C]` uint8 frame.
    window: (x, y, w, h), top-left corner and size in continuous pixel coordinates.
    output_size: (width, height) of the result.

  Returns:
    `[height, width, C]` uint8.
  """
  x, y, w, h = (float(v) for v in window)
  out_w, out_h = output_size
  scale_x, scale_y = w / out_w, h / out_h
  sigma_x, sigma_y = max(0.0, (scale_x - 1) / 2), max(0.0, (scale_y - 1) / 2)
  if sigma_x > 0 or sigma_y > 0:
    # Blur only the window's neighbourhood, then sample from that crop.
    pad_x, pad_y = math.ceil(3 * sigma_x) + 2, math.ceil(3 * sigma_y) + 2
    x0, y0 = max(0, math.floor(x) - pad_x), max(0, math.floor(y) - pad_y)
    x1 = min(frame.shape[1], math.ceil(x + w) + pad_x)
    y1 = min(frame.shape[0], math.ceil(y + h) + pad_y)
    frame = cv2.GaussianBlur(frame[y0:y1, x0:x1], (0, 0), sigmaX=max(sigma_x, 1e-3),
                             sigmaY=max(sigma_y, 1e-3), borderType=cv2.BORDER_REPLICATE)
    x, y = x - x0, y - y0
  # Output pixel (u, v) has its centre at x + (u + 0.5) * scale_x in continuous
  # coordinates, i.e. at that minus 0.5 in OpenCV's pixel-centre coordinates.
  inverse = np.array([[scale_x, 0, x + 0.5 * scale_x - 0.5],
                      [0, scale_y, y + 0.5 * scale_y - 0.5]])
  return cv2.warpAffine(frame, inverse, (out_w, out_h),
                        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                        borderMode=cv2.BORDER_REPLICATE)


def draw_debug(frame: np.ndarray, window: Sequence[float],
               observation: Observation | None) -> np.ndarray:
  """The frame with everything outside the window dimmed, the window outlined and
  the observation (box, focus) drawn; padded by one replicated row/column where
  needed to an even size for the video encoder.

  Args:
    frame: `[H, W, 3]` uint8 RGB.
    window: (x, y, w, h).
    observation: the frame's target, or None.

  Returns:
    `[H', W', 3]` uint8 RGB, H' and W' the even sizes >= H and W.
  """
  x, y, w, h = window
  canvas = (frame * _OUTSIDE_DIM).astype(np.uint8)
  x0, y0 = max(0, math.floor(x)), max(0, math.floor(y))
  x1, y1 = math.ceil(x + w), math.ceil(y + h)
  canvas[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
  thickness = max(1, round(min(frame.shape[:2]) / 240))

  def fixed(*values):
    return tuple(round(v * (1 << _SHIFT)) for v in values)

  cv2.rectangle(canvas, fixed(x, y), fixed(x + w - 1, y + h - 1), _WINDOW_COLOUR,
                2 * thickness, cv2.LINE_AA, _SHIFT)
  if observation is not None:
    bx0, by0, bx1, by1 = observation.box
    cv2.rectangle(canvas, fixed(bx0, by0), fixed(bx1 - 1, by1 - 1), _BOX_COLOUR,
                  thickness, cv2.LINE_AA, _SHIFT)
    fx, fy = observation.focus
    cv2.circle(canvas, fixed(fx - 0.5, fy - 0.5), round(4 * thickness * (1 << _SHIFT)),
               _FOCUS_COLOUR, -1, cv2.LINE_AA, _SHIFT)
  pad_y, pad_x = canvas.shape[0] % 2, canvas.shape[1] % 2
  if pad_y or pad_x:
    canvas = cv2.copyMakeBorder(canvas, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
  return canvas


def render_videos(frames: Iterable[np.ndarray | tuple[float | None, np.ndarray]],
                  path: CameraPath, observations: Sequence[Observation | None],
                  output: str | os.PathLike, output_size: tuple[int, int], fps: float,
                  debug_output: str | os.PathLike | None = None, *,
                  quality: int = DEFAULT_QUALITY,
                  audio_from: str | os.PathLike | None = None) -> int:
  """Writes the reframed video (and the debug video) frame by frame.

  Args:
    frames: the source frames, RGB uint8 `[H, W, 3]`, as many as the path has; or
      `(seconds, frame)` pairs (`FrameReader.timed()`), whose times the videos keep.
    path: the planned camera path.
    observations: per frame the target (drawn in the debug video).
    output: reframed mp4 file.
    output_size: (width, height), even.
    fps: frame rate of both videos (of frames without a time).
    debug_output: debug mp4 file, or None for none.
    quality: libx264 CRF of both videos.
    audio_from: the source video file whose audio the reframed video carries.

  Returns:
    The number of frames written.

  Raises:
    ValueError: the source has a different number of frames than the path (and no
      video file is left behind).
  """
  windows = path.windows
  count = 0
  with contextlib.ExitStack() as stack:
    writer = stack.enter_context(
        VideoWriter(output, fps, output_size, quality=quality, audio_from=audio_from))
    # The debug video is for looking, not for editing: the fastest preset.
    debug = (stack.enter_context(VideoWriter(debug_output, fps, quality=quality,
                                             preset="ultrafast"))
             if debug_output is not None else None)
    for count, item in enumerate(frames, start=1):
      seconds, frame = item if isinstance(item, tuple) else (None, item)
      if count > len(windows):
        raise ValueError(f"the video has more frames than the camera path's "
                         f"{len(windows)} (one per mask)")
      window = windows[count - 1]
      writer.write(crop_window(frame, window, output_size), seconds)
      if debug is not None:
        debug.write(draw_debug(frame, window, observations[count - 1]), seconds)
    if count != len(windows):
      raise ValueError(f"the video has {count} frames, the camera path {len(windows)} "
                       "(one per mask)")
  return count


def plot_camera_path(path: CameraPath, output: str | os.PathLike) -> None:
  """Saves a PNG of the window centre (x, y) with the window's extent and the
  followed target, and of the zoom, over time."""
  # A bare Figure renders with Agg and leaves pyplot's global state alone.
  from matplotlib.figure import Figure

  frames = np.arange(len(path.zoom))
  figure = Figure(figsize=(8, 7), layout="tight")
  axes = figure.subplots(3, 1, sharex=True)
  for axis, name in ((0, "x"), (1, "y")):
    ax = axes[axis]
    ax.fill_between(frames, path.center[:, axis] - path.size[:, axis] / 2,
                    path.center[:, axis] + path.size[:, axis] / 2, color="C0",
                    alpha=0.15, label="window")
    ax.plot(frames, path.target[:, axis], color="0.4", lw=1, ls="--", label="target")
    ax.plot(frames, path.center[:, axis], color="C0", lw=2, label="window centre")
    ax.set_ylim(0, path.frame_size[axis])
    ax.set_ylabel(f"{name} (px)")
  axes[1].invert_yaxis()  # image rows grow downwards
  axes[0].legend(loc="upper right", fontsize=8)
  axes[2].plot(frames, path.zoom, color="C1", lw=2)
  axes[2].set_ylabel("zoom")
  axes[2].set_xlabel("frame")
  figure.suptitle("camera path")
  figure.savefig(output, dpi=100)
