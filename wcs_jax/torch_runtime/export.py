"""The PyTorch export directory: `DIR/wcsnet.safetensors` and `DIR/config.json`.

`DIR/wcsnet.safetensors` holds the float32 weights of every exported network in one
safetensors file (no pickle), each tensor under `<network>.<PyTorch state-dict key>`,
e.g. `wcsnet.encoder.block2a.dwconv.weight` or `egnet.decoder.head.bias`. Batch norm
is stored UNFOLDED (`....expand_bn.running_var` and so on, exactly the trained
values): the file stays a faithful record of the checkpoint and the mismatch check
below can name every tensor. The runtime folds batch norm into the convolutions when
it loads (`load_networks(..., fold_batch_norm=True)`, the default).

`DIR/config.json`:

    {"format": "wcs_jax.torch_runtime/1",
     "networks": {"egnet": {model config}, "gaze2mask": {...}, "wcsnet": {...}},
     "source": {"workdir": ..., "step": ...}, ...}

with one model config (the fields of `config.model`) per exported network; a network
the run never trained is absent from both files.
"""
from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Mapping

import numpy as np
import torch
from safetensors.numpy import save_file
from safetensors.torch import load_file
from torch import nn

from wcs_jax.spec import networks as spec
from wcs_jax.torch_runtime import layers
from wcs_jax.torch_runtime import networks

WEIGHTS_FILE = "wcsnet.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "wcs_jax.torch_runtime/1"


class WeightsMismatchError(ValueError):
  """A weights file that does not fit the networks its config describes."""


def save_export(directory: str | os.PathLike, state_dicts: Mapping[str, Mapping[str, np.ndarray]],
                model_configs: Mapping[str, Mapping[str, Any]], source: Mapping[str, Any] | None = None
                ) -> pathlib.Path:
  """Writes DIR/wcsnet.safetensors and DIR/config.json.

  Args:
    directory: created if needed.
    state_dicts: {network: state dict of float32 arrays} (`convert.state_dict_from_flax`).
    model_configs: {network: model config} for the same networks.
    source: where the weights come from (workdir, step), kept in config.json.

  Returns:
    The directory.
  """
  if set(state_dicts) != set(model_configs):
    raise ValueError(f"state dicts for {sorted(state_dicts)} but model configs for {sorted(model_configs)}")
  for name in state_dicts:
    if name not in spec.NETWORKS:
      raise ValueError(f"unknown network {name!r}; expected some of {list(spec.NETWORKS)}")
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  flat = {f"{name}.{key}": np.ascontiguousarray(value, np.float32)
          for name, sd in state_dicts.items() for key, value in sd.items()}
  tmp = directory / (WEIGHTS_FILE + ".tmp")
  save_file(flat, str(tmp), metadata={"format": FORMAT})
  os.replace(tmp, directory / WEIGHTS_FILE)  # never leave a half-written weights file
  config = {"format": FORMAT,
            "networks": {name: spec.resolve_model_config(model_configs[name]) for name in state_dicts},
            "batch_norm": "unfolded (folded into the convolutions at load time)",
            "tensor_names": "<network>.<PyTorch state-dict key>, float32, NCHW/OIHW",
            "source": dict(source or {})}
  (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
  return directory


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
  """DIR/config.json, checked to be an export of this format."""
  path = pathlib.Path(directory) / CONFIG_FILE
  if not path.is_file():
    raise FileNotFoundError(f"{path} not found: expected a directory written by "
                            "`python tools/convert_to_torch.py --workdir RUN --output DIR`")
  config = json.loads(path.read_text())
  if config.get("format") != FORMAT or not isinstance(config.get("networks"), dict):
    raise ValueError(f"{path} is not a {FORMAT} export config (format {config.get('format')!r})")
  return config


def check_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], where: str) -> None:
  """Raises WeightsMismatchError naming missing, unexpected and wrongly shaped tensors.

  Args:
    model: the network built from the config (unfolded batch norm).
    state_dict: the tensors read for it (keys without the network prefix).
    where: what to call the weights in the message (file and network).
  """
  expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
  missing = sorted(set(expected) - set(state_dict))
  unexpected = sorted(set(state_dict) - set(expected))
  wrong = sorted(f"{k}: file {tuple(state_dict[k].shape)}, config expects {expected[k]}"
                 for k in set(expected) & set(state_dict) if tuple(state_dict[k].shape) != expected[k])
  if missing or unexpected or wrong:
    lines = [f"{where} does not match the network its config describes:"]
    for title, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
      if names:
        lines.append(f"  {title} ({len(names)}): " + "; ".join(names[:20]) + (" ..." if len(names) > 20 else ""))
    raise WeightsMismatchError("\n".join(lines))


def load_networks(directory: str | os.PathLike, *, fold_batch_norm: bool = True,
                  channels_last: bool = True) -> dict[str, nn.Module]:
  """The exported networks, weights loaded, in evaluation mode.

  Args:
    directory: an export directory (see the module docstring).
    fold_batch_norm: fold every batch norm into its convolution (faster; outputs move
      by float32 rounding, ~1e-7 relative).
    channels_last: keep the weights channels_last in memory (inputs should be too).

  Returns:
    {network: module} for every network of the export.

  Raises:
    WeightsMismatchError: the weights do not fit the config, naming the tensors.
  """
  directory = pathlib.Path(directory)
  config = read_config(directory)
  path = directory / WEIGHTS_FILE
  if not path.is_file():
    raise FileNotFoundError(f"{path} not found: expected the weights beside {directory / CONFIG_FILE}")
  tensors = load_file(str(path))
  prefixes = {key.split(".", 1)[0] for key in tensors}
  stray = sorted(prefixes - set(config["networks"]))
  if stray:
    raise WeightsMismatchError(f"{path} holds tensors of networks {stray} that {directory / CONFIG_FILE} "
                               f"does not describe (it describes {sorted(config['networks'])})")
  out = {}
  for name, model_config in config["networks"].items():
    model = networks.build_network(model_config, name)
    state = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
    check_state_dict(model, state, f"{path} (network {name!r})")
    model.load_state_dict(state, strict=False)
    if fold_batch_norm:
      layers.fold_batch_norms(model)
    if channels_last:
      model = model.to(memory_format=torch.channels_last)
    out[name] = model.eval()
  return out
