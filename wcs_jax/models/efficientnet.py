"""EfficientNet-B0 ... B7 and EfficientNet-Lite0 ... 4 (Tan & Le, 2019) as a five-level encoder.

The B-series is identical to `keras.applications.EfficientNetB0..B7` (stem, MBConv
blocks with squeeze-excitation and swish, batch-norm epsilon 1e-3 and momentum 0.99,
Keras's asymmetric padding before stride-2 convolutions, drop-connect when training),
and submodules carry Keras's layer names (`stem_conv`, `block2a/expand_conv`, ...) so
that `wcs_jax.models.keras_import` maps Keras weights one to one.

EfficientNet-Lite (TensorFlow's `efficientnet/lite`, the mobile/CPU family) is the same
module with the settings of `wcs_jax.spec.backbones.EfficientNetVariant`: ReLU6 instead
of swish, no squeeze-excitation, stem and first/last stage repeats not scaled, and
inputs normalised as (RGB255 - 127) / 128. Keras's padding equals TensorFlow's "SAME",
so the Lite checkpoints (`wcs_jax.models.torch_import`) run unchanged.

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
from wcs_jax.spec import backbones
from wcs_jax.spec import geometry
from wcs_jax.spec.backbones import EFFICIENTNET_EPSILON as EPSILON


class MBConv(nn.Module):
  """Inverted residual block (Keras `efficientnet.block`); squeeze-excitation if `se_ratio` > 0.

  Attributes:
    args: the block's filters, kernel, stride, expansion and SE ratio.
    drop_rate: drop-connect rate of the residual branch when training.
    activation: "swish" or "relu6" (`layers.ACTIVATIONS`).
    depthwise_impl: formulation of the depth-wise convolution.
    dtype: computation dtype.
  """
  args: backbones.StageArgs
  drop_rate: float
  activation: str = "swish"
  depthwise_impl: depthwise.Implementation = "auto"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, inputs: jax.Array, train: bool) -> jax.Array:
    """[B, H, W, filters_in] -> [B, H / stride, W / stride, filters_out]."""
    a = self.args
    act = layers.ACTIVATIONS[self.activation]
    filters = a.filters_in * a.expand_ratio
    x = inputs
    if a.expand_ratio != 1:
      x = layers.Conv(filters, (1, 1), use_bias=False, dtype=self.dtype, name="expand_conv")(x)
      x = act(layers.batch_norm(train, EPSILON, self.dtype, "expand_bn")(x))
    padding = geometry.keras_stride2_padding(x.shape[1:3], a.kernel_size) if a.stride == 2 else "SAME"
    x = layers.DepthwiseConv(a.kernel_size, a.stride, padding, self.depthwise_impl, self.dtype,
                             name="dwconv")(x)
    x = act(layers.batch_norm(train, EPSILON, self.dtype, "bn")(x))
    if 0 < a.se_ratio <= 1:
      se = jnp.mean(x, axis=(1, 2), keepdims=True)
      se = act(layers.Conv(max(1, int(a.filters_in * a.se_ratio)), (1, 1), dtype=self.dtype,
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
    arch: "efficientnet-b0" ... "efficientnet-b7", "efficientnet-lite0" ... "efficientnet-lite4".
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
    variant = backbones.efficientnet_variant(self.arch)
    act = layers.ACTIVATIONS[variant.activation]
    x = normalize(x, self.arch).astype(self.dtype)
    x = layers.Conv(backbones.stem_filters(self.arch), (3, 3), strides=(2, 2),
                    padding=geometry.keras_stride2_padding(x.shape[1:3], 3), use_bias=False, dtype=self.dtype,
                    name="stem_conv")(x)
    x = act(layers.batch_norm(train, EPSILON, self.dtype, "stem_bn")(x))
    plan = backbones.block_plan(self.arch)
    level_names = set(backbones.level_blocks(plan))
    levels = []
    for name, args, drop_rate in plan:
      x = MBConv(args, drop_rate, variant.activation, self.depthwise_impl, self.dtype, name=name)(x, train)
      if name in level_names:
        levels.append(x)
    return levels


def normalize(x: jax.Array, arch: str) -> jax.Array:
  """[B, H, W, C] in [0, 1] -> the input `arch` was trained on (RGB); extra channels to [-1, 1].

  B-series: ImageNet mean/std; Lite: (255 x - 127) / 128.
  """
  mean, std = backbones.efficientnet_normalization(arch, x.shape[-1])
  return (x.astype(jnp.float32) - jnp.array(mean, jnp.float32)) / jnp.array(std, jnp.float32)
