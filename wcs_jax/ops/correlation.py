"""Template/search correlation ops of WCS-Net: the weighted correlation block (Eq. 3)
and the two fusions of the paper's Tab. 6 ablations.

Eq. 3: `C_j = W(f_j^t, R_j(G)) * f_j^i`. `W` pools the template feature map of level j
into one c-vector, weighted by the guidance map G (the template's mask for the mask
branch, its hotspot map for the hotspot branch) resized to level j; `*` is the
depth-wise cross-correlation of the search features with that 1 x 1 x c kernel, i.e. a
per-channel product that keeps the search resolution. The pooled vector depends on the
template only, so a tracker computes it once per object (`WCSNet.encode_template`).

Ablations:
- "concat" (no weighted correlation): the same pooled vector, broadcast over the search
  map and concatenated with the search features instead of multiplied into them
  (`concat_fusion`). Keeping the pooling isolates the effect of the multiplicative
  correlation, and the template code stays one vector per level.
- "xcorr" (no weighted pooling): SiamMask-style depth-wise cross-correlation of the
  search features with a half-size template: the centre of the template feature map
  (`half_template`) slid over the search features (`depthwise_xcorr`).

Every op is written for ONE example (no batch axis) and is mapped over the batch with
`jax.vmap`; the `*_batched` names are those mapped versions. All are jit-friendly
(static shapes, no data-dependent control flow).
"""
from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

from wcs_jax.ops import resize
from wcs_jax.spec import geometry
from wcs_jax.spec.geometry import GUIDANCE_EPSILON, XCORR_FFT_MIN_TAPS

XcorrImplementation = Literal["auto", "direct", "fft"]


def weighted_pool(features: jax.Array, guidance: jax.Array) -> jax.Array:
  """`W(f, R_j(G))` of Eq. 3: the guidance-weighted mean of a template feature map.

  `v = sum_p R_j(G)_p f_p / max(sum_p R_j(G)_p, eps)`, with R_j the area-average
  resize of G to the feature map's size (`wcs_jax.ops.resize.resize_area`). A guidance of
  ones gives the plain average of the feature map. An empty guidance (all zeros) gives
  the zero vector, hence a zero correlation: "nothing to look for"; values and
  gradients stay finite. Accumulates in float32 and returns the features' dtype.

  Args:
    features: [h, w, c] template features of one level.
    guidance: [H, W, 1] guidance map in [0, 1] at any resolution (the template image's).

  Returns:
    [c] pooled template vector.
  """
  if features.ndim != 3 or guidance.ndim != 3 or guidance.shape[-1] != 1:
    raise ValueError(f"weighted_pool expects features [h, w, c] and guidance [H, W, 1], "
                     f"got {features.shape} and {guidance.shape}")
  g = resize.resize_area(guidance.astype(jnp.float32), features.shape[:2])
  weighted_sum = jnp.sum(g * features.astype(jnp.float32), axis=(0, 1))
  mass = jnp.sum(g)
  return (weighted_sum / jnp.maximum(mass, GUIDANCE_EPSILON)).astype(features.dtype)


def depthwise_correlation(vector: jax.Array, search: jax.Array) -> jax.Array:
  """The `*` of Eq. 3: depth-wise cross-correlation with a 1 x 1 x c kernel.

  Args:
    vector: [c] pooled template vector (the kernel).
    search: [h, w, c] search features of the same level.

  Returns:
    [h, w, c] correlation map `C_j`, at the search resolution.
  """
  if vector.ndim != 1 or search.ndim != 3 or vector.shape[0] != search.shape[-1]:
    raise ValueError(f"depthwise_correlation expects vector [c] and search [h, w, c], "
                     f"got {vector.shape} and {search.shape}")
  return search * vector.astype(search.dtype)


def weighted_correlation(template: jax.Array, guidance: jax.Array, search: jax.Array) -> jax.Array:
  """Eq. 3 in full: `C_j = W(f_j^t, R_j(G)) * f_j^i`.

  Args:
    template: [h_t, w_t, c] template features of level j.
    guidance: [H, W, 1] guidance map G in [0, 1].
    search: [h, w, c] search features of level j.

  Returns:
    [h, w, c].
  """
  return depthwise_correlation(weighted_pool(template, guidance), search)


def concat_fusion(vector: jax.Array, search: jax.Array) -> jax.Array:
  """The "concat" ablation: `Cat(f_j^i, broadcast(v))` instead of `v * f_j^i`.

  Args:
    vector: [c_t] pooled template vector.
    search: [h, w, c] search features.

  Returns:
    [h, w, c + c_t], the search features first.
  """
  if vector.ndim != 1 or search.ndim != 3:
    raise ValueError(f"concat_fusion expects vector [c] and search [h, w, c], "
                     f"got {vector.shape} and {search.shape}")
  tiled = jnp.broadcast_to(vector.astype(search.dtype), search.shape[:2] + vector.shape)
  return jnp.concatenate([search, tiled], axis=-1)


