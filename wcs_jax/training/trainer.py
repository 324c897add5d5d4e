"""The training loop of every stage: `train_and_evaluate(config, workdir)`.

`build_training(config)` builds what a stage runs on, in this order: mesh, model and
optimizer, sharding and initial state, update step; `tools/benchmark.py --train` times
that same step. `_train_stage` adds the edges, in the order they run: logging, input,
the run directory, checkpoint, loop. One function serves the four stages of Sec. 3.3
(EG-Net, Gaze2Mask-Net, WCS-Net stage 1 and 2); `config.stage` selects the stream and
the network, and a config holding `chain` (configs/smoke.py) runs several stages in
sequence into subfolders of one workdir.

Data parallelism: one SPMD program (`jax.jit`) over a one-axis mesh of every device of
every host; each batch is one global array sharded along its batch axis, the train
state is replicated. The gradient mean and the batch-norm statistics are therefore
those of the global batch: XLA inserts the all-reduces, and the result equals a
single-device run on the same global batch up to float summation order.

Resume priority, per network of the state:
  1. the latest checkpoint in `workdir` (the run resumes by itself, `kill -9` included:
     the stream restarts at the checkpoint's step, so the data order is that of an
     uninterrupted run);
  2. `config.init_from`, a predecessor's workdir: the network trained here, if it
     holds it, starts from its weights (stage 2 from stage 1), and every other network
     it holds becomes a frozen network of this run (Gaze2Mask-Net's EG-Net; WCS-Net
     started from a Gaze2Mask-Net workdir carries both first-frame networks);
  3. `config.backbone_init`: the encoder from an imported ImageNet backbone;
  4. scratch (Flax initialisers, `config.seed`).
The optimiser state always starts afresh except in case 1.

Resuming (case 1) refuses a config that differs from the run's `config.json` in any
field but `RESUMABLE_FIELDS` (the schedule's length, logging and checkpointing cadence,
where the data lives, the compute dtype and depth-wise implementation), listing the
changed keys: a run mixing two models or two data recipes would be neither. Train
into a new `--workdir` to change anything else.

Precise BN (`config.precise_bn_batches` = N > 0): after the last update, the batch-norm
statistics saved in the final checkpoint are the mean of N training batches'
statistics under the final parameters, not the running averages (which a run of a
few hundred steps leaves far from what its final parameters produce: evaluation mode
would then not compute the function that was trained).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import pathlib
from typing import Any, Callable, Iterator

from absl import logging
import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from wcs_jax.io import workdir as workdir_lib
from wcs_jax.models import backbone_io
from wcs_jax.models import build
from wcs_jax.spec import networks
from wcs_jax.training import checkpointing
from wcs_jax.training import data as data_lib
from wcs_jax.training import metrics_writer
from wcs_jax.training import steps

DATA_AXIS = "data"


RESUMABLE_FIELDS = ("total_steps", "log_every", "checkpoint_every", "keep_checkpoints", "async_checkpoints",
                    "precise_bn_batches", "input.data_dir", "input.synthetic.cache_dir", "model.dtype",
                    "model.depthwise_impl")


class ResumeConfigError(ValueError):
  """A resumed run's config differs from the one its checkpoints were trained with."""


def check_resume_config(workdir: pathlib.Path, config: ml_collections.ConfigDict) -> None:
  """Raises `ResumeConfigError` unless `config` equals `workdir`'s config.json outside
  `RESUMABLE_FIELDS` (call when `workdir` holds a checkpoint)."""
  try:
    saved = workdir_lib.read_json(workdir / workdir_lib.CONFIG_FILE)
  except FileNotFoundError:
    return  # a checkpoint without a config (written by an older version): nothing to compare
  except ValueError as error:
    raise ResumeConfigError(str(error)) from None
  new = json.loads(config.to_json_best_effort())
  changed = [c for c in workdir_lib.config_changes(saved, new)
             if not any(c.startswith(f"{field}:") for field in RESUMABLE_FIELDS)]
  if changed:
    raise ResumeConfigError(
        f"{workdir} holds checkpoints of a run with another config; resuming would mix them. Changed: "
        f"{'; '.join(changed)}. Only {', '.join(RESUMABLE_FIELDS)} may change on resume: revert the "
        "others or train into a new --workdir")


class NonFiniteLossError(RuntimeError):
  """The loss or the gradient became NaN or Inf; the run stopped without saving it."""


