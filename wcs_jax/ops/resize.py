"""Resizing of feature maps and guidance maps: the paper's `Up` and `R_j`.

- `Up` (a decoder's O_{j+1} to level j, and the final logits to the input resolution)
  is bilinear interpolation, `jax.image.resize(..., "bilinear")`: half-pixel centres,
  as PyTorch's `align_corners=False`.
- `R_j` (a guidance map G or gaze map E at image resolution to level j) is area
  averaging (`resize_area`): each cell of level j gets the mean of G over the image
  region it covers, i.e. the fraction of the cell the object covers. That keeps the
  mass of a map exactly and keeps it where it was: point-sampled bilinear shrinking by
  32 would miss a small object altogether, and antialiased (triangle-filtered)
  bilinear spreads it over the neighbouring cells of a coarse level. Area averaging
  by an integer factor equals PyTorch's `F.adaptive_avg_pool2d`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from wcs_jax.spec import geometry


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


def resize_area(x: jax.Array, size: tuple[int, int]) -> jax.Array:
  """Area-average resize of the two spatial axes (`R_j` of the paper).

  Output cell (i, j) is the mean of `x` over the input rectangle
  [i H / h, (i + 1) H / h) x [j W / w, (j + 1) W / w), with fractional overlaps of input
  pixels counted fractionally, so any size ratio works and the mean is preserved. For
  h > H (not used by the networks) it is piecewise-constant enlarging.

  Args:
    x: [..., H, W, C].
    size: (h, w).

  Returns:
    [..., h, w, C] in the dtype of `x` (computed in float32).
  """
  if x.ndim < 3:
    raise ValueError(f"resize_area expects [..., H, W, C], got shape {x.shape}")
  size = (int(size[0]), int(size[1]))
  if tuple(x.shape[-3:-1]) == size:
    return x
  rows = jnp.asarray(geometry.area_matrix(x.shape[-3], size[0]))
  cols = jnp.asarray(geometry.area_matrix(x.shape[-2], size[1]))
  out = jnp.einsum("ip,...pqc,jq->...ijc", rows, x.astype(jnp.float32), cols,
                   precision=lax.Precision.HIGHEST)
  return out.astype(x.dtype)
