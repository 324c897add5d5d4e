"""Online tracking of object masks and hotspots (OSHT, paper Sec. 3.2).

Per video (`stream.TrackingStream`, one frame at a time):
1. First frame: the objects' masks and hotspot guidance (`first_frame`: automatic,
   clicks, boxes or a given mask; `prompts.Prompt`). Each object's template crop (its
   box enlarged by `template_context`, `crops.template_window`) is encoded once: that
   `TemplateCode` is reused for every later frame. Prompts on later frames add,
   re-initialise or remove objects (`stream` module docstring).
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
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence

import ml_collections
import numpy as np

from wcs_jax.inference import first_frame
from wcs_jax.inference import prompts as prompts_lib
from wcs_jax.inference import stream as stream_lib
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


FrameResult = stream_lib.FrameResult  # re-exported: the result type of `track` and `TrackingStream.step`


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
    self._check_flags(init, clicks, boxes, mask)
    if init == "auto":
      return [first_frame.automatic(frame, self.backend, self.config.click_sigma)]
    if init == "click":
      return first_frame.from_clicks(frame, self.backend, first_frame.check_clicks(clicks, width, height),
                                     self.config.click_sigma)
    if init == "box":
      return first_frame.from_boxes(frame, self.backend, first_frame.check_boxes(boxes, width, height),
                                    self.config.guidance_sigma)
    return first_frame.from_mask(np.asarray(mask), width, height, self.config.guidance_sigma)

  def first_frame_prompts(self, width: int, height: int, init: str = "auto", *,
                          clicks: Sequence[Sequence[float]] | None = None,
                          boxes: Sequence[Sequence[float]] | None = None,
                          mask: np.ndarray | None = None, frame: int = 0) -> list[prompts_lib.Prompt]:
    """The first-frame flags (`initialise`'s arguments) as prompts for objects 1..N.

    "auto" gives object 1 automatically, "click" and "box" one object per prompt in
    order, "mask" one per id of the label map in increasing order; "none" gives no
    object (tracking starts empty; prompts on later frames add objects).
    """
    if init == "none":
      if clicks or boxes or mask is not None:
        raise first_frame.InitialisationError("first-frame prompts given with --init none")
      return []
    self._check_flags(init, clicks, boxes, mask)
    if init == "auto":
      return [prompts_lib.Prompt(frame, 1, "auto", source="--init auto")]
    if init == "click":
      return [prompts_lib.Prompt(frame, k, "click", xy, source="--click")
              for k, xy in enumerate(first_frame.check_clicks(clicks, width, height), start=1)]
    if init == "box":
      return [prompts_lib.Prompt(frame, k, "box", tuple(float(v) for v in box), source="--box")
              for k, box in enumerate(first_frame.check_boxes(boxes, width, height), start=1)]
    labels = np.asarray(mask)
    if labels.shape != (height, width):
      raise first_frame.InitialisationError(f"--mask: the mask is {labels.shape[1]}x{labels.shape[0]}, the "
                                            f"first frame {width}x{height}")
    ids = [int(i) for i in np.unique(labels) if i]
    if not ids:
      raise first_frame.InitialisationError("--mask: the mask has no object pixels")
    return [prompts_lib.Prompt(frame, k, "mask", (float(i),), mask=labels == i, source="--mask")
            for k, i in enumerate(ids, start=1)]

  def start(self, frame: np.ndarray, prompts: Sequence[prompts_lib.Prompt] = (),
            index: int = 0) -> stream_lib.TrackingStream:
    """A streaming tracker on `frame` with its prompts (`stream.TrackingStream`); its
    `first` attribute holds this frame's result."""
    return stream_lib.TrackingStream(self, frame, prompts, index)

  def track(self, frames: Iterable[np.ndarray], init: str = "auto", *,
            clicks: Sequence[Sequence[float]] | None = None,
            boxes: Sequence[Sequence[float]] | None = None,
            mask: np.ndarray | None = None, prompts: Sequence[prompts_lib.Prompt] = (),
            indexed: bool = False) -> Iterator[FrameResult]:
    """Tracks the first frame's objects (`initialise`) and `prompts` through `frames`.

    Args:
      frames: `[H, W, 3]` uint8 RGB frames, e.g. a `wcs_jax.io.video.FrameReader`; with
        `indexed`, `(index, frame)` pairs (a live source that skips frames).
      init, clicks, boxes, mask: the first frame's objects (`first_frame_prompts`).
      prompts: prompts on any frame (`prompts.Prompt`); each applies on its frame, or
        on the first frame tracked after it when that one was skipped.

    Yields:
      One `FrameResult` per frame; `prompts` lists what was applied on that frame.

    Raises:
      ValueError: no frames, or a frame whose size differs from the first one's.
      first_frame.InitialisationError, prompts.PromptError: bad prompts.
    """
    iterator = iter(frames) if indexed else enumerate(frames)
    try:
      first_index, first = next(iterator)
    except StopIteration:
      raise ValueError("the video has no frames") from None
    height, width = first.shape[:2]
    pending = self.first_frame_prompts(width, height, init, clicks=clicks, boxes=boxes, mask=mask,
                                       frame=first_index)
    pending = sorted([*pending, *prompts], key=lambda p: p.frame)
    stream = None
    for index, frame in itertools.chain([(first_index, first)], iterator):
      due = [p for p in pending if p.frame <= index]
      pending = pending[len(due):]
      if stream is None:
        stream = self.start(frame, due, index)
        yield stream.first
      else:
        yield stream.step(frame, due, index)

  def _check_flags(self, init, clicks, boxes, mask) -> None:
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