# A function (config, start_step) -> iterator of this host's numpy batches; the
# default streams from input_pipeline, tests inject hand-made data.
HostBatchesFn = Callable[[ml_collections.ConfigDict, int], Iterator[dict[str, np.ndarray]]]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *,
                       devices: list[jax.Device] | None = None,
                       host_batches: HostBatchesFn | None = None) -> dict[str, float]:
  """Trains `config` into `workdir`, resuming from it if it holds a checkpoint.

  Args:
    config: a stage config (configs/<stage>.py) or a chain (configs/smoke.py).
    workdir: the run directory (created if needed).
    devices: the devices of the mesh (default: every device of every host).
    host_batches: overrides the input stream (tests).

  Returns:
    The metrics of the last logged step (host floats); for a chain, of its last stage.

  Raises:
    NonFiniteLossError: the loss or gradient norm became NaN or Inf.
  """
  if "chain" in config:
    return _train_chain(config, pathlib.Path(workdir), devices=devices)
  return _train_stage(config, pathlib.Path(workdir), devices=devices, host_batches=host_batches)


def _train_chain(config: ml_collections.ConfigDict, workdir: pathlib.Path, *,
                 devices: list[jax.Device] | None) -> dict[str, float]:
  """Runs the stages of `config.chain` in order, each from its predecessor's workdir."""
  if jax.process_index() == 0:
    workdir_lib.save_chain(workdir, list(config.chain))
  previous, result = None, {}
  for name in config.chain:
    stage = ml_collections.ConfigDict(config[name].to_dict())
    for key in ("total_steps", "batch_size"):
      if config.get(key, -1) > 0:
        stage[key] = config[key]
    stage.seed = config.seed
    if previous is not None:
      stage.init_from = str(previous)
    if stage.input.synthetic.enabled and not stage.input.synthetic.cache_dir:
      stage.input.synthetic.cache_dir = str(workdir / "synthetic_data")
    if stage.input.get("manual_dirs") and not stage.input.data_dir:
      stage.input.data_dir = str(workdir.absolute() / "tfds")  # one build for every stage
    logging.info("chain: stage %r into %s", name, workdir / name)
    result = _train_stage(stage, workdir / name, devices=devices, host_batches=None)
    previous = (workdir / name).absolute()
  return result


def _train_stage(config: ml_collections.ConfigDict, workdir: pathlib.Path, *,
                 devices: list[jax.Device] | None,
                 host_batches: HostBatchesFn | None) -> dict[str, float]:
  """One stage (see the module docstring)."""
  # ----------------------------------------------------------------------- logging
  workdir = workdir.absolute()
  is_primary = jax.process_index() == 0
  if is_primary:
    workdir.mkdir(parents=True, exist_ok=True)
  logging.info("stage %s (network %s) into %s; %d hosts, %d devices", config.stage, config.network,
               workdir, jax.process_count(), jax.device_count())

  # ------------------------------------------------------------------------- input
  if host_batches is None:
    tfds_dir = data_lib.data_dir(config, workdir)
    if config.input.synthetic.enabled:
      data_lib.prepare_synthetic(config, tfds_dir)
    elif config.input.get("manual_dirs"):
      data_lib.prepare_manual(config, tfds_dir)
    host_batches = functools.partial(_stream_batches, tfds_dir=tfds_dir)

  # ------------------------------------------- mesh, model, optimizer, state, step
  training = build_training(config, devices=devices)
  state = training.state

  # -------------------------------------------------------------------- checkpoint
  checkpointer = checkpointing.Checkpointer(workdir, every=config.checkpoint_every,
                                            keep=config.keep_checkpoints,
                                            asynchronous=config.async_checkpoints)
  start_step = checkpointer.latest_step() or 0
  try:
    if start_step:  # before config.json is rewritten: a refused resume leaves the run as it was
      check_resume_config(workdir, config)
    if is_primary:
      workdir_lib.save_config(workdir, config, training.network_configs)
    if start_step:
      state = checkpointer.restore(start_step, state)
  except (ResumeConfigError, workdir_lib.DamagedCheckpointError):
    checkpointer.close()
    raise
  if start_step:
    logging.info("resumed from %s at step %d", workdir / workdir_lib.CHECKPOINT_DIR, start_step)

  # -------------------------------------------------------------------------- loop
  writer = metrics_writer.MetricsWriter(workdir, total_steps=config.total_steps,
                                        batch_size=config.batch_size, log_every=config.log_every,
                                        start_step=start_step, enabled=is_primary)
  batches = data_lib.global_batches(host_batches(config, start_step), training.data_sharding)
  pending: list[tuple[int, Any]] = []

  def check(upto: int):
    """Fetches the metrics of every dispatched step <= `upto`; stops on NaN/Inf."""
    while pending and pending[0][0] <= upto:
      step, metrics = pending.pop(0)
      metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
      if not (math.isfinite(metrics["loss"]) and math.isfinite(metrics["grad_norm"])):
        checkpointer.wait()
        last = checkpointer.latest_step()
        raise NonFiniteLossError(
            f"non-finite loss or gradient at step {step} (loss {metrics['loss']}, grad_norm "
            f"{metrics['grad_norm']}); stopped without saving it. The last good checkpoint is "
            + (f"step {last} in {workdir / workdir_lib.CHECKPOINT_DIR}" if last else "none (none saved yet)")
            + ": lower --config.optimizer.learning_rate or set --config.optimizer.grad_clip_norm, then rerun.")
      writer.add(step, metrics)

  result: dict[str, float] = {}
  try:
    for step in range(start_step + 1, config.total_steps + 1):
      state, metrics = training.train_step(state, next(batches))
      # Fetch the previous step's metrics only now, so the host never waits for the
      # step it has just dispatched.
      check(step - 1)
      pending.append((step, metrics))
      if step == config.total_steps and config.get("precise_bn_batches", 0) > 0:
        check(step)  # never recompute the statistics of a state whose loss was not finite
        state = _precise_batch_norm(training, state, batches, config.precise_bn_batches)
      if step % config.checkpoint_every == 0 or step == config.total_steps:
        check(step)  # never save a state whose loss was not finite
        checkpointer.save(step, state, force=step == config.total_steps)
    check(config.total_steps)
    result = writer.last
  finally:
    checkpointer.wait()
    checkpointer.close()
    writer.close()
  return result


