"""EfficientNet-B0 ... B7 and Lite0 ... 4 encoder in PyTorch, the twin of `wcs_jax.models.efficientnet`.

Same architecture, same submodule names (`stem_conv`, `block2a.expand_conv`, ...) and
the same five levels (last block of stages 1, 2, 3, 5, 7; strides 2 ... 32), so the
Flax variables map onto it one to one (`wcs_jax.torch_runtime.convert`). The
architecture tables and the input normalisation come from `wcs_jax.spec.backbones`,
shared with the JAX module.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from wcs_jax.spec import backbones
from wcs_jax.spec.backbones import EFFICIENTNET_EPSILON as EPSILON
from wcs_jax.torch_runtime import layers


ACTIVATIONS = {"swish": F.silu, "relu6": F.relu6}


class MBConv(nn.Module):
  """Inverted residual block (Keras `efficientnet.block`); squeeze-excitation if `se_ratio` > 0."""

  def __init__(self, args: backbones.StageArgs, activation: str = "swish"):
    super().__init__()
    self.args = args
    self.act = ACTIVATIONS[activation]
    filters = args.filters_in * args.expand_ratio
    pairs = []
    if args.expand_ratio != 1:
      self.expand_conv = layers.conv(args.filters_in, filters, 1, bias=False)
      self.expand_bn = layers.batch_norm(filters, EPSILON)
      pairs.append(("expand_conv", "expand_bn"))
    self.dwconv = layers.conv(filters, filters, args.kernel_size, stride=args.stride, bias=False,
                              groups=filters)
    self.bn = layers.batch_norm(filters, EPSILON)
    self.squeeze_excitation = 0 < args.se_ratio <= 1
    if self.squeeze_excitation:
      squeezed = max(1, int(args.filters_in * args.se_ratio))
      self.se_reduce = nn.Conv2d(filters, squeezed, 1)
      self.se_expand = nn.Conv2d(squeezed, filters, 1)
    self.project_conv = layers.conv(filters, args.filters_out, 1, bias=False)
    self.project_bn = layers.batch_norm(args.filters_out, EPSILON)
    self.conv_bn_pairs = tuple(pairs) + (("dwconv", "bn"), ("project_conv", "project_bn"))
    self.residual = args.stride == 1 and args.filters_in == args.filters_out

  def forward(self, inputs: torch.Tensor) -> torch.Tensor:
    """[B, filters_in, H, W] -> [B, filters_out, H / stride, W / stride]."""
    x = inputs
    if self.args.expand_ratio != 1:
      x = self.act(self.expand_bn(self.expand_conv(x)))
    if self.args.stride == 2:
      x = self.act(self.bn(layers.keras_strided_conv(self.dwconv, x)))
    else:
      x = self.act(self.bn(self.dwconv(x)))
    if self.squeeze_excitation:
      se = torch.mean(x, dim=(2, 3), keepdim=True)
      x = x * torch.sigmoid(self.se_expand(self.act(self.se_reduce(se))))
    x = self.project_bn(self.project_conv(x))
    return x + inputs if self.residual else x


class EfficientNet(nn.Module):
  """EfficientNet encoder returning five pyramid levels.

  Args:
    arch: "efficientnet-b0" ... "efficientnet-b7", "efficientnet-lite0" ... "efficientnet-lite4".
    in_channels: 3 for RGB; 4 for Gaze2Mask-Net's RGB + gaze input.
  """

  def __init__(self, arch: str = "efficientnet-b2", in_channels: int = 3):
    super().__init__()
    variant = backbones.efficientnet_variant(arch)
    self.arch, self.in_channels = arch, in_channels
    self.act = ACTIVATIONS[variant.activation]
    mean, std = backbones.efficientnet_normalization(arch, in_channels)
    self.register_buffer("mean", torch.tensor(mean).reshape(1, -1, 1, 1), persistent=False)
    self.register_buffer("std", torch.tensor(std).reshape(1, -1, 1, 1), persistent=False)
    stem = backbones.stem_filters(arch)
    self.stem_conv = layers.conv(in_channels, stem, 3, stride=2, bias=False)
    self.stem_bn = layers.batch_norm(stem, EPSILON)
    self.conv_bn_pairs = (("stem_conv", "stem_bn"),)
    plan = backbones.block_plan(arch)
    self.block_names = tuple(name for name, _, _ in plan)
    for name, args, _ in plan:
      self.add_module(name, MBConv(args, variant.activation))
    self.level_blocks = backbones.level_blocks(plan)

  def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
    """Encodes images.

    Args:
      x: [B, in_channels, H, W] float in [0, 1] (RGB first, then the extra channel).

    Returns:
      Five feature maps [B, C_s, ceil(H / s), ceil(W / s)] for s = 2, 4, 8, 16, 32.
    """
    if x.shape[1] != self.in_channels:
      raise ValueError(f"{self.arch} expects {self.in_channels} input channels, got shape {tuple(x.shape)}")
    x = (x - self.mean) / self.std
    x = self.act(self.stem_bn(layers.keras_strided_conv(self.stem_conv, x)))
    levels = []
    for name in self.block_names:
      x = getattr(self, name)(x)
      if name in self.level_blocks:
        levels.append(x)
    return levels
