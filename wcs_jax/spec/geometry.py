"""Crop, padding and resizing geometry that training and tracking, JAX and PyTorch share.

- The crop geometry of Sec. 3.2 (training's pairs, `input_pipeline.pairs.PairConfig`,
  and the tracker, `wcs_jax.inference.tracker.TrackerConfig`, default to the same):
  the template is the square of side `TEMPLATE_CONTEXT * max(w, h)` around the
  object's box, the search window the square of side `SEARCH_CONTEXT * extent` around
  its (last) position, both resized to `IMAGE_SIZE`; a mask's hotspot guidance is a
  Gaussian of sigma `GUIDANCE_SIGMA * sqrt(area)`.
- `keras_stride2_padding`: Keras's zero padding before a stride-2 'valid' convolution
  (`keras.applications.imagenet_utils.correct_pad`), which the EfficientNet encoders
  reproduce.
- `area_matrix`: the weights of `R_j`, the area-average resize of a guidance map to
  level j (`wcs_jax.ops.resize.resize_area` and its PyTorch twin apply them as two
  matrix products).
- `half_template_window`: the centre of a template feature map that the "xcorr"
  ablation slides over the search features (`wcs_jax.ops.correlation.half_template`).
- The correlation constants `GUIDANCE_EPSILON` and `XCORR_FFT_MIN_TAPS`.
"""
from __future__ import annotations

import functools

import numpy as np

IMAGE_SIZE = 320
"""S, the side of every network input (the paper: 320 x 320)."""
TEMPLATE_CONTEXT = 1.5
"""Template side / longest side of the object's box (our choice; the paper says "a
sub-region centred on the target")."""
SEARCH_CONTEXT = 2.0
"""Search side / object extent (our choice; the paper: "a local crop centred on the
last estimated position")."""
GUIDANCE_SIGMA = 0.25
"""Sigma of a mask's Gaussian hotspot guidance, as a fraction of sqrt(mask area)."""

GUIDANCE_EPSILON = 1e-6
"""Floor of a guidance map's mass (at the feature level) in the weighted pooling `W` of
Eq. 3: below it the pooled vector fades to zero instead of dividing by ~0; a one-pixel
object at stride 32 still has ~1e-3."""
XCORR_FFT_MIN_TAPS = 10
"""The "xcorr" correlation goes through the FFT for kernels of this many taps or more,
direct sums below, in both frameworks. Measured on the 2-core CPU (one example, jitted):
160x160x16 search with an 80x80 kernel (level 1 of a 320x320 input) 6.3 s as a grouped
convolution, 27 ms by FFT; 10x10x352 with 5x5: 1.4 ms vs 0.7 ms. Tiny kernels stay
direct, where the result is exact."""


def keras_stride2_padding(in_size: tuple[int, int], kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
  """((top, bottom), (left, right)) zero padding before a stride-2 'valid' convolution.

  An even side loses one pixel of padding before: (k // 2 - 1, k // 2); an odd side is
  padded symmetrically, (k // 2, k // 2).
  """
  return tuple((kernel_size // 2 - (1 - int(n) % 2), kernel_size // 2) for n in in_size)


@functools.lru_cache(maxsize=None)
def area_matrix(n_in: int, n_out: int) -> np.ndarray:
  """[n_out, n_in] float32 weights: overlap of output cell i with input pixel p over the cell's length.

  Output cell i covers the input interval [i n_in / n_out, (i + 1) n_in / n_out);
  partial pixels count by their overlap, so any ratio works and a map's mean is kept.
  The result is cached and must not be modified.
  """
  edges = np.arange(n_out + 1) * (n_in / n_out)
  lo, hi = edges[:-1, None], edges[1:, None]
  pixels = np.arange(n_in)[None, :]
  overlap = np.clip(np.minimum(hi, pixels + 1) - np.maximum(lo, pixels), 0.0, None)
  return (overlap / (n_in / n_out)).astype(np.float32)


def half_template_window(height: int, width: int) -> tuple[int, int, int, int]:
  """(top, left, k_h, k_w) of the central crop of an h x w template feature map.

  The side is n // 2 (at least 1), rounded up to the parity of n so that the crop is
  exactly centred (n = 10 -> 6, 20 -> 10, 2 -> 2).
  """
  sizes = []
  for n in (int(height), int(width)):
    k = max(n // 2, 1)
    sizes.append(k + (k % 2 != n % 2))
  kh, kw = sizes
  return (int(height) - kh) // 2, (int(width) - kw) // 2, kh, kw
