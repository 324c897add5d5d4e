"""The tracker's output folder, written one frame at a time.

    OUT/masks/%05d.png     palette PNG at frame size, 0 background, objects 1..N (DAVIS
                           palette, `wcs_jax.io.masks`)
    OUT/hotspots/%05d.png  8-bit greyscale hotspot map at frame size (`wcs_jax.io.maps`)
    OUT/tracklets.json     {"width", "height", "fps", "num_objects", "objects": [{"id",
                           "prompt", "fallback"}], "frames": [{"frame", "objects": [{"id",
                           "hotspot": [x, y], "bbox": [x0, y0, x1, y1], "area", "lost",
                           "window": [cx, cy, side]}]}], "prompts": [{"frame", "object",
                           "prompt": [kind, values...], "fallback"}], "skipped": [{"frame",
                           "seconds"}], "num_frames", "interrupted", "error"}; pixel indices, bbox
                           x1/y1 exclusive (`compose.ObjectRecord`). "objects" are the
                           first frame's; "prompts" every prompt applied, with the frame it
                           was applied on; "skipped" the frames of a live source dropped
                           because the tracker was behind (`--realtime`); "interrupted"
                           whether the run was stopped (Ctrl-C) before the source ended;
                           "error" null, or the one-line error that ended the run early
                           (an unreadable frame, say): the outputs then cover only the
                           frames before it
    OUT/overlay.mp4        the video with each object's mask tinted in its palette colour
                           (alpha `MASK_ALPHA`) and the hotspot as a heat map blended in
                           proportion to its value (at most `HOTSPOT_ALPHA`); H.264 with
                           the source's audio (`wcs_jax.io.video.VideoWriter`)

Nothing accumulates: frames are written by a worker thread through a queue of two
(`OutputWriter`), and tracklets.json is streamed (its frames array is written entry by
entry and closed by `close`), so memory stays flat however long the video.
"""
from __future__ import annotations

