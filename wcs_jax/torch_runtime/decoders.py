"""The decoders in PyTorch: refinement blocks (Eq. 1, 2, 4) and the hotspot decoder (Eq. 5).

Twins of `wcs_jax.models.refine` and `wcs_jax.models.wcsnet.HotspotDecoder`, with the
same submodule names; see there for the choices the paper leaves open (`Conv2` is a
3x3 convolution, ReLU, 1x1 convolution; `Up` is a bilinear resize, `R_j` an
area-average one; a 1x1 `head` gives the logit, upsampled to the input resolution).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from wcs_jax.torch_runtime import layers
from wcs_jax.torch_runtime import resize


class Conv2(nn.Module):
  """`Conv2` of the paper: a 3x3 convolution, ReLU, a 1x1 convolution."""

  def __init__(self, in_channels: int, hidden: int, features: int):
    super().__init__()
    self.conv3x3 = layers.conv(in_channels, hidden, 3)
    self.conv1x1 = layers.conv(hidden, features, 1)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    """[B, in_channels, h, w] -> [B, features, h, w]."""
    return self.conv1x1(F.relu(self.conv3x3(x)))


class RefineBlock(nn.Module):
  """`O_j = Conv2(Cat(x_j, Up(O_{j+1}), R_j(E))) + Up(O_{j+1})` (Eq. 1, 2, 4).

  Args:
    in_channels: channels of x_j.
    channels: width of O_j.
    has_previous: whether O_{j+1} exists (False at the coarsest level).
    has_guidance: whether a guidance map E is fed in (Eq. 2).
  """

  def __init__(self, in_channels: int, channels: int, has_previous: bool, has_guidance: bool):
    super().__init__()
    width = in_channels + channels * has_previous + has_guidance
    self.conv2 = Conv2(width, channels, channels)

  def forward(self, x: torch.Tensor, previous: torch.Tensor | None = None,
              guidance: torch.Tensor | None = None) -> torch.Tensor:
    """[B, C, h, w] (+ [B, channels, h', w'], [B, 1, H, W]) -> [B, channels, h, w]."""
    parts = [x]
    up = None
    if previous is not None:
      up = resize.resize_like(previous, x)
      parts.append(up)
    if guidance is not None:
      parts.append(resize.resize_area(guidance, (x.shape[2], x.shape[3])).to(x.dtype))
    out = self.conv2(torch.cat(parts, dim=1))
    return out if up is None else out + up


class RefinementDecoder(nn.Module):
  """Top-down stack of refine blocks, `refine{j}` for each level j, then a 1x1 `head`.

  Args:
    levels: the levels it decodes, ascending (e.g. (3, 4, 5)).
    in_channels: channels of the input map of each level, same order.
    channels: width of every O_j.
    guidance: whether every block also sees a guidance map (Eq. 2).
  """

  def __init__(self, levels: Sequence[int], in_channels: Sequence[int], channels: int,
               guidance: bool = False):
    super().__init__()
    if len(levels) != len(in_channels):
      raise ValueError(f"levels {tuple(levels)} and in_channels {tuple(in_channels)} differ in length")
    self.levels = tuple(levels)
    coarsest = max(self.levels)
    for level, c in zip(self.levels, in_channels):
      self.add_module(f"refine{level}", RefineBlock(c, channels, level != coarsest, guidance))
    self.head = layers.conv(channels, 1, 1)

  def forward(self, features: Sequence[torch.Tensor], out_size: tuple[int, int],
              guidance: torch.Tensor | None = None) -> torch.Tensor:
    """Decodes one map per level (same order as `levels`) into [B, 1, H, W] float32 logits."""
    if len(features) != len(self.levels):
      raise ValueError(f"RefinementDecoder over levels {self.levels} got {len(features)} maps")
    out = None
    for level, x in sorted(zip(self.levels, features), key=lambda p: -p[0]):
      out = self._modules[f"refine{level}"](x, out, guidance)
    return resize.resize_bilinear(self.head(out).float(), out_size)


class HotspotDecoder(nn.Module):
  """Eq. 5: `H = Conv2(Cat(C_3^H, Up(C_4^H)))`, Conv2 ending in one logit channel.

  Args:
    in_channels: channels of C_3^H plus those of C_4^H.
    channels: width of Conv2's 3x3 convolution.
  """

  def __init__(self, in_channels: int, channels: int):
    super().__init__()
    self.conv2 = Conv2(in_channels, channels, 1)

  def forward(self, c3: torch.Tensor, c4: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """[B, C, h3, w3], [B, C', h4, w4] -> [B, 1, H, W] float32 hotspot logits."""
    x = torch.cat([c3, resize.resize_like(c4, c3)], dim=1)
    return resize.resize_bilinear(self.conv2(x).float(), out_size)