def _precise_batch_norm(training: "Training", state: steps.TrainState, batches: Iterator[Any],
                        num_batches: int) -> steps.TrainState:
  """Precise BN: the final state's batch-norm statistics replaced by their average over
  the next `num_batches` training batches, computed with the final parameters.

  The running averages (momentum 0.99) of a short run still carry their initial
  values (0.99^200 = 13% after 200 steps) and statistics of parameters long gone,
  so evaluation mode, which uses them, disagrees with training mode; their plain mean
  under the final parameters does not.
  """
  total = None
  for _ in range(num_batches):
    stats = training.batch_statistics(state, next(batches))
    total = stats if total is None else jax.tree.map(jnp.add, total, stats)
  logging.info("precise BN: batch-norm statistics averaged over %d training batches", num_batches)
  return state.replace(batch_stats=jax.tree.map(lambda t: t / num_batches, total))


@dataclasses.dataclass(frozen=True)
class Training:
  """What one stage's loop runs on (`build_training`).

  Attributes:
    data_sharding: sharding of a global batch along the one-axis ("data") mesh of the
      devices (`data_sharding.mesh`); the state is replicated over that mesh.
    state: the initial `TrainState` (resume priority 2-4; the loop restores 1), its
      optimizer and schedule bound into `train_step`.
    train_step: jitted `(state, batch) -> (state, metrics)`, donating the state.
    batch_statistics: jitted `(state, batch) -> batch-norm statistics of the batch`
      (`steps.batch_statistics`, for precise BN).
    network_configs: {network: model config} of every network the state holds.
  """
  data_sharding: jax.sharding.NamedSharding
  state: steps.TrainState
  train_step: Callable[[steps.TrainState, Any], tuple[steps.TrainState, dict]]
  batch_statistics: Callable[[steps.TrainState, Any], Any]
  network_configs: dict[str, Any]


