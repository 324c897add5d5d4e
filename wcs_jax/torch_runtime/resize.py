"""Bilinear resizing with the semantics of `wcs_jax.ops.resize` (`jax.image.resize`).

`jax.image.resize(..., "bilinear")` uses half-pixel centres and, when shrinking, the
triangle kernel widened by the scale factor with weights renormalised per output
pixel. `F.interpolate(mode="bilinear", align_corners=False, antialias=True)` computes
the same weights (PIL's scheme), so it reproduces the guidance maps `R_j(G)` exactly;
enlarging, both equal plain bilinear interpolation with the source coordinate clamped
to the border, the faster `antialias=False` path of PyTorch.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F


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
  """Resizes `x` [B, C, H, W] to the spatial size of `reference` [B, C', h, w]."""
  return resize_bilinear(x, (reference.shape[-2], reference.shape[-1]))
