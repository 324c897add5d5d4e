"""Layers shared by the encoders: Keras-compatible padding, batch norm and depth-wise conv.

The encoders reproduce `keras.applications` exactly, so their building blocks follow
Keras's conventions where Flax's defaults differ: batch-norm momentum 0.99 and the
layer's own epsilon, TensorFlow "SAME" padding, and the asymmetric zero padding Keras
applies before stride-2 convolutions (`wcs_jax.spec.geometry.keras_stride2_padding`).
"""
from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.ops import depthwise

# Keras's batch-norm momentum: running = m * running + (1 - m) * batch, every layer.
BATCH_NORM_MOMENTUM = 0.99


def batch_norm(train: bool, epsilon: float, dtype: Any, name: str) -> nn.BatchNorm:
  """Keras-compatible batch norm (momentum 0.99); statistics over the whole global batch.

  Under `jax.jit` over a device mesh the batch axis is one global array, so the mean
  and variance are those of the global batch with no extra collective written here.
  """
  return nn.BatchNorm(use_running_average=not train, momentum=BATCH_NORM_MOMENTUM, epsilon=epsilon,
                      dtype=dtype, name=name)


def swish(x: jax.Array) -> jax.Array:
  return x * jax.nn.sigmoid(x)


def relu6(x: jax.Array) -> jax.Array:
  return jnp.clip(x, 0.0, 6.0)


# EfficientNet's activations by the name `wcs_jax.spec.backbones.EfficientNetVariant` uses.
ACTIVATIONS = {"swish": swish, "relu6": relu6}


class DepthwiseConv(nn.Module):
  """Depth-wise convolution (depth multiplier 1) with a per-platform formulation.

  Attributes:
    kernel_size: k of the k x k filters.
    stride: stride along both axes.
    padding: "SAME", "VALID" or ((top, bottom), (left, right)).
    implementation: "auto", "grouped" or "shifted" (see `wcs_jax.ops.depthwise`).
    dtype: computation dtype.
  """
  kernel_size: int
  stride: int = 1
  padding: Any = "SAME"
  implementation: depthwise.Implementation = "auto"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """[B, H, W, C] -> [B, H', W', C]."""
    kernel = self.param("kernel", nn.initializers.variance_scaling(2.0, "fan_out", "truncated_normal"),
                        (self.kernel_size, self.kernel_size, 1, x.shape[-1]), jnp.float32)
    return depthwise.depthwise_conv2d(x.astype(self.dtype), kernel.astype(self.dtype), stride=self.stride,
                                      padding=self.padding, implementation=self.implementation)


conv_kernel_init = nn.initializers.variance_scaling(2.0, "fan_out", "truncated_normal")
Conv = functools.partial(nn.Conv, kernel_init=conv_kernel_init)
