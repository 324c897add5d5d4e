"""Template and search crops of the tracker, and pasting a crop's maps back into the frame.

The geometry is the training pairs' (`input_pipeline/pairs.py`), so the network sees at
inference the crops it was trained on:

- a window is a square `(cx, cy, side)` in edge coordinates (pixel `i` covers
  `[i, i + 1)`);
- template window: the object's bounding box enlarged to a square of side
  `template_context * max(w, h)`, centred on the box centre (`pairs.template_window`);
- search window: side `search_context * extent`, centred on the last estimated position
  (`pairs.search_window` without its training-time jitter and rescaling);
- a crop samples the window on an `S x S` grid at the cells' centres, bilinearly, from
  output pixel `(i, j)` to edge coordinates `origin + (j, i) * step` with
  `step = side / S`, `origin = (cx, cy) - side / 2 + step / 2` (`pairs.window_matrix`),
  without antialiasing (`augment.warp`), and fills what lies outside the frame's pixel
  centres with the frame's mean colour (maps with 0).

pairs.py builds these in TensorFlow for the input pipeline; here they are OpenCV
`warpAffine` calls on numpy arrays (one resampling, ~0.3 ms for a 320 x 320 crop of an
854 x 480 frame), so inference needs neither TensorFlow nor a device round trip.
`tests/test_tracker.py` checks that both give the same crops.

Pasting inverts a crop: each frame pixel inside the window reads the crop bilinearly at
its position; only the window's intersection with the frame (its `roi`) is resampled.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np


@dataclasses.dataclass(frozen=True)
class Window:
  """A square region of a frame, in edge coordinates.

  Attributes:
    cx: centre x.
    cy: centre y.
    side: side length in frame pixels (> 0).
  """
  cx: float
  cy: float
  side: float

  def output_to_source(self, size: int) -> np.ndarray:
    """`[2, 3]` float64 affine map from the pixel indices of an `size x size` crop to the
    frame's pixel indices (integer = pixel centre)."""
    step = self.side / size
    x0 = self.cx - self.side / 2 + step / 2 - 0.5
    y0 = self.cy - self.side / 2 + step / 2 - 0.5
    return np.array([[step, 0.0, x0], [0.0, step, y0]])

  def roi(self, width: int, height: int) -> tuple[int, int, int, int] | None:
    """`(x0, y0, x1, y1)`: the frame pixels whose centres lie inside the window (x1, y1
    exclusive), or None when the window misses the frame."""
    half = self.side / 2
    x0 = max(int(np.ceil(self.cx - half - 0.5)), 0)
    y0 = max(int(np.ceil(self.cy - half - 0.5)), 0)
    x1 = min(int(np.ceil(self.cx + half - 0.5)), width)
    y1 = min(int(np.ceil(self.cy + half - 0.5)), height)
    if x1 <= x0 or y1 <= y0:
      return None
    return x0, y0, x1, y1

  def crop_to_frame(self, size: int, x: float, y: float) -> tuple[float, float]:
    """Edge coordinates in the frame of the centre of crop pixel `(x, y)` (column, row)."""
    step = self.side / size
    return (self.cx - self.side / 2 + (x + 0.5) * step,
            self.cy - self.side / 2 + (y + 0.5) * step)


def template_window(box: tuple[float, float, float, float], context: float) -> Window:
  """The square of side `context * max(w, h)` centred on `box` (`pairs.template_window`).

  Args:
    box: `(x0, y0, x1, y1)` in edge coordinates.
    context: template side / longest side of the box.
  """
  x0, y0, x1, y1 = box
  return Window((x0 + x1) / 2, (y0 + y1) / 2, context * max(x1 - x0, y1 - y0))


def search_window(cx: float, cy: float, extent: float, context: float) -> Window:
  """The square of side `context * extent` centred on `(cx, cy)` (`pairs.search_window`
  with no jitter and no rescaling)."""
  return Window(cx, cy, context * extent)


def crop(image: np.ndarray, window: Window, size: int, fill: np.ndarray | float) -> np.ndarray:
  """Resamples a window of an image or map onto an `size x size` grid.

  A crop pixel whose sample point lies outside the frame's pixel centres (beyond
  `[0, W - 1] x [0, H - 1]` in pixel indices) is the fill, whole: no blending of the
  border pixels with the fill, as training's `augment.warp_aligned`
  (`tf.image.crop_and_resize`) does.

  Args:
    image: `[H, W]` or `[H, W, C]` (C <= 4), uint8 or float32.
    window: the window.
    size: output side S.
    fill: value outside the frame: a scalar or one value per channel, in the image's
      units.

  Returns:
    `[S, S]` or `[S, S, C]`, the image's dtype (uint8 values are rounded).
  """
  channels = image.shape[2] if image.ndim == 3 else 1
  fill = np.broadcast_to(np.asarray(fill, np.float64), (channels,))
  matrix = window.output_to_source(size)
  out = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(fill.tolist()))
  steps = np.arange(size)
  xs = matrix[0, 0] * steps + matrix[0, 2]
  ys = matrix[1, 1] * steps + matrix[1, 2]
  outside_x = (xs < 0) | (xs > image.shape[1] - 1)
  outside_y = (ys < 0) | (ys > image.shape[0] - 1)
  if outside_x.any() or outside_y.any():
    value = fill.astype(out.dtype) if out.dtype != np.uint8 else np.round(fill).astype(np.uint8)
    value = value if out.ndim == 3 else value[0]
    out[:, outside_x] = value
    out[outside_y] = value
  return out


def paste(crop_map: np.ndarray, window: Window, width: int,
          height: int) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
  """Resamples a crop's map back onto the frame pixels the window covers.

  Args:
    crop_map: `[S, S]` float32 map of the window's crop.
    window: the window the crop was taken from.
    width: frame width W.
    height: frame height H.

  Returns:
    `(values, roi)`: `values` `[y1 - y0, x1 - x0]` float32, the map on the frame pixels of
    `roi = (x0, y0, x1, y1)` (`Window.roi`); None when the window misses the frame. Frame
    pixels within half a crop cell of the window's edge read the crop's edge values.
  """
  roi = window.roi(width, height)
  if roi is None:
    return None
  x0, y0, x1, y1 = roi
  size = crop_map.shape[0]
  scale = size / window.side
  # Frame pixel index p (centre p + 0.5) sits at crop index (p + 0.5 - left) * scale - 0.5.
  left = window.cx - window.side / 2
  top = window.cy - window.side / 2
  frame_to_crop = np.array([[scale, 0.0, (x0 + 0.5 - left) * scale - 0.5],
                            [0.0, scale, (y0 + 0.5 - top) * scale - 0.5]])
  values = cv2.warpAffine(crop_map, frame_to_crop, (x1 - x0, y1 - y0),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
  return values, roi


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """Resizes `[H, W(, C)]` to `size = (width, height)`: area averaging when shrinking
  (the antialiased resize of the training streams), bilinear when enlarging."""
  shrinking = size[0] * size[1] < image.shape[0] * image.shape[1]
  return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
