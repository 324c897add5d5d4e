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

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.models import layers
from wcs_jax.ops import depthwise

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The gaze channel of Gaze2Mask-Net's 4-channel input is a [0, 1] map; it is centred
# the same way so that all inputs of the stem are roughly zero-mean, unit-range.
EXTRA_CHANNEL_MEAN, EXTRA_CHANNEL_STD = 0.5, 0.5

# (width coefficient, depth coefficient) of each variant, from keras.applications.
ARCHS = {
    "efficientnet-b0": (1.0, 1.0),
    "efficientnet-b1": (1.0, 1.1),
    "efficientnet-b2": (1.1, 1.2),
    "efficientnet-b3": (1.2, 1.4),
    "efficientnet-b4": (1.4, 1.8),
    "efficientnet-b5": (1.6, 2.2),
    "efficientnet-b6": (1.8, 2.6),
    "efficientnet-b7": (2.0, 3.1),
}


@dataclasses.dataclass(frozen=True)
class StageArgs:
  kernel_size: int
  repeats: int
  filters_in: int
  filters_out: int
  expand_ratio: int
  stride: int
  se_ratio: float = 0.25


# The seven stages of EfficientNet-B0; other variants scale filters and repeats.
B0_STAGES = (
    StageArgs(3, 1, 32, 16, 1, 1),
    StageArgs(3, 2, 16, 24, 6, 2),
    StageArgs(5, 2, 24, 40, 6, 2),
    StageArgs(3, 3, 40, 80, 6, 2),
    StageArgs(5, 3, 80, 112, 6, 1),
    StageArgs(5, 4, 112, 192, 6, 2),
    StageArgs(3, 1, 192, 320, 6, 1),
)
# Stages (1-based) whose last block is a pyramid level: strides 2, 4, 8, 16, 32.
LEVEL_STAGES = (1, 2, 3, 5, 7)


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
  """Keras's channel rounding: nearest multiple of 8, never more than 10% down."""
  filters *= width
  new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
  if new_filters < 0.9 * filters:
    new_filters += divisor
  return int(new_filters)


def round_repeats(repeats: int, depth: float) -> int:
  return int(math.ceil(depth * repeats))


def check_arch(arch: str) -> tuple[float, float]:
  if arch not in ARCHS:
    raise ValueError(f"unknown EfficientNet arch {arch!r}; expected one of {sorted(ARCHS)}")
  return ARCHS[arch]


def block_plan(arch: str) -> list[tuple[str, StageArgs, float]]:
  """Every MBConv block of `arch` in order: (Keras name prefix, its args, drop rate).

  The drop-connect rate grows linearly from 0 to 0.2 over the blocks, as in Keras.
  """
  width, depth = check_arch(arch)
  total = sum(round_repeats(s.repeats, depth) for s in B0_STAGES)
  plan, b = [], 0
  for i, stage in enumerate(B0_STAGES):
    filters_in = round_filters(stage.filters_in, width)
    filters_out = round_filters(stage.filters_out, width)
    for j in range(round_repeats(stage.repeats, depth)):
      args = dataclasses.replace(
          stage, filters_in=filters_in if j == 0 else filters_out, filters_out=filters_out,
          stride=stage.stride if j == 0 else 1, repeats=1)
      plan.append((f"block{i + 1}{chr(j + 97)}", args, 0.2 * b / total))
      b += 1
  return plan


def level_channels(arch: str) -> tuple[int, ...]:
  """Channels of the five levels, e.g. (16, 24, 48, 120, 352) for B2."""
  width, _ = check_arch(arch)
  return tuple(round_filters(B0_STAGES[s - 1].filters_out, width) for s in LEVEL_STAGES)


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
      x = layers.swish(layers.batch_norm(train, 1e-3, self.dtype, "expand_bn")(x))
    padding = layers.correct_pad(x.shape[1:3], a.kernel_size) if a.stride == 2 else "SAME"
    x = layers.DepthwiseConv(a.kernel_size, a.stride, padding, self.depthwise_impl, self.dtype,
                             name="dwconv")(x)
    x = layers.swish(layers.batch_norm(train, 1e-3, self.dtype, "bn")(x))
    if 0 < a.se_ratio <= 1:
      se = jnp.mean(x, axis=(1, 2), keepdims=True)
      se = layers.swish(layers.Conv(max(1, int(a.filters_in * a.se_ratio)), (1, 1), dtype=self.dtype,
                                    name="se_reduce")(se))
      se = jax.nn.sigmoid(layers.Conv(filters, (1, 1), dtype=self.dtype, name="se_expand")(se))
      x = x * se
    x = layers.Conv(a.filters_out, (1, 1), use_bias=False, dtype=self.dtype, name="project_conv")(x)
    x = layers.batch_norm(train, 1e-3, self.dtype, "project_bn")(x)
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
    x = layers.swish(layers.batch_norm(train, 1e-3, self.dtype, "stem_bn")(x))
    plan = block_plan(self.arch)
    last_of_stage = {}
    for index, (name, _, _) in enumerate(plan):
      last_of_stage[int(name[5:-1])] = index
    level_blocks = {last_of_stage[s] for s in LEVEL_STAGES}
    levels = []
    for index, (name, args, drop_rate) in enumerate(plan):
      x = MBConv(args, drop_rate, self.depthwise_impl, self.dtype, name=name)(x, train)
      if index in level_blocks:
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
