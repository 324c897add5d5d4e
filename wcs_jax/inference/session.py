"""One tracking run from a frame source to an output folder, with its time split.

What `tools/track.py` runs and `tools/benchmark.py --track` times: frames flow one at a
time from the source through the tracker into `outputs.OutputWriter`, so memory stays
flat however long the video. Time per tracked frame (the first frame, with the
first-frame networks and the template encoding, is counted apart):
- network: the backend's calls (`FrameResult.network_seconds`);
- crop/paste: the tracker's own work (`FrameResult.crop_paste_seconds`);
- I/O: everything else, itself split into decode (taking the next frame from the
  source: reading and decoding it) and writing (the rest: handing the mask, hotspot,
  tracklet entry and overlay frame to the output writer, whose worker thread encodes
  them beside the next frame's work, and waiting for it when its queue is full).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from wcs_jax.inference import first_frame as first_frame_lib
from wcs_jax.inference import outputs
from wcs_jax.inference import prompts as prompts_lib
from wcs_jax.inference.tracker import Tracker


@dataclasses.dataclass(frozen=True)
class Summary:
  """Timing of a run.

  Attributes:
    frames: frames written.
    seconds: wall time of the whole run.
    first_frame: seconds of the first frame (initialisation, template encoding, I/O).
    network, crop_paste, io: mean seconds per tracked frame (frames after the first).
    decode: the part of `io` spent taking frames from the source; `io - decode` is
      the writing.
  """
  frames: int
  seconds: float
  first_frame: float
  network: float
  crop_paste: float
  io: float
  decode: float = 0.0

  def line(self) -> str:
    return (f"{self.frames} frames in {self.seconds:.1f} s (first frame {self.first_frame:.1f} s); per "
            f"tracked frame: network {self.network * 1e3:.1f} ms, crop/paste "
            f"{self.crop_paste * 1e3:.1f} ms, I/O {self.io * 1e3:.1f} ms (decode {self.decode * 1e3:.1f}, "
            f"writing {(self.io - self.decode) * 1e3:.1f})")


def track_to_folder(tracker: Tracker, frames: Iterable, output: str | os.PathLike, *,
                    init: str = "auto", clicks: Sequence[Sequence[float]] | None = None,
                    boxes: Sequence[Sequence[float]] | None = None, mask: np.ndarray | None = None,
                    prompts: Sequence[prompts_lib.Prompt] = (), indexed: bool = False,
                    skipped: Callable[[], list[tuple[int, float | None]]] | None = None,
                    stop: threading.Event | None = None,
                    fps: float | None = None, total: int | None = None, max_frames: int | None = None,
                    overlay_video: bool = True, progress: bool = True,
                    on_frame: Callable[[int], None] | None = None, label: str = "",
                    audio_from: str | os.PathLike | None = None, overlay_preset: str | None = None) -> Summary:
  """Tracks `frames` and writes the outputs (`outputs` module) into `output`.

  Args:
    tracker: the tracker.
    frames: `[H, W, 3]` uint8 RGB frames (e.g. a `wcs_jax.io.video.FrameReader`); with
      `indexed`, `(index, frame)` pairs (`wcs_jax.io.live.LiveSource`).
    output: the OUT folder.
    init, clicks, boxes, mask: the first frame's prompts (`Tracker.first_frame_prompts`).
    prompts: prompts on any frame (`prompts.Prompt`).
    indexed: `frames` yields `(index, frame)`.
    skipped: called after each frame; returns the `(index, seconds)` of the source's
      frames dropped since the last call (recorded in tracklets.json's "skipped").
    stop: when set (e.g. by a SIGINT handler), the run ends after the current frame,
      every output complete ("interrupted": true in tracklets.json).
    fps: frame rate written into overlay.mp4 and tracklets.json (None: unknown).
    total: number of frames, for the progress bar (None: unknown).
    max_frames: stop after this many frames.
    overlay_video: write overlay.mp4.
    progress: show a tqdm progress bar (frames/s) on stderr.
    on_frame: called with each frame's index once its outputs are written (mask and
      hotspot PNGs, tracklet entry, overlay frame handed to the encoder), from the
      output writer's thread, e.g. to sample memory or time the latency; an exception
      in it ends the run like a failed write.
    label: names the video in console messages (e.g. "sequence blackswan").
    audio_from: the source video file; overlay.mp4 carries its audio (None: none).
    overlay_preset: libx264 preset of overlay.mp4 (None: `outputs.OutputWriter`'s default).

  Returns:
    The run's `Summary`.
  """
  if max_frames is not None:
    total = max_frames if total is None else min(total, max_frames)
  frames = _TimedSource(frames)
  results = tracker.track(frames, init, clicks=clicks, boxes=boxes, mask=mask, prompts=prompts,
                          indexed=indexed)
  writer = None
  seconds = {"network": 0.0, "crop_paste": 0.0, "io": 0.0, "decode": 0.0}
  start = last = time.perf_counter()
  first_frame = 0.0
  try:
    with tqdm(total=total, unit="frame", desc="tracking", dynamic_ncols=True, disable=not progress) as bar:
      for result in results:
        if writer is None:
          height, width = result.frame.shape[:2]
          objects = [{"id": r["object"], "prompt": r["prompt"], "fallback": r["fallback"]}
                     for r in result.prompts if "fallback" in r]
          writer = outputs.OutputWriter(output, width, height, fps, objects, overlay_video,
                                        audio_from=audio_from, on_written=on_frame,
                                        overlay_preset=overlay_preset)
        _report_fallbacks(result.prompts, label)
        writer.write(result.index, result.frame, result.mask, result.hotspot, result.objects, result.prompts)
        for index, when in (skipped() if skipped is not None else ()):
          writer.skip(index, when)
        now = time.perf_counter()
        decoded, frames.seconds = frames.seconds, 0.0
        if writer.num_frames == 1:
          first_frame = now - last
        else:
          seconds["decode"] += decoded
          seconds["network"] += result.network_seconds
          seconds["crop_paste"] += result.crop_paste_seconds
          seconds["io"] += now - last - result.network_seconds - result.crop_paste_seconds
        last = now
        bar.update(1)
        if max_frames is not None and writer.num_frames >= max_frames:
          break
        if stop is not None and stop.is_set():
          writer.interrupted = True
          break
  except Exception as error:
    if writer is not None:  # the outputs say that they stop early, and why
      writer.error = f"{type(error).__name__}: {error}"
    raise
  finally:
    results.close()
    if writer is not None:
      writer.close()
  count = 0 if writer is None else writer.num_frames
  tracked = max(count - 1, 1)
  return Summary(frames=count, seconds=time.perf_counter() - start, first_frame=first_frame,
                 **{k: v / tracked for k, v in seconds.items()})


class _TimedSource:
  """Iterates `frames`, adding the time each `next` takes to `seconds`."""

  def __init__(self, frames: Iterable):
    self._frames = iter(frames)
    self.seconds = 0.0

  def __iter__(self):
    return self

  def __next__(self):
    start = time.perf_counter()
    try:
      return next(self._frames)
    finally:
      self.seconds += time.perf_counter() - start


def _report_fallbacks(applied: Sequence[dict], label: str) -> None:
  """One console line (stderr) per object whose prompt's mask is a fallback."""
  for entry in applied:
    if entry.get("fallback"):
      kind = entry["prompt"][0]
      print(f"warning: {label + ': ' if label else ''}object {entry['object']} ({kind}, frame {entry['frame']}): "
            f"the first-frame networks gave an empty mask; it starts from {first_frame_lib.FALLBACKS[kind]} "
            "(\"fallback\": true in tracklets.json)", file=sys.stderr)
