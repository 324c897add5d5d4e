"""The tracker's output folder, written one frame at a time.

    OUT/masks/%05d.png     palette PNG at frame size, 0 background, objects 1..N (DAVIS
                           palette, `wcs_jax.io.masks`)
    OUT/hotspots/%05d.png  8-bit greyscale hotspot map at frame size (`wcs_jax.io.maps`)
    OUT/tracklets.json     {"width", "height", "fps", "num_objects", "objects": [{"id",
                           "prompt", "fallback"}], "frames": [{"frame", "objects": [{"id",
                           "hotspot": [x, y], "bbox": [x0, y0, x1, y1], "area", "lost",
                           "window": [cx, cy, side]}]}], "num_frames"}; pixel indices,
                           bbox x1/y1 exclusive (`compose.ObjectRecord`)
    OUT/overlay.mp4        the video with each object's mask tinted in its palette colour
                           (alpha `MASK_ALPHA`) and the hotspot as a heat map blended in
                           proportion to its value (at most `HOTSPOT_ALPHA`)

Nothing accumulates: tracklets.json is streamed (its frames array is written entry by
entry and closed by `close`), so memory stays flat however long the video.
"""
from __future__ import annotations

import functools
import json
import os
import pathlib

import cv2
import numpy as np

from wcs_jax.inference import compose
from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import VideoWriter

MASK_ALPHA = 0.5
HOTSPOT_ALPHA = 0.6
# Frame rate of overlay.mp4 when the source does not give one (image folders).
DEFAULT_FPS = 24.0


@functools.cache
def _palette_lut() -> np.ndarray:
  """The DAVIS palette as an OpenCV lookup table `[256, 1, 3]` uint8."""
  return np.ascontiguousarray(mask_io.davis_palette()[:, None, :])


def overlay(frame: np.ndarray, labels: np.ndarray, hotspot: np.ndarray) -> np.ndarray:
  """The overlay frame: masks tinted, hotspot heat blended.

  Args:
    frame: `[H, W, 3]` uint8 RGB.
    labels: `[H, W]` uint8 object ids.
    hotspot: `[H, W]` float32 in [0, 1].

  Returns:
    `[H, W, 3]` uint8 RGB.
  """
  colours = cv2.LUT(cv2.merge([labels, labels, labels]), _palette_lut())
  tinted = cv2.addWeighted(frame, 1 - MASK_ALPHA, colours, MASK_ALPHA, 0.0)
  out = cv2.copyTo(tinted, labels, frame.copy())
  heat_u8 = cv2.convertScaleAbs(hotspot, alpha=255.0)
  heat = cv2.cvtColor(cv2.applyColorMap(heat_u8, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
  weight = np.clip(hotspot, 0.0, 1.0) * np.float32(HOTSPOT_ALPHA)
  return cv2.blendLinear(out, heat, 1.0 - weight, weight)


def _even(frame: np.ndarray) -> np.ndarray:
  """Pads an odd height or width by repeating the last row/column (mp4 needs even sizes)."""
  pad_y, pad_x = frame.shape[0] % 2, frame.shape[1] % 2
  if pad_y or pad_x:
    frame = np.pad(frame, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
  return frame


class OutputWriter:
  """Writes a tracking run's outputs (module docstring) frame by frame.

  Args:
    output: the OUT folder (created).
    width: frame width W.
    height: frame height H.
    fps: frame rate of the source, or None (then `DEFAULT_FPS`).
    objects: per object, what defined it: {"prompt": [...], "fallback": bool}.
    overlay_video: write OUT/overlay.mp4.
  """

  def __init__(self, output: str | os.PathLike, width: int, height: int, fps: float | None,
               objects: list[dict], overlay_video: bool = True):
    self.output = pathlib.Path(output)
    self.masks_dir = self.output / "masks"
    self.hotspots_dir = self.output / "hotspots"
    self.masks_dir.mkdir(parents=True, exist_ok=True)
    self.hotspots_dir.mkdir(parents=True, exist_ok=True)
    self.num_frames = 0
    self._video = (VideoWriter(self.output / "overlay.mp4", fps or DEFAULT_FPS)
                   if overlay_video else None)
    self._json = open(self.output / "tracklets.json", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    header = {"width": width, "height": height, "fps": fps, "num_objects": len(objects),
              "objects": [{"id": k + 1, **obj} for k, obj in enumerate(objects)]}
    # The header without its closing brace, then the frames array streamed into it.
    self._json.write(json.dumps(header)[:-1] + ', "frames": [\n')

  def write(self, index: int, frame: np.ndarray, labels: np.ndarray, hotspot: np.ndarray,
            records: list[compose.ObjectRecord]) -> None:
    """Writes one frame's mask, hotspot map, tracklet entry and overlay frame."""
    name = f"{index:05d}.png"
    mask_io.write_palette_png(self.masks_dir / name, labels)
    map_io.write_map(self.hotspots_dir / name, hotspot)
    separator = ",\n" if self.num_frames else ""
    self._json.write(separator + json.dumps({"frame": index, "objects": [r.to_json() for r in records]}))
    if self._video is not None:
      self._video.write(_even(overlay(frame, labels, hotspot)))
    self.num_frames += 1

  def close(self) -> None:
    """Completes tracklets.json and overlay.mp4."""
    if self._json.closed:
      return
    self._json.write(f'\n], "num_frames": {self.num_frames}}}\n')
    self._json.close()
    if self._video is not None:
      self._video.close()

  def __enter__(self) -> OutputWriter:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
