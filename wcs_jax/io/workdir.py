"""A training run's directory, the format every tool reads with only `--workdir`.

    DIR/config.json         the run's full config (ml_collections, JSON)
    DIR/networks.json       {network: model config} of every network the checkpoints hold
    DIR/checkpoints/<step>/ Orbax checkpoints of the whole `TrainState` (step, params,
                            batch_stats, opt_state, frozen), the last `keep` of them
                            (written by `wcs_jax.training.checkpointing.Checkpointer`)
    DIR/metrics.jsonl       one JSON object per logged step
    DIR/tensorboard/        TensorBoard event files

A chain of stages run by one config (`configs/smoke.py`) writes each stage into a
subfolder and `DIR/chain.json` = {"stages": [subfolder, ...]} in training order.

What inference needs. The `frozen` part of a state carries the networks a stage
does not train (Gaze2Mask-Net's EG-Net; WCS-Net's EG-Net and Gaze2Mask-Net, when the
stage was started from a Gaze2Mask-Net workdir), so the latest checkpoint of the last
stage holds EG-Net, Gaze2Mask-Net and WCS-Net: `load_inference_variables(DIR)` returns
them. Reading checkpoints needs JAX and Orbax, imported by the functions that read
them; the JSON files need neither.
"""
from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Mapping

import ml_collections
import numpy as np

from wcs_jax.spec import networks as network_specs

CONFIG_FILE = "config.json"
NETWORKS_FILE = "networks.json"
CHAIN_FILE = "chain.json"
CHECKPOINT_DIR = "checkpoints"


def save_config(workdir: str | os.PathLike, config: ml_collections.ConfigDict,
                networks: Mapping[str, Mapping[str, Any]]) -> None:
  """Writes DIR/config.json and DIR/networks.json (call from process 0 only)."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  _write_atomic(workdir / CONFIG_FILE, config.to_json_best_effort(indent=2, sort_keys=True))
  _write_atomic(workdir / NETWORKS_FILE, json.dumps(
      {name: json.loads(ml_collections.ConfigDict(dict(cfg)).to_json_best_effort()) for name, cfg in networks.items()},
      indent=2, sort_keys=True))


def save_chain(workdir: str | os.PathLike, stages: list[str]) -> None:
  """Writes DIR/chain.json: the stage subfolders of a chain, in training order."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  _write_atomic(workdir / CHAIN_FILE, json.dumps({"stages": list(stages)}))


def read_json(path: pathlib.Path) -> Any:
  """A run file's JSON; a missing or damaged file is an error naming it."""
  if not path.is_file():
    raise FileNotFoundError(f"{path} not found: expected a workdir written by `python -m wcs_jax.train`")
  try:
    return json.loads(path.read_text())
  except (json.JSONDecodeError, UnicodeDecodeError) as error:
    raise ValueError(f"{path}: not valid JSON ({error}); the file is damaged: restore it, or train into "
                     "a new --workdir") from None


def load_config(workdir: str | os.PathLike) -> ml_collections.ConfigDict:
  """The config a run was trained with."""
  config = read_json(pathlib.Path(workdir) / CONFIG_FILE)
  if not isinstance(config, dict):
    raise ValueError(f"{pathlib.Path(workdir) / CONFIG_FILE}: expected a JSON object, got {type(config).__name__}")
  return ml_collections.ConfigDict(config)


def load_network_configs(workdir: str | os.PathLike) -> dict[str, ml_collections.ConfigDict]:
  """{network: model config} of every network held by a run's checkpoints."""
  path = pathlib.Path(workdir) / NETWORKS_FILE
  configs = read_json(path)
  if not isinstance(configs, dict) or not all(isinstance(v, dict) for v in configs.values()):
    raise ValueError(f"{path}: expected {{network: model config}}")
  return {k: ml_collections.ConfigDict(v) for k, v in configs.items()}


