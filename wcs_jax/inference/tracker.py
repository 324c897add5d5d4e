"""Online tracking of object masks and hotspots (OSHT, paper Sec. 3.2).

Per video:
1. First frame: the objects' masks and hotspot guidance (`first_frame`: automatic,
   clicks, boxes or a given mask). Each object's template crop (its box enlarged by
   `template_context`, `crops.template_window`) is encoded once, all objects in one
   batch: that `TemplateCode` is reused for every later frame.
2. Every later frame, for all objects at once: crop the search window of each
   (`search_context` times the object's extent, centred on its last position), run
   WCS-Net's `track` (one jitted call, the objects as the batch), paste each mask and
   hotspot map back onto the frame pixels of its window, merge the objects into one
   label map and one hotspot map (`compose`), and update each object's position and
   extent from its pixels in the label map.

Frames are read, tracked and handed on one at a time (`Tracker.track` is a generator),
so memory stays flat however long the video.

State of an object: centre `(cx, cy)` and extent (longest side of its box), both from
the box of its pixels in the label map; the search side is `search_context * extent`,
as in training. The extent moves geometrically towards each new box's longest side,
`log e <- scale_smoothing log e + (1 - scale_smoothing) log e_box`, so one ragged mask
does not resize the window at once; it is clipped to `[min_extent, max(H, W)]`.

Recovery policy, per object. A frame's mask is *confident* when its area is at least
`lost_area_fraction` of the area of the object's last confident mask (the first
frame's to begin with): a gradual shrink (the object moving away) is followed, a
sudden collapse (occlusion, leaving the frame, drifting onto background) is not.
After a non-confident frame the object is *lost*: its centre and extent stay where
they were and the search window widens by `widen_factor` per lost frame, around the
last position, until it would exceed the whole frame; from then on it is the square
holding the whole frame (global search with the same template code, so a frame still
costs one network call). The first confident mask ends the loss: the window returns
to the object's box. Lost objects still get their (small) predicted pixels in the
label map; the tracklets flag them (`lost`). No re-detection with the first-frame
networks: EG-Net finds the most salient object, not necessarily the one being
tracked (and not one of several clicked ones).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence

import cv2
import ml_collections
import numpy as np

from wcs_jax.inference import compose
from wcs_jax.inference import crops
from wcs_jax.inference import first_frame
from wcs_jax.inference.backend import Backend
from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.inference.backend import load_backend
from wcs_jax.spec import geometry


@dataclasses.dataclass(frozen=True)
class TrackerConfig:
  """Crop geometry (from training) and the tracking policy.

  Attributes:
    image_size: S, side of the template and search crops and of the first-frame
      networks' input (training's `config.input.image_size`; the paper: 320).
    template_context: template side / longest side of the object's box (training's
      `config.input.pairs.template_context`).
    search_context: search side / object extent (`config.input.pairs.search_context`).
    guidance_sigma: sigma of a mask's hotspot guidance and of a box's gaze map, as a
      fraction of sqrt(area) (`config.input.pairs.guidance_sigma`).
    click_sigma: sigma of a click's gaze map, as a fraction of sqrt(H * W) of the frame.
    mask_threshold: mask probability at which a pixel belongs to an object.
    lost_area_fraction: a mask smaller than this fraction of the object's last
      confident area means the object is lost.
    widen_factor: the search window of a lost object grows by this factor per frame.
    scale_smoothing: weight of the previous extent in the geometric update (0: the
      window follows each new box at once).
    min_extent: smallest object extent in pixels (the window never shrinks below
      `search_context * min_extent`).
  """
  image_size: int = geometry.IMAGE_SIZE
  template_context: float = geometry.TEMPLATE_CONTEXT
  search_context: float = geometry.SEARCH_CONTEXT
  guidance_sigma: float = geometry.GUIDANCE_SIGMA
  click_sigma: float = 0.05
  mask_threshold: float = 0.5
  lost_area_fraction: float = 0.15
  widen_factor: float = 1.25
  scale_smoothing: float = 0.5
  min_extent: float = 8.0

  def __post_init__(self):
    if self.image_size < 8:
      raise ValueError(f"TrackerConfig.image_size = {self.image_size}: expected >= 8")
    if self.template_context < 1 or self.search_context < 1:
      raise ValueError("TrackerConfig.template_context and .search_context must be >= 1")
    for name in ("guidance_sigma", "click_sigma", "min_extent"):
      if not getattr(self, name) > 0:
        raise ValueError(f"TrackerConfig.{name} = {getattr(self, name)}: expected > 0")
    for name in ("mask_threshold", "lost_area_fraction"):
      if not 0 < getattr(self, name) < 1:
        raise ValueError(f"TrackerConfig.{name} = {getattr(self, name)}: expected a value in (0, 1)")
    if not 0 <= self.scale_smoothing < 1 or self.widen_factor < 1:
      raise ValueError("TrackerConfig.scale_smoothing must lie in [0, 1) and .widen_factor be >= 1")

  @classmethod
  def from_training_config(cls, config: ml_collections.ConfigDict, **overrides) -> TrackerConfig:
    """The crop geometry a WCS-Net run was trained with, plus `overrides`.

    Reads `config.input.image_size` and `config.input.pairs.{template_context,
    search_context, guidance_sigma}`; a field the config lacks keeps its default here
    (`wcs_jax.spec.geometry`'s, as `input_pipeline.pairs.PairConfig`'s).
    """
    fields = {}
    inputs = config.get("input") or {}
    if "image_size" in inputs:
      fields["image_size"] = int(inputs["image_size"])
    pairs = inputs.get("pairs") or {}
    for name in ("template_context", "search_context", "guidance_sigma"):
      if name in pairs:
        fields[name] = float(pairs[name])
    fields.update(overrides)
    return cls(**fields)


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
    prompts: first frame only (None later): per object, what defined it,
      {"prompt": [kind, values...], "fallback": bool} (`first_frame.InitialObject`).
  """
  index: int
  frame: np.ndarray
  mask: np.ndarray
  hotspot: np.ndarray
  objects: list[compose.ObjectRecord]
  network_seconds: float
  crop_paste_seconds: float
  prompts: list[dict] | None = None