import functools
import json
import os
import pathlib
import queue
import threading
from collections.abc import Callable

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

  Each object's pixels become `(1 - MASK_ALPHA) * frame + MASK_ALPHA * colour`; then
  every pixel is blended with the JET colour of its hotspot value h with weight
  `HOTSPOT_ALPHA * h`. Only the boxes around the labelled pixels and around the
  non-zero hotspot values are computed (elsewhere the frame is unchanged): the same
  pixels for less of the CPU the network shares (854x480 frame, objects in a box of a
  quarter of it: 3.9 -> 2.6 ms of CPU).

  Args:
    frame: `[H, W, 3]` uint8 RGB.
    labels: `[H, W]` uint8 object ids.
    hotspot: `[H, W]` float32 in [0, 1].

  Returns:
    `[H, W, 3]` uint8 RGB.
  """
  out = frame.copy()
  box = _nonzero_box(labels)
  if box is not None:
    ids = labels[box]
    colours = cv2.LUT(cv2.merge([ids, ids, ids]), _palette_lut())
    tinted = cv2.addWeighted(frame[box], 1 - MASK_ALPHA, colours, MASK_ALPHA, 0.0)
    np.copyto(out[box], tinted, where=ids[..., None] > 0)
  hotspot = np.asarray(hotspot, np.float32)
  box = _nonzero_box((hotspot > 0).view(np.uint8))
  if box is not None:
    values = np.ascontiguousarray(hotspot[box])
    heat_u8 = cv2.convertScaleAbs(values, alpha=255.0)
    heat = cv2.cvtColor(cv2.applyColorMap(heat_u8, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    weight = np.clip(values, 0.0, 1.0) * np.float32(HOTSPOT_ALPHA)
    out[box] = cv2.blendLinear(np.ascontiguousarray(out[box]), heat, 1.0 - weight, weight)
  return out


def _nonzero_box(values: np.ndarray) -> tuple[slice, slice] | None:
  """(rows, columns) slices of the smallest box holding every non-zero pixel of a
  `[H, W]` uint8 map, or None if there is none."""
  x, y, w, h = cv2.boundingRect(values)
  return (slice(y, y + h), slice(x, x + w)) if w and h else None


def _even(frame: np.ndarray) -> np.ndarray:
  """Pads an odd height or width by repeating the last row/column (mp4 needs even sizes)."""
  pad_y, pad_x = frame.shape[0] % 2, frame.shape[1] % 2
  if pad_y or pad_x:
    frame = np.pad(frame, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
  return frame


class OutputWriter:
  """Writes a tracking run's outputs (module docstring) frame by frame.

  With `background` (the default), the files are encoded and written by one worker
  thread fed through a queue of at most `QUEUE_FRAMES` frames: PNG, JPEG and MPEG-4
  coding release the GIL, so they overlap with the next frame's network call, and the
  bounded queue keeps memory flat (a slow disk makes `write` wait instead). An error
  in the worker is raised by the next `write` or by `close`.

  Args:
    output: the OUT folder (created).
    width: frame width W.
    height: frame height H.
    fps: frame rate of the source, or None (then `DEFAULT_FPS`).
    objects: the first frame's objects: {"id", "prompt": [...], "fallback": bool}.
    overlay_video: write OUT/overlay.mp4.
    background: write in a worker thread.
    audio_from: the source video file, whose audio overlay.mp4 carries (None: none).
    on_written: called with each frame's index once its files are written and its
      overlay frame is with the encoder (from the worker thread with `background`); an
      exception in it ends the run like a failed write.
    overlay_preset: libx264 preset of overlay.mp4 (`wcs_jax.io.video.X264_PRESETS`;
      default `OVERLAY_PRESET`).
  """

  QUEUE_FRAMES = 2
  # zlib level of the mask and hotspot PNGs. The writer shares the CPU with the network;
  # at 854x480, level 1 encodes a mask in ~0.8 ms and a hotspot map in ~1.6 ms instead
  # of PIL's default 6's ~2.2 and ~4.3 ms, for files ~1.5x larger.
  PNG_COMPRESS_LEVEL = 1
  # libx264 preset of overlay.mp4. The encoder shares the CPU with the network: on 2
  # cores "superfast" encodes real 854x480 video (DAVIS blackswan) ~3.5x faster than
  # libx264's default "medium" at about the same size (CRF 18), and took the Lite0
  # tracker (one object, PyTorch / ONNX Runtime at one thread) from 39-40 to 58-64
  # frames/s (docs/deployment.md).
  OVERLAY_PRESET = "superfast"

  def __init__(self, output: str | os.PathLike, width: int, height: int, fps: float | None,
               objects: list[dict], overlay_video: bool = True, background: bool = True,
               audio_from: str | os.PathLike | None = None,
               on_written: Callable[[int], None] | None = None, overlay_preset: str | None = None):
    self.output = pathlib.Path(output)
    self._on_written = on_written
    self.masks_dir = self.output / "masks"
    self.hotspots_dir = self.output / "hotspots"
    self.masks_dir.mkdir(parents=True, exist_ok=True)
    self.hotspots_dir.mkdir(parents=True, exist_ok=True)
    self.num_frames = 0
    self._written = 0
    self._video = (VideoWriter(self.output / "overlay.mp4", fps or DEFAULT_FPS, audio_from=audio_from,
                               preset=overlay_preset or self.OVERLAY_PRESET) if overlay_video else None)
    self._json = open(self.output / "tracklets.json", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    header = {"width": width, "height": height, "fps": fps, "num_objects": len(objects),
              "objects": list(objects)}
    # The header without its closing brace, then the frames array streamed into it.
    self._json.write(json.dumps(header)[:-1] + ', "frames": [\n')
    self._prompts: list[dict] = []
    self._skipped: list[dict] = []
    self.interrupted = False
    self.error: str | None = None
    self._error: BaseException | None = None
    self._queue: queue.Queue | None = None
    self._worker = None
    if background:
      self._queue = queue.Queue(maxsize=self.QUEUE_FRAMES)
      self._worker = threading.Thread(target=self._drain, name="tracking-output-writer", daemon=True)
      self._worker.start()

  def write(self, index: int, frame: np.ndarray, labels: np.ndarray, hotspot: np.ndarray,
            records: list[compose.ObjectRecord], prompts: list[dict] = ()) -> None:
    """Writes (or queues) one frame's mask, hotspot map, tracklet entry and overlay frame.

    `prompts` are the prompts applied on this frame (`prompts.Prompt.record`). The
    arrays must not be modified afterwards (the tracker's are fresh every frame).
    """
    self._raise_worker_error()
    self._prompts.extend(prompts)
    item = (index, frame, labels, hotspot, records)
    if self._queue is None:
      self._write_now(*item)
    else:
      self._queue.put(item)
    self.num_frames += 1

  def skip(self, index: int, seconds: float | None) -> None:
    """Records a frame of the source that was not tracked (a live source's, dropped
    while the tracker was behind) and when it arrived (seconds since the source opened)."""
    self._skipped.append({"frame": int(index), "seconds": None if seconds is None else round(seconds, 4)})

  def _write_now(self, index: int, frame: np.ndarray, labels: np.ndarray, hotspot: np.ndarray,
                 records: list[compose.ObjectRecord]) -> None:
    name = f"{index:05d}.png"
    mask_io.write_palette_png(self.masks_dir / name, labels, compress_level=self.PNG_COMPRESS_LEVEL)
    map_io.write_map(self.hotspots_dir / name, hotspot, compress_level=self.PNG_COMPRESS_LEVEL)
    separator = ",\n" if self._written else ""
    self._json.write(separator + json.dumps({"frame": index, "objects": [r.to_json() for r in records]}))
    if self._video is not None:
      self._video.write(_even(overlay(frame, labels, hotspot)))
    self._written += 1
    if self._on_written is not None:
      self._on_written(index)

  def _drain(self) -> None:
    while (item := self._queue.get()) is not None:
      if self._error is None:
        try:
          self._write_now(*item)
        except BaseException as error:  # pylint: disable=broad-exception-caught
          self._error = error  # raised in the caller's thread by the next write or close

  def _raise_worker_error(self) -> None:
    if self._error is not None:
      error, self._error = self._error, None
      raise error

  def close(self) -> None:
    """Waits for queued frames, then completes tracklets.json and overlay.mp4."""
    if self._json.closed:
      return
    if self._worker is not None:
      self._queue.put(None)
      self._worker.join()
      self._worker = None
    try:
      tail = {"prompts": self._prompts, "skipped": self._skipped, "num_frames": self._written,
              "interrupted": self.interrupted, "error": self.error}
      self._json.write("\n], " + json.dumps(tail)[1:] + "\n")
    finally:
      self._json.close()
      if self._video is not None:
        self._video.close()
    self._raise_worker_error()

  def __enter__(self) -> OutputWriter:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
