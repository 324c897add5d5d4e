"""Resizing with the semantics of `wcs_jax.ops.resize`: the paper's `Up` and `R_j`.

- `Up` (`resize_bilinear`, enlarging a decoder's O_{j+1} and the final logits) is
  `jax.image.resize(..., "bilinear")`: half-pixel centres, which is PyTorch's
  `F.interpolate(mode="bilinear", align_corners=False)`. When shrinking, JAX widens the
  triangle kernel by the scale factor and renormalises, which is PyTorch's
  `antialias=True` (PIL's scheme); enlarging, both are plain bilinear interpolation
  with the source coordinate clamped to the border, the faster `antialias=False` path.
- `R_j` (`resize_area`, a guidance map to level j) is area averaging with fractional
  overlaps, the same [h, H] weight matrices as JAX (`wcs_jax.spec.geometry.area_matrix`) applied as two matrix products, so
  any size ratio agrees (PyTorch's `adaptive_avg_pool2d` matches only integer factors).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from wcs_jax.spec import geometry


def resize_bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
  """Resizes [B, C, H, W] to [B, C, h, w]; `x` itself when it already has that size.

  Computes in float32 (as `jax.image.resize`) and returns the dtype of `x`.
  """
  size = (int(size[0]), int(size[1]))
  if tuple(x.shape[-2:]) == size:
    return x
  shrinking = size[0] < x.shape[-2] or size[1] < x.shape[-1]
  out = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=shrinking)
  return out.to(x.dtype)


def resize_like(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
  """Bilinear resize of `x` [B, C, H, W] to the spatial size of `reference` [B, C', h, w]."""
  return resize_bilinear(x, (reference.shape[-2], reference.shape[-1]))


def resize_area(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
  """Area-average resize (`R_j`): [B, C, H, W] -> [B, C, h, w] float32.

  Output cell (i, j) is the mean of `x` over the input rectangle
  [i H / h, (i + 1) H / h) x [j W / w, (j + 1) W / w), partial pixels counted by their
  overlap (`wcs_jax.ops.resize.resize_area`); `x` itself (as float32) at equal size.
  """
  size = (int(size[0]), int(size[1]))
  x = x.float()
  if tuple(x.shape[-2:]) == size:
    return x
  # int(): under torch.jit.trace shapes are tensors; the graph is fixed-size anyway.
  rows = torch.from_numpy(geometry.area_matrix(int(x.shape[-2]), size[0]))
  cols = torch.from_numpy(geometry.area_matrix(int(x.shape[-1]), size[1]))
  return torch.einsum("ip,bcpq,jq->bcij", rows, x, cols)
