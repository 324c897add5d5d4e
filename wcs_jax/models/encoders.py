"""The backbone registry: one constructor for every encoder the configs can name.

Every encoder maps [B, H, W, in_channels] images in [0, 1] to five feature maps at
strides 2, 4, 8, 16 and 32 (`wcs_jax.spec.backbones.level_channels(arch)` gives their
widths).
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from wcs_jax.models import efficientnet
from wcs_jax.models import resnet
from wcs_jax.spec import backbones


def build_encoder(arch: str, in_channels: int = 3, depthwise_impl: str = "auto",
                  dtype: Any = jnp.float32, name: str | None = None) -> nn.Module:
  """The encoder `arch` ("efficientnet-b0".."b7", "efficientnet-lite0".."4", "resnet50"/"resnet101"/"resnet152")."""
  backbones.check_arch(arch)
  if arch in backbones.EFFICIENTNET_ARCHS:
    return efficientnet.EfficientNet(arch, in_channels, depthwise_impl, dtype, name=name)
  return resnet.ResNet(arch, in_channels, dtype, name=name)
