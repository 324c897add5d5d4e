"""The camera path as keyframes an editor imports.

Two files, both plain text:

  OUT.keyframes.csv   one row per keyframe: shot, strategy, frame, time (s), SMPTE
                      timecode, window x, y (top-left), w, h in source pixels, centre
                      cx, cy and zoom. A shot's first and last frames are always
                      keyframes; in between, only the frames that linear
                      interpolation between the kept keyframes would miss by more
                      than `TOLERANCE_PX` (Ramer-Douglas-Peucker over time), so a
                      steady shot has two rows and a slow pan a handful.
  OUT.ae.txt          "Adobe After Effects 8.0 Keyframe Data", the text that After
                      Effects pastes onto a layer (the format motion trackers such as
                      Mocha export): Position and Scale keyframes on every frame,
                      for the source footage as a layer (anchor point at its centre)
                      in a composition of the output size. Copy the file's contents,
                      select the footage layer, paste. Letterboxed shots scale the
                      frame to fit (the blurred background is not part of it).

Times: frame t is at t / fps; the timecode is non-drop-frame at the rounded rate.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import numpy as np

from wcs_jax.reframing.camera_path import CameraPath

# Keyframes are added until linear interpolation is within this many source pixels.
TOLERANCE_PX = 0.5


def _simplify(values: np.ndarray, start: int, end: int, tolerance: float) -> list[int]:
  """Keyframe indices in [start, end) of `values` `[T, D]` (Ramer-Douglas-Peucker)."""
  keep = {start, end - 1}
  stack = [(start, end - 1)]
  while stack:
    a, b = stack.pop()
    if b - a < 2:
      continue
    t = np.arange(a + 1, b)
    line = values[a] + (values[b] - values[a]) * ((t - a) / (b - a))[:, None]
    error = np.abs(values[a + 1:b] - line).max(axis=1)
    worst = int(np.argmax(error))
    if error[worst] > tolerance:
      middle = a + 1 + worst
      keep.add(middle)
      stack += [(a, middle), (middle, b)]
  return sorted(keep)


def keyframe_indices(path: CameraPath, shots: Sequence[tuple[int, int]],
                     tolerance: float = TOLERANCE_PX) -> list[list[int]]:
  """Per shot the frames that are keyframes (module docstring)."""
  windows = path.windows
  return [_simplify(windows, start, end, tolerance) for start, end in shots]


def timecode(frame: int, fps: float) -> str:
  """Non-drop-frame SMPTE timecode HH:MM:SS:FF of a frame at the rounded rate."""
  rate = max(1, round(fps))
  seconds, frames = divmod(frame, rate)
  minutes, seconds = divmod(seconds, 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


def write_csv(output: str | os.PathLike, path: CameraPath, shots: Sequence[tuple[int, int]],
              strategies: Sequence[str], fps: float) -> int:
  """Writes OUT.keyframes.csv; returns the number of keyframes."""
  rows = 0
  windows = path.windows  # a property that concatenates: once, not per row
  with open(output, "w", newline="", encoding="utf-8") as file:
    writer = csv.writer(file)
    writer.writerow(["shot", "strategy", "frame", "time_s", "timecode", "x", "y", "w", "h",
                     "cx", "cy", "zoom"])
    for shot, (frames, strategy) in enumerate(zip(keyframe_indices(path, shots), strategies)):
      for t in frames:
        x, y, w, h = windows[t]
        cx, cy = path.center[t]
        writer.writerow([shot, strategy, t, f"{t / fps:.6f}", timecode(t, fps)]
                        + [f"{v:.3f}" for v in (x, y, w, h, cx, cy)] + [f"{path.zoom[t]:.5f}"])
        rows += 1
  return rows


def after_effects_transform(path: CameraPath, output_size: tuple[int, int]
                            ) -> tuple[np.ndarray, np.ndarray]:
  """Per frame the footage layer's Position `[T, 2]` (composition pixels) and Scale
  `[T]` (percent) that show the window in a composition of `output_size`.

  The layer's anchor is the footage's centre `a`; a footage point `q` lands at
  `position + s (q - a)`. The window's centre goes to the composition's centre, and
  the window fills the output (`s = out_w / w`) or, letterboxed, fits inside it.
  """
  out = np.asarray(output_size, np.float64)
  anchor = np.asarray(path.frame_size, np.float64) / 2
  scale = np.min(out[None, :] / path.size, axis=1)
  position = out / 2 - scale[:, None] * (path.center - anchor)
  return position, 100 * scale


def write_after_effects(output: str | os.PathLike, path: CameraPath,
                        output_size: tuple[int, int], fps: float) -> None:
  """Writes OUT.ae.txt (module docstring)."""
  position, scale = after_effects_transform(path, output_size)
  width, height = path.frame_size
  lines = ["Adobe After Effects 8.0 Keyframe Data", "",
           f"\tUnits Per Second\t{fps:g}", f"\tSource Width\t{width}",
           f"\tSource Height\t{height}", "\tSource Pixel Aspect Ratio\t1",
           "\tComp Pixel Aspect Ratio\t1", "", "Transform\tPosition",
           "\tFrame\tX pixels\tY pixels\tZ pixels\t"]
  lines += [f"\t{t}\t{x:.3f}\t{y:.3f}\t0\t" for t, (x, y) in enumerate(position)]
  lines += ["", "Transform\tScale", "\tFrame\tX percent\tY percent\tZ percent\t"]
  lines += [f"\t{t}\t{s:.4f}\t{s:.4f}\t100\t" for t, s in enumerate(scale)]
  lines += ["", "", "End of Keyframe Data", ""]
  with open(output, "w", encoding="utf-8", newline="\r\n") as file:
    file.write("\n".join(lines))
