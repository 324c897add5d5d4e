"""WCS-Net: object segmentation and hotspot tracking (paper Sec. 3.2, Eq. 3-5).

A siamese encoder (one set of weights) encodes the template crop (centred on the
target) and the search crop (centred on its last position). For each level j the
weighted correlation block (Eq. 3, `wcs_jax.ops.correlation`) pools the template
features under a guidance map into one vector and correlates it depth-wise with the
search features:
- mask branch, G = the template's mask M^t, levels `levels` (all five by default):
  `C_j^M`, decoded top-down by refinement blocks (Eq. 4, `wcs_jax.models.refine`),
  `O_j = Conv2(Cat(C_j^M, Up(O_{j+1}))) + Up(O_{j+1})`; O_1 is the mask;
- hotspot branch, G = the template's hotspot (gaze) map E^t, levels 3 and 4:
  `H = Conv2(Cat(C_3^H, Up(C_4^H)))` (Eq. 5).
Both outputs are logits upsampled to the input resolution.

Real-time use: the template's contribution (`TemplateCode`, the pooled vectors) is
computed once per object by `encode_template`; `track` runs the encoder on a search
crop, the correlations and the decoders. `WCSNet.__call__` is exactly
`track(encode_template(...), search)`.

Ablations of the paper's Tab. 6, each a field:
- `levels`: "5", "45", "345", "2345" or "12345", the levels the mask decoder uses
  (the finest one's O_j becomes the mask). The hotspot decoder keeps levels 3 and 4
  (Eq. 5 defines it on them), so the ablation measures the mask decoder alone.
- `correlation`: "weighted" (Eq. 3); "concat", no weighted correlation: the pooled
  vector is concatenated with the search features instead of multiplied into them;
  "xcorr", no weighted pooling: the central half of the template feature map is
  slid over the search features as a depth-wise kernel (SiamMask), guidance unused,
  so both branches correlate the same kernels at levels 3 and 4 (each branch keeps its
  own copy in the `TemplateCode`, the price of one code layout for every variant).
  See `wcs_jax.ops.correlation` for the exact definitions.
- `hotspot_branch`, `mask_branch`: either may be switched off (not both); the
  corresponding output key is then absent. With the mask branch off, the encoder
  still computes level 5 (it is on its way), but nothing uses it.
- `backbone`: any encoder of `wcs_jax.spec.backbones` (EfficientNet-B0..B7, ResNet).

Batch norm when training: template and search go through the encoder in two calls,
each normalised by its own batch statistics, and the running averages are updated
by both (as a siamese network written with one module called twice would in any
framework); evaluation uses the running averages, so examples stay independent.
"""
from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp

from wcs_jax.models import encoders
from wcs_jax.models import refine
from wcs_jax.ops import correlation as corr_ops
from wcs_jax.ops import depthwise
from wcs_jax.ops import resize
from wcs_jax.spec.networks import HOTSPOT_LEVELS, check_ablation, parse_levels


@flax.struct.dataclass
class TemplateCode:
  """What a template contributes to every tracked frame, computed once per object.

  Entries per level, ascending: for correlation "weighted" and "concat" the pooled
  vector [B, C_j]; for "xcorr" the half-size template kernel [B, k_j, k_j, C_j].

  Attributes:
    mask: one entry per level of the mask decoder (`levels`); () if the branch is off.
    hotspot: entries for levels 3 and 4; () if the hotspot branch is off.
  """
  mask: tuple[jax.Array, ...]
  hotspot: tuple[jax.Array, ...]


class HotspotDecoder(nn.Module):
  """Eq. 5: `H = Conv2(Cat(C_3^H, Up(C_4^H)))`, the 1x1 convolution giving one logit.

  Attributes:
    channels: width of Conv2's 3x3 convolution.
    dtype: computation dtype; logits come back float32.
  """
  channels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, c3: jax.Array, c4: jax.Array, out_size: tuple[int, int]) -> jax.Array:
    """[B, h3, w3, C], [B, h4, w4, C'] -> [B, H, W, 1] float32 hotspot logits."""
    c3 = c3.astype(self.dtype)
    x = jnp.concatenate([c3, resize.resize_like(c4.astype(self.dtype), c3)], axis=-1)
    logits = refine.Conv2(1, self.channels, logits=True, dtype=self.dtype, name="conv2")(x)
    return resize.logits_to_size(logits, out_size)


