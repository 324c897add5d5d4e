"""Template/search correlation ops of WCS-Net in PyTorch (twins of `wcs_jax.ops.correlation`).

Eq. 3, `C_j = W(f_j^t, R_j(G)) * f_j^i`: `weighted_pool` is `W` (guidance-weighted
mean of the template features), `depthwise_correlation` is `*` with the resulting
1 x 1 x c kernel. The ablations of Tab. 6: `concat_fusion` ("concat") and
`half_template` + `depthwise_xcorr` ("xcorr"). See the JAX module for why each is
defined the way it is; the constants and the crop arithmetic come from
`wcs_jax.spec.geometry`, and the rounding choices (float32 accumulation, FFT from
`XCORR_FFT_MIN_TAPS` taps) are the same here.

All ops take a batch, NCHW.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from wcs_jax.spec import geometry
from wcs_jax.spec.geometry import GUIDANCE_EPSILON, XCORR_FFT_MIN_TAPS
from wcs_jax.torch_runtime import resize


def weighted_pool(features: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
  """`W(f, R_j(G))` of Eq. 3: `sum_p g_p f_p / max(sum_p g_p, eps)` per example.

  Args:
    features: [B, C, h, w] template features of one level.
    guidance: [B, 1, H, W] guidance map in [0, 1] at any resolution.

  Returns:
    [B, C] pooled vectors, in the features' dtype (accumulated in float32).
  """
  g = resize.resize_area(guidance, (features.shape[-2], features.shape[-1]))
  weighted_sum = torch.sum(g * features.float(), dim=(2, 3))
  mass = torch.sum(g, dim=(1, 2, 3)).clamp_min(GUIDANCE_EPSILON)
  return (weighted_sum / mass[:, None]).to(features.dtype)


def depthwise_correlation(vector: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
  """The `*` of Eq. 3: [B, C] kernel, [B, C, h, w] search features -> [B, C, h, w]."""
  return search * vector.to(search.dtype)[:, :, None, None]


def concat_fusion(vector: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
  """The "concat" ablation: [B, C_t], [B, C, h, w] -> [B, C + C_t, h, w], search first."""
  tiled = vector.to(search.dtype)[:, :, None, None].expand(-1, -1, search.shape[2], search.shape[3])
  return torch.cat([search, tiled], dim=1)


def half_template(features: torch.Tensor) -> torch.Tensor:
  """The central crop of side h // 2 (rounded up to h's parity): [B, C, h, w] -> [B, C, k_h, k_w]."""
  top, left, kh, kw = geometry.half_template_window(features.shape[2], features.shape[3])
  return features[:, :, top:top + kh, left:left + kw]


def depthwise_xcorr(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
  """SiamMask-style depth-wise cross-correlation, TF 'SAME' padding, window mean.

  Args:
    search: [B, C, h, w] search features.
    kernel: [B, C, k_h, k_w] template kernels (`half_template`), one per example.

  Returns:
    [B, C, h, w] in the search features' dtype, computed in float32: directly for
    small kernels, by FFT for kernels of `XCORR_FFT_MIN_TAPS` taps or more (as JAX's
    "auto").
  """
  kh, kw = kernel.shape[2:]
  s, k = search.float(), kernel.float()
  out = _xcorr_fft(s, k) if kh * kw >= XCORR_FFT_MIN_TAPS else _xcorr_direct(s, k)
  return (out / (kh * kw)).to(search.dtype)


def _xcorr_direct(s: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
  b, c, h, w = s.shape
  kh, kw = k.shape[2:]
  # TensorFlow 'SAME' at stride 1: the odd pixel of padding goes to the bottom/right.
  s = F.pad(s, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
  # One grouped convolution over the batch folded into the channels: B * C groups.
  out = F.conv2d(s.reshape(1, b * c, s.shape[2], s.shape[3]), k.reshape(b * c, 1, kh, kw), groups=b * c)
  return out.reshape(b, c, h, w)


def _xcorr_fft(s: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
  (h, w), (kh, kw) = s.shape[2:], k.shape[2:]
  n = (h + kh - 1, w + kw - 1)
  spectrum = torch.fft.rfft2(s, n) * torch.conj(torch.fft.rfft2(k, n))
  full = torch.fft.irfft2(spectrum, n)
  full = torch.roll(full, ((kh - 1) // 2, (kw - 1) // 2), dims=(2, 3))
  return full[:, :, :h, :w]