def build_training(config: ml_collections.ConfigDict, *, devices: list[jax.Device] | None = None,
                   predecessor: dict[str, Any] | None = None) -> Training:
  """Mesh, model, optimizer, schedule, initial state and jitted step of a stage config.

  Args:
    config: a stage config (configs/<stage>.py).
    devices: the devices of the mesh (default: every device of every host).
    predecessor: the networks `config.init_from` would give, {"own": variables or
      None, "frozen": {network: variables}, "model_configs": {network: model config}};
      default: read from `config.init_from` (benchmarks pass random networks here).

  Returns:
    A `Training`; nothing is written to disk.
  """
  # -------------------------------------------------------------------------- mesh
  devices = list(devices or jax.devices())
  # Auto axes: the Flax modules are written for GSPMD propagation, not for sharding
  # in types (make_mesh's default Explicit axes).
  mesh = jax.make_mesh((len(devices),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices)
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  data_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(DATA_AXIS))
  if config.batch_size % len(devices):
    raise ValueError(f"--config.batch_size={config.batch_size} must be a multiple of the {len(devices)} "
                     "devices of the mesh (the global batch is split evenly across them)")

  # ----------------------------------------------------------- model and optimizer
  model = build.from_config(config.model, config.network)
  learning_rate_fn = _learning_rate_fn(config.optimizer, config.total_steps)
  optimizer = _optimizer(config.optimizer, learning_rate_fn)
  if predecessor is None:
    predecessor = _load_predecessor(config)
  frozen_models = {name: build.from_config(predecessor["model_configs"][name], name)
                   for name in predecessor["frozen"]}
  network_configs = {config.network: config.model, **{
      name: predecessor["model_configs"][name] for name in predecessor["frozen"]}}

  # ------------------------------------------------------- sharding and init state
  variables = jax.jit(functools.partial(_init_variables, model, config),
                      out_shardings=replicated)(jax.random.PRNGKey(config.seed))
  params, batch_stats = variables["params"], variables.get("batch_stats", {})
  params, batch_stats = _apply_initialisation(config, predecessor, params, batch_stats, replicated)
  frozen = jax.tree.map(functools.partial(_replicate, replicated), predecessor["frozen"])

  def make_state(params, batch_stats, frozen):
    return steps.TrainState(step=jnp.zeros((), jnp.int32), params=params, batch_stats=batch_stats,
                            opt_state=optimizer.init(params), frozen=frozen)

  state = jax.jit(make_state, out_shardings=replicated)(params, batch_stats, frozen)
  frozen_count = steps.count_frozen(state.params, tuple(config.get("frozen_params", ())))
  logging.info("%s: %.2fM parameters, %.2fM of them frozen (config.frozen_params)", config.network,
               sum(x.size for x in jax.tree.leaves(state.params)) / 1e6, frozen_count / 1e6)

  # ------------------------------------------------------------------- update step
  loss_fn = steps.make_loss_fn(config.network, model, egnet=frozen_models.get("egnet"),
                               gaze_source=config.get("gaze_source", "egnet"))
  train_step = jax.jit(
      functools.partial(steps.train_step, loss_fn=loss_fn, optimizer=optimizer,
                        learning_rate_fn=learning_rate_fn, seed=config.seed,
                        frozen_params=tuple(config.get("frozen_params", ()))),
      in_shardings=(replicated, data_sharding), out_shardings=(replicated, replicated),
      donate_argnums=0)
  batch_statistics = jax.jit(functools.partial(steps.batch_statistics, loss_fn=loss_fn, seed=config.seed),
                             in_shardings=(replicated, data_sharding), out_shardings=replicated)
  return Training(data_sharding=data_sharding, state=state, train_step=train_step,
                  batch_statistics=batch_statistics, network_configs=network_configs)


def _stream_batches(config: ml_collections.ConfigDict, start_step: int, *,
                    tfds_dir: pathlib.Path) -> Iterator[dict[str, np.ndarray]]:
  return data_lib.host_batches(config, tfds_dir, start_step=start_step)


# ------------------------------------------------------------------------- helpers

def _init_variables(model, config: ml_collections.ConfigDict, rng: jax.Array) -> dict:
  params_rng, dropout_rng = jax.random.split(rng)
  inputs = [jnp.zeros(shape) for shape in networks.input_shapes(config.network, config.input.image_size)]
  return model.init({"params": params_rng, "dropout": dropout_rng}, *inputs, train=False)


SCHEDULES = ("constant", "cosine")