def half_template(features: jax.Array) -> jax.Array:
  """The centre of a template feature map, about half its size: the "xcorr" kernel.

  The template crop is centred on the target, so its central half holds the object at
  the same scale as in the search crop (SiamMask correlates a 127-pixel exemplar with a
  255-pixel search region the same way). The kernel side is h // 2, rounded up to the
  parity of h so that the crop is exactly centred (h = 10 -> 6, 20 -> 10, 2 -> 2;
  `wcs_jax.spec.geometry.half_template_window`).

  Args:
    features: [h, w, c] template features.

  Returns:
    [k_h, k_w, c].
  """
  if features.ndim != 3:
    raise ValueError(f"half_template expects [h, w, c], got {features.shape}")
  top, left, kh, kw = geometry.half_template_window(*features.shape[:2])
  return features[top:top + kh, left:left + kw]


def depthwise_xcorr(search: jax.Array, kernel: jax.Array,
                    implementation: XcorrImplementation = "auto") -> jax.Array:
  """SiamMask-style depth-wise cross-correlation, 'same' padding, window mean.

  `out[y, x, c] = sum_{u, v} s[y + u - p_h, x + v - p_w, c] k[u, v, c] / (k_h k_w)`
  with zero padding and p = (k - 1) // 2 (TensorFlow's 'SAME': an even kernel's
  window is centred half a cell below/right of (y, x)). Dividing by the kernel area
  makes it the window average of the products, the same scale as the weighted
  correlation (with a guidance of ones, Eq. 3 is the mean of f^t times f^i) whatever
  the level's size; an unnormalised sum over an 80 x 80 window would be thousands of
  times larger at level 1 than at level 5. Computed in float32 (FFTs have no bf16),
  returned in the search features' dtype.

  Args:
    search: [h, w, c] search features.
    kernel: [k_h, k_w, c] template kernel (`half_template` of the template features).
    implementation: "direct" (a grouped convolution, exact), "fft" (correlation
      theorem, float32 rounding ~1e-6 relative) or "auto" (FFT above
      `XCORR_FFT_MIN_TAPS` taps; see there for the timings).

  Returns:
    [h, w, c].
  """
  if search.ndim != 3 or kernel.ndim != 3 or search.shape[-1] != kernel.shape[-1]:
    raise ValueError(f"depthwise_xcorr expects search [h, w, c] and kernel [k_h, k_w, c], "
                     f"got {search.shape} and {kernel.shape}")
  if implementation not in ("auto", "direct", "fft"):
    raise ValueError(f"xcorr implementation must be 'auto', 'direct' or 'fft', got {implementation!r}")
  kh, kw = kernel.shape[:2]
  if implementation == "auto":
    implementation = "fft" if kh * kw >= XCORR_FFT_MIN_TAPS else "direct"
  s, k = search.astype(jnp.float32), kernel.astype(jnp.float32)
  out = _xcorr_fft(s, k) if implementation == "fft" else _xcorr_direct(s, k)
  return (out / (kh * kw)).astype(search.dtype)


def _xcorr_direct(s: jax.Array, k: jax.Array) -> jax.Array:
  out = lax.conv_general_dilated(
      s[None], k[:, :, None, :], window_strides=(1, 1), padding="SAME",
      dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=s.shape[-1],
      precision=lax.Precision.HIGHEST)
  return out[0]


def _xcorr_fft(s: jax.Array, k: jax.Array) -> jax.Array:
  (h, w, _), (kh, kw, _) = s.shape, k.shape
  # A transform of size >= h + k - 1 makes the circular correlation linear; entry d of
  # it is sum_u s[d + u] k[u], negative d wrapped to the end, so rolling by p and
  # keeping the first h entries gives out[y] = corr[y - p].
  n = (h + kh - 1, w + kw - 1)
  spectrum = jnp.fft.rfft2(s, n, axes=(0, 1)) * jnp.conj(jnp.fft.rfft2(k, n, axes=(0, 1)))
  full = jnp.fft.irfft2(spectrum, n, axes=(0, 1))
  full = jnp.roll(full, ((kh - 1) // 2, (kw - 1) // 2), axis=(0, 1))
  return full[:h, :w]


def weighted_pool_batched(features: jax.Array, guidance: jax.Array) -> jax.Array:
  """`weighted_pool` over a batch: [B, h, w, c], [B, H, W, 1] -> [B, c]."""
  return jax.vmap(weighted_pool)(features, guidance)


def depthwise_correlation_batched(vector: jax.Array, search: jax.Array) -> jax.Array:
  """`depthwise_correlation` over a batch: [B, c], [B, h, w, c] -> [B, h, w, c]."""
  return jax.vmap(depthwise_correlation)(vector, search)


def concat_fusion_batched(vector: jax.Array, search: jax.Array) -> jax.Array:
  """`concat_fusion` over a batch: [B, c_t], [B, h, w, c] -> [B, h, w, c + c_t]."""
  return jax.vmap(concat_fusion)(vector, search)


def half_template_batched(features: jax.Array) -> jax.Array:
  """`half_template` over a batch: [B, h, w, c] -> [B, k_h, k_w, c]."""
  return jax.vmap(half_template)(features)


def depthwise_xcorr_batched(search: jax.Array, kernel: jax.Array,
                            implementation: XcorrImplementation = "auto") -> jax.Array:
  """`depthwise_xcorr` over a batch: [B, h, w, c], [B, k_h, k_w, c] -> [B, h, w, c]."""
  return jax.vmap(functools.partial(depthwise_xcorr, implementation=implementation))(search, kernel)
