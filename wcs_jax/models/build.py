"""The Flax networks from a model config (`config.model`, fields in `wcs_jax.spec.networks`).

The compute dtype is turned from its config name into a JAX dtype here and nowhere
else; the modules take it as their `dtype` attribute.
"""
from __future__ import annotations

from typing import Any, Mapping

import jax.numpy as jnp

from wcs_jax.models import egnet
from wcs_jax.models import gaze2mask
from wcs_jax.models import wcsnet
from wcs_jax.spec import networks

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(name: str) -> Any:
  """"float32" / "bfloat16" -> the JAX dtype."""
  if name not in _DTYPES:
    raise ValueError(f"config.model.dtype must be one of {list(_DTYPES)}, got {name!r}")
  return _DTYPES[name]


def from_config(model_config: Mapping[str, Any] | None, network: str):
  """Builds one network.

  Args:
    model_config: `config.model` (`wcs_jax.spec.networks`); None for the defaults.
    network: "egnet", "gaze2mask" or "wcsnet".

  Returns:
    An unbound Flax module (`EGNet`, `Gaze2MaskNet` or `WCSNet`).
  """
  networks.check_network(network)
  c = networks.resolve_model_config(model_config)
  common = dict(backbone=c["backbone"], decoder_channels=c["decoder_channels"],
                dtype=compute_dtype(c["dtype"]), depthwise_impl=c["depthwise_impl"])
  if network == "egnet":
    return egnet.EGNet(**common)
  if network == "gaze2mask":
    return gaze2mask.Gaze2MaskNet(**common)
  return wcsnet.WCSNet(levels=c["levels"], correlation=c["correlation"], hotspot_branch=c["hotspot_branch"],
                       mask_branch=c["mask_branch"], **common)
