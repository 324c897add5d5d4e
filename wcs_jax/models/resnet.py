"""ResNet-50/101/152 (v1, He et al. 2016) as a five-level feature encoder.

ResNet-101 is the paper's second backbone (Tab. 4 and 6). The architecture is
identical to `keras.applications.ResNet101` (7x7 stem with bias, batch-norm epsilon
1.001e-5, stride on the first 1x1 convolution of a stage, zero-padded max pool), and
submodules carry Keras's layer names (`conv1_conv`, `conv3_block1/0_conv`, ...).

Input is RGB in [0, 1]; the Keras "caffe" preprocessing (x 255, RGB -> BGR, minus the
ImageNet BGR mean) is part of the module, so
`ResNet(x01) == keras_resnet101(keras.applications.resnet.preprocess_input(255 * x01))`.

Levels: `conv1_relu` (stride 2), `conv2_block3_out` (4), `conv3_block4_out` (8),
`conv4_block23_out` (16), `conv5_block3_out` (32).
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.models import layers
from wcs_jax.spec import backbones
from wcs_jax.spec.backbones import RESNET_EPSILON as EPSILON


class Bottleneck(nn.Module):
  """Keras `residual_block_v1`: 1x1 (stride) -> 3x3 -> 1x1 (4 x filters) + shortcut."""
  filters: int
  stride: int
  conv_shortcut: bool
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    """[B, H, W, C] -> [B, H / stride, W / stride, 4 * filters]."""
    s = (self.stride, self.stride)
    if self.conv_shortcut:
      shortcut = layers.Conv(4 * self.filters, (1, 1), strides=s, padding="VALID", dtype=self.dtype,
                             name="0_conv")(x)
      shortcut = layers.batch_norm(train, EPSILON, self.dtype, "0_bn")(shortcut)
    else:
      shortcut = x
    y = layers.Conv(self.filters, (1, 1), strides=s, padding="VALID", dtype=self.dtype, name="1_conv")(x)
    y = nn.relu(layers.batch_norm(train, EPSILON, self.dtype, "1_bn")(y))
    y = layers.Conv(self.filters, (3, 3), padding="SAME", dtype=self.dtype, name="2_conv")(y)
    y = nn.relu(layers.batch_norm(train, EPSILON, self.dtype, "2_bn")(y))
    y = layers.Conv(4 * self.filters, (1, 1), padding="VALID", dtype=self.dtype, name="3_conv")(y)
    y = layers.batch_norm(train, EPSILON, self.dtype, "3_bn")(y)
    return nn.relu(shortcut + y)


class ResNet(nn.Module):
  """ResNet v1 encoder returning five pyramid levels.

  Attributes:
    arch: "resnet50", "resnet101" or "resnet152".
    in_channels: 3 for RGB; 4 for RGB + gaze (the extra channel is fed as 255 * g - 127.5).
    dtype: computation dtype (parameters stay float32).
  """
  arch: str = "resnet101"
  in_channels: int = 3
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> list[jax.Array]:
    """Encodes images.

    Args:
      x: [B, H, W, in_channels] float in [0, 1], RGB first.
      train: batch statistics when True.

    Returns:
      Five feature maps at strides 2, 4, 8, 16, 32 with 64, 256, 512, 1024, 2048 channels.
    """
    if x.shape[-1] != self.in_channels:
      raise ValueError(f"{self.arch} expects {self.in_channels} input channels, got shape {x.shape}")
    blocks = backbones.check_resnet_arch(self.arch)
    x = caffe_preprocess(x).astype(self.dtype)
    x = jnp.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)))
    x = layers.Conv(64, (7, 7), strides=(2, 2), padding="VALID", dtype=self.dtype, name="conv1_conv")(x)
    x = nn.relu(layers.batch_norm(train, EPSILON, self.dtype, "conv1_bn")(x))
    levels = [x]
    # Keras pads with zeros before the max pool; after the ReLU that equals -inf padding.
    x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")
    for stage, (filters, count) in enumerate(zip(backbones.STAGE_FILTERS, blocks)):
      for b in range(count):
        stride = 2 if b == 0 and stage > 0 else 1
        x = Bottleneck(filters, stride, conv_shortcut=b == 0, dtype=self.dtype,
                       name=f"conv{stage + 2}_block{b + 1}")(x, train)
      levels.append(x)
    return levels


def caffe_preprocess(x: jax.Array) -> jax.Array:
  """[0, 1] RGB(+extra) -> Keras "caffe" input: 255 x BGR minus the ImageNet BGR mean."""
  order, offset = backbones.caffe_preprocessing(x.shape[-1])
  return 255.0 * x.astype(jnp.float32)[..., list(order)] + jnp.array(offset, jnp.float32)
