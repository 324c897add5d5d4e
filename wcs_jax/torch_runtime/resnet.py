"""ResNet-50/101/152 (v1) encoder in PyTorch, the twin of `wcs_jax.models.resnet`.

Same architecture as `keras.applications.ResNet101` (7x7 stem with bias, batch-norm
epsilon 1.001e-5, stride on the first 1x1 convolution of a stage) and the same
submodule names (`conv1_conv`, `conv3_block1.0_conv`, ...). The Keras "caffe"
preprocessing is part of the module, as in JAX.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from wcs_jax.spec import backbones
from wcs_jax.spec.backbones import RESNET_EPSILON as EPSILON
from wcs_jax.torch_runtime import layers


class Bottleneck(nn.Module):
  """Keras `residual_block_v1`: 1x1 (stride) -> 3x3 -> 1x1 (4 x filters) + shortcut.

  Submodule names are Keras's ("0_conv" is the projection shortcut); PyTorch allows
  attribute names starting with a digit through `add_module`/`getattr` only.
  """

  def __init__(self, in_channels: int, filters: int, stride: int, conv_shortcut: bool):
    super().__init__()
    self.conv_shortcut = conv_shortcut
    pairs = []
    if conv_shortcut:
      self.add_module("0_conv", layers.conv(in_channels, 4 * filters, 1, stride=stride))
      self.add_module("0_bn", layers.batch_norm(4 * filters, EPSILON))
      pairs.append(("0_conv", "0_bn"))
    self.add_module("1_conv", layers.conv(in_channels, filters, 1, stride=stride))
    self.add_module("1_bn", layers.batch_norm(filters, EPSILON))
    self.add_module("2_conv", layers.conv(filters, filters, 3))
    self.add_module("2_bn", layers.batch_norm(filters, EPSILON))
    self.add_module("3_conv", layers.conv(filters, 4 * filters, 1))
    self.add_module("3_bn", layers.batch_norm(4 * filters, EPSILON))
    self.conv_bn_pairs = tuple(pairs) + tuple((f"{i}_conv", f"{i}_bn") for i in (1, 2, 3))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, 4 * filters, H / stride, W / stride]."""
    m = self._modules
    shortcut = m["0_bn"](m["0_conv"](x)) if self.conv_shortcut else x
    y = F.relu(m["1_bn"](m["1_conv"](x)))
    y = F.relu(m["2_bn"](m["2_conv"](y)))
    y = m["3_bn"](m["3_conv"](y))
    return F.relu(shortcut + y)


class ResNet(nn.Module):
  """ResNet v1 encoder returning five pyramid levels.

  Args:
    arch: "resnet50", "resnet101" or "resnet152".
    in_channels: 3 for RGB; 4 for RGB + gaze (the extra channel is fed as 255 g - 127.5).
  """

  def __init__(self, arch: str = "resnet101", in_channels: int = 3):
    super().__init__()
    blocks = backbones.check_resnet_arch(arch)
    self.arch, self.in_channels = arch, in_channels
    order, offset = backbones.caffe_preprocessing(in_channels)
    self.register_buffer("offset", torch.tensor(offset).reshape(1, -1, 1, 1), persistent=False)
    self.register_buffer("channel_order", torch.tensor(order), persistent=False)
    self.conv1_conv = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3)
    self.conv1_bn = layers.batch_norm(64, EPSILON)
    self.conv_bn_pairs = (("conv1_conv", "conv1_bn"),)
    self.stage_blocks = []
    channels = 64
    for stage, (filters, count) in enumerate(zip(backbones.STAGE_FILTERS, blocks)):
      names = []
      for b in range(count):
        name = f"conv{stage + 2}_block{b + 1}"
        stride = 2 if b == 0 and stage > 0 else 1
        self.add_module(name, Bottleneck(channels, filters, stride, conv_shortcut=b == 0))
        channels = 4 * filters
        names.append(name)
      self.stage_blocks.append(tuple(names))

  def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
    """Encodes images.

    Args:
      x: [B, in_channels, H, W] float in [0, 1], RGB first.

    Returns:
      Five feature maps at strides 2, 4, 8, 16, 32 with 64, 256, 512, 1024, 2048 channels.
    """
    if x.shape[1] != self.in_channels:
      raise ValueError(f"{self.arch} expects {self.in_channels} input channels, got shape {tuple(x.shape)}")
    x = 255.0 * torch.index_select(x, 1, self.channel_order) + self.offset
    x = F.relu(self.conv1_bn(self.conv1_conv(x)))
    levels = [x]
    # Keras pads with zeros before the max pool; after the ReLU that equals PyTorch's
    # -inf padding.
    x = F.max_pool2d(x, 3, stride=2, padding=1)
    for names in self.stage_blocks:
      for name in names:
        x = self._modules[name](x)
      levels.append(x)
    return levels
