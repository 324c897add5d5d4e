"""Imported backbone weights on disk: `DIR/backbone.safetensors` + `DIR/backbone.json`.

`tools/import_backbone.py` writes them; a training config starts an encoder from them
with `config.backbone_init = DIR`. Tensors are stored flat under "/"-joined Flax paths
("params/stem_conv/kernel", "batch_stats/stem_bn/mean", ...) in safetensors, so the
file loads without pickle and from any framework.
"""
from __future__ import annotations

import json
import os
import pathlib

import numpy as np
from safetensors.numpy import load_file, save_file

from wcs_jax.io import trees
from wcs_jax.spec import backbones

WEIGHTS_FILE = "backbone.safetensors"
META_FILE = "backbone.json"
# `--config.backbone_init` value that reads the installed weights package of the arch.
INSTALLED = "installed"


def mismatch_error(header: str, missing: list[str], unexpected: list[str], wrong_shape: list[str]) -> ValueError:
  """One error naming (the first ten of) each kind of tensor that did not fit, under `header`."""
  lines = [header]
  for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
    if items:
      lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:10]) + (" ..." if len(items) > 10 else ""))
  return ValueError("\n".join(lines))


def adapt_in_channels(variables: dict, stem: tuple[str, ...], in_channels: int) -> dict:
  """Widens the stem kernel [k, k, 3, C] to `in_channels` inputs, new channels at zero.

  With zero weights on the extra (gaze) channel, a 4-channel encoder starts out
  computing exactly what the imported RGB encoder computes.
  """
  node = variables["params"]
  for key in stem:
    node = node[key]
  kernel = np.asarray(node["kernel"])
  if kernel.shape[2] > in_channels:
    raise ValueError(f"stem kernel has {kernel.shape[2]} input channels, cannot narrow to {in_channels}")
  pad = np.zeros(kernel.shape[:2] + (in_channels - kernel.shape[2], kernel.shape[3]), kernel.dtype)
  node["kernel"] = np.concatenate([kernel, pad], axis=2)
  return variables


def save_backbone(directory: str | os.PathLike, variables: dict, arch: str, source: str) -> pathlib.Path:
  """Writes an encoder's 3-channel variables and what they are to `directory`."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  flat = {k: np.ascontiguousarray(v, np.float32) for k, v in trees.flatten(variables).items()}
  tmp = directory / (WEIGHTS_FILE + ".tmp")
  save_file(flat, str(tmp), metadata={"arch": arch})
  os.replace(tmp, directory / WEIGHTS_FILE)  # never leave a half-written weights file
  meta = {"arch": arch, "in_channels": int(flat[f"params/{'/'.join(backbones.stem_path(arch))}/kernel"].shape[2]),
          "source": source, "format": "flax variables, '/'-joined paths"}
  (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
  return directory


def load_backbone(directory: str | os.PathLike, in_channels: int = 3, arch: str | None = None) -> dict:
  """Encoder variables {"params", "batch_stats"} from `directory`.

  Args:
    directory: written by `tools/import_backbone.py`.
    in_channels: input channels of the encoder to start; channels beyond the stored
      ones start at zero (Gaze2Mask-Net's gaze channel).
    arch: when given, the stored arch must be this one.
  """
  directory = pathlib.Path(directory)
  weights, meta_path = directory / WEIGHTS_FILE, directory / META_FILE
  for path in (weights, meta_path):
    if not path.is_file():
      raise FileNotFoundError(f"{path} not found: expected a backbone written by "
                              "`python tools/import_backbone.py --arch ARCH ... --output DIR`")
  meta = json.loads(meta_path.read_text())
  if arch is not None and meta["arch"] != arch:
    raise ValueError(f"{directory} holds a {meta['arch']} backbone, but the config asks for {arch}")
  variables = trees.unflatten(load_file(str(weights)))
  variables = adapt_in_channels(variables, backbones.stem_path(meta["arch"]), in_channels)
  return variables
