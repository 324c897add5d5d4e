"""What the reframing camera follows in one frame: a focus point and the object's box.

The focus is the hotspot, the salient spot inside the object that WCS-Net tracks
next to the mask; without a hotspot map (or with an all-zero one) the mask's
centroid stands in. The box is the mask's bounding box, which the camera keeps in
view where it fits.

Coordinates are continuous pixel coordinates: pixel (i, j) covers [j, j+1) x [i, i+1),
so its centre is (j + 0.5, i + 0.5) and a box's far edges are exclusive.
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Observation:
  """The target in one frame.

  Attributes:
    focus: (x, y), the point to centre on.
    box: (x0, y0, x1, y1), the object's bounding box (x1, y1 exclusive).
  """
  focus: tuple[float, float]
  box: tuple[float, float, float, float]


def hotspot_peak(hotspot: np.ndarray) -> tuple[float, float] | None:
  """The peak of a hotspot map, or None where the map is all zero.

  The peak is the mean position of the pixels holding the maximum: a single pixel
  for a sharp peak, and the centre of the plateau of an 8-bit map whose peak was
  quantised to several equal pixels (taking the first arg-max would bias the focus
  to the plateau's top-left corner).

  Args:
    hotspot: `[H, W]` map, any real dtype, larger = hotter.

  Returns:
    (x, y) in continuous pixel coordinates.
  """
  hotspot = np.asarray(hotspot)
  if hotspot.ndim != 2:
    raise ValueError(f"expected a [H, W] hotspot map, got shape {hotspot.shape}")
  peak = hotspot.max()
  if not peak > 0:
    return None
  rows, cols = np.nonzero(hotspot == peak)
  return float(cols.mean() + 0.5), float(rows.mean() + 0.5)


def observe(mask: np.ndarray, hotspot: np.ndarray | None = None) -> Observation | None:
  """The target of one frame from its object mask and optional hotspot map.

  Args:
    mask: `[H, W]` boolean (or 0/non-zero) object mask.
    hotspot: `[H, W]` hotspot map of the same size, or None.

  Returns:
    None where the mask is empty (the object is lost or out of view: the camera
    holds), else the frame's `Observation`.
  """
  mask = np.asarray(mask).astype(bool)
  if mask.ndim != 2:
    raise ValueError(f"expected a [H, W] mask, got shape {mask.shape}")
  if hotspot is not None and np.shape(hotspot) != mask.shape:
    raise ValueError(f"hotspot map shape {np.shape(hotspot)} differs from the mask's "
                     f"{mask.shape}")
  rows, cols = np.nonzero(mask)
  if rows.size == 0:
    return None
  box = (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
  focus = hotspot_peak(hotspot) if hotspot is not None else None
  if focus is None:
    focus = (float(cols.mean() + 0.5), float(rows.mean() + 0.5))
  return Observation(focus=focus, box=box)
