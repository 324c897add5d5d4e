"""Bilinear resizing of feature maps and guidance maps: the paper's `Up` and `R_j`.

Both are `jax.image.resize(..., "bilinear")`: half-pixel centres (PyTorch's
`align_corners=False`), and, when shrinking, the triangle kernel widened by the scale
factor (antialiasing). The antialiasing matters for `R_j(G)`: a guidance map shrunk
32x to level 5 by point-sampled bilinear interpolation would miss a small object
altogether, whereas the widened kernel averages every pixel into the coarse cell, so a
mask keeps (about) its mass at every level. Enlarging (`Up`, and the final logits to
the input resolution) is plain bilinear interpolation.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def resize_bilinear(x: jax.Array, size: tuple[int, int]) -> jax.Array:
  """Resizes the two spatial axes of `x` to `size`.

  Args:
    x: [..., H, W, C], e.g. [B, H, W, C] or one example [H, W, C].
    size: (h, w), the target spatial size.

  Returns:
    [..., h, w, C] in the dtype of `x`; `x` itself when it already has that size.
  """
  if x.ndim < 3:
    raise ValueError(f"resize_bilinear expects [..., H, W, C], got shape {x.shape}")
  size = (int(size[0]), int(size[1]))
  if tuple(x.shape[-3:-1]) == size:
    return x
  shape = x.shape[:-3] + size + x.shape[-1:]
  # jax.image.resize computes in float32 at least; bf16 inputs come back as bf16.
  return jax.image.resize(x, shape, "bilinear").astype(x.dtype)


def resize_like(x: jax.Array, reference: jax.Array) -> jax.Array:
  """Resizes `x` [..., H, W, C] to the spatial size of `reference` [..., h, w, C']."""
  return resize_bilinear(x, reference.shape[-3:-1])


def logits_to_size(logits: jax.Array, size: tuple[int, int]) -> jax.Array:
  """Upsamples [B, h, w, 1] logits to [B, H, W, 1] float32 (networks return float32)."""
  return resize_bilinear(logits.astype(jnp.float32), size)