@dataclasses.dataclass
class _ObjectState:
  cx: float
  cy: float
  extent: float
  area: int
  lost: int = 0


class Tracker:
  """Tracks the objects of a video's first frame through the video.

  Args:
    backend: the networks (`backend.JaxBackend`, or another `backend.Backend`).
    config: crop geometry and policy; its `image_size` must be the backend's.

  Example:
    tracker = Tracker.from_workdir("runs/stage2")
    with FrameReader("clip.mp4") as frames:
      for result in tracker.track(frames, init="click", clicks=[(400, 220)]):
        ...  # result.mask [H, W] ids, result.hotspot [H, W], result.objects
  """

  def __init__(self, backend: Backend, config: TrackerConfig = TrackerConfig()):
    if config.image_size != backend.image_size:
      raise ValueError(f"TrackerConfig.image_size = {config.image_size} but the backend's "
                       f"networks take {backend.image_size}")
    self.backend = backend
    self.config = config

  @classmethod
  def from_workdir(cls, workdir: str | os.PathLike, *, backend: str = "jax",
                   weights: str | os.PathLike | None = None, backend_options: dict | None = None,
                   **config_overrides) -> Tracker:
    """The tracker of a trained run, with the crop geometry it was trained with.

    `backend_options` go to the backend's constructor (`load_backend`).
    """
    loaded, config = load_backend(backend, workdir=workdir, weights=weights, options=backend_options)
    return cls(loaded, TrackerConfig.from_training_config(config, **config_overrides))

  def initialise(self, frame: np.ndarray, init: str = "auto", *,
                 clicks: Sequence[Sequence[float]] | None = None,
                 boxes: Sequence[Sequence[float]] | None = None,
                 mask: np.ndarray | None = None) -> list[first_frame.InitialObject]:
    """The first frame's objects (see `first_frame`).

    Args:
      frame: `[H, W, 3]` uint8 RGB first frame.
      init: "auto", "click", "box" or "mask".
      clicks: `(x, y)` pixels, one object each (init "click").
      boxes: `(x0, y0, x1, y1)` boxes in edge coordinates, one object each (init "box").
      mask: `[H, W]` label map or bool mask of the first frame (init "mask").

    Raises:
      first_frame.InitialisationError: missing or bad prompts.
      BackendUnavailableError: a prompt that needs the first-frame networks, which the
        backend lacks.
    """
    height, width = frame.shape[:2]
    if init not in first_frame.INITS:
      raise first_frame.InitialisationError(f"--init must be one of {list(first_frame.INITS)}, got {init!r}")
    given = {"click": clicks, "box": boxes, "mask": mask}
    for name, value in given.items():
      if value is not None and name != init:
        raise first_frame.InitialisationError(f"--{name} given with --init {init}; use --init {name}")
    if init != "auto" and (given[init] is None or (init != "mask" and len(given[init]) == 0)):
      raise first_frame.InitialisationError(f"--init {init} needs --{init}")
    if init != "mask" and not self.backend.has_first_frame_networks:
      raise BackendUnavailableError(
          f"--init {init} needs EG-Net and Gaze2Mask-Net, which this run does not hold; "
          "initialise from a mask (--mask PNG) or track with a run whose chain trained them")
    if init == "auto":
      return [first_frame.automatic(frame, self.backend, self.config.click_sigma)]
    if init == "click":
      return first_frame.from_clicks(frame, self.backend, first_frame.check_clicks(clicks, width, height),
                                     self.config.click_sigma)
    if init == "box":
      return first_frame.from_boxes(frame, self.backend, first_frame.check_boxes(boxes, width, height),
                                    self.config.guidance_sigma)
    return first_frame.from_mask(np.asarray(mask), width, height, self.config.guidance_sigma)

  def track(self, frames: Iterable[np.ndarray], init: str = "auto", *,
            clicks: Sequence[Sequence[float]] | None = None,
            boxes: Sequence[Sequence[float]] | None = None,
            mask: np.ndarray | None = None) -> Iterator[FrameResult]:
    """Tracks the first frame's objects (`initialise`) through `frames`.

    Args:
      frames: `[H, W, 3]` uint8 RGB frames, e.g. a `wcs_jax.io.video.FrameReader`.
      init, clicks, boxes, mask: as for `initialise`.

    Yields:
      One `FrameResult` per frame, the first frame's holding the initial objects.

    Raises:
      ValueError: no frames, or a frame whose size differs from the first one's.
      first_frame.InitialisationError: bad prompts.
    """
    iterator = iter(frames)
    try:
      first = next(iterator)
    except StopIteration:
      raise ValueError("the video has no frames") from None
    start = time.perf_counter()
    objects = self.initialise(first, init, clicks=clicks, boxes=boxes, mask=mask)
    first_result, code, states = self._start(first, objects)
    yield dataclasses.replace(first_result, network_seconds=time.perf_counter() - start)
    shape = first.shape
    for index, frame in enumerate(iterator, start=1):
      if frame.shape != shape:
        raise ValueError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, the first frame "
                         f"{shape[1]}x{shape[0]}")
      yield self._step(index, frame, code, states)

  def _start(self, frame: np.ndarray, objects: list[first_frame.InitialObject]):
    """Template code, object states and the first frame's result."""
    height, width = frame.shape[:2]
    size = self.config.image_size
    fill = np.asarray(cv2.mean(frame)[:3])
    templates, masks, guidances, windows, states = [], [], [], [], []
    for obj in objects:
      box, area = compose.object_extent(obj.mask.astype(np.uint8), 1, None)
      window = crops.template_window(box, self.config.template_context)
      windows.append(window)
      templates.append(crops.crop(frame, window, size, fill))
      masks.append(crops.crop(obj.probability, window, size, 0.0) >= 0.5)
      guidances.append(np.clip(crops.crop(obj.guidance, window, size, 0.0), 0.0, 1.0))
      states.append(_ObjectState((box[0] + box[2]) / 2, (box[1] + box[3]) / 2,
                                 self._clip_extent(max(box[2] - box[0], box[3] - box[1]), width, height), area))
    code = self.backend.encode_template(
        np.stack(templates).astype(np.float32) / 255.0,
        np.stack(masks)[..., None].astype(np.float32), np.stack(guidances)[..., None])
    whole = (0, 0, width, height)
    placed_masks = [compose.Placed(obj.probability, whole) for obj in objects]
    placed_hotspots = [compose.Placed(obj.guidance, whole) for obj in objects]
    result = self._result(0, frame, placed_masks, placed_hotspots, windows, width, height, 0.0, 0.0)
    prompts = [{"prompt": list(obj.prompt), "fallback": obj.fallback} for obj in objects]
    return dataclasses.replace(result, prompts=prompts), code, states

  def _clip_extent(self, extent: float, width: int, height: int) -> float:
    return min(max(extent, self.config.min_extent), max(width, height))

  def _search_window(self, state: _ObjectState, width: int, height: int) -> crops.Window:
    window = crops.search_window(state.cx, state.cy, state.extent, self.config.search_context)
    if not state.lost:
      return window
    side = window.side * self.config.widen_factor ** state.lost
    if side >= max(width, height):
      return crops.Window(width / 2, height / 2, max(width, height))
    return crops.Window(state.cx, state.cy, side)

  def _step(self, index: int, frame: np.ndarray, code, states: list[_ObjectState]) -> FrameResult:
    height, width = frame.shape[:2]
    size = self.config.image_size
    start = time.perf_counter()
    fill = np.asarray(cv2.mean(frame)[:3])
    windows = [self._search_window(state, width, height) for state in states]
    search = np.stack([crops.crop(frame, window, size, fill) for window in windows])
    search = search.astype(np.float32) * np.float32(1 / 255)
    cropped = time.perf_counter()
    mask_probs, hotspot_probs = self.backend.track(code, search)
    network = time.perf_counter() - cropped
    resumed = time.perf_counter()
    placed_masks = [self._paste(p, w, width, height) for p, w in zip(mask_probs, windows)]
    placed_hotspots = ([None] * len(states) if hotspot_probs is None else
                       [self._paste(p, w, width, height) for p, w in zip(hotspot_probs, windows)])
    result = self._result(index, frame, placed_masks, placed_hotspots, windows, width, height, network, 0.0)
    records = [self._update(state, record, width, height) for state, record in zip(states, result.objects)]
    crop_paste = (cropped - start) + (time.perf_counter() - resumed)
    return dataclasses.replace(result, objects=records, crop_paste_seconds=crop_paste)

  @staticmethod
  def _paste(prob: np.ndarray, window: crops.Window, width: int, height: int) -> compose.Placed | None:
    pasted = crops.paste(prob, window, width, height)
    return None if pasted is None else compose.Placed(*pasted)

  def _result(self, index: int, frame: np.ndarray, placed_masks: list[compose.Placed | None],
              placed_hotspots: list[compose.Placed | None], windows: list[crops.Window],
              width: int, height: int, network: float, crop_paste: float) -> FrameResult:
    labels = compose.label_map(placed_masks, width, height, self.config.mask_threshold)
    hotspot = compose.hotspot_map(placed_hotspots, width, height)
    records = []
    for k, (placed, window) in enumerate(zip(placed_masks, windows)):
      bbox, area = compose.object_extent(labels, k + 1, None if placed is None else placed.roi)
      records.append(compose.ObjectRecord(
          id=k + 1, hotspot=compose.peak(placed_hotspots[k]), bbox=bbox, area=area,
          window=(window.cx, window.cy, window.side)))
    return FrameResult(index, frame, labels, hotspot, records, network, crop_paste)

  def _update(self, state: _ObjectState, record: compose.ObjectRecord, width: int,
              height: int) -> compose.ObjectRecord:
    """Moves an object's state to this frame's record (recovery policy: module docstring)."""
    if record.bbox is None or record.area < self.config.lost_area_fraction * state.area:
      state.lost += 1
      return dataclasses.replace(record, lost=True)
    x0, y0, x1, y1 = record.bbox
    m = self.config.scale_smoothing
    extent = math.exp(m * math.log(state.extent) + (1 - m) * math.log(max(x1 - x0, y1 - y0)))
    state.cx, state.cy = (x0 + x1) / 2, (y0 + y1) / 2
    state.extent = self._clip_extent(extent, width, height)
    state.area, state.lost = record.area, 0
    return record
