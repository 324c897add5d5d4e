"""The networks from a config: `config.model` of a `configs/*.py` file.

Model config fields (defaults from `default_model_config`, the paper's choices):

| field | default | meaning |
|---|---|---|
| backbone | "efficientnet-b2" | encoder of all three networks (`encoders.ARCHS`) |
| decoder_channels | 32 | width of every refinement block and of the hotspot Conv2 |
| levels | "12345" | levels of WCS-Net's mask decoder (Tab. 6: 5, 45, 345, 2345, 12345) |
| correlation | "weighted" | "weighted" (Eq. 3), "concat", "xcorr" (Tab. 6) |
| hotspot_branch | True | WCS-Net predicts the hotspot |
| mask_branch | True | WCS-Net predicts the mask |
| dtype | "float32" | computation dtype, "float32" or "bfloat16"; parameters and logits stay float32 |
| depthwise_impl | "auto" | "auto", "grouped" or "shifted" (`wcs_jax.ops.depthwise`) |

decoder_channels: the paper does not give the decoder's width; it does claim real-time
tracking, and the width decides most of a tracked frame's cost. At 320 x 320 with
EfficientNet-B2 (XLA counts, `tools/model_summary.py`) the search encoder costs ~2.9
GFLOP and the correlations and decoders the rest, most of it in the 160 x 160 level-1
block: 7.17 GFLOP per frame at width 64, 4.32 at 32 (Gaze2Mask-Net 6.99 -> 4.27). 32
is the default: it keeps a tracked frame within one Keras EfficientNet-B2 forward pass
on a CPU (`tools/benchmark.py --track`, README "Tracking"), and is still wider than
the one-channel maps the blocks refine; 64 is one flag away for a GPU.

The compute dtype is turned from its config name into a JAX dtype here and nowhere
else; the modules take it as their `dtype` attribute.
"""
from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import ml_collections

from wcs_jax.models import egnet
from wcs_jax.models import encoders
from wcs_jax.models import gaze2mask
from wcs_jax.models import wcsnet

NETWORKS = ("egnet", "gaze2mask", "wcsnet")
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def default_model_config() -> ml_collections.ConfigDict:
  """The paper's model: EfficientNet-B2, five levels, weighted correlation, both branches."""
  return ml_collections.ConfigDict(dict(
      backbone="efficientnet-b2",
      decoder_channels=32,
      levels="12345",
      correlation="weighted",
      hotspot_branch=True,
      mask_branch=True,
      dtype="float32",
      depthwise_impl="auto",
  ))


def compute_dtype(name: str) -> Any:
  """"float32" / "bfloat16" -> the JAX dtype."""
  if name not in DTYPES:
    raise ValueError(f"config.model.dtype must be one of {list(DTYPES)}, got {name!r}")
  return DTYPES[name]


def resolve_model_config(model_config: ml_collections.ConfigDict | dict | None) -> ml_collections.ConfigDict:
  """The defaults overridden by `model_config`'s fields, validated.

  Fields missing from `model_config` take their defaults; fields this module does not
  know (a trainer's own, e.g. pretrained weights) are left out; a bad value raises
  ValueError naming `config.model.<field>`.
  """
  config = default_model_config()
  given = dict(model_config or {})
  config.update({k: v for k, v in given.items() if k in config})
  if config.backbone not in encoders.ARCHS:
    raise ValueError(f"config.model.backbone must be one of {list(encoders.ARCHS)}, got {config.backbone!r}")
  if not isinstance(config.decoder_channels, int) or config.decoder_channels < 1:
    raise ValueError(f"config.model.decoder_channels must be a positive int, got {config.decoder_channels!r}")
  wcsnet.check_ablation(config.levels, config.correlation, config.hotspot_branch, config.mask_branch,
                        where="config.model.")
  compute_dtype(config.dtype)
  if config.depthwise_impl not in ("auto", "grouped", "shifted"):
    raise ValueError(f"config.model.depthwise_impl must be 'auto', 'grouped' or 'shifted', "
                     f"got {config.depthwise_impl!r}")
  return config


def from_config(model_config: ml_collections.ConfigDict | dict | None, network: str):
  """Builds one network.

  Args:
    model_config: `config.model` (see the module docstring); None for the defaults.
    network: "egnet", "gaze2mask" or "wcsnet".

  Returns:
    An unbound Flax module (`EGNet`, `Gaze2MaskNet` or `WCSNet`).
  """
  if network not in NETWORKS:
    raise ValueError(f"network must be one of {list(NETWORKS)}, got {network!r}")
  c = resolve_model_config(model_config)
  common = dict(backbone=c.backbone, decoder_channels=c.decoder_channels,
                dtype=compute_dtype(c.dtype), depthwise_impl=c.depthwise_impl)
  if network == "egnet":
    return egnet.EGNet(**common)
  if network == "gaze2mask":
    return gaze2mask.Gaze2MaskNet(**common)
  return wcsnet.WCSNet(levels=c.levels, correlation=c.correlation, hotspot_branch=c.hotspot_branch,
                       mask_branch=c.mask_branch, **common)