class WCSNet(nn.Module):
  """The OSHT network (see the module docstring for the ablation fields).

  Attributes:
    backbone: encoder architecture, shared by template and search.
    decoder_channels: width of the refinement blocks and of the hotspot Conv2.
    levels: levels of the mask decoder, one of `wcs_jax.spec.networks.LEVEL_CHOICES`.
    correlation: "weighted", "concat" or "xcorr".
    hotspot_branch: predict the hotspot.
    mask_branch: predict the mask.
    dtype: computation dtype (parameters float32, logits float32).
    depthwise_impl: formulation of the encoder's depth-wise convolutions.
  """
  backbone: str = "efficientnet-b2"
  decoder_channels: int = 32
  levels: str = "12345"
  correlation: str = "weighted"
  hotspot_branch: bool = True
  mask_branch: bool = True
  dtype: Any = jnp.float32
  depthwise_impl: depthwise.Implementation = "auto"

  def setup(self):
    check_ablation(self.levels, self.correlation, self.hotspot_branch, self.mask_branch, where="WCSNet.")
    self.encoder = encoders.build_encoder(self.backbone, 3, self.depthwise_impl, self.dtype)
    if self.mask_branch:
      self.mask_decoder = refine.RefinementDecoder(parse_levels(self.levels), self.decoder_channels,
                                                   self.dtype)
    if self.hotspot_branch:
      self.hotspot_decoder = HotspotDecoder(self.decoder_channels, self.dtype)

  def __call__(self, template_image: jax.Array, template_mask: jax.Array,
               template_hotspot: jax.Array, search_image: jax.Array,
               train: bool = False) -> dict[str, jax.Array]:
    """Segments the template's object and its hotspot in the search crop.

    Args:
      template_image: [B, S, S, 3] RGB in [0, 1].
      template_mask: [B, S, S, 1] object mask M^t in [0, 1] (guidance of the mask branch).
      template_hotspot: [B, S, S, 1] hotspot/gaze map E^t in [0, 1] (guidance of the
        hotspot branch).
      search_image: [B, S', S', 3] RGB in [0, 1].
      train: batch statistics and drop-connect in the encoder when True.

    Returns:
      {"mask": [B, S', S', 1], "hotspot": [B, S', S', 1]} float32 logits; a key is
      absent when its branch is off.
    """
    code = self.encode_template(template_image, template_mask, template_hotspot, train)
    mask, hotspot = self.track(code, search_image, train)
    outputs = {}
    if mask is not None:
      outputs["mask"] = mask
    if hotspot is not None:
      outputs["hotspot"] = hotspot
    return outputs

  def encode_template(self, template_image: jax.Array, template_mask: jax.Array,
                      template_hotspot: jax.Array, train: bool = False) -> TemplateCode:
    """The template's code: `W(f_j^t, R_j(G))` of every level and branch (Eq. 3).

    Args:
      template_image: [B, S, S, 3] RGB in [0, 1].
      template_mask: [B, S, S, 1] in [0, 1].
      template_hotspot: [B, S, S, 1] in [0, 1].
      train: encoder in training mode.

    Returns:
      A `TemplateCode`.
    """
    for name, g in (("template_mask", template_mask), ("template_hotspot", template_hotspot)):
      if g.ndim != 4 or g.shape[-1] != 1 or g.shape[0] != template_image.shape[0]:
        raise ValueError(f"WCSNet expects {name} [B, S, S, 1] for template_image "
                         f"{template_image.shape}, got {g.shape}")
    features = self.encoder(template_image, train=train)
    mask = hotspot = ()
    if self.mask_branch:
      mask = tuple(self._template_entry(features[j - 1], template_mask)
                   for j in parse_levels(self.levels))
    if self.hotspot_branch:
      hotspot = tuple(self._template_entry(features[j - 1], template_hotspot) for j in HOTSPOT_LEVELS)
    return TemplateCode(mask=mask, hotspot=hotspot)

  def track(self, code: TemplateCode, search_image: jax.Array,
            train: bool = False) -> tuple[jax.Array | None, jax.Array | None]:
    """One tracked frame: search encoder, correlations (Eq. 3), decoders (Eq. 4, 5).

    Args:
      code: the `TemplateCode` of the object (from `encode_template`).
      search_image: [B, S, S, 3] RGB in [0, 1].
      train: encoder in training mode.

    Returns:
      (mask_logits, hotspot_logits), each [B, S, S, 1] float32, None for a branch
      that is off.
    """
    mask_levels = parse_levels(self.levels) if self.mask_branch else ()
    hotspot_levels = HOTSPOT_LEVELS if self.hotspot_branch else ()
    if len(code.mask) != len(mask_levels) or len(code.hotspot) != len(hotspot_levels):
      raise ValueError(f"TemplateCode with {len(code.mask)} mask and {len(code.hotspot)} hotspot "
                       f"entries does not fit a WCSNet with mask levels {mask_levels} and hotspot "
                       f"levels {hotspot_levels}")
    features = self.encoder(search_image, train=train)
    size = search_image.shape[1:3]
    mask = hotspot = None
    if self.mask_branch:
      maps = [self._fuse(entry, features[j - 1]) for entry, j in zip(code.mask, mask_levels)]
      mask = self.mask_decoder(maps, size)
    if self.hotspot_branch:
      c3, c4 = (self._fuse(entry, features[j - 1]) for entry, j in zip(code.hotspot, hotspot_levels))
      hotspot = self.hotspot_decoder(c3, c4, size)
    return mask, hotspot

  def _template_entry(self, features: jax.Array, guidance: jax.Array) -> jax.Array:
    """[B, h, w, C] template features -> [B, C] pooled vector or [B, k, k, C] kernel."""
    if self.correlation == "xcorr":
      return corr_ops.half_template_batched(features)
    return corr_ops.weighted_pool_batched(features, guidance)

  def _fuse(self, entry: jax.Array, search: jax.Array) -> jax.Array:
    """Template entry with [B, h, w, C] search features -> C_j [B, h, w, C or 2C]."""
    if self.correlation == "weighted":
      return corr_ops.depthwise_correlation_batched(entry, search)
    if self.correlation == "concat":
      return corr_ops.concat_fusion_batched(entry, search)
    return corr_ops.depthwise_xcorr_batched(search, entry)


