"""Depth-wise 2-D convolution with two interchangeable formulations.

XLA:CPU lowers a depth-wise convolution written with `feature_group_count` to a slow
generic loop: on a 2-core AVX-512 machine a 3x3 depth-wise convolution over
[1, 80, 80, 144] takes 22.1 ms that way and 0.63 ms written as k x k shifted
multiply-adds, and their gradients at batch 8 956 ms vs 54 ms (the shifted one's
hand-written; measured 2026-12-01, command in docs/backbones.md). The
two formulations compute the same function (a parity test holds them equal, values
and gradients), so the choice is purely a matter of speed and is made per platform:

- ``"grouped"``: `lax.conv_general_dilated(..., feature_group_count=C)`, the cuDNN path.
- ``"shifted"``: sum over the k*k taps of a strided slice of the padded input times
  that tap's per-channel weight; XLA fuses it into one loop over the output. Its
  gradient is written by hand (`jax.custom_vjp`, so reverse mode only): the input
  gradient is the same kind of loop over the dilated cotangent, the kernel gradient a
  scan over row blocks. XLA:CPU's own transpose copied every tap of the batch out and
  reduced it from memory; the encoder's forward + backward, in one process, went from
  1440 to 988 ms and 2875 to 1347 MiB of temporaries for EfficientNet-B2 at 4x320x320,
  from 203 to 166 ms for B0 at 8x96x96.
- ``"auto"``: ``"shifted"`` on CPU, ``"grouped"`` elsewhere (see `resolve`).
"""
from __future__ import annotations

import functools
from typing import Literal, Sequence

import jax
import jax.numpy as jnp
from jax import lax

Implementation = Literal["auto", "grouped", "shifted"]
Padding = str | Sequence[tuple[int, int]]


def resolve(implementation: Implementation, platform: str | None = None) -> str:
  """Returns the concrete formulation for `implementation` on `platform`.

  Args:
    implementation: "auto", "grouped" or "shifted".
    platform: a JAX platform name; defaults to `jax.default_backend()`.
  """
  if implementation not in ("auto", "grouped", "shifted"):
    raise ValueError(
        f"depthwise implementation must be 'auto', 'grouped' or 'shifted', got {implementation!r}")
  if implementation != "auto":
    return implementation
  platform = platform or jax.default_backend()
  return "shifted" if platform == "cpu" else "grouped"


