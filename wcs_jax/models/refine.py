"""The residual refinement block of Eq. 1, 2 and 4 and the top-down decoder made of it.

One block covers the three forms of the paper:
- Eq. 1 (EG-Net) and Eq. 4 (WCS-Net mask decoder):
  `O_j = Conv2(Cat(x_j, Up(O_{j+1}))) + Up(O_{j+1})`,
  with x_j the encoder features f_j (Eq. 1) or the correlation map C_j^M (Eq. 4);
- Eq. 2 (Gaze2Mask-Net): `O_j = Conv2(Cat(f_j, Up(O_{j+1}), R_j(E))) + Up(O_{j+1})`,
  the gaze map E resized to level j as an extra input;
- the coarsest block of each decoder has no `Up(O_{j+1})` term.

Choices where the paper is silent, made once here for all three networks:
- `Conv2` is a 3x3 convolution, a ReLU, then a 1x1 convolution, both with bias and no
  normalisation. The ReLU is what makes the pair more than one linear filter; no
  batch norm, because the decoders are small and trained at batches of 10-32.
- Every O_j has `channels` feature maps (the residual sum needs equal widths); a 1x1
  convolution (`head`) turns the finest O_j into one logit channel, which is
  bilinearly upsampled to the input resolution ("the map" of the paper is sigmoid of it).
- `Up` is a bilinear resize, `R_j` an area-average resize, to the level's size
  (`wcs_jax.ops.resize`).
- Initialisation: the decoder convolutions use He initialisation over their fan-in
  (variance 2 / (k * k * C_in), the ReLU-preserving scale of the forward pass), and a
  convolution that produces logits (`head`, the hotspot Conv2's 1x1) starts at zero,
  so every map starts at sigmoid(0) = 0.5 and the first steps train the decoder
  instead of undoing saturated logits. (The encoders' Keras fan-out initialisation
  gives a 1-channel 1x1 convolution weights of variance 2: logits of std ~50 at
  initialisation, and a from-scratch smoke run spent most of its steps there.)
- Biases start at zero.
"""
from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.ops import resize


decoder_kernel_init = nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
"""He initialisation over the fan-in, for every decoder convolution but the logit ones."""
logit_kernel_init = nn.initializers.zeros_init()
"""Initialisation of a convolution that produces logits: zero (see the module docstring)."""


class Conv2(nn.Module):
  """`Conv2` of the paper: a 3x3 convolution, ReLU, a 1x1 convolution.

  Attributes:
    features: output channels (of the 1x1 convolution).
    hidden: channels of the 3x3 convolution.
    logits: the 1x1 convolution produces logits (zero initialisation).
    dtype: computation dtype (parameters stay float32).
  """
  features: int
  hidden: int
  logits: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """[B, h, w, C] -> [B, h, w, features]."""
    x = nn.Conv(self.hidden, (3, 3), padding="SAME", kernel_init=decoder_kernel_init, dtype=self.dtype,
                name="conv3x3")(x)
    x = nn.relu(x)
    out_init = logit_kernel_init if self.logits else decoder_kernel_init
    return nn.Conv(self.features, (1, 1), kernel_init=out_init, dtype=self.dtype, name="conv1x1")(x)


class RefineBlock(nn.Module):
  """One residual refinement block (Eq. 1, 2, 4; see the module docstring).

  Attributes:
    channels: width of O_j.
    dtype: computation dtype.
  """
  channels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, previous: jax.Array | None = None,
               guidance: jax.Array | None = None) -> jax.Array:
    """Computes O_j.

    Args:
      x: [B, h, w, C] features of level j (f_j or C_j).
      previous: [B, h', w', channels] O_{j+1}, or None at the coarsest level.
      guidance: [B, H, W, 1] map resized into the block (E for Eq. 2), or None.

    Returns:
      [B, h, w, channels] O_j.
    """
    x = x.astype(self.dtype)
    parts = [x]
    up = None
    if previous is not None:
      up = resize.resize_like(previous.astype(self.dtype), x)
      parts.append(up)
    if guidance is not None:
      parts.append(resize.resize_area(guidance, x.shape[1:3]).astype(self.dtype))
    out = Conv2(self.channels, self.channels, dtype=self.dtype, name="conv2")(jnp.concatenate(parts, axis=-1))
    return out if up is None else out + up


class RefinementDecoder(nn.Module):
  """Top-down stack of refine blocks from the coarsest to the finest given level.

  Attributes:
    levels: the levels j it decodes, ascending (e.g. (3, 4, 5) for EG-Net); the blocks
      are named `refine{j}`.
    channels: width of every O_j.
    dtype: computation dtype; the logits come back float32.
  """
  levels: Sequence[int]
  channels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, features: Sequence[jax.Array], out_size: tuple[int, int],
               guidance: jax.Array | None = None) -> jax.Array:
    """Decodes a feature pyramid into one map.

    Args:
      features: one [B, h_j, w_j, C_j] map per entry of `levels`, same order.
      out_size: (H, W) of the logits, the input resolution.
      guidance: [B, H, W, 1] map fed into every block (Eq. 2), or None (Eq. 1, 4).

    Returns:
      [B, H, W, 1] float32 logits: `head(O_{min(levels)})` upsampled.
    """
    if len(features) != len(self.levels):
      raise ValueError(f"RefinementDecoder over levels {tuple(self.levels)} got {len(features)} maps")
    out = None
    for level, x in sorted(zip(self.levels, features), key=lambda p: -p[0]):
      out = RefineBlock(self.channels, self.dtype, name=f"refine{level}")(x, out, guidance)
    logits = nn.Conv(1, (1, 1), kernel_init=logit_kernel_init, dtype=self.dtype, name="head")(out)
    return resize.logits_to_size(logits, out_size)
