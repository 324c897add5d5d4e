"""Flax variables -> PyTorch state dict of the twin network (numpy only, no JAX needed).

The PyTorch networks carry the Flax submodule names, so the mapping is mechanical and
driven by the PyTorch model: for each of its layers at dotted path `a.b.c`, the Flax
leaves under `a/b/c` are

| PyTorch | Flax | layout |
|---|---|---|
| `Conv2d.weight` | `params/.../kernel` | HWIO -> OIHW (depth-wise `[k, k, 1, C]` -> `[C, 1, k, k]`) |
| `Conv2d.bias` | `params/.../bias` | as is |
| `BatchNorm2d.weight`, `.bias` | `params/.../scale`, `params/.../bias` | as is |
| `BatchNorm2d.running_mean`, `.running_var` | `batch_stats/.../mean`, `batch_stats/.../var` | as is |

Every Flax leaf must be used and every PyTorch tensor filled, otherwise
`VariablesMismatchError` names the leaves in question. `export_flax_variables` writes a
whole export directory (`wcs_jax.torch_runtime.export`) from Flax variables.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from torch import nn

from wcs_jax.io import trees
from wcs_jax.torch_runtime import export
from wcs_jax.torch_runtime import networks


class VariablesMismatchError(ValueError):
  """Flax variables that do not fit a PyTorch network, with every offending name."""


def state_dict_from_flax(model: nn.Module, variables: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """The float32 state dict of `model` (batch norm unfolded) from Flax variables.

  Args:
    model: a network of `wcs_jax.torch_runtime.networks` built from the same model
      config as the Flax network.
    variables: {"params", "batch_stats"} of that Flax network (nested dicts of arrays).

  Returns:
    {PyTorch state-dict key: float32 array}, without batch norm's `num_batches_tracked`.

  Raises:
    VariablesMismatchError: naming the PyTorch tensors with no Flax leaf, the Flax
      leaves no PyTorch tensor uses, and those whose shapes disagree.
  """
  flat = {path: np.asarray(value) for path, value in trees.flatten(variables).items()}
  out, missing, wrong_shape, used = {}, [], [], set()
  for path, module in model.named_modules():
    if isinstance(module, nn.Conv2d):
      sources = {"weight": ("params", "kernel"), "bias": ("params", "bias")}
    elif isinstance(module, nn.BatchNorm2d):
      sources = {"weight": ("params", "scale"), "bias": ("params", "bias"),
                 "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}
    else:
      continue
    tensors = dict(module.named_parameters(recurse=False)) | dict(module.named_buffers(recurse=False))
    for name, (collection, leaf) in sources.items():
      if name not in tensors or tensors[name] is None:
        continue
      key = f"{path}.{name}"
      flax_path = "/".join([collection] + path.split(".") + [leaf])
      if flax_path not in flat:
        missing.append(f"{key} (Flax {flax_path})")
        continue
      used.add(flax_path)
      value = flat[flax_path].astype(np.float32)
      if name == "weight" and isinstance(module, nn.Conv2d) and value.ndim == 4:
        value = value.transpose(3, 2, 0, 1)
      if tuple(value.shape) != tuple(tensors[name].shape):
        wrong_shape.append(f"{key}: Flax {flax_path} gives {tuple(value.shape)}, "
                           f"expected {tuple(tensors[name].shape)}")
        continue
      out[key] = np.ascontiguousarray(value)
  unexpected = sorted(set(flat) - used)
  if missing or unexpected or wrong_shape:
    raise VariablesMismatchError(_describe(type(model).__name__, missing, unexpected, wrong_shape))
  return out


def export_flax_variables(directory, variables: Mapping[str, Any], model_configs: Mapping[str, Any],
                          source: Mapping[str, Any] | None = None) -> dict[str, dict[str, np.ndarray]]:
  """Converts Flax networks and writes them as an export directory.

  Args:
    directory: the export directory (created).
    variables: {network: {"params", "batch_stats"}} for some of "egnet", "gaze2mask",
      "wcsnet".
    model_configs: {network: model config (a mapping)} for the same networks.
    source: provenance kept in config.json; its "training_config" (a dict with at
      least `input.image_size`) is what the tracker's PyTorch backend reads.

  Returns:
    {network: PyTorch state dict} as written.

  Raises:
    VariablesMismatchError: naming the network and its mismatched tensors.
  """
  state_dicts = {}
  for name, tree in variables.items():
    try:
      state_dicts[name] = state_dict_from_flax(networks.build_network(dict(model_configs[name]), name), tree)
    except VariablesMismatchError as error:
      raise VariablesMismatchError(f"network {name}: {error}") from error
  export.save_export(directory, state_dicts, {name: dict(model_configs[name]) for name in variables}, source)
  return state_dicts


def _describe(what: str, missing: list[str], unexpected: list[str], wrong_shape: list[str]) -> str:
  lines = [f"Flax variables do not fit the PyTorch {what}:"]
  for title, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
    if names:
      lines.append(f"  {title} ({len(names)}): " + "; ".join(names[:20]) + (" ..." if len(names) > 20 else ""))
  return "\n".join(lines)
