"""The backbone registry: one constructor for every encoder the configs can name.

Every encoder maps [B, H, W, in_channels] images in [0, 1] to five feature maps at
strides 2, 4, 8, 16 and 32 (`level_channels(arch)` gives their widths).
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from wcs_jax.models import backbone_specs
from wcs_jax.models import efficientnet
from wcs_jax.models import resnet

ARCHS = backbone_specs.ARCHS
level_channels = backbone_specs.level_channels


def build_encoder(arch: str, in_channels: int = 3, depthwise_impl: str = "auto",
                  dtype: Any = jnp.float32, name: str | None = None) -> nn.Module:
  """The encoder `arch` ("efficientnet-b0".."b7", "resnet50"/"resnet101"/"resnet152")."""
  if arch in efficientnet.ARCHS:
    return efficientnet.EfficientNet(arch, in_channels, depthwise_impl, dtype, name=name)
  if arch in resnet.ARCHS:
    return resnet.ResNet(arch, in_channels, dtype, name=name)
  raise ValueError(f"unknown backbone {arch!r}; expected one of {list(ARCHS)}")


def stem_path(arch: str) -> tuple[str, ...]:
  """Path of the first convolution in the encoder's params (its kernel sees the input channels)."""
  return ("stem_conv",) if arch in efficientnet.ARCHS else ("conv1_conv",)
