"""Optional dense-CRF refinement of a predicted mask (the paper's "Ours*" rows).

Fully connected CRF with Gaussian edge potentials (Kraehenbuehl & Koltun, NeurIPS
2011) over the frame's pixels, through `pydensecrf` (the maintained fork installs as
`pip install pydensecrf2==1.1`; it builds from source and needs Cython and a C++
compiler). It is not a pinned dependency of this project: without it, `refine_mask`
raises `DenseCRFUnavailable` with that instruction.

The paper gives no CRF parameters; the defaults below are the ones of the
`pydensecrf` reference example (as used by the VOS methods the paper compares to),
and the binary prediction becomes the unary term with confidence `mask_confidence`.
"""
from __future__ import annotations

import dataclasses

import numpy as np


class DenseCRFUnavailable(ImportError):
  """`pydensecrf` is not installed."""


@dataclasses.dataclass(frozen=True)
class DenseCRFConfig:
  """Dense-CRF hyper-parameters.

  Attributes:
    mask_confidence: probability given to the predicted label of each pixel.
    iterations: mean-field iterations.
    gaussian_sxy: spatial std of the smoothness kernel, pixels.
    gaussian_compat: weight of the smoothness kernel.
    bilateral_sxy: spatial std of the appearance kernel, pixels.
    bilateral_srgb: colour std of the appearance kernel, 8-bit units.
    bilateral_compat: weight of the appearance kernel.
  """
  mask_confidence: float = 0.9
  iterations: int = 5
  gaussian_sxy: float = 3.0
  gaussian_compat: float = 3.0
  bilateral_sxy: float = 80.0
  bilateral_srgb: float = 13.0
  bilateral_compat: float = 10.0


def _densecrf():
  try:
    import pydensecrf.densecrf as densecrf  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise DenseCRFUnavailable(
        "dense-CRF post-processing (--crf) needs the optional package pydensecrf, which is "
        "not installed: `pip install pydensecrf2==1.1` (builds from source with Cython "
        f"and a C++ compiler) ({error})") from error
  return densecrf


def check_available() -> None:
  """Raises `DenseCRFUnavailable` unless `pydensecrf` imports."""
  _densecrf()


def refine_mask(image: np.ndarray, mask: np.ndarray,
                config: DenseCRFConfig = DenseCRFConfig()) -> np.ndarray:
  """Refines a binary mask with a dense CRF on the frame.

  Args:
    image: `[H, W, 3]` uint8 RGB frame.
    mask: `[H, W]` bool prediction.
    config: hyper-parameters.

  Returns:
    `[H, W]` bool refined mask.
  """
  densecrf = _densecrf()
  image = np.asarray(image)
  mask = np.asarray(mask, dtype=bool)
  if image.shape[:2] != mask.shape or image.ndim != 3 or image.shape[2] != 3:
    raise ValueError(f"expected a [H, W, 3] frame and a [H, W] mask, got {image.shape} "
                     f"and {mask.shape}")
  height, width = mask.shape
  foreground = np.where(mask, config.mask_confidence, 1 - config.mask_confidence)
  probabilities = np.stack([1 - foreground, foreground]).reshape(2, -1)
  crf = densecrf.DenseCRF2D(width, height, 2)
  crf.setUnaryEnergy(np.ascontiguousarray(-np.log(probabilities), dtype=np.float32))
  crf.addPairwiseGaussian(sxy=config.gaussian_sxy, compat=config.gaussian_compat)
  crf.addPairwiseBilateral(sxy=config.bilateral_sxy, srgb=config.bilateral_srgb,
                           rgbim=np.ascontiguousarray(image, dtype=np.uint8),
                           compat=config.bilateral_compat)
  posterior = np.asarray(crf.inference(config.iterations)).reshape(2, height, width)
  return posterior[1] > posterior[0]