def config_changes(saved: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
  """Dotted keys whose values differ between two configs as JSON objects, "key: a -> b"."""
  changes = []
  for key in sorted(set(saved) | set(new)):
    a, b = saved.get(key, "<absent>"), new.get(key, "<absent>")
    if isinstance(a, dict) and isinstance(b, dict):
      changes += config_changes(a, b, f"{prefix}{key}.")
    elif a != b:
      changes.append(f"{prefix}{key}: {json.dumps(a)} -> {json.dumps(b)}")
  return changes


def final_stage_dir(workdir: str | os.PathLike) -> pathlib.Path:
  """The directory whose checkpoints hold a run's final weights.

  A single stage's workdir is itself; a chain's (DIR/chain.json) is its last stage.
  """
  workdir = pathlib.Path(workdir)
  chain = workdir / CHAIN_FILE
  if chain.is_file():
    listing = read_json(chain)
    stages = listing.get("stages") if isinstance(listing, dict) else None
    if not stages or not isinstance(stages, list):
      raise ValueError(f"{chain}: expected {{\"stages\": [subfolder, ...]}}")
    return final_stage_dir(workdir / stages[-1])
  return workdir


def restore_latest_numpy(workdir: str | os.PathLike) -> tuple[int, dict]:
  """(step, state dict) of a run's latest checkpoint as host numpy arrays.

  Works on any device count: the arrays are read onto one local device whatever
  sharding they were written with. Imports JAX and Orbax.
  """
  import jax  # pylint: disable=import-outside-toplevel
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  directory = pathlib.Path(workdir).absolute() / CHECKPOINT_DIR
  manager = ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(create=False),
                                  item_handlers=ocp.StandardCheckpointHandler())
  step = manager.latest_step()
  if step is None:
    raise FileNotFoundError(f"no checkpoint in {directory}: train there first with "
                            "`python -m wcs_jax.train --config ... --workdir ...`")
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  try:
    metadata = manager.item_metadata(step)
    if metadata is None or getattr(metadata, "tree", None) is None:
      raise ValueError("its metadata (default/_METADATA) is missing")
    abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), metadata.tree)
    restored = manager.restore(step, args=ocp.args.StandardRestore(abstract))
  except Exception as error:  # Orbax and TensorStore raise many types for a damaged checkpoint
    raise DamagedCheckpointError(directory / str(step), error, manager.all_steps()) from None
  finally:
    manager.close()
  return step, jax.tree.map(np.asarray, restored)


class DamagedCheckpointError(ValueError):
  """The latest checkpoint of a run cannot be read; names it and the ones before it.

  Nothing falls back by itself: reading an older checkpoint than the latest would
  silently give other weights. Deleting the damaged folder makes the previous one the
  latest, for the tools and for a resumed training run alike.
  """

  def __init__(self, path: pathlib.Path, error: BaseException, steps):
    detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
    older = sorted(s for s in steps if s < int(path.name))
    advice = (f"delete that folder to use step {older[-1]}, the previous checkpoint" if older
              else "no earlier checkpoint is kept: train again")
    super().__init__(f"{path}: the latest checkpoint cannot be read ({type(error).__name__}: {detail}); {advice}")


def load_network_variables(workdir: str | os.PathLike) -> dict[str, dict]:
  """{network: {"params", "batch_stats"}} of every network in a run's latest checkpoint."""
  workdir = final_stage_dir(workdir)
  config = load_config(workdir)
  _, state = restore_latest_numpy(workdir)
  networks = dict(state.get("frozen") or {})
  networks[config.network] = {"params": state["params"], "batch_stats": state["batch_stats"]}
  return networks


def load_inference_variables(workdir: str | os.PathLike) -> dict[str, Any]:
  """Everything the tracker needs from a trained workdir.

  Args:
    workdir: a stage's workdir or a chain's (configs/smoke.py).

  Returns:
    {"egnet": variables or None, "gaze2mask": variables or None, "wcsnet": variables
    or None, "config": the final stage's ConfigDict, "model_configs": {network: model
    ConfigDict for `wcs_jax.models.build.from_config`}}, where variables are
    {"params", "batch_stats"} of host numpy arrays. A network is None when the run's
    chain never trained it (e.g. a WCS-Net stage started without `init_from`).
  """
  stage_dir = final_stage_dir(workdir)
  networks = load_network_variables(stage_dir)
  out: dict[str, Any] = {name: networks.get(name) for name in network_specs.NETWORKS}
  out["config"] = load_config(stage_dir)
  out["model_configs"] = load_network_configs(stage_dir)
  return out


def _write_atomic(path: pathlib.Path, text: str) -> None:
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(text + "\n")
  os.replace(tmp, path)