def _learning_rate_fn(opt: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  """Constant `learning_rate` (the paper) or a cosine decay to 0 at `total_steps`,
  after an optional linear warm-up."""
  schedule = opt.get("schedule", "constant")
  if schedule not in SCHEDULES:
    raise ValueError(f"--config.optimizer.schedule={schedule!r}: expected one of {SCHEDULES}")
  if schedule == "cosine":
    return optax.warmup_cosine_decay_schedule(0.0, opt.learning_rate, opt.warmup_steps,
                                              max(total_steps, opt.warmup_steps + 1))
  if opt.warmup_steps > 0:
    return optax.linear_schedule(0.0, opt.learning_rate, opt.warmup_steps)
  return optax.constant_schedule(opt.learning_rate)


def _optimizer(opt: ml_collections.ConfigDict, learning_rate_fn: optax.Schedule) -> optax.GradientTransformation:
  adam = optax.adam(learning_rate_fn, b1=opt.b1, b2=opt.b2, eps=opt.eps)
  if opt.grad_clip_norm > 0:
    return optax.chain(optax.clip_by_global_norm(opt.grad_clip_norm), adam)
  return adam


def _replicate(sharding: jax.sharding.NamedSharding, x: np.ndarray) -> jax.Array:
  """A host array (identical on every host) as a replicated global array."""
  return jax.make_array_from_process_local_data(sharding, np.asarray(x))


def _load_predecessor(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The networks of `config.init_from`: {"own": variables or None, "frozen": {...},
  "model_configs": {...}} (all empty without `init_from`)."""
  if not config.init_from:
    if config.network == "gaze2mask" and config.get("gaze_source", "egnet") == "egnet":
      raise ValueError("Gaze2Mask-Net with gaze_source='egnet' needs a trained EG-Net: pass "
                       "--config.init_from=EGNET_WORKDIR (or --config.gaze_source=stream)")
    return {"own": None, "frozen": {}, "model_configs": {}}
  networks = workdir_lib.load_network_variables(config.init_from)
  model_configs = workdir_lib.load_network_configs(workdir_lib.final_stage_dir(config.init_from))
  own = networks.pop(config.network, None)
  if own is not None and model_configs[config.network].to_dict() != config.model.to_dict():
    raise ValueError(f"--config.init_from={config.init_from} holds a {config.network} built with "
                     f"{model_configs[config.network].to_dict()}, but this config's model is "
                     f"{config.model.to_dict()}")
  if config.network == "gaze2mask" and config.get("gaze_source") == "egnet" and "egnet" not in networks:
    raise ValueError(f"--config.init_from={config.init_from} holds no EG-Net (networks: "
                     f"{sorted(networks)}); Gaze2Mask-Net with gaze_source='egnet' needs one")
  logging.info("init_from %s: %s%s", config.init_from, f"{config.network} weights, " if own else "",
               f"frozen {sorted(networks)}")
  return {"own": own, "frozen": networks, "model_configs": model_configs}


def _apply_initialisation(config, predecessor, params, batch_stats, sharding):
  """Steps 2 and 3 of the resume priority (module docstring) on fresh variables."""
  if predecessor["own"] is not None:
    own = predecessor["own"]
    _check_same_structure(params, own["params"], f"params of {config.init_from}")
    return (jax.tree.map(functools.partial(_replicate, sharding), own["params"]),
            jax.tree.map(functools.partial(_replicate, sharding), own["batch_stats"]))
  if config.backbone_init:
    in_channels = 4 if config.network == "gaze2mask" else 3
    if config.backbone_init == backbone_io.INSTALLED:
      from wcs_jax.models import torch_import  # pylint: disable=g-import-not-at-top
      encoder = torch_import.load_torch_weights(torch_import.installed_weights(config.model.backbone),
                                                config.model.backbone, in_channels)
    else:
      encoder = backbone_io.load_backbone(config.backbone_init, in_channels, arch=config.model.backbone)
    params, batch_stats = flax.core.unfreeze(params), flax.core.unfreeze(batch_stats)
    for collection, tree in (("params", params), ("batch_stats", batch_stats)):
      if collection in encoder:
        _check_same_structure(tree["encoder"], encoder[collection],
                              f"{collection} of --config.backbone_init={config.backbone_init}")
        tree["encoder"] = jax.tree.map(functools.partial(_replicate, sharding), encoder[collection])
    logging.info("encoder from %s", config.backbone_init)
  return params, batch_stats


def _check_same_structure(expected, loaded, what: str) -> None:
  e = {jax.tree_util.keystr(p): np.shape(x) for p, x in jax.tree_util.tree_leaves_with_path(expected)}
  l = {jax.tree_util.keystr(p): np.shape(x) for p, x in jax.tree_util.tree_leaves_with_path(loaded)}
  if e != l:
    diff = sorted(set(e.items()) ^ set(l.items()))[:5]
    raise ValueError(f"{what} do not match the model being trained (first differences, path and "
                     f"shape: {diff})")
