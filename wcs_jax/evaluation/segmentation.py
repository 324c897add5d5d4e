"""Region similarity J and contour accuracy F of one frame, as DAVIS defines them.

Perazzi et al., "A Benchmark Dataset and Evaluation Methodology for Video Object
Segmentation", CVPR 2016, Sec. 3, with every detail taken from the official
evaluation code (davis-matlab `measures/`, davis2017-evaluation `davis2017/metrics.py`)
so that the numbers mean what published DAVIS numbers mean:

* J = |M & G| / |M | G|, and J = 1 when both masks are empty (the union is empty).
* F = 2 P R / (P + R) over contour pixels. The contour of a mask is `seg2bmap`
  (D. Martin's boundary map of the BSDS benchmark: a pixel is on the contour if it
  differs from its east, south or south-east neighbour; the last row and column only
  compare along the border; the bottom-right pixel is never a contour pixel; so a
  full-frame mask has no contour at all). Contours match within a tolerance of
  `ceil(0.008 * image diagonal)` pixels (8 px at 854x480), realised as a dilation by
  a disk {x^2 + y^2 <= r^2} (zero outside the image). Empty-contour rules:
  no predicted and no true contour: P = R = 1 (F = 1); no predicted contour only:
  P = 1, R = 0 (F = 0); no true contour only: P = 0, R = 1 (F = 0); P + R = 0: F = 0.
* Void pixels (DAVIS-2017 ground truth value 255), when given, are removed from both
  masks before either measure, as in davis2017-evaluation.

All functions take numpy arrays, are vectorised, and return Python floats.
"""
from __future__ import annotations

import functools
import math

import cv2
import numpy as np

# Contour tolerance as a fraction of the image diagonal (DAVIS default).
BOUND_TH = 0.008


def _as_bool(array: np.ndarray, name: str) -> np.ndarray:
  array = np.asarray(array)
  if array.ndim != 2:
    raise ValueError(f"{name}: expected a [H, W] mask, got shape {array.shape}")
  return array.astype(bool, copy=False)


def _without_void(annotation, segmentation, void) -> tuple[np.ndarray, np.ndarray]:
  """Both masks as boolean arrays of one shape, with the void pixels (if any) cleared."""
  annotation = _as_bool(annotation, "annotation")
  segmentation = _as_bool(segmentation, "segmentation")
  if void is not None:
    void = _as_bool(void, "void")
  _check_shapes(annotation, segmentation, void)
  if void is not None:
    annotation = annotation & ~void
    segmentation = segmentation & ~void
  return annotation, segmentation


def _check_shapes(annotation: np.ndarray, segmentation: np.ndarray,
                  void: np.ndarray | None) -> None:
  if annotation.shape != segmentation.shape:
    raise ValueError(f"annotation {annotation.shape} and segmentation "
                     f"{segmentation.shape} differ in size")
  if void is not None and void.shape != annotation.shape:
    raise ValueError(f"void mask {void.shape} and annotation {annotation.shape} differ in size")


def region_similarity(annotation: np.ndarray, segmentation: np.ndarray,
                      void: np.ndarray | None = None) -> float:
  """Region similarity J (Jaccard index) of one frame.

  Args:
    annotation: `[H, W]` ground truth, non-zero = object.
    segmentation: `[H, W]` prediction, non-zero = object.
    void: optional `[H, W]`, non-zero = pixel excluded from the measure.

  Returns:
    J in [0, 1]; 1 when the (non-void) union is empty.
  """
  annotation, segmentation = _without_void(annotation, segmentation, void)
  union = np.count_nonzero(annotation | segmentation)
  if union == 0:
    return 1.0
  return np.count_nonzero(annotation & segmentation) / union


def seg2bmap(segmentation: np.ndarray) -> np.ndarray:
  """One-pixel-wide boundary map of a mask (Martin, BSDS; as in DAVIS).

  Boundary pixels are offset half a pixel towards the origin from the true boundary:
  a pixel is a boundary pixel when it differs from its east, south or south-east
  neighbour. The last row compares only eastwards, the last column only southwards,
  and the bottom-right pixel is never a boundary pixel.

  Args:
    segmentation: `[H, W]`, non-zero = object.

  Returns:
    `[H, W]` bool boundary map.
  """
  seg = _as_bool(segmentation, "segmentation")
  east = np.zeros_like(seg)
  south = np.zeros_like(seg)
  south_east = np.zeros_like(seg)
  east[:, :-1] = seg[:, 1:]
  south[:-1, :] = seg[1:, :]
  south_east[:-1, :-1] = seg[1:, 1:]
  boundary = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
  boundary[-1, :] = seg[-1, :] ^ east[-1, :]
  boundary[:, -1] = seg[:, -1] ^ south[:, -1]
  boundary[-1, -1] = False
  return boundary


