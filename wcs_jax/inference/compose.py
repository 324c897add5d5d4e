"""Several tracked objects into one frame: a label map (DAVIS convention), one hotspot map,
and each object's tracklet entry.

Each object contributes its mask probability and hotspot map pasted on the frame pixels
of its window (`crops.paste`). The label map gives a pixel to the object of highest mask
probability among those at or above the threshold, 0 (background) where none is; ties
go to the lower id. The hotspot map is the pixel-wise maximum of the objects' hotspot
maps (each object's hotspot lies inside that object, so they rarely overlap). Only
window regions are touched, so the cost follows the objects' size, not the frame's.
"""
from __future__ import annotations

import dataclasses

import numpy as np

# A region of the frame: (x0, y0, x1, y1), x1 and y1 exclusive.
Roi = tuple[int, int, int, int]


@dataclasses.dataclass(frozen=True)
class Placed:
  """One object's map on the frame pixels of its window.

  Attributes:
    values: `[y1 - y0, x1 - x0]` float32 in [0, 1].
    roi: `(x0, y0, x1, y1)`.
  """
  values: np.ndarray
  roi: Roi


@dataclasses.dataclass(frozen=True)
class ObjectRecord:
  """What the tracker reports about one object in one frame (`OUT/tracklets.json`).

  Attributes:
    id: object id in the label map, 1..N.
    hotspot: `(x, y)` pixel indices (column, row) of the hotspot map's peak inside the
      object's window; None without a hotspot branch or when the window misses the frame.
    bbox: `(x0, y0, x1, y1)` of the object's pixels in the label map, pixel indices with
      x1, y1 exclusive (edge coordinates); None when the object has no pixel.
    area: number of the object's pixels in the label map.
    lost: the tracker's recovery policy judged the object lost in this frame
      (`tracker` module docstring).
    window: `(cx, cy, side)` of the search window (of the template window in the first
      frame), in edge coordinates.
  """
  id: int
  hotspot: tuple[int, int] | None
  bbox: tuple[int, int, int, int] | None
  area: int
  lost: bool = False
  window: tuple[float, float, float] | None = None

  def to_json(self) -> dict:
    return {"id": self.id,
            "hotspot": None if self.hotspot is None else list(self.hotspot),
            "bbox": None if self.bbox is None else list(self.bbox),
            "area": self.area, "lost": self.lost,
            "window": None if self.window is None else [round(v, 2) for v in self.window]}


def label_map(masks: list[Placed | None], width: int, height: int,
              threshold: float = 0.5) -> np.ndarray:
  """Merges the objects' mask probabilities into object ids.

  Args:
    masks: object k's (id k + 1) mask probability on its window, None for an object
      whose window misses the frame.
    width: frame width W.
    height: frame height H.
    threshold: a pixel belongs to an object when its probability is at least this.

  Returns:
    `[H, W]` uint8 ids, 0 = background.
  """
  if len(masks) > 255:
    raise ValueError(f"{len(masks)} objects: a palette mask holds at most 255")
  labels = np.zeros((height, width), np.uint8)
  best = np.zeros((height, width), np.float32)
  for k, placed in enumerate(masks):
    if placed is None:
      continue
    x0, y0, x1, y1 = placed.roi
    best_roi, labels_roi = best[y0:y1, x0:x1], labels[y0:y1, x0:x1]
    wins = (placed.values > best_roi) & (placed.values >= threshold)
    labels_roi[wins] = k + 1
    np.maximum(best_roi, placed.values, out=best_roi)
  return labels


def hotspot_map(hotspots: list[Placed | None], width: int, height: int) -> np.ndarray:
  """`[H, W]` float32: the pixel-wise maximum of the objects' hotspot maps, 0 elsewhere."""
  merged = np.zeros((height, width), np.float32)
  for placed in hotspots:
    if placed is not None:
      x0, y0, x1, y1 = placed.roi
      np.maximum(merged[y0:y1, x0:x1], placed.values, out=merged[y0:y1, x0:x1])
  return merged


def object_extent(labels: np.ndarray, object_id: int,
                  roi: Roi | None) -> tuple[tuple[int, int, int, int] | None, int]:
  """Bounding box and area of one object in a label map, searched within `roi` (the
  object's window: its pixels cannot lie elsewhere); `roi` None searches the frame.

  Returns:
    `((x0, y0, x1, y1) or None, area)`, x1 and y1 exclusive.
  """
  x0, y0 = (0, 0) if roi is None else roi[:2]
  region = labels if roi is None else labels[roi[1]:roi[3], roi[0]:roi[2]]
  inside = region == object_id
  rows = np.flatnonzero(inside.any(axis=1))
  if rows.size == 0:
    return None, 0
  cols = np.flatnonzero(inside.any(axis=0))
  box = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
  return box, int(np.count_nonzero(inside))


def peak(placed: Placed | None) -> tuple[int, int] | None:
  """`(x, y)` frame pixel of a map's maximum (the first one in row-major order)."""
  if placed is None:
    return None
  row, col = np.unravel_index(int(np.argmax(placed.values)), placed.values.shape)
  return placed.roi[0] + int(col), placed.roi[1] + int(row)
