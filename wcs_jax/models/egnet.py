"""EG-Net: predicts the eye-gaze map E of the first frame (paper Sec. 3.1, Eq. 1).

An encoder (EfficientNet by default) on the frame; a decoder of three residual
refinement blocks over levels 3, 4 and 5 (strides 8, 16, 32),
`O_j = Conv2(Cat(f_j, Up(O_{j+1}))) + Up(O_{j+1})` (no Up term at j = 5); O_3, made a
one-channel logit map and upsampled to the input resolution, is E. Trained on SALICON
with a cross entropy against the ground-truth gaze map.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.models import encoders
from wcs_jax.models import refine
from wcs_jax.ops import depthwise
from wcs_jax.spec.networks import EGNET_LEVELS


class EGNet(nn.Module):
  """Eye-gaze network (Eq. 1).

  Attributes:
    backbone: encoder architecture (see `wcs_jax.spec.backbones.ARCHS`).
    decoder_channels: width of the refinement blocks.
    dtype: computation dtype (parameters float32, logits float32).
    depthwise_impl: formulation of the encoder's depth-wise convolutions.
  """
  backbone: str = "efficientnet-b2"
  decoder_channels: int = 32
  dtype: Any = jnp.float32
  depthwise_impl: depthwise.Implementation = "auto"

  @nn.compact
  def __call__(self, image: jax.Array, train: bool = False) -> jax.Array:
    """Predicts gaze logits.

    Args:
      image: [B, H, W, 3] RGB in [0, 1].
      train: batch statistics and drop-connect in the encoder when True.

    Returns:
      [B, H, W, 1] float32 gaze logits (sigmoid gives E in [0, 1]).
    """
    features = encoders.build_encoder(self.backbone, 3, self.depthwise_impl, self.dtype,
                                      name="encoder")(image, train=train)
    decoder = refine.RefinementDecoder(EGNET_LEVELS, self.decoder_channels, self.dtype, name="decoder")
    return decoder([features[j - 1] for j in EGNET_LEVELS], image.shape[1:3])