@functools.cache
def disk(radius: int) -> np.ndarray:
  """Disk structuring element {(x, y): x^2 + y^2 <= radius^2}.

  Args:
    radius: in pixels, >= 0.

  Returns:
    `[2 radius + 1, 2 radius + 1]` uint8 of 0/1, read-only.
  """
  offsets = np.arange(-radius, radius + 1)
  element = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius ** 2).astype(np.uint8)
  element.setflags(write=False)
  return element


def boundary_tolerance(shape: tuple[int, int], bound_th: float = BOUND_TH) -> int:
  """Contour matching tolerance in pixels.

  Args:
    shape: `(H, W)` of the frame.
    bound_th: >= 1: the tolerance in pixels; < 1: a fraction of the image diagonal,
      rounded up.

  Returns:
    The disk radius used to match contours (8 for 480x854 at the default).
  """
  if bound_th >= 1:
    return int(bound_th)
  return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def _object_window(union: np.ndarray, margin: int) -> tuple[slice, slice] | None:
  """Bounding box of the objects, grown by `margin` pixels and clipped to the frame.

  Contours and their dilation by a disk of radius `margin - 1` computed inside this
  window equal the full-frame ones restricted to it: a contour pixel lies at most one
  pixel outside the objects, the window's rows and columns beyond that are background
  (so the last-row and last-column rules of `seg2bmap` change nothing there unless the
  window reaches the frame's own border, where they are the frame's rules), and the
  dilation is only read at contour pixels. Scoring only the window makes F several
  times faster on frames where the object is small. None when there is no object.
  """
  rows = np.flatnonzero(union.any(axis=1))
  if rows.size == 0:
    return None
  cols = np.flatnonzero(union.any(axis=0))
  height, width = union.shape
  return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, height)),
          slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, width)))


def boundary_precision_recall(annotation: np.ndarray, segmentation: np.ndarray,
                              void: np.ndarray | None = None,
                              bound_th: float = BOUND_TH) -> tuple[float, float]:
  """Contour precision and recall of one frame, with DAVIS's empty-contour rules.

  Args:
    annotation: `[H, W]` ground truth, non-zero = object.
    segmentation: `[H, W]` prediction, non-zero = object.
    void: optional `[H, W]`, non-zero = excluded pixel.
    bound_th: tolerance (see `boundary_tolerance`).

  Returns:
    `(precision, recall)`.
  """
  annotation, segmentation = _without_void(annotation, segmentation, void)
  radius = boundary_tolerance(annotation.shape, bound_th)
  window = _object_window(annotation | segmentation, radius + 1)
  if window is None:
    return 1.0, 1.0  # no contour on either side
  fg_boundary = seg2bmap(segmentation[window])
  gt_boundary = seg2bmap(annotation[window])
  n_fg = np.count_nonzero(fg_boundary)
  n_gt = np.count_nonzero(gt_boundary)
  if n_fg == 0 or n_gt == 0:
    # Rules of the official code; no dilation needed.
    return (1.0 if n_fg == 0 else 0.0), (1.0 if n_gt == 0 else 0.0)
  element = disk(radius)
  # cv2.dilate pads with the neutral element of max (zero), like a binary dilation.
  fg_dilated = cv2.dilate(fg_boundary.view(np.uint8), element).view(bool)
  gt_dilated = cv2.dilate(gt_boundary.view(np.uint8), element).view(bool)
  precision = np.count_nonzero(fg_boundary & gt_dilated) / n_fg
  recall = np.count_nonzero(gt_boundary & fg_dilated) / n_gt
  return precision, recall


def contour_accuracy(annotation: np.ndarray, segmentation: np.ndarray,
                     void: np.ndarray | None = None, bound_th: float = BOUND_TH) -> float:
  """Contour accuracy F of one frame.

  Args:
    annotation: `[H, W]` ground truth, non-zero = object.
    segmentation: `[H, W]` prediction, non-zero = object.
    void: optional `[H, W]`, non-zero = excluded pixel.
    bound_th: tolerance (see `boundary_tolerance`).

  Returns:
    F in [0, 1].
  """
  precision, recall = boundary_precision_recall(annotation, segmentation, void, bound_th)
  if precision + recall == 0:
    return 0.0
  return 2 * precision * recall / (precision + recall)