def explicit_padding(padding: Padding, kernel_size: int, stride: int,
                     in_size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
  """Converts "SAME"/"VALID" or explicit pairs to ((top, bottom), (left, right)).

  "SAME" follows TensorFlow: output size ceil(n / stride), the odd pixel of padding
  at the bottom/right.
  """
  if isinstance(padding, str):
    mode = padding.upper()
    if mode == "VALID":
      return ((0, 0), (0, 0))
    if mode != "SAME":
      raise ValueError(f"padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}")
    pads = []
    for n in in_size:
      out = -(-n // stride)
      total = max((out - 1) * stride + kernel_size - n, 0)
      pads.append((total // 2, total - total // 2))
    return tuple(pads)
  (top, bottom), (left, right) = padding
  return ((int(top), int(bottom)), (int(left), int(right)))


def depthwise_conv2d(x: jax.Array, kernel: jax.Array, *, stride: int = 1,
                     padding: Padding = "SAME",
                     implementation: Implementation = "auto") -> jax.Array:
  """Depth-wise convolution (depth multiplier 1), NHWC.

  Args:
    x: [B, H, W, C] input.
    kernel: [k, k, 1, C] per-channel filters (Flax's grouped-conv kernel layout).
    stride: the same stride along height and width.
    padding: "SAME", "VALID" or ((top, bottom), (left, right)).
    implementation: "auto", "grouped" or "shifted" (see module docstring).

  Returns:
    [B, H', W', C] with H' = (H + top + bottom - k) // stride + 1 (likewise W').
  """
  k, k2, one, channels = kernel.shape
  if k != k2 or one != 1 or channels != x.shape[-1]:
    raise ValueError(f"kernel must be [k, k, 1, C={x.shape[-1]}], got {kernel.shape}")
  pads = explicit_padding(padding, k, stride, x.shape[1:3])
  if resolve(implementation) == "grouped":
    return lax.conv_general_dilated(
        x, kernel.astype(x.dtype), window_strides=(stride, stride), padding=pads,
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=channels)
  return _shifted(x, kernel, stride, pads)


# Bytes of cotangent rows (whole batch, float32) per step of the kernel gradient's scan
# (see `_kernel_gradient`): 64 KiB, one row of a large map, was about the fastest of
# 64 KiB, 256 KiB and 1 MiB in the encoder's training step on XLA:CPU.
KERNEL_GRADIENT_BLOCK_BYTES = 64 * 1024


def _tap_sum(xp: jax.Array, weights: jax.Array, stride: int, out_h: int, out_w: int) -> jax.Array:
  """`sum_{i,j} xp[:, s*y + i, s*x + j, :] * weights[i, j]`: [B, Hp, Wp, C], [k, k, C] ->
  [B, out_h, out_w, C]. One loop over the output once XLA fuses it."""
  k = weights.shape[0]
  out = None
  for i in range(k):
    for j in range(k):
      tap = lax.slice(
          xp, (0, i, j, 0),
          (xp.shape[0], i + (out_h - 1) * stride + 1, j + (out_w - 1) * stride + 1, xp.shape[3]),
          (1, stride, stride, 1))
      term = tap * weights[i, j]
      out = term if out is None else out + term
  return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _shifted(x: jax.Array, kernel: jax.Array, stride: int,
             pads: tuple[tuple[int, int], tuple[int, int]]) -> jax.Array:
  """The "shifted" formulation: [B, H, W, C], [k, k, 1, C] -> [B, H', W', C].

  Its gradient is written by hand (`_shifted_bwd`): XLA:CPU's own transpose of the k*k
  strided slices copies each tap of the whole batch out and reduces it from memory
  (the B2 encoder's forward + backward took 11-15x its forward).
  """
  xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
  k = kernel.shape[0]
  out_h = (xp.shape[1] - k) // stride + 1
  out_w = (xp.shape[2] - k) // stride + 1
  return _tap_sum(xp, kernel[:, :, 0, :].astype(x.dtype), stride, out_h, out_w)


def _shifted_fwd(x, kernel, stride, pads):
  return _shifted(x, kernel, stride, pads), (x, kernel)


def _shifted_bwd(stride, pads, residuals, g):
  x, kernel = residuals
  return (_input_gradient(g, kernel, stride, pads, x.shape[1:3]).astype(x.dtype),
          _kernel_gradient(x, g, kernel.shape[0], stride, pads).astype(kernel.dtype))


_shifted.defvjp(_shifted_fwd, _shifted_bwd)


def _input_gradient(g: jax.Array, kernel: jax.Array, stride: int,
                    pads: tuple[tuple[int, int], tuple[int, int]], in_size: tuple[int, int]) -> jax.Array:
  """dL/dx: [B, H', W', C] cotangent -> [B, H, W, C].

  The transposed convolution as a stride-1 shifted one: the cotangent dilated by the
  stride (stride - 1 zeros between samples), padded so that the result lands on the
  unpadded input (k - 1 - top rows above; below, k - 1 - bottom plus the rows the
  strided forward never reached; likewise columns), correlated with the flipped kernel.
  """
  if g.size == 0:  # an output with no pixels: nothing flows back
    return jnp.zeros((g.shape[0], *in_size, g.shape[3]), g.dtype)
  k = kernel.shape[0]
  (top, bottom), (left, right) = pads
  height, width = in_size
  out_h, out_w = g.shape[1], g.shape[2]
  config = [(0, 0, 0),
            (k - 1 - top, height + top - (out_h - 1) * stride - 1, stride - 1),
            (k - 1 - left, width + left - (out_w - 1) * stride - 1, stride - 1),
            (0, 0, 0)]
  gp = lax.pad(g, jnp.zeros((), g.dtype), config)
  flipped = kernel[::-1, ::-1, 0, :].astype(g.dtype)
  return _tap_sum(gp, flipped, 1, height, width)


def _kernel_gradient(x: jax.Array, g: jax.Array, k: int, stride: int,
                     pads: tuple[tuple[int, int], tuple[int, int]]) -> jax.Array:
  """dL/dkernel[i, j, 0, c] = sum over b, y, x of xp[b, s*y + i, s*x + j, c] * g[b, y, x, c].

  Scanned over blocks of cotangent rows (at most `KERNEL_GRADIENT_BLOCK_BYTES` for the
  whole batch, at least one row; the largest count that divides the height) with the
  input rows they see: the k*k reductions then read cached data (on XLA:CPU 1.7-6x
  faster than reducing whole-batch taps, which it copies out first; e.g. 8x80x80x144,
  k 3: 90 -> 28 ms). Every block holds
  the whole batch and the per-image sums are added up after the scan, so a batch sharded
  over devices stays sharded (one all-reduce at the end). Computed in float32.
  Returns [k, k, 1, C].
  """
  batch, out_h, out_w, channels = g.shape
  if g.size == 0:  # an output with no pixels: nothing flows back
    return jnp.zeros((k, k, 1, channels), jnp.float32)
  xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
  row_bytes = batch * out_w * channels * 4
  rows = max(1, min(out_h, KERNEL_GRADIENT_BLOCK_BYTES // row_bytes))
  while out_h % rows:
    rows -= 1
  in_rows = (rows - 1) * stride + k

  def step(total, block):
    g_rows = lax.dynamic_slice_in_dim(g, block * rows, rows, axis=1).astype(jnp.float32)
    x_rows = lax.dynamic_slice_in_dim(xp, block * rows * stride, in_rows, axis=1).astype(jnp.float32)
    sums = [jnp.sum(lax.slice(x_rows, (0, i, j, 0),
                              (batch, i + (rows - 1) * stride + 1, j + (out_w - 1) * stride + 1, channels),
                              (1, stride, stride, 1)) * g_rows, axis=(1, 2))
            for i in range(k) for j in range(k)]
    return total + jnp.stack(sums, axis=1), None

  total, _ = lax.scan(step, jnp.zeros((batch, k * k, channels), jnp.float32), jnp.arange(out_h // rows))
  return jnp.sum(total, axis=0).reshape(k, k, 1, channels)
