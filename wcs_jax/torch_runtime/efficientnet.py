"""EfficientNet-B0 ... B7 encoder in PyTorch, the twin of `wcs_jax.models.efficientnet`.

Same architecture, same submodule names (`stem_conv`, `block2a.expand_conv`, ...) and
the same five levels (last block of stages 1, 2, 3, 5, 7; strides 2 ... 32), so the
Flax variables map onto it one to one (`wcs_jax.torch_runtime.convert`). The tables
below repeat those of the JAX module because this package must import without JAX;
`tests/test_torch_runtime.py` holds the two equal (block plan, level widths, outputs).
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn import functional as F

from wcs_jax.torch_runtime import layers

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EXTRA_CHANNEL_MEAN, EXTRA_CHANNEL_STD = 0.5, 0.5
EPSILON = 1e-3

# (width coefficient, depth coefficient), as keras.applications.
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


B0_STAGES = (
    StageArgs(3, 1, 32, 16, 1, 1),
    StageArgs(3, 2, 16, 24, 6, 2),
    StageArgs(5, 2, 24, 40, 6, 2),
    StageArgs(3, 3, 40, 80, 6, 2),
    StageArgs(5, 3, 80, 112, 6, 1),
    StageArgs(5, 4, 112, 192, 6, 2),
    StageArgs(3, 1, 192, 320, 6, 1),
)
LEVEL_STAGES = (1, 2, 3, 5, 7)


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
  """Keras's channel rounding: nearest multiple of 8, never more than 10% down."""
  filters *= width
  new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
  if new_filters < 0.9 * filters:
    new_filters += divisor
  return int(new_filters)


def check_arch(arch: str) -> tuple[float, float]:
  if arch not in ARCHS:
    raise ValueError(f"unknown EfficientNet arch {arch!r}; expected one of {sorted(ARCHS)}")
  return ARCHS[arch]


def block_plan(arch: str) -> list[tuple[str, StageArgs]]:
  """Every MBConv block of `arch` in order: (Keras name, its args)."""
  width, depth = check_arch(arch)
  plan = []
  for i, stage in enumerate(B0_STAGES):
    filters_in = round_filters(stage.filters_in, width)
    filters_out = round_filters(stage.filters_out, width)
    for j in range(int(math.ceil(depth * stage.repeats))):
      args = dataclasses.replace(
          stage, filters_in=filters_in if j == 0 else filters_out, filters_out=filters_out,
          stride=stage.stride if j == 0 else 1, repeats=1)
      plan.append((f"block{i + 1}{chr(j + 97)}", args))
  return plan


def level_channels(arch: str) -> tuple[int, ...]:
  """Channels of the five levels, e.g. (16, 24, 48, 120, 352) for B2."""
  width, _ = check_arch(arch)
  return tuple(round_filters(B0_STAGES[s - 1].filters_out, width) for s in LEVEL_STAGES)


class MBConv(nn.Module):
  """Inverted residual block with squeeze-excitation (Keras `efficientnet.block`)."""

  def __init__(self, args: StageArgs):
    super().__init__()
    self.args = args
    filters = args.filters_in * args.expand_ratio
    pairs = []
    if args.expand_ratio != 1:
      self.expand_conv = layers.conv(args.filters_in, filters, 1, bias=False)
      self.expand_bn = layers.batch_norm(filters, EPSILON)
      pairs.append(("expand_conv", "expand_bn"))
    self.dwconv = layers.conv(filters, filters, args.kernel_size, stride=args.stride, bias=False,
                              groups=filters)
    self.bn = layers.batch_norm(filters, EPSILON)
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
      x = F.silu(self.expand_bn(self.expand_conv(x)))
    if self.args.stride == 2:
      x = layers.keras_pad(x, self.args.kernel_size)
    x = F.silu(self.bn(self.dwconv(x)))
    se = torch.mean(x, dim=(2, 3), keepdim=True)
    se = torch.sigmoid(self.se_expand(F.silu(self.se_reduce(se))))
    x = self.project_bn(self.project_conv(x * se))
    return x + inputs if self.residual else x


class EfficientNet(nn.Module):
  """EfficientNet encoder returning five pyramid levels.

  Args:
    arch: "efficientnet-b0" ... "efficientnet-b7".
    in_channels: 3 for RGB; 4 for Gaze2Mask-Net's RGB + gaze input.
  """

  def __init__(self, arch: str = "efficientnet-b2", in_channels: int = 3):
    super().__init__()
    width, _ = check_arch(arch)
    self.arch, self.in_channels = arch, in_channels
    extra = in_channels - 3
    self.register_buffer("mean", torch.tensor(IMAGENET_MEAN + (EXTRA_CHANNEL_MEAN,) * extra).reshape(1, -1, 1, 1),
                         persistent=False)
    self.register_buffer("std", torch.tensor(IMAGENET_STD + (EXTRA_CHANNEL_STD,) * extra).reshape(1, -1, 1, 1),
                         persistent=False)
    stem = round_filters(32, width)
    self.stem_conv = layers.conv(in_channels, stem, 3, stride=2, bias=False)
    self.stem_bn = layers.batch_norm(stem, EPSILON)
    self.conv_bn_pairs = (("stem_conv", "stem_bn"),)
    plan = block_plan(arch)
    self.block_names = tuple(name for name, _ in plan)
    for name, args in plan:
      self.add_module(name, MBConv(args))
    last_of_stage = {int(name[5:-1]): name for name in self.block_names}
    self.level_blocks = tuple(last_of_stage[s] for s in LEVEL_STAGES)

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
    x = F.silu(self.stem_bn(self.stem_conv(layers.keras_pad(x, 3))))
    levels = []
    for name in self.block_names:
      x = getattr(self, name)(x)
      if name in self.level_blocks:
        levels.append(x)
    return levels
