"""The camera of each shot: follow, steady or letterbox, chosen per shot.

A video is planned shot by shot (`wcs_jax.reframing.shots`): nothing is smoothed or
rate-limited across a cut, so the window jumps with the cut instead of gliding from
one shot's subject to the next. Each shot gets one of three strategies (AutoFlip's
choice between a following and a stationary camera, and its padding when the
subject cannot fit):

  follow     the moving camera of `camera_path.plan_camera_path`.
  steady     one fixed window for the whole shot: the largest zoom (<= `zoom`, >=
             `min_zoom`) at which every frame's box plus margins fits, centred on the
             median focus, shifted as little as possible so that every box stays
             inside (where no single window can hold them all, the median focus
             clipped to the frame).
  letterbox  the whole frame, scaled to fit inside the output, the rest of the
             output filled with a blurred, zoomed copy of the frame
             (`render.crop_window` draws it). The window is the frame itself; its
             zoom is below 1 (the frame is wider or taller than the largest window
             of the aspect).

`choose_strategy` (the "auto" strategy): letterbox where the object's box (without
margins) is wider or taller than the window at `min_zoom` in more than
`LETTERBOX_SHARE` of the shot's observed frames; else
steady where one window holds every box of the shot; else follow.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wcs_jax.reframing.camera_path import (CameraConfig, CameraPath, max_window_size,
                                           plan_camera_path)
from wcs_jax.reframing.targets import Observation

STRATEGIES = ("follow", "steady", "letterbox")
# Letterbox a shot where its object's box does not fit at min_zoom in more frames than this.
LETTERBOX_SHARE = 0.25


def _boxes(observations: Sequence[Observation | None]) -> np.ndarray:
  """`[N, 4]` boxes of the observed frames."""
  return np.asarray([o.box for o in observations if o is not None], np.float64).reshape(-1, 4)


def _fit_zoom(boxes: np.ndarray, max_size: np.ndarray, config: CameraConfig) -> np.ndarray:
  """`[N]` largest zoom at which each box plus margins fits (unclipped)."""
  size = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-9)
  return np.min(max_size * (1 - 2 * config.margin) / size, axis=1)


def _steady_window(observations: Sequence[Observation | None], frame_size: tuple[int, int],
                   config: CameraConfig) -> tuple[np.ndarray, np.ndarray, float, bool]:
  """(centre `[2]`, size `[2]`, zoom, holds every box) of the steady window."""
  frame = np.asarray(frame_size, np.float64)
  max_size = np.asarray(max_window_size(frame_size, config.aspect))
  boxes = _boxes(observations)
  if not len(boxes):
    return frame / 2, max_size / config.zoom, config.zoom, True
  zoom = float(np.clip(_fit_zoom(boxes, max_size, config).min(), config.min_zoom, config.zoom))
  size = max_size / zoom
  focus = np.asarray([o.focus for o in observations if o is not None], np.float64)
  centre = np.median(focus, axis=0)
  pad = config.margin * size
  # Centres that keep every padded box inside the window, within the frame bounds.
  lo = np.maximum(boxes[:, 2:].max(axis=0) + pad - size / 2, size / 2)
  hi = np.minimum(boxes[:, :2].min(axis=0) - pad + size / 2, frame - size / 2)
  holds = bool((lo <= hi + 1e-9).all())
  centre = np.clip(centre, lo, hi) if holds else np.clip(centre, size / 2, frame - size / 2)
  return centre, size, zoom, holds


def choose_strategy(observations: Sequence[Observation | None], frame_size: tuple[int, int],
                    config: CameraConfig) -> str:
  """The "auto" strategy of one shot (module docstring)."""
  boxes = _boxes(observations)
  if len(boxes):
    max_size = np.asarray(max_window_size(frame_size, config.aspect))
    # The object itself (margins aside) wider or taller than the widest window.
    too_big = (boxes[:, 2:] - boxes[:, :2] > max_size / config.min_zoom + 1e-9).any(axis=1)
    if too_big.mean() > LETTERBOX_SHARE:
      return "letterbox"
  return "steady" if _steady_window(observations, frame_size, config)[3] else "follow"


def plan_shot(observations: Sequence[Observation | None], frame_size: tuple[int, int],
              config: CameraConfig, strategy: str) -> CameraPath:
  """The camera path of one shot under `strategy` (one of `STRATEGIES`)."""
  if strategy == "follow":
    return plan_camera_path(observations, frame_size, config)
  num_frames = len(observations)
  focus = [o.focus for o in observations if o is not None]
  target = np.tile(np.median(focus, axis=0) if focus else np.full(2, np.nan), (num_frames, 1))
  if strategy == "steady":
    centre, size, zoom, _ = _steady_window(observations, frame_size, config)
  elif strategy == "letterbox":
    frame = np.asarray(frame_size, np.float64)
    centre, size = frame / 2, frame
    zoom = float(min(np.asarray(max_window_size(frame_size, config.aspect)) / frame))
  else:
    raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
  return CameraPath(frame_size=tuple(int(v) for v in frame_size),
                    center=np.tile(centre, (num_frames, 1)), size=np.tile(size, (num_frames, 1)),
                    zoom=np.full(num_frames, zoom), target=target)


def plan_video(observations: Sequence[Observation | None], frame_size: tuple[int, int],
               config: CameraConfig, shots: Sequence[tuple[int, int]],
               strategies: Sequence[str] | None = None) -> tuple[CameraPath, list[str]]:
  """Plans every shot on its own and joins the paths.

  Args:
    observations: per frame the target, or None.
    frame_size: (width, height).
    config: camera parameters.
    shots: `[(start, end), ...]` covering the frames in order, `end` exclusive.
    strategies: per shot one of `STRATEGIES` or "auto"; None: "auto" for all.

  Returns:
    The joined `CameraPath` and the strategy each shot got.

  Raises:
    ValueError: shots that do not tile the frames, or a strategy list of another length.
  """
  if not shots or shots[0][0] != 0 or shots[-1][1] != len(observations) or any(
      a[1] != b[0] or a[1] <= a[0] for a, b in zip(shots[:-1], shots[1:])):
    raise ValueError(f"shots {list(shots)} do not tile the {len(observations)} frames")
  strategies = list(strategies) if strategies is not None else ["auto"] * len(shots)
  if len(strategies) != len(shots):
    raise ValueError(f"{len(strategies)} strategies for {len(shots)} shots")
  paths, chosen = [], []
  for (start, end), strategy in zip(shots, strategies):
    part = observations[start:end]
    if strategy == "auto":
      strategy = choose_strategy(part, frame_size, config)
    chosen.append(strategy)
    paths.append(plan_shot(part, frame_size, config, strategy))
  joined = CameraPath(frame_size=paths[0].frame_size,
                      center=np.concatenate([p.center for p in paths]),
                      size=np.concatenate([p.size for p in paths]),
                      zoom=np.concatenate([p.zoom for p in paths]),
                      target=np.concatenate([p.target for p in paths]))
  return joined, chosen
