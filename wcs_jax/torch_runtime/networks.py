"""EG-Net, Gaze2Mask-Net and WCS-Net in PyTorch, built from the same model config as JAX.

Twins of `wcs_jax.models.{egnet,gaze2mask,wcsnet}` (see there for the paper's
equations and the choices the paper leaves open); submodules carry the Flax names, so
`wcs_jax.torch_runtime.convert` maps trained Flax variables onto them one to one.

Tensors are NCHW (kept channels_last in memory by the runtime); images are RGB in
[0, 1], maps [B, 1, H, W] in [0, 1]; every network returns float32 logits at the
input resolution. The model config, its validation and the networks' levels come
from `wcs_jax.spec.networks`, as for JAX; `dtype` and `depthwise_impl` choose how JAX
computes and do not change the function, so they are accepted and ignored here
(PyTorch's precision is `wcs_jax.torch_runtime.runtime`'s `precision`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import torch
from torch import nn

from wcs_jax.spec import backbones
from wcs_jax.spec import networks as spec
from wcs_jax.spec.backbones import level_channels
from wcs_jax.spec.networks import EGNET_LEVELS, GAZE2MASK_LEVELS, HOTSPOT_LEVELS
from wcs_jax.torch_runtime import correlation as corr_ops
from wcs_jax.torch_runtime import decoders
from wcs_jax.torch_runtime import efficientnet
from wcs_jax.torch_runtime import resnet


def build_encoder(arch: str, in_channels: int = 3) -> nn.Module:
  """The encoder `arch` ("efficientnet-b0".."b7", "efficientnet-lite0".."4", "resnet50"/"resnet101"/"resnet152")."""
  backbones.check_arch(arch)
  if arch in backbones.EFFICIENTNET_ARCHS:
    return efficientnet.EfficientNet(arch, in_channels)
  return resnet.ResNet(arch, in_channels)


class EGNet(nn.Module):
  """Eye-gaze network (Eq. 1): image [B, 3, H, W] -> gaze logits [B, 1, H, W]."""

  def __init__(self, backbone: str = "efficientnet-b2", decoder_channels: int = 32):
    super().__init__()
    self.encoder = build_encoder(backbone, 3)
    channels = level_channels(backbone)
    self.decoder = decoders.RefinementDecoder(EGNET_LEVELS, [channels[j - 1] for j in EGNET_LEVELS],
                                              decoder_channels)

  def forward(self, image: torch.Tensor) -> torch.Tensor:
    features = self.encoder(image)
    return self.decoder([features[j - 1] for j in EGNET_LEVELS], (image.shape[2], image.shape[3]))


class Gaze2MaskNet(nn.Module):
  """Gaze-to-mask network (Eq. 2): image [B, 3, H, W], gaze [B, 1, H, W] -> mask logits [B, 1, H, W]."""

  def __init__(self, backbone: str = "efficientnet-b2", decoder_channels: int = 32):
    super().__init__()
    self.encoder = build_encoder(backbone, 4)
    self.decoder = decoders.RefinementDecoder(GAZE2MASK_LEVELS, level_channels(backbone), decoder_channels,
                                              guidance=True)

  def forward(self, image: torch.Tensor, gaze: torch.Tensor) -> torch.Tensor:
    if gaze.shape[0] != image.shape[0] or gaze.shape[1] != 1 or gaze.shape[2:] != image.shape[2:]:
      raise ValueError(f"Gaze2MaskNet expects gaze [B, 1, H, W] matching image {tuple(image.shape)}, "
                       f"got {tuple(gaze.shape)}")
    gaze = gaze.to(image.dtype)
    features = self.encoder(torch.cat([image, gaze], dim=1))
    return self.decoder(features, (image.shape[2], image.shape[3]), guidance=gaze)


@dataclasses.dataclass
class TemplateCode:
  """What a template contributes to every tracked frame, computed once per object.

  Attributes:
    mask: per mask-decoder level, ascending: [B, C_j] pooled vectors ("weighted",
      "concat") or [B, C_j, k, k] kernels ("xcorr"); () when the branch is off.
    hotspot: the same for levels 3 and 4; () when the branch is off.
  """
  mask: tuple[torch.Tensor, ...]
  hotspot: tuple[torch.Tensor, ...]


class WCSNet(nn.Module):
  """The OSHT network (Eq. 3-5) with the ablation switches of Tab. 6.

  Args:
    backbone, decoder_channels, levels, correlation, hotspot_branch, mask_branch: as
      the fields of `wcs_jax.models.wcsnet.WCSNet`.
  """

  def __init__(self, backbone: str = "efficientnet-b2", decoder_channels: int = 32, levels: str = "12345",
               correlation: str = "weighted", hotspot_branch: bool = True, mask_branch: bool = True):
    super().__init__()
    spec.resolve_model_config(dict(backbone=backbone, decoder_channels=decoder_channels, levels=levels,
                                   correlation=correlation, hotspot_branch=hotspot_branch,
                                   mask_branch=mask_branch))
    self.correlation = correlation
    self.mask_levels = spec.parse_levels(levels) if mask_branch else ()
    self.hotspot_levels = HOTSPOT_LEVELS if hotspot_branch else ()
    self.encoder = build_encoder(backbone, 3)
    channels = level_channels(backbone)
    # "concat" doubles the width of C_j: search features then the tiled template vector.
    fused = [c * (2 if correlation == "concat" else 1) for c in channels]
    if mask_branch:
      self.mask_decoder = decoders.RefinementDecoder(self.mask_levels, [fused[j - 1] for j in self.mask_levels],
                                                     decoder_channels)
    if hotspot_branch:
      self.hotspot_decoder = decoders.HotspotDecoder(fused[2] + fused[3], decoder_channels)

  def forward(self, template_image: torch.Tensor, template_mask: torch.Tensor,
              template_hotspot: torch.Tensor, search_image: torch.Tensor) -> dict[str, torch.Tensor]:
    """`track(encode_template(...), search_image)` as a dict {"mask", "hotspot"} of [B, 1, S, S] logits."""
    mask, hotspot = self.track(self.encode_template(template_image, template_mask, template_hotspot),
                               search_image)
    outputs = {}
    if mask is not None:
      outputs["mask"] = mask
    if hotspot is not None:
      outputs["hotspot"] = hotspot
    return outputs

  def encode_template(self, template_image: torch.Tensor, template_mask: torch.Tensor,
                      template_hotspot: torch.Tensor) -> TemplateCode:
    """The template's code `W(f_j^t, R_j(G))` of every level and branch (Eq. 3).

    Args:
      template_image: [B, 3, S, S] RGB in [0, 1].
      template_mask: [B, 1, S, S] mask M^t in [0, 1].
      template_hotspot: [B, 1, S, S] hotspot map E^t in [0, 1].
    """
    for name, g in (("template_mask", template_mask), ("template_hotspot", template_hotspot)):
      if g.ndim != 4 or g.shape[1] != 1 or g.shape[0] != template_image.shape[0]:
        raise ValueError(f"WCSNet expects {name} [B, 1, S, S] for template_image "
                         f"{tuple(template_image.shape)}, got {tuple(g.shape)}")
    features = self.encoder(template_image)
    return TemplateCode(
        mask=tuple(self._template_entry(features[j - 1], template_mask) for j in self.mask_levels),
        hotspot=tuple(self._template_entry(features[j - 1], template_hotspot) for j in self.hotspot_levels))

  def track(self, code: TemplateCode, search_image: torch.Tensor
            ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """One tracked frame: [B, 3, S, S] search crop -> (mask, hotspot) [B, 1, S, S] logits or None."""
    if len(code.mask) != len(self.mask_levels) or len(code.hotspot) != len(self.hotspot_levels):
      raise ValueError(f"TemplateCode with {len(code.mask)} mask and {len(code.hotspot)} hotspot entries "
                       f"does not fit a WCSNet with mask levels {self.mask_levels} and hotspot levels "
                       f"{self.hotspot_levels}")
    features = self.encoder(search_image)
    size = (search_image.shape[2], search_image.shape[3])
    mask = hotspot = None
    if self.mask_levels:
      maps = [self._fuse(entry, features[j - 1]) for entry, j in zip(code.mask, self.mask_levels)]
      mask = self.mask_decoder(maps, size)
    if self.hotspot_levels:
      c3, c4 = (self._fuse(entry, features[j - 1]) for entry, j in zip(code.hotspot, self.hotspot_levels))
      hotspot = self.hotspot_decoder(c3, c4, size)
    return mask, hotspot

  def _template_entry(self, features: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
    if self.correlation == "xcorr":
      return corr_ops.half_template(features)
    return corr_ops.weighted_pool(features, guidance)

  def _fuse(self, entry: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    if self.correlation == "weighted":
      return corr_ops.depthwise_correlation(entry, search)
    if self.correlation == "concat":
      return corr_ops.concat_fusion(entry, search)
    return corr_ops.depthwise_xcorr(search, entry)


def build_network(model_config: Mapping[str, Any] | None, network: str) -> nn.Module:
  """One network from a model config (`config.model`), in evaluation mode.

  Args:
    model_config: fields of `wcs_jax.spec.networks`'s model config; None for defaults.
    network: "egnet", "gaze2mask" or "wcsnet".
  """
  spec.check_network(network)
  c = spec.resolve_model_config(model_config)
  if network == "egnet":
    model = EGNet(c["backbone"], c["decoder_channels"])
  elif network == "gaze2mask":
    model = Gaze2MaskNet(c["backbone"], c["decoder_channels"])
  else:
    model = WCSNet(c["backbone"], c["decoder_channels"], c["levels"], c["correlation"],
                   c["hotspot_branch"], c["mask_branch"])
  return model.eval()
