"""Target object initialisation (TOI, paper Sec. 3.1): the objects of the first frame.

Each object gets a mask M (what WCS-Net's mask branch is guided by) and a hotspot
guidance map E (what its hotspot branch is guided by), both at frame size. Four ways:

- "auto": EG-Net predicts the gaze map E of the whole frame resized to S x S (aspect
  not kept, as in training); Gaze2Mask-Net turns (frame, E) into M. One object, the
  most salient one. Guidance: E restricted to M (the object's own salient spot; the
  Gaze2Mask-Net of training likewise sees EG-Net's map restricted to the instance).
- "click": one object per click. The gaze map is a Gaussian at the click, sigma =
  `click_sigma * sqrt(H * W)` frame pixels (0.05: 32 px on 854 x 480). That is the
  training gaze's sigma (`pairs.PairConfig.guidance_sigma` = 0.25 sqrt(object area))
  for an object covering 4% of the frame, a mid-sized DAVIS object. Gaze2Mask-Net
  runs once per click (the paper's "each tracked by its own pass"); M keeps only the
  connected component under the click when the click falls on the mask. Guidance:
  the click's Gaussian restricted to M.
- "box": one object per box. The gaze map is the training gaze made from the box's
  interior as if it were the mask: a Gaussian at the box centre, sigma
  `guidance_sigma * sqrt(box area)`, zero outside the box; M is Gaze2Mask-Net's mask
  restricted to the box (the object lies inside it). Guidance: as for a given mask.
- "mask": a label map (palette or binary PNG) of the first frame; its ids, in
  increasing order, become objects 1..N. Guidance: the training guidance of a mask
  (`input_pipeline.hotspot.mask_guidance`, "gaussian": a Gaussian at the mask pixel
  nearest its centroid, sigma `guidance_sigma * sqrt(area)`, restricted to the mask).

Recovery, when the networks return an empty mask (documented fallback, reported in
`InitialObject.fallback`, in tracklets.json and on the console): auto, the part of the
peak region of E (E >= half its maximum, the connected piece holding the maximum) that
lies inside the disc a click at the peak would fall back to (object-sized: at most
3% of the frame at the default click sigma); click, the disc of radius 2 sigma around
the click; box, the ellipse inscribed in the box.
Bad prompts (a click outside the frame, a box of zero area after clipping to the
frame, an empty or wrongly sized mask) raise `InitialisationError` naming the flag.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

from wcs_jax.inference import crops
from wcs_jax.inference.backend import Backend

INITS = ("auto", "click", "box", "mask")
# What each prompt falls back to when the networks give an empty mask (module docstring).
FALLBACKS = {"auto": "the peak region of EG-Net's gaze map, at most a click's fallback disc",
             "click": "the disc of radius 2 click sigmas around the click",
             "box": "the ellipse inscribed in the box"}
# Where the networks give an empty mask, the fallback disc around a click has this
# radius, in click sigmas.
CLICK_FALLBACK_RADIUS = 2.0


class InitialisationError(ValueError):
  """A first-frame prompt (click, box, mask) that cannot define an object."""


@dataclasses.dataclass(frozen=True)
class InitialObject:
  """One object of the first frame.

  Attributes:
    probability: `[H, W]` float32 mask probability (the network's, or 0/1 for a given
      mask or a fallback); the object is where it is >= 0.5.
    guidance: `[H, W]` float32 hotspot guidance in [0, 1], zero outside the object.
    prompt: what defined it: ("auto",), ("click", x, y), ("box", x0, y0, x1, y1) or
      ("mask", id in the given file).
    fallback: the networks gave an empty mask and the documented fallback was used.
  """
  probability: np.ndarray
  guidance: np.ndarray
  prompt: tuple
  fallback: bool = False

  @property
  def mask(self) -> np.ndarray:
    """`[H, W]` bool."""
    return self.probability >= 0.5


def gaussian(width: int, height: int, x: float, y: float, sigma: float) -> np.ndarray:
  """`[H, W]` float32 `exp(-d^2 / (2 sigma^2))`, d the distance from pixel index `(x, y)`
  (`input_pipeline.hotspot.gaussian_map`)."""
  gx = np.exp(-np.square(np.arange(width, dtype=np.float32) - x) / (2 * sigma ** 2))
  gy = np.exp(-np.square(np.arange(height, dtype=np.float32) - y) / (2 * sigma ** 2))
  return np.outer(gy, gx).astype(np.float32)


def interior_point(mask: np.ndarray) -> tuple[int, int]:
  """`(x, y)` of the mask pixel nearest the mask's centroid (inside the object even when
  it is not convex; `input_pipeline.hotspot.interior_point`)."""
  ys, xs = np.nonzero(mask)
  nearest = np.argmin(np.square(ys - ys.mean()) + np.square(xs - xs.mean()))
  return int(xs[nearest]), int(ys[nearest])


def mask_guidance(mask: np.ndarray, sigma_scale: float) -> np.ndarray:
  """The training guidance of a mask (`input_pipeline.hotspot.mask_guidance`,
  "gaussian" mode): `[H, W]` bool -> `[H, W]` float32, zero outside the mask."""
  if not mask.any():
    return np.zeros(mask.shape, np.float32)
  x, y = interior_point(mask)
  sigma = max(sigma_scale * np.sqrt(np.count_nonzero(mask)), 1.0)
  return gaussian(mask.shape[1], mask.shape[0], x, y, sigma) * mask


def network_input(frame: np.ndarray, size: int) -> np.ndarray:
  """The whole frame as the first-frame networks see it: `[H, W, 3]` uint8 ->
  `[1, S, S, 3]` float32 in [0, 1]."""
  return (crops.resize(frame, (size, size)).astype(np.float32) / 255.0)[None]


def _to_frame(prob: np.ndarray, width: int, height: int) -> np.ndarray:
  """`[S, S]` network-resolution map -> `[H, W]` float32 (bilinear)."""
  return cv2.resize(prob.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def check_clicks(clicks: Sequence[Sequence[float]], width: int, height: int) -> list[tuple[float, float]]:
  """Validates `(x, y)` pixel positions: inside `[0, W) x [0, H)`."""
  out = []
  for click in clicks:
    if len(click) != 2:
      raise InitialisationError(f"--click {click}: expected X,Y")
    x, y = float(click[0]), float(click[1])
    if not (0 <= x < width and 0 <= y < height):
      raise InitialisationError(f"--click {x:g},{y:g} lies outside the {width}x{height} first "
                                f"frame (expected 0 <= X < {width}, 0 <= Y < {height})")
    out.append((x, y))
  return out


def check_boxes(boxes: Sequence[Sequence[float]], width: int,
                height: int) -> list[tuple[float, float, float, float]]:
  """Validates `(x0, y0, x1, y1)` boxes in edge coordinates; clips them to the frame."""
  out = []
  for box in boxes:
    if len(box) != 4:
      raise InitialisationError(f"--box {box}: expected X0,Y0,X1,Y1")
    x0, y0, x1, y1 = (float(v) for v in box)
    cx0, cy0 = min(max(x0, 0.0), width), min(max(y0, 0.0), height)
    cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
    if cx1 - cx0 < 1 or cy1 - cy0 < 1:
      raise InitialisationError(
          f"--box {x0:g},{y0:g},{x1:g},{y1:g}: less than one pixel wide or high inside the "
          f"{width}x{height} first frame (expected X0 < X1, Y0 < Y1, overlapping the frame)")
    out.append((cx0, cy0, cx1, cy1))
  return out


def from_mask(label_map: np.ndarray, width: int, height: int, sigma_scale: float,
              source: str = "--mask") -> list[InitialObject]:
  """Objects of a first-frame label map.

  Args:
    label_map: `[H, W]` integer ids (0 = background) or bool.
    width: frame width W.
    height: frame height H.
    sigma_scale: guidance sigma as a fraction of sqrt(object area).
    source: how to name the mask in errors.
  """
  if label_map.shape != (height, width):
    raise InitialisationError(f"{source}: the mask is {label_map.shape[1]}x{label_map.shape[0]}, "
                              f"the first frame {width}x{height}")
  ids = [int(i) for i in np.unique(label_map) if i != 0]
  if not ids:
    raise InitialisationError(f"{source}: the mask has no object pixel (all background)")
  objects = []
  for i in ids:
    mask = label_map == i
    objects.append(InitialObject(mask.astype(np.float32), mask_guidance(mask, sigma_scale), ("mask", i)))
  return objects


def automatic(frame: np.ndarray, backend: Backend, click_sigma: float = 0.05) -> InitialObject:
  """The most salient object: EG-Net, then Gaze2Mask-Net, on the whole frame.

  `click_sigma` sizes the fallback (module docstring): the region of the gaze map
  around its peak, inside the disc a click at the peak would fall back to.
  """
  height, width = frame.shape[:2]
  image = network_input(frame, backend.image_size)
  gaze = backend.gaze(image)
  prob = backend.gaze_to_mask(image, gaze[..., None])[0]
  gaze_frame = _to_frame(gaze[0], width, height)
  prob_frame = _to_frame(prob, width, height)
  fallback = not (prob_frame >= 0.5).any()
  if fallback:
    peak_y, peak_x = np.unravel_index(np.argmax(gaze_frame), gaze_frame.shape)
    region = _component_at(gaze_frame >= 0.5 * gaze_frame[peak_y, peak_x], int(peak_x), int(peak_y))
    radius = CLICK_FALLBACK_RADIUS * click_sigma * np.sqrt(width * height)
    prob_frame = (region & _disc(peak_x, peak_y, radius, width, height)).astype(np.float32)
  return InitialObject(prob_frame, gaze_frame * (prob_frame >= 0.5), ("auto",), fallback)


def _component_at(mask: np.ndarray, x: int, y: int) -> np.ndarray:
  """The connected component of `mask` holding pixel `(x, y)`; `mask` if it misses."""
  if not mask[y, x]:
    return mask
  _, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
  return components == components[y, x]


def from_clicks(frame: np.ndarray, backend: Backend, clicks: list[tuple[float, float]],
                click_sigma: float) -> list[InitialObject]:
  """One object per validated click (`check_clicks`)."""
  height, width = frame.shape[:2]
  image = network_input(frame, backend.image_size)
  sigma = click_sigma * np.sqrt(width * height)
  objects = []
  for x, y in clicks:
    gaze = gaussian(width, height, x, y, sigma)
    size = backend.image_size
    prob = _to_frame(backend.gaze_to_mask(image, crops.resize(gaze, (size, size))[None, ..., None])[0],
                     width, height)
    mask = _component_at(prob >= 0.5, int(x), int(y))
    fallback = not mask.any()
    if fallback:
      mask = _disc(x, y, CLICK_FALLBACK_RADIUS * sigma, width, height)
      prob = mask.astype(np.float32)
    else:
      prob = prob * mask
    objects.append(InitialObject(prob, gaze * mask, ("click", x, y), fallback))
  return objects


def from_boxes(frame: np.ndarray, backend: Backend, boxes: list[tuple[float, float, float, float]],
               sigma_scale: float) -> list[InitialObject]:
  """One object per validated box (`check_boxes`)."""
  height, width = frame.shape[:2]
  image = network_input(frame, backend.image_size)
  size = backend.image_size
  objects = []
  for box in boxes:
    inside = _box_mask(box, width, height)
    gaze = mask_guidance(inside, sigma_scale)
    prob = _to_frame(backend.gaze_to_mask(image, crops.resize(gaze, (size, size))[None, ..., None])[0],
                     width, height) * inside
    fallback = not (prob >= 0.5).any()
    if fallback:
      prob = _ellipse(box, width, height).astype(np.float32)
    objects.append(InitialObject(prob, mask_guidance(prob >= 0.5, sigma_scale), ("box", *box), fallback))
  return objects


def _box_mask(box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
  """`[H, W]` bool: the pixels whose centres lie inside the box."""
  xs = np.arange(width) + 0.5
  ys = np.arange(height) + 0.5
  return ((ys >= box[1]) & (ys < box[3]))[:, None] & ((xs >= box[0]) & (xs < box[2]))[None, :]


def _disc(x: float, y: float, radius: float, width: int, height: int) -> np.ndarray:
  """`[H, W]` bool: the pixels within `radius` of pixel index `(x, y)`."""
  xs = np.square(np.arange(width) - x)
  ys = np.square(np.arange(height) - y)
  return ys[:, None] + xs[None, :] <= radius ** 2


def _ellipse(box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
  """`[H, W]` bool: the pixels whose centres lie inside the ellipse inscribed in the box
  (at least the pixel under the box centre)."""
  x0, y0, x1, y1 = box
  cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
  xs = (np.arange(width) + 0.5 - cx) / rx
  ys = (np.arange(height) + 0.5 - cy) / ry
  inside = np.square(ys)[:, None] + np.square(xs)[None, :] <= 1
  inside[min(int(cy), height - 1), min(int(cx), width - 1)] = True
  return inside
