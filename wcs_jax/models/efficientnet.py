"""EfficientNet-B0 ... B7 (Tan & Le, 2019) as a five-level feature encoder.

The architecture is identical to `keras.applications.EfficientNetB0..B7` (stem, MBConv
blocks with squeeze-excitation and swish, batch-norm epsilon 1e-3 and momentum 0.99,
Keras's asymmetric padding before stride-2 convolutions, drop-connect when training),
and submodules carry Keras's layer names (`stem_conv`, `block2a/expand_conv`, ...) so
that `wcs_jax.models.keras_import` maps Keras weights one to one.

WCS-Net's paper writes "EfficientNetv2 [40]" but cites the 2019 EfficientNet paper and
predates EfficientNetV2; we read it as EfficientNet-B2, the default here.

The encoder returns the outputs of the last block of stages 1, 2, 3, 5 and 7, at
strides 2, 4, 8, 16 and 32 (for B2 the Keras layers `block1b_add`, `block2c_add`,
`block3c_add`, `block5d_add`, `block7b_add`); the classification head (`top_conv`) is
not part of it.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.models import layers
from wcs_jax.ops import depthwise

from wcs_jax.models.backbone_specs import (  # pylint: disable=unused-import
    B0_STAGES, EXTRA_CHANNEL_MEAN, EXTRA_CHANNEL_STD, IMAGENET_MEAN, IMAGENET_STD, LEVEL_STAGES, StageArgs,
    block_plan, level_blocks, round_filters, round_repeats)
from wcs_jax.models.backbone_specs import EFFICIENTNET_ARCHS as ARCHS
from wcs_jax.models.backbone_specs import EFFICIENTNET_EPSILON as EPSILON
from wcs_jax.models.backbone_specs import check_efficientnet_arch as check_arch
from wcs_jax.models.backbone_specs import efficientnet_level_channels as level_channels


class MBConv(nn.Module):
  """Inverted residual block with squeeze-excitation (Keras `efficientnet.block`)."""
  args: StageArgs
  drop_rate: float
  depthwise_impl: depthwise.Implementation = "auto"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, inputs: jax.Array, train: bool) -> jax.Array:
    """[B, H, W, filters_in] -> [B, H / stride, W / stride, filters_out]."""
    a = self.args
    filters = a.filters_in * a.expand_ratio
    x = inputs
    if a.expand_ratio != 1:
      x = layers.Conv(filters, (1, 1), use_bias=False, dtype=self.dtype, name="expand_conv")(x)
      x = layers.swish(layers.batch_norm(train, EPSILON, self.dtype, "expand_bn")(x))
    padding = layers.correct_pad(x.shape[1:3], a.kernel_size) if a.stride == 2 else "SAME"
    x = layers.DepthwiseConv(a.kernel_size, a.stride, padding, self.depthwise_impl, self.dtype,
                             name="dwconv")(x)
    x = layers.swish(layers.batch_norm(train, EPSILON, self.dtype, "bn")(x))
    if 0 < a.se_ratio <= 1:
      se = jnp.mean(x, axis=(1, 2), keepdims=True)
      se = layers.swish(layers.Conv(max(1, int(a.filters_in * a.se_ratio)), (1, 1), dtype=self.dtype,
                                    name="se_reduce")(se))
      se = jax.nn.sigmoid(layers.Conv(filters, (1, 1), dtype=self.dtype, name="se_expand")(se))
      x = x * se
    x = layers.Conv(a.filters_out, (1, 1), use_bias=False, dtype=self.dtype, name="project_conv")(x)
    x = layers.batch_norm(train, EPSILON, self.dtype, "project_bn")(x)
    if a.stride == 1 and a.filters_in == a.filters_out:
      if self.drop_rate > 0:
        # Drop-connect: the whole residual branch of a sample, as Keras's
        # Dropout(noise_shape=(None, 1, 1, 1)).
        x = nn.Dropout(self.drop_rate, broadcast_dims=(1, 2, 3), deterministic=not train)(x)
      x = x + inputs
    return x


class EfficientNet(nn.Module):
  """EfficientNet encoder returning five pyramid levels.

  Attributes:
    arch: "efficientnet-b0" ... "efficientnet-b7".
    in_channels: 3 for RGB; 4 for Gaze2Mask-Net's RGB + gaze input.
    depthwise_impl: formulation of the depth-wise convolutions ("auto" picks per platform).
    dtype: computation dtype (parameters stay float32).
  """
  arch: str = "efficientnet-b2"
  in_channels: int = 3
  depthwise_impl: depthwise.Implementation = "auto"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> list[jax.Array]:
    """Encodes images.

    Args:
      x: [B, H, W, in_channels] float in [0, 1] (RGB first, then the extra channel).
      train: batch statistics and drop-connect when True.

    Returns:
      Five feature maps [B, ceil(H / s), ceil(W / s), C_s] for s = 2, 4, 8, 16, 32.
    """
    if x.shape[-1] != self.in_channels:
      raise ValueError(f"{self.arch} expects {self.in_channels} input channels, got shape {x.shape}")
    width, _ = check_arch(self.arch)
    x = normalize(x).astype(self.dtype)
    x = layers.Conv(round_filters(32, width), (3, 3), strides=(2, 2),
                    padding=layers.correct_pad(x.shape[1:3], 3), use_bias=False, dtype=self.dtype,
                    name="stem_conv")(x)
    x = layers.swish(layers.batch_norm(train, EPSILON, self.dtype, "stem_bn")(x))
    plan = block_plan(self.arch)
    level_indices = set(level_blocks(plan))
    levels = []
    for index, (name, args, drop_rate) in enumerate(plan):
      x = MBConv(args, drop_rate, self.depthwise_impl, self.dtype, name=name)(x, train)
      if index in level_indices:
        levels.append(x)
    return levels


def normalize(x: jax.Array) -> jax.Array:
  """ImageNet mean/std normalisation of the RGB channels; extra channels to [-1, 1]."""
  c = x.shape[-1]
  mean = jnp.array(IMAGENET_MEAN + (EXTRA_CHANNEL_MEAN,) * (c - 3), jnp.float32)
  std = jnp.array(IMAGENET_STD + (EXTRA_CHANNEL_STD,) * (c - 3), jnp.float32)
  return (x.astype(jnp.float32) - mean) / std


def load_keras_weights(keras_model_or_weights_file: Any, arch: str, in_channels: int = 3) -> dict:
  """Flax variables {"params", "batch_stats"} from a `keras.applications` EfficientNet.

  See `wcs_jax.models.keras_import.load_keras_weights`; for `in_channels=4` the
  extra input channel's stem weights start at zero.
  """
  from wcs_jax.models import keras_import  # pylint: disable=g-import-not-at-top
  check_arch(arch)
  return keras_import.load_keras_weights(keras_model_or_weights_file, arch, in_channels)
