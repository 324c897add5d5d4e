"""Eye fixations (points) to the two ground-truth maps of SALICON-style saliency data.

SALICON records fixations as points. EG-Net is trained on the continuous gaze map: the
fixation counts blurred by a Gaussian and scaled to [0, 255], as the SALICON toolkit
(NUS-VIP/salicon-api, `buildFixMap`) makes it: sigma = 19 px at 640x480, min-max
normalised. The saliency metrics (NSS) need the binary fixation map instead.

Images of another size get the same blur relative to the image: sigma is scaled by the
geometric mean of the two axis ratios, sqrt(H * W / (480 * 640)), so a 320x240 image
gets sigma 9.5 px.

The blur runs through OpenCV (`BORDER_REFLECT`, kernel truncated at 4 sigma), which is
the same filter as `scipy.ndimage.gaussian_filter` (the toolkit's, mode "reflect",
truncate 4) at a fraction of its cost.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

# SALICON toolkit's Gaussian for 640x480 images, in pixels.
SALICON_SIGMA = 19.0
SALICON_SIZE = (640, 480)  # (width, height)


def gaze_sigma(height: int, width: int) -> float:
  """Gaussian sigma (pixels) of the gaze map of a `height` x `width` image."""
  reference = SALICON_SIZE[0] * SALICON_SIZE[1]
  return SALICON_SIGMA * math.sqrt(height * width / reference)


def fixation_counts(points_xy: np.ndarray, height: int, width: int) -> np.ndarray:
  """How many fixations fall on each pixel.

  Args:
    points_xy: `[N, 2]` 0-based pixel coordinates (x = column, y = row); real values
      are rounded to the nearest pixel. Points outside the image are dropped (mouse
      recordings of SALICON can leave the stimulus).
    height: image height.
    width: image width.

  Returns:
    `[H, W]` float32 counts.
  """
  points = np.rint(np.asarray(points_xy, np.float64).reshape(-1, 2)).astype(np.int64)
  inside = ((points[:, 0] >= 0) & (points[:, 0] < width)
            & (points[:, 1] >= 0) & (points[:, 1] < height))
  points = points[inside]
  counts = np.zeros(height * width, np.float32)
  np.add.at(counts, points[:, 1] * width + points[:, 0], 1.0)
  return counts.reshape(height, width)


def fixation_map(points_xy: np.ndarray, height: int, width: int) -> np.ndarray:
  """Binary fixation map: `[H, W]` uint8, 1 where at least one fixation fell."""
  return (fixation_counts(points_xy, height, width) > 0).astype(np.uint8)


def gaze_map(points_xy: np.ndarray, height: int, width: int,
             sigma: float | None = None) -> np.ndarray:
  """Continuous gaze (saliency) map of a set of fixations.

  Args:
    points_xy: `[N, 2]` 0-based (x, y) fixations, as in `fixation_counts`.
    height: image height.
    width: image width.
    sigma: Gaussian sigma in pixels; default `gaze_sigma(height, width)`.

  Returns:
    `[H, W]` uint8, min-max normalised to 0..255 (all zeros without fixations).
  """
  if sigma is None:
    sigma = gaze_sigma(height, width)
  counts = fixation_counts(points_xy, height, width)
  if not counts.any():
    return np.zeros((height, width), np.uint8)
  radius = int(4.0 * sigma + 0.5)
  blurred = cv2.GaussianBlur(counts, (2 * radius + 1, 2 * radius + 1), sigmaX=sigma,
                             sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
  blurred -= blurred.min()
  peak = blurred.max()
  if peak <= 0:  # Fixations on every pixel equally: a flat map.
    return np.full((height, width), 255, np.uint8)
  return np.rint(blurred * (255.0 / peak)).astype(np.uint8)