@functools.partial(jax.jit, static_argnums=0)
def encode_template(model: WCSNet, variables: Any, template_image: jax.Array,
                    template_mask: jax.Array, template_hotspot: jax.Array) -> TemplateCode:
  """Jitted `WCSNet.encode_template` in evaluation mode (once per tracked object).

  Args:
    model: the `WCSNet` (static: one compilation per architecture and input shape).
    variables: {"params", "batch_stats"}.
    template_image: [B, S, S, 3]; template_mask, template_hotspot: [B, S, S, 1].
  """
  return model.apply(variables, template_image, template_mask, template_hotspot,
                     method=WCSNet.encode_template)


@functools.partial(jax.jit, static_argnums=0)
def track(model: WCSNet, variables: Any, code: TemplateCode,
          search_image: jax.Array) -> tuple[jax.Array | None, jax.Array | None]:
  """Jitted `WCSNet.track` in evaluation mode (every frame).

  Args:
    model: the `WCSNet` (static).
    variables: {"params", "batch_stats"}.
    code: the object's `TemplateCode`.
    search_image: [B, S, S, 3].

  Returns:
    (mask_logits, hotspot_logits) [B, S, S, 1] float32, None for a branch that is off.
  """
  return model.apply(variables, code, search_image, method=WCSNet.track)
