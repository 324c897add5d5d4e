"""Gaze2Mask-Net: turns the first frame and its gaze map into the object mask
(paper Sec. 3.1, Eq. 2).

The encoder takes the 4-channel input Cat(RGB, E); the decoder has five revised
refinement blocks, `O_j = Conv2(Cat(f_j, Up(O_{j+1}), R_j(E))) + Up(O_{j+1})`, that see
the gaze map again, resized to each level; O_1, made a one-channel logit map and
upsampled to the input resolution, is the mask M. At training time E is EG-Net's
prediction restricted to one ground-truth instance (PASCAL VOC / SBD); at interactive
use it is a map made from a user's click or box, one object per pass.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.models import encoders
from wcs_jax.models import refine
from wcs_jax.ops import depthwise
from wcs_jax.spec.networks import GAZE2MASK_LEVELS


class Gaze2MaskNet(nn.Module):
  """Gaze-to-mask network (Eq. 2).

  Attributes:
    backbone: encoder architecture (see `wcs_jax.spec.backbones.ARCHS`), built with
      four input channels.
    decoder_channels: width of the refinement blocks.
    dtype: computation dtype (parameters float32, logits float32).
    depthwise_impl: formulation of the encoder's depth-wise convolutions.
  """
  backbone: str = "efficientnet-b2"
  decoder_channels: int = 32
  dtype: Any = jnp.float32
  depthwise_impl: depthwise.Implementation = "auto"

  @nn.compact
  def __call__(self, image: jax.Array, gaze: jax.Array, train: bool = False) -> jax.Array:
    """Predicts mask logits.

    Args:
      image: [B, H, W, 3] RGB in [0, 1].
      gaze: [B, H, W, 1] gaze (or click/box) map E in [0, 1].
      train: batch statistics and drop-connect in the encoder when True.

    Returns:
      [B, H, W, 1] float32 mask logits.
    """
    if gaze.shape[:3] != image.shape[:3] or gaze.shape[-1] != 1:
      raise ValueError(f"Gaze2MaskNet expects gaze [B, H, W, 1] matching image {image.shape}, "
                       f"got {gaze.shape}")
    x = jnp.concatenate([image, gaze.astype(image.dtype)], axis=-1)
    features = encoders.build_encoder(self.backbone, 4, self.depthwise_impl, self.dtype,
                                      name="encoder")(x, train=train)
    decoder = refine.RefinementDecoder(GAZE2MASK_LEVELS, self.decoder_channels, self.dtype, name="decoder")
    return decoder(features, image.shape[1:3], guidance=gaze)
