"""The streaming tracker: one frame in, that frame's label map, hotspot map and objects out.

`TrackingStream` (made by `Tracker.start`) holds, per object id, the template code and
the state (centre, extent, area, frames lost; `tracker` module docstring). Each
`step(frame, prompts)` first applies the frame's prompts (`prompts.Prompt`):

- remove: the object is dropped (no pixel from this frame on);
- click, box, mask or auto for a new id: the object is added from this frame on;
- the same for an existing id: the object is re-initialised: its template is encoded
  anew from the prompt and its state restarts from the prompt's mask (its earlier
  frames are unchanged).

A prompted object's mask on its prompt's frame is the prompt's (the first-frame
networks' for a click, box or auto; the given one for a mask), exactly as on a new
tracker's first frame. Every other object is tracked: all of them in one batched call
of WCS-Net's `track` with their joined template codes (joined again only when the set
of objects changes).

Overlaps. On a prompt's frame, the prompted objects take every pixel of their prompt masks
from the objects tracked there (a correction wins; among themselves the highest
probability wins); a tracked object that loses most
of its pixels so is judged lost by the recovery policy and searched for again. From
the next frame on overlaps are resolved as always: the highest mask probability wins,
ties to the lower id (`compose.label_map`). Objects never change each other's
template or state otherwise, and batching does not change an object's numbers: the
masks of the other objects are the same, bit for bit, whether or not an object is
added, removed or re-prompted beside them (tests/test_stream.py holds this for the
JAX backend on XLA:CPU), as long as their pixels do not overlap.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from wcs_jax.inference import compose
from wcs_jax.inference import crops
from wcs_jax.inference import first_frame
from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.inference.prompts import Prompt
from wcs_jax.inference.prompts import PromptError


@dataclasses.dataclass(frozen=True)
class FrameResult:
  """The tracker's output for one frame.

  Attributes:
    index: frame index, from 0.
    frame: `[H, W, 3]` uint8 RGB, the input frame itself.
    mask: `[H, W]` uint8 object ids (0 background, objects 1..N).
    hotspot: `[H, W]` float32 hotspot map in [0, 1] (all objects' maximum; zeros
      without a hotspot branch).
    objects: one `compose.ObjectRecord` per object, in id order.
    network_seconds: time in the network calls (first frame: the whole initialisation,
      first-frame networks and template encoding with their crops).
    crop_paste_seconds: time in crops, pastes, merging and the state update (0 in the
      first frame).
    prompts: the prompts applied on this frame, `prompts.Prompt.record` entries
      {"frame", "object", "prompt": [kind, values...], "fallback"} (none: []).
  """
  index: int
  frame: np.ndarray
  mask: np.ndarray
  hotspot: np.ndarray
  objects: list[compose.ObjectRecord]
  network_seconds: float
  crop_paste_seconds: float
  prompts: list[dict] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ObjectState:
  """Where the tracker looks for one object (`tracker` module docstring)."""
  cx: float
  cy: float
  extent: float
  area: int
  lost: int = 0


@dataclasses.dataclass
class _Object:
  code: Any  # the backend's template code of this object alone (batch of 1)
  state: ObjectState


class TrackingStream:
  """Tracks objects frame by frame; prompts may come on any frame.

  Made by `Tracker.start(frame, prompts)`, which applies the first frame's prompts and
  gives its result (`first`); then `step` once per later frame.

  Example:
    stream = tracker.start(frame0, [Prompt(0, 1, "click", (400, 220))])
    for frame in frames:
      result = stream.step(frame)            # result.mask [H, W] ids, result.objects
      ...
    stream.step(frame, [Prompt(t, 2, "box", (10, 20, 200, 240))])   # add object 2 at t

  Attributes:
    width, height: the frame size (fixed by the first frame).
    index: the index of the latest frame.
    ids: the ids of the objects tracked now, increasing.
    first: the first frame's `FrameResult`.
  """

  def __init__(self, tracker, frame: np.ndarray, prompts: Sequence[Prompt] = (), index: int = 0):
    self.tracker = tracker
    self.config = tracker.config
    self.backend = tracker.backend
    self.height, self.width = frame.shape[:2]
    self.index = index - 1
    self._objects: dict[int, _Object] = {}
    self._joined: tuple[tuple[int, ...], Any] | None = None
    self.first = self.step(frame, prompts, index=index)

  @property
  def ids(self) -> list[int]:
    return sorted(self._objects)

  def step(self, frame: np.ndarray, prompts: Sequence[Prompt] = (), index: int | None = None):
    """Applies `prompts` on `frame`, tracks the other objects and merges them.

    Args:
      frame: `[H, W, 3]` uint8 RGB, the size of the first frame.
      prompts: prompts for this frame (their `frame` field is not read: a prompt meant
        for a frame that was skipped applies to the next frame tracked).
      index: this frame's index in input order (default: the previous one + 1; a live
        source that skips frames passes the index it read).

    Returns:
      The frame's `FrameResult`; `prompts` lists the prompts applied on it
      (`Prompt.record` entries, their "frame" this frame's index).

    Raises:
      ValueError: a frame of another size.
      PromptError: a remove of an id that is not tracked, two prompts for one id.
      BackendUnavailableError: a click, box or auto prompt without EG-Net and
        Gaze2Mask-Net.
    """
    index = self.index + 1 if index is None else int(index)
    if frame.shape[:2] != (self.height, self.width) or frame.ndim != 3:
      raise ValueError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, the first frame "
                       f"{self.width}x{self.height}")
    start = time.perf_counter()
    if len({p.object for p in prompts}) != len(prompts):
      raise PromptError(f"frame {index}: two prompts for one object")
    # Every prompt is checked and its object made by the first-frame networks before
    # anything changes: a prompt that fails there leaves the stream as it was.
    removed = [p for p in prompts if p.kind == "remove"]
    for prompt in removed:
      if prompt.object not in self._objects:
        raise PromptError(f"{prompt.source} (frame {index}): object {prompt.object} is not tracked "
                          f"(objects: {self.ids or 'none'})")
    initial = {p.object: self._initial_object(frame, p) for p in prompts if p.kind != "remove"}
    self.index = index
    records = []
    for prompt in removed:
      del self._objects[prompt.object]
      records.append(dataclasses.replace(prompt, frame=index).record())
    for prompt in prompts:
      if prompt.kind != "remove":
        records.append(dataclasses.replace(prompt, frame=index).record(initial[prompt.object].fallback))
    windows, placed_masks, placed_hotspots = {}, {}, {}
    fill = np.asarray(cv2.mean(frame)[:3])
    for object_id, obj in initial.items():
      windows[object_id] = self._encode(frame, object_id, obj, fill)
      whole = (0, 0, self.width, self.height)
      placed_masks[object_id] = compose.Placed(obj.probability, whole)
      placed_hotspots[object_id] = compose.Placed(obj.guidance, whole)
    prompted = time.perf_counter()
    tracked = [i for i in self.ids if i not in initial]
    network = 0.0
    if tracked:
      size = self.config.image_size
      for object_id in tracked:
        windows[object_id] = self._search_window(self._objects[object_id].state)
      search = np.stack([crops.crop(frame, windows[i], size, fill) for i in tracked])
      search = search.astype(np.float32) * np.float32(1 / 255)
      code = self._code(tracked)
      before = time.perf_counter()
      mask_probs, hotspot_probs = self.backend.track(code, search)
      network = time.perf_counter() - before
      for k, object_id in enumerate(tracked):
        placed_masks[object_id] = self._paste(mask_probs[k], windows[object_id])
        placed_hotspots[object_id] = None if hotspot_probs is None else self._paste(hotspot_probs[k],
                                                                                    windows[object_id])
    ids = self.ids
    labels = compose.label_map([placed_masks[i] for i in ids], self.width, self.height,
                               self.config.mask_threshold)
    if initial and tracked:  # prompts' masks take their pixels from tracked objects (module docstring)
      prompted_ids = [i for i in ids if i in initial]
      corrected = compose.label_map([placed_masks[i] for i in prompted_ids], self.width, self.height,
                                    self.config.mask_threshold)
      positions = np.zeros(256, np.uint8)
      positions[1:len(prompted_ids) + 1] = [ids.index(i) + 1 for i in prompted_ids]
      np.copyto(labels, positions[corrected], where=corrected > 0)
    hotspot = compose.hotspot_map([placed_hotspots[i] for i in ids], self.width, self.height)
    objects = []
    for position, object_id in enumerate(ids, start=1):
      placed, window = placed_masks[object_id], windows[object_id]
      bbox, area = compose.object_extent(labels, position, None if placed is None else placed.roi)
      record = compose.ObjectRecord(id=object_id, hotspot=compose.peak(placed_hotspots[object_id]), bbox=bbox,
                                    area=area, window=(window.cx, window.cy, window.side))
      if object_id not in initial:
        record = self._update(self._objects[object_id].state, record)
      objects.append(record)
    lut = np.zeros(256, np.uint8)
    lut[1:len(ids) + 1] = ids
    labels = lut[labels] if ids != list(range(1, len(ids) + 1)) else labels
    total = time.perf_counter() - start
    init_seconds = prompted - start
    return FrameResult(index, frame, labels, hotspot, objects, network_seconds=init_seconds + network,
                       crop_paste_seconds=total - init_seconds - network, prompts=records)

  def _initial_object(self, frame: np.ndarray, prompt: Prompt) -> first_frame.InitialObject:
    """The object a prompt defines on `frame` (`first_frame`)."""
    config, backend = self.config, self.backend
    if prompt.kind != "mask" and not backend.has_first_frame_networks:
      raise BackendUnavailableError(
          f"{prompt.source}: a {prompt.kind} prompt needs EG-Net and Gaze2Mask-Net, which this run does not "
          "hold; prompt with a mask or track with a run whose chain trained them")
    if prompt.kind == "auto":
      return first_frame.automatic(frame, backend, config.click_sigma)
    if prompt.kind == "click":
      clicks = first_frame.check_clicks([prompt.values], self.width, self.height)
      return first_frame.from_clicks(frame, backend, clicks, config.click_sigma)[0]
    if prompt.kind == "box":
      boxes = first_frame.check_boxes([prompt.values], self.width, self.height)
      return first_frame.from_boxes(frame, backend, boxes, config.guidance_sigma)[0]
    return first_frame.from_mask(prompt.mask.astype(bool), self.width, self.height, config.guidance_sigma,
                                 source=prompt.source)[0]

  def _encode(self, frame: np.ndarray, object_id: int, obj: first_frame.InitialObject,
              fill: np.ndarray) -> crops.Window:
    """Encodes an object's template and (re)starts its state; returns its template window."""
    size = self.config.image_size
    box, area = compose.object_extent(obj.mask.astype(np.uint8), 1, None)
    window = crops.template_window(box, self.config.template_context)
    template = crops.crop(frame, window, size, fill)[None].astype(np.float32) / 255.0
    mask = (crops.crop(obj.probability, window, size, 0.0) >= 0.5)[None, ..., None].astype(np.float32)
    guidance = np.clip(crops.crop(obj.guidance, window, size, 0.0), 0.0, 1.0)[None, ..., None]
    code = self.backend.encode_template(template, mask, guidance)
    state = ObjectState((box[0] + box[2]) / 2, (box[1] + box[3]) / 2,
                        self._clip_extent(max(box[2] - box[0], box[3] - box[1])), area)
    self._objects[object_id] = _Object(code, state)
    self._joined = None
    return window

  def _code(self, ids: list[int]) -> Any:
    """The joined template code of `ids` (cached while they stay the same objects)."""
    key = tuple(ids)
    if self._joined is None or self._joined[0] != key:
      self._joined = (key, self.backend.join_codes([self._objects[i].code for i in ids]))
    return self._joined[1]

  def _clip_extent(self, extent: float) -> float:
    return min(max(extent, self.config.min_extent), max(self.width, self.height))

  def _search_window(self, state: ObjectState) -> crops.Window:
    window = crops.search_window(state.cx, state.cy, state.extent, self.config.search_context)
    if not state.lost:
      return window
    side = window.side * self.config.widen_factor ** state.lost
    if side >= max(self.width, self.height):
      return crops.Window(self.width / 2, self.height / 2, max(self.width, self.height))
    return crops.Window(state.cx, state.cy, side)

  def _paste(self, prob: np.ndarray, window: crops.Window) -> compose.Placed | None:
    pasted = crops.paste(prob, window, self.width, self.height)
    return None if pasted is None else compose.Placed(*pasted)

  def _update(self, state: ObjectState, record: compose.ObjectRecord) -> compose.ObjectRecord:
    """Moves an object's state to this frame's record (recovery policy: `tracker`)."""
    if record.bbox is None or record.area < self.config.lost_area_fraction * state.area:
      state.lost += 1
      return dataclasses.replace(record, lost=True)
    x0, y0, x1, y1 = record.bbox
    m = self.config.scale_smoothing
    extent = math.exp(m * math.log(state.extent) + (1 - m) * math.log(max(x1 - x0, y1 - y0)))
    state.cx, state.cy = (x0 + x1) / 2, (y0 + y1) / 2
    state.extent = self._clip_extent(extent)
    state.area, state.lost = record.area, 0
    return record
