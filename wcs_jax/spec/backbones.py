"""The backbones' architecture tables: EfficientNet-B0..B7, EfficientNet-Lite0..4, ResNet-50/101/152.

Read by the Flax encoders (`wcs_jax.models.efficientnet`, `.resnet`) and by their
PyTorch twins (`wcs_jax.torch_runtime`); every encoder returns five levels at strides
2, 4, 8, 16 and 32, whose widths `level_channels(arch)` gives.
"""
from __future__ import annotations

import dataclasses
import math

# ---------------------------------------------------------------------- EfficientNet

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (RGB255 - 127) / 128 (`MEAN_RGB`, `STDDEV_RGB` of the
# TensorFlow `efficientnet/lite/efficientnet_lite_builder.py`), i.e. for x in [0, 1]:
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
# The gaze channel of Gaze2Mask-Net's 4-channel input is a [0, 1] map; it is centred
# the same way so that all inputs of the stem are roughly zero-mean, unit-range.
EXTRA_CHANNEL_MEAN, EXTRA_CHANNEL_STD = 0.5, 0.5
EFFICIENTNET_EPSILON = 1e-3
STEM_FILTERS = 32

# (width coefficient, depth coefficient) of each variant: B0..B7 from keras.applications,
# Lite0..4 from the TensorFlow `efficientnet_lite_builder.py`.
EFFICIENTNET_ARCHS = {
    "efficientnet-b0": (1.0, 1.0),
    "efficientnet-b1": (1.0, 1.1),
    "efficientnet-b2": (1.1, 1.2),
    "efficientnet-b3": (1.2, 1.4),
    "efficientnet-b4": (1.4, 1.8),
    "efficientnet-b5": (1.6, 2.2),
    "efficientnet-b6": (1.8, 2.6),
    "efficientnet-b7": (2.0, 3.1),
    "efficientnet-lite0": (1.0, 1.0),
    "efficientnet-lite1": (1.0, 1.1),
    "efficientnet-lite2": (1.1, 1.2),
    "efficientnet-lite3": (1.2, 1.4),
    "efficientnet-lite4": (1.4, 1.8),
}
LITE_ARCHS = tuple(a for a in EFFICIENTNET_ARCHS if a.startswith("efficientnet-lite"))


@dataclasses.dataclass(frozen=True)
class EfficientNetVariant:
  """What one EfficientNet differs in; the B-series and Lite are two settings of it.

  Attributes:
    width, depth: the compound-scaling coefficients.
    activation: "swish" (B-series) or "relu6" (Lite, for quantisation).
    squeeze_excitation: B-series blocks have SE (ratio 0.25); Lite blocks have none.
    scale_stem: whether the stem's width and the first and last stages' repeats are
      scaled with width/depth (B-series) or fixed at B0's (Lite, "fix_head_stem").
    mean, std: input normalisation of the RGB channels, for x in [0, 1].
  """
  width: float
  depth: float
  activation: str
  squeeze_excitation: bool
  scale_stem: bool
  mean: tuple[float, ...]
  std: tuple[float, ...]


def efficientnet_variant(arch: str) -> EfficientNetVariant:
  """The settings of EfficientNet `arch` ("efficientnet-b0".."b7", "efficientnet-lite0".."4")."""
  if arch not in EFFICIENTNET_ARCHS:
    raise ValueError(f"unknown EfficientNet arch {arch!r}; expected one of {list(EFFICIENTNET_ARCHS)}")
  width, depth = EFFICIENTNET_ARCHS[arch]
  if arch in LITE_ARCHS:
    return EfficientNetVariant(width, depth, "relu6", False, False, LITE_MEAN, LITE_STD)
  return EfficientNetVariant(width, depth, "swish", True, True, IMAGENET_MEAN, IMAGENET_STD)


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


def efficientnet_normalization(arch: str, in_channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
  """(mean, std) per input channel: the variant's for RGB, (0.5, 0.5) for extra channels."""
  variant = efficientnet_variant(arch)
  extra = in_channels - 3
  return variant.mean + (EXTRA_CHANNEL_MEAN,) * extra, variant.std + (EXTRA_CHANNEL_STD,) * extra


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
  """Keras's channel rounding: nearest multiple of 8, never more than 10% down."""
  filters *= width
  new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
  if new_filters < 0.9 * filters:
    new_filters += divisor
  return int(new_filters)


def round_repeats(repeats: int, depth: float) -> int:
  return int(math.ceil(depth * repeats))


def stem_filters(arch: str) -> int:
  """Output channels of the stem: 32 scaled by the width (B-series) or 32 (Lite)."""
  variant = efficientnet_variant(arch)
  return round_filters(STEM_FILTERS, variant.width) if variant.scale_stem else STEM_FILTERS


def stage_repeats(arch: str) -> tuple[int, ...]:
  """Blocks in each of the seven stages (Lite keeps B0's repeats in the first and last)."""
  variant = efficientnet_variant(arch)
  fixed = () if variant.scale_stem else (0, len(B0_STAGES) - 1)
  return tuple(s.repeats if i in fixed else round_repeats(s.repeats, variant.depth)
               for i, s in enumerate(B0_STAGES))


def block_plan(arch: str) -> list[tuple[str, StageArgs, float]]:
  """Every MBConv block of `arch` in order: (Keras name prefix, its args, drop rate).

  The drop-connect rate grows linearly from 0 to 0.2 over the blocks, as in Keras and
  in the TensorFlow Lite builder. Lite blocks have `se_ratio` 0 (no squeeze-excitation).
  """
  variant = efficientnet_variant(arch)
  repeats, stem = stage_repeats(arch), stem_filters(arch)
  total = sum(repeats)
  plan, b = [], 0
  for i, stage in enumerate(B0_STAGES):
    filters_in = stem if i == 0 else round_filters(stage.filters_in, variant.width)
    filters_out = round_filters(stage.filters_out, variant.width)
    for j in range(repeats[i]):
      args = dataclasses.replace(
          stage, filters_in=filters_in if j == 0 else filters_out, filters_out=filters_out,
          stride=stage.stride if j == 0 else 1, repeats=1,
          se_ratio=stage.se_ratio if variant.squeeze_excitation else 0.0)
      plan.append((f"block{i + 1}{chr(j + 97)}", args, 0.2 * b / total))
      b += 1
  return plan


def level_blocks(plan: list[tuple[str, StageArgs, float]]) -> tuple[str, ...]:
  """Names of the blocks in `plan` whose outputs are the five levels (e.g. "block1b")."""
  last_of_stage = {int(name[5:-1]): name for name, _, _ in plan}
  return tuple(last_of_stage[s] for s in LEVEL_STAGES)


def efficientnet_level_channels(arch: str) -> tuple[int, ...]:
  """Channels of the five levels, e.g. (16, 24, 48, 120, 352) for B2 and Lite2."""
  width = efficientnet_variant(arch).width
  return tuple(round_filters(B0_STAGES[s - 1].filters_out, width) for s in LEVEL_STAGES)


# ---------------------------------------------------------------------------- ResNet

# Blocks per stage conv2..conv5.
RESNET_ARCHS = {
    "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3),
    "resnet152": (3, 8, 36, 3),
}
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
RESNET_EPSILON = 1.001e-5
STAGE_FILTERS = (64, 128, 256, 512)


def caffe_preprocessing(in_channels: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
  """Keras's "caffe" input as `255 * x[channel_order] + offset` for x in [0, 1].

  Returns (channel_order, offset): RGB -> BGR minus the ImageNet BGR mean; an extra
  (gaze) channel is fed as 255 g - 127.5.
  """
  extra = tuple(range(3, in_channels))
  return (2, 1, 0) + extra, tuple(-m for m in CAFFE_BGR_MEAN) + (-127.5,) * len(extra)


def check_resnet_arch(arch: str) -> tuple[int, ...]:
  if arch not in RESNET_ARCHS:
    raise ValueError(f"unknown ResNet arch {arch!r}; expected one of {sorted(RESNET_ARCHS)}")
  return RESNET_ARCHS[arch]


def resnet_level_channels(arch: str) -> tuple[int, ...]:
  check_resnet_arch(arch)
  return (64,) + tuple(4 * f for f in STAGE_FILTERS)


# ------------------------------------------------------------------------- any backbone

ARCHS = tuple(EFFICIENTNET_ARCHS) + tuple(RESNET_ARCHS)


def check_arch(arch: str) -> None:
  if arch not in ARCHS:
    raise ValueError(f"unknown backbone {arch!r}; expected one of {list(ARCHS)}")


def stem_path(arch: str) -> tuple[str, ...]:
  """Path of the first convolution in the encoder's variables (its kernel sees the input channels)."""
  check_arch(arch)
  return ("stem_conv",) if arch in EFFICIENTNET_ARCHS else ("conv1_conv",)


def level_channels(arch: str) -> tuple[int, ...]:
  """Channels of the five levels of any backbone `arch`."""
  if arch in EFFICIENTNET_ARCHS:
    return efficientnet_level_channels(arch)
  if arch in RESNET_ARCHS:
    return resnet_level_channels(arch)
  raise ValueError(f"unknown backbone {arch!r}; expected one of {list(ARCHS)}")
