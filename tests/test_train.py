"""The trainer: losses, one real step of every stage, 1 vs 4 devices, NaN guard, resume.

Runs on the 4 simulated CPU devices of conftest.py with tiny networks (8-wide decoders,
32x32 inputs, batch 4) whose encoder is `train_testing.MiniEfficientNet` (EfficientNet's
stem and one MBConv block with drop-connect, then plain conv levels) and compilation
optimisations off: compile time dominates such small steps (with EfficientNet-B0 this
module and tests/test_train_faults.py took 13:05 on 2 cores from a cold compilation
cache, 4:35 with the stand-in, 2026-12-07). The real encoder trains in
tests/test_learning.py, tests/test_real_data.py and the kill -9 test of
tests/test_train_faults.py; its layers match Keras and PyTorch in tests/test_encoders.py.
"""
from __future__ import annotations

import json
import math

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wcs_jax.io import workdir as workdir_lib
from wcs_jax.training import losses
from wcs_jax.training import metrics_writer
from wcs_jax.training import trainer

import train_multihost_worker as worker  # tests/ is on sys.path (conftest.py's folder)
import train_testing


@pytest.fixture(scope="module", autouse=True)
def fast_compiles():
  with train_testing.fast_compiles(), train_testing.stand_in_encoder():
    yield


# ------------------------------------------------------------------------------ losses

def test_pixel_cross_entropy_matches_hand_computed_values():
  logits = jnp.array([0.0, 2.0, -1.0, 30.0]).reshape(1, 2, 2, 1)
  targets = jnp.array([1.0, 0.0, 0.25, 1.0]).reshape(1, 2, 2, 1)
  expected = np.mean([math.log(2.0), 2.0 + math.log1p(math.exp(-2.0)),
                      0.25 * math.log1p(math.e) + 0.75 * math.log1p(math.exp(-1.0)),
                      math.log1p(math.exp(-30.0))])
  np.testing.assert_allclose(losses.pixel_cross_entropy(logits, targets), [expected], rtol=1e-6)


def test_wcs_loss_weights_each_sample_by_l1_and_l2():
  zeros = jnp.zeros((3, 2, 2, 1))
  mask_logits = jnp.full((3, 2, 2, 1), 2.0)       # CE vs 0 target: 2 + log1p(e^-2)
  hotspot_logits = jnp.zeros((3, 2, 2, 1))        # CE: log 2
  l1, l2 = jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 1.0, 0.0])
  loss, terms = losses.wcs_loss(mask_logits, hotspot_logits, zeros, zeros, l1, l2)
  mask_ce, hot_ce = 2.0 + math.log1p(math.exp(-2.0)), math.log(2.0)
  np.testing.assert_allclose(terms["loss_hotspot"], hot_ce / 3, rtol=1e-6)
  np.testing.assert_allclose(terms["loss_mask"], mask_ce / 3, rtol=1e-6)
  np.testing.assert_allclose(loss, (hot_ce + mask_ce) / 3, rtol=1e-6)
  # A branch switched off (Tab. 6) contributes nothing.
  loss, terms = losses.wcs_loss(None, hotspot_logits, zeros, zeros, l1, l2)
  np.testing.assert_allclose(loss, hot_ce / 3, rtol=1e-6)
  assert float(terms["loss_mask"]) == 0.0


def test_gaze2mask_input_is_egnet_within_the_window_unless_the_example_is_a_prompt():
  """sigmoid(EG-Net) * window where from_egnet = 1 (the paper's E * M when the window is
  the mask); the stream's click or box map, unchanged, where from_egnet = 0."""
  import flax.linen as nn
  from wcs_jax.training import steps

  class HalfGaze(nn.Module):  # logits 0 everywhere: sigmoid = 0.5
    @nn.compact
    def __call__(self, image, train):
      return jnp.zeros(image.shape[:3] + (1,))

  rng = np.random.default_rng(0)
  batch = {"image": rng.random((3, 4, 4, 3), dtype=np.float32),
           "gaze": rng.random((3, 4, 4, 1), dtype=np.float32),
           "window": (rng.random((3, 4, 4, 1)) > 0.5).astype(np.float32),
           "from_egnet": np.array([1.0, 0.0, 1.0], np.float32)}
  out = np.asarray(steps.gaze2mask_input({"egnet": {}}, batch, egnet=HalfGaze(), gaze_source="egnet"))
  np.testing.assert_array_equal(out[[0, 2]], 0.5 * batch["window"][[0, 2]])
  np.testing.assert_array_equal(out[1], batch["gaze"][1])
  np.testing.assert_array_equal(steps.gaze2mask_input({}, batch, egnet=None, gaze_source="stream"), batch["gaze"])


# -------------------------------------------------------------- the chain, one step each

def test_smoke_chain_one_real_step_of_each_stage(tmp_path):
  """configs/smoke.py:ci (with the stand-in encoder): EG-Net, Gaze2Mask-Net (gaze from
  the frozen EG-Net), WCS-Net (bf16 compute) on the synthetic streams, one workdir
  holding all three for inference."""
  config = train_testing.load_config("smoke.py", "ci")
  for name in config.chain:
    config[name].total_steps = 1
  config.wcsnet.model.dtype = "bfloat16"  # bf16 compute trains too (float32 parameters)
  trainer.train_and_evaluate(config, tmp_path)
  for name in config.chain:
    rows = metrics_writer.read_metrics(tmp_path / name)
    assert [r["step"] for r in rows] == [1]
    assert np.isfinite(rows[0]["loss"]) and rows[0]["loss"] > 0
    assert {"grad_norm", "param_norm", "learning_rate"} <= set(rows[0])
    assert (tmp_path / name / metrics_writer.TENSORBOARD_DIR).is_dir()
  assert {"loss_hotspot", "loss_mask"} <= set(rows[0])

  out = workdir_lib.load_inference_variables(tmp_path)
  assert {out["config"].network, *out["model_configs"]} == {"wcsnet", "egnet", "gaze2mask"}
  for name in ("egnet", "gaze2mask", "wcsnet"):
    assert set(out[name]) == {"params", "batch_stats"}
    assert all(x.dtype == np.float32 for x in jax.tree.leaves(out[name]["params"]))
  # The frozen EG-Net carried to WCS-Net is the EG-Net that was trained.
  _, egnet_state = workdir_lib.restore_latest_numpy(tmp_path / "egnet")
  jax.tree.map(np.testing.assert_array_equal, out["egnet"]["params"], egnet_state["params"])
  # Gaze2Mask-Net's encoder sees RGB + gaze.
  assert out["gaze2mask"]["params"]["encoder"]["stem_conv"]["kernel"].shape[2] == 4


# ----------------------------------------------------------------- data parallelism

def test_one_device_and_four_devices_agree_after_two_steps(tmp_path):
  config = worker.tiny_config()
  trainer.train_and_evaluate(config, tmp_path / "one", devices=jax.devices()[:1],
                             host_batches=worker.host_batches)
  trainer.train_and_evaluate(config, tmp_path / "four", devices=jax.devices()[:4],
                             host_batches=worker.host_batches)
  one, four = (metrics_writer.read_metrics(tmp_path / d) for d in ("one", "four"))
  assert [r["step"] for r in four] == [1, 2]
  (_, a), (_, b) = (workdir_lib.restore_latest_numpy(tmp_path / d) for d in ("one", "four"))
  assert int(a["step"]) == int(b["step"]) == 2
  train_testing.assert_same_run(one, four, a, b, learning_rate=config.optimizer.learning_rate)


def test_precise_bn_saves_the_mean_statistics_of_the_final_parameters(tmp_path):
  """config.precise_bn_batches = 3: the final checkpoint's batch-norm statistics are the
  mean over the 3 batches after the last step of each batch's statistics under the
  final parameters (checked on the first layer against its captured input), not the
  running averages."""
  from wcs_jax.models import build
  config = worker.tiny_config()
  trainer.train_and_evaluate(config, tmp_path / "running", host_batches=worker.host_batches)
  config.precise_bn_batches = 3
  trainer.train_and_evaluate(config, tmp_path / "precise", host_batches=worker.host_batches)
  (_, running), (_, precise) = (workdir_lib.restore_latest_numpy(tmp_path / d) for d in ("running", "precise"))
  jax.tree.map(np.testing.assert_array_equal, running["params"], precise["params"])
  model = build.from_config(config.model, "egnet")
  variables = {"params": precise["params"], "batch_stats": precise["batch_stats"]}
  means, variances = [], []
  for step in (2, 3, 4):  # steps 1 and 2 trained on the batches of steps 0 and 1
    _, captured = model.apply(variables, worker.global_batch(config, step)["image"], train=True,
                              mutable=["batch_stats", "intermediates"], capture_intermediates=True,
                              rngs={"dropout": jax.random.PRNGKey(0)})
    conv = np.asarray(captured["intermediates"]["encoder"]["stem_conv"]["__call__"][0], np.float64)
    means.append(conv.mean((0, 1, 2)))
    variances.append(conv.var((0, 1, 2)))
  stem = precise["batch_stats"]["encoder"]["stem_bn"]
  np.testing.assert_allclose(stem["mean"], np.mean(means, 0), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(stem["var"], np.mean(variances, 0), rtol=1e-4, atol=1e-6)
  # The running averages after two steps are mostly their initial zeros and ones.
  assert np.abs(running["batch_stats"]["encoder"]["stem_bn"]["mean"] - stem["mean"]).max() > 1e-2


def test_batch_statistics_of_a_layer_called_twice_are_where_its_running_average_settles():
  """A batch norm applied to the template and then to the search batch (WCS-Net's
  siamese encoder): per step r <- m (m r + (1 - m) b_t) + (1 - m) b_s, which settles at
  (m b_t + b_s) / (1 + m); a layer the step never calls keeps its statistics."""
  import flax.linen as nn
  from wcs_jax.models import layers
  from wcs_jax.training import steps

  class Siamese(nn.Module):
    @nn.compact
    def __call__(self, template, search, train):
      shared = nn.BatchNorm(use_running_average=not train, momentum=layers.BATCH_NORM_MOMENTUM)
      if not train:
        nn.BatchNorm(use_running_average=True, name="unused")(template)
      return shared(template).sum() + shared(search).sum()

  model = Siamese()
  rng = np.random.default_rng(0)
  batch = {"t": rng.normal(3.0, 2.0, (8, 5)).astype(np.float32), "s": rng.normal(-1.0, 0.5, (8, 5)).astype(np.float32)}
  variables = model.init(jax.random.PRNGKey(0), batch["t"], batch["s"], train=False)

  def loss_fn(params, batch_stats, frozen, batch, rng):
    loss, updates = model.apply({"params": params, "batch_stats": batch_stats}, batch["t"], batch["s"],
                                train=True, mutable=["batch_stats"])
    return loss, ({}, updates["batch_stats"])

  stats = jax.tree.map(lambda x: x + 7.0, variables["batch_stats"])
  state = steps.TrainState(step=jnp.zeros((), jnp.int32), params=variables["params"], batch_stats=stats,
                           opt_state=(), frozen={})
  out = steps.batch_statistics(state, batch, loss_fn=loss_fn, seed=0)
  m = layers.BATCH_NORM_MOMENTUM
  for name, reduce in (("mean", np.mean), ("var", np.var)):
    expected = (m * reduce(batch["t"], 0) + reduce(batch["s"], 0)) / (1 + m)
    np.testing.assert_allclose(out["BatchNorm_0"][name], expected, rtol=2e-4, atol=1e-4)
    np.testing.assert_array_equal(out["unused"][name], stats["unused"][name])


# ------------------------------------------------------------------ faults and resume

def test_resume_continues_like_an_uninterrupted_run(tmp_path):
  config = worker.tiny_config()
  config.total_steps = 4
  trainer.train_and_evaluate(config, tmp_path / "straight", host_batches=worker.host_batches)
  interrupted = worker.tiny_config()
  interrupted.total_steps = 2
  trainer.train_and_evaluate(interrupted, tmp_path / "resumed", host_batches=worker.host_batches)
  trainer.train_and_evaluate(config, tmp_path / "resumed", host_batches=worker.host_batches)
  straight, resumed = (metrics_writer.read_metrics(tmp_path / d) for d in ("straight", "resumed"))
  assert [r["step"] for r in resumed] == [1, 2, 3, 4]
  np.testing.assert_array_equal([r["loss"] for r in resumed], [r["loss"] for r in straight])
  (_, a), (_, b) = (workdir_lib.restore_latest_numpy(tmp_path / d) for d in ("straight", "resumed"))
  jax.tree.map(np.testing.assert_array_equal, a, b)
  # The workdir describes itself: its config, its networks' model configs, its weights.
  assert workdir_lib.load_config(tmp_path / "resumed").to_dict() == json.loads(config.to_json_best_effort())
  assert workdir_lib.load_network_configs(tmp_path / "resumed")["egnet"].to_dict() == config.model.to_dict()
  out = workdir_lib.load_inference_variables(tmp_path / "resumed")
  assert out["egnet"] is not None and out["wcsnet"] is None and out["gaze2mask"] is None
  # Resuming with another architecture or data recipe is refused, listing the changed
  # keys, and leaves the run as it was; the resumable fields may change.
  saved = (tmp_path / "resumed" / "config.json").read_text()
  changed = worker.tiny_config()
  changed.total_steps = 6
  changed.model.decoder_channels = 2 * config.model.decoder_channels
  changed.seed = config.seed + 1
  with pytest.raises(trainer.ResumeConfigError) as error:
    trainer.train_and_evaluate(changed, tmp_path / "resumed", host_batches=worker.host_batches)
  message = str(error.value)
  assert (f"model.decoder_channels: {config.model.decoder_channels} -> {changed.model.decoder_channels}" in message
          and f"seed: {config.seed} -> {changed.seed}" in message and "total_steps" not in message.split("Only")[0])
  assert (tmp_path / "resumed" / "config.json").read_text() == saved
  assert workdir_lib.restore_latest_numpy(tmp_path / "resumed")[0] == 4


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
  config = worker.tiny_config()
  config.total_steps = 6

  def poisoned(config, start_step):
    for step, batch in enumerate(worker.host_batches(config, start_step), start_step):
      if step == 2:  # the third update (state step 3) sees NaN pixels
        batch["image"] = np.full_like(batch["image"], np.nan)
      yield batch

  with pytest.raises(trainer.NonFiniteLossError, match=r"step 3 .*last good checkpoint is step 2"):
    trainer.train_and_evaluate(config, tmp_path, host_batches=poisoned)
  _, state = workdir_lib.restore_latest_numpy(tmp_path)
  assert int(state["step"]) == 2
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state["params"]))
  assert [r["step"] for r in metrics_writer.read_metrics(tmp_path)] == [1, 2]


def test_batch_size_must_split_over_the_devices(tmp_path):
  config = worker.tiny_config()
  config.batch_size = 6
  with pytest.raises(ValueError, match="multiple of the 4 devices"):
    trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)


# ------------------------------------------------ frozen parameters, schedule, raw data

def test_frozen_params_stay_put_and_the_cosine_schedule_decays_to_zero(tmp_path):
  config = worker.tiny_config()
  config.total_steps = 4
  config.frozen_params = ("encoder/stem_", "encoder/block1")
  config.optimizer.schedule = "cosine"
  initial = trainer.build_training(config).state.params
  trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)
  _, state = workdir_lib.restore_latest_numpy(tmp_path)
  flat_initial = flax.traverse_util.flatten_dict(jax.device_get(initial), sep="/")
  flat_trained = flax.traverse_util.flatten_dict(state["params"], sep="/")
  frozen = [k for k in flat_initial if k.startswith(config.frozen_params)]
  assert {k.split("/")[1] for k in frozen} == {"stem_conv", "stem_bn", "block1a"}
  for key, value in flat_initial.items():
    moved = not np.array_equal(value, flat_trained[key])
    assert moved != (key in frozen), key
  rates = [r["learning_rate"] for r in metrics_writer.read_metrics(tmp_path)]
  lr = config.optimizer.learning_rate
  np.testing.assert_allclose(rates, [lr * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)], rtol=1e-5)
  config.frozen_params = ("encoder/stem_", "encoder/blok1")
  with pytest.raises(ValueError, match="'encoder/blok1' matches no parameter"):
    trainer.build_training(config)
  config.frozen_params, config.optimizer.schedule = (), "linear"
  with pytest.raises(ValueError, match="schedule='linear': expected one of"):
    trainer.build_training(config)


@pytest.mark.parametrize("freeze", [False, True])
def test_train_step_leaves_frozen_params_exactly_unchanged(freeze):
  """`frozen_params` on hand-made parameters, as plain dicts and as FrozenDicts: the
  frozen leaf keeps its value bit for bit, the other takes Adam's first step (-lr * sign)."""
  import optax
  from wcs_jax.training import steps
  params = {"encoder": {"stem_conv": {"kernel": jnp.ones(3)}, "block1a": {"kernel": jnp.ones(2)}}}
  params = flax.core.freeze(params) if freeze else params

  def loss_fn(params, batch_stats, frozen, batch, rng):
    del frozen, batch, rng
    flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(params), sep="/")
    return sum(jnp.sum(v ** 2) for v in flat.values()), ({}, batch_stats)

  optimizer = optax.adam(0.1)
  state = steps.TrainState(step=jnp.zeros((), jnp.int32), params=params, batch_stats={},
                           opt_state=optimizer.init(params), frozen={})
  state, metrics = steps.train_step(state, {}, loss_fn=loss_fn, optimizer=optimizer,
                                    learning_rate_fn=optax.constant_schedule(0.1), seed=0,
                                    frozen_params=("encoder/stem_",))
  assert type(state.params) is type(params)
  np.testing.assert_array_equal(state.params["encoder"]["stem_conv"]["kernel"], np.ones(3))
  np.testing.assert_allclose(state.params["encoder"]["block1a"]["kernel"], np.full(2, 0.9), rtol=1e-6)
  np.testing.assert_allclose(metrics["grad_norm"], 2 * math.sqrt(2), rtol=1e-6)  # d(w^2)/dw = 2, two leaves
  with pytest.raises(TypeError, match="not one string"):
    steps.count_frozen(params, "encoder/stem_")


def test_raw_folders_are_built_into_the_run_once(tmp_path, shared_data):
  """`input.manual_dirs`: the stage's datasets built from the user's raw folders with
  the project's builders, reused by the next run, never silently replaced."""
  import tensorflow_datasets as tfds
  from wcs_jax.training import data as data_lib
  config = train_testing.load_config("egnet.py")
  config.input.manual_dirs.salicon = str(shared_data / "salicon_examples")
  tfds_dir = data_lib.data_dir(config, tmp_path)
  assert tfds_dir == tmp_path / "tfds"
  data_lib.prepare_manual(config, tfds_dir)
  info = tfds.builder("salicon", data_dir=str(tfds_dir)).info
  assert info.splits["train"].num_examples == 10
  with pytest.MonkeyPatch.context() as patch:  # built once: the next run does not build again
    patch.setattr(tfds.core.DatasetBuilder, "download_and_prepare",
                  lambda *args, **kwargs: pytest.fail("rebuilt a dataset that was already built"))
    data_lib.prepare_manual(config, tfds_dir)
  other = tmp_path / "other"
  (other / "images").mkdir(parents=True)
  config.input.manual_dirs.salicon = str(other)
  with pytest.raises(ValueError, match=r"holds salicon built from .*salicon_examples, not from .*other"):
    data_lib.prepare_manual(config, tfds_dir)
  config.input.weights = (1.0, 1.0)  # DAVIS frames too, but no folder for them
  with pytest.raises(ValueError, match=r"names no raw folder for \['davis2016'\]"):
    data_lib.prepare_manual(config, tfds_dir)
  config.input.weights = (1.0, 0.0)
  config.input.manual_dirs.salicon = str(tmp_path / "missing")
  with pytest.raises(FileNotFoundError, match="the raw salicon folder .*missing does not exist"):
    data_lib.prepare_manual(config, tfds_dir / "elsewhere")


def test_damaged_run_files_are_named(tmp_path):
  config = worker.tiny_config()
  config.total_steps = 1
  trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)
  (tmp_path / "networks.json").write_text("{\"egnet\": ")
  with pytest.raises(ValueError, match=f"{tmp_path / 'networks.json'}: not valid JSON"):
    workdir_lib.load_network_configs(tmp_path)
  (tmp_path / "config.json").write_text("")
  with pytest.raises(ValueError, match=f"{tmp_path / 'config.json'}: not valid JSON"):
    workdir_lib.load_config(tmp_path)
  # Resuming there needs the run's config to compare with: refused, naming the file.
  with pytest.raises(trainer.ResumeConfigError, match="config.json: not valid JSON"):
    trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)


@pytest.mark.parametrize("flags,message", [
    (("127.0.0.1:1234", None, 0), "--coordinator_address needs --num_processes and --process_id"),
    (("127.0.0.1:1234", 2, None), "--coordinator_address needs --num_processes and --process_id"),
    ((None, 2, 0), "--num_processes and --process_id need --coordinator_address"),
])
def test_multihost_flags_come_together(flags, message):
  # wcs_jax.train defines absl flags that other modules of the suite define too: its
  # check lives in wcs_jax.cli (train.initialize_distributed raises it as a usage error).
  from wcs_jax import cli  # pylint: disable=g-import-not-at-top
  with pytest.raises(ValueError, match=message):
    cli.check_distributed_flags(*flags)
  cli.check_distributed_flags(None, None, None)  # a single process
  cli.check_distributed_flags("127.0.0.1:1234", 2, 1)


@pytest.mark.parametrize("flags,message", [
    (["--config", "configs/smoke.py:ci", "--config.wcsnet.total_step=1"],
     "train: error: --config.wcsnet.total_step=1: the config has no field 'total_step' (did you mean 'total_steps'?)"),
    (["--config", "configs/smoke.py:x"],
     "train: error: configs/smoke.py: unknown argument 'x'; expected nothing, 'short' or 'ci'"),
    (["--config", "configs/nope.py"],
     "train: error: --config: [Errno 2] No such file or directory: 'configs/nope.py'"),
])
def test_bad_flags_are_one_line_and_write_nothing(tmp_path, flags, message):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  run = subprocess.run([sys.executable, "-m", "wcs_jax.train", "--workdir", str(tmp_path / "run"), *flags],
                       cwd=train_testing.REPO, env=train_testing.subprocess_env(1), capture_output=True, text=True,
                       timeout=300, check=False)
  assert run.returncode == 2, run.stderr
  assert run.stderr.strip().splitlines()[-1] == message and "Traceback" not in run.stderr, run.stderr
  assert not (tmp_path / "run").exists()


def test_damaged_latest_checkpoint_stops_the_resume_naming_it(tmp_path):
  config = worker.tiny_config()
  config.total_steps, config.checkpoint_every, config.keep_checkpoints = 2, 1, 2
  trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)
  for path in (tmp_path / "checkpoints" / "2").rglob("*"):
    if path.is_file() and path.parent.name == "d":
      path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
  config.total_steps = 3
  with pytest.raises(workdir_lib.DamagedCheckpointError,
                     match=f"{tmp_path / 'checkpoints' / '2'}: the latest checkpoint cannot be read .*use step 1"):
    trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
  import errno  # pylint: disable=g-import-not-at-top
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  from wcs_jax.training import checkpointing  # pylint: disable=g-import-not-at-top
  config = worker.tiny_config()
  config.total_steps, config.checkpoint_every, config.async_checkpoints = 4, 2, False
  real_save = ocp.CheckpointManager.save

  def full_disk(self, step, *args, **kwargs):
    if step == 4:  # Orbax writes into a temporary folder first; the disk fills up there
      (tmp_path / "checkpoints" / "4.orbax-checkpoint-tmp-0").mkdir()
      raise OSError(errno.ENOSPC, "No space left on device")
    return real_save(self, step, *args, **kwargs)

  monkeypatch.setattr(ocp.CheckpointManager, "save", full_disk)
  with pytest.raises(checkpointing.CheckpointWriteError) as error:
    trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)
  assert str(error.value) == (f"{tmp_path / 'checkpoints' / '4'}: writing the checkpoint failed ([Errno 28] No space "
                              "left on device); the last complete checkpoint is step 2: free space, then rerun the "
                              "same command to resume from it")
  assert workdir_lib.restore_latest_numpy(tmp_path)[0] == 2
  monkeypatch.setattr(ocp.CheckpointManager, "save", real_save)  # space freed: the same command resumes
  trainer.train_and_evaluate(config, tmp_path, host_batches=worker.host_batches)
  assert workdir_lib.restore_latest_numpy(tmp_path)[0] == 4
  assert [r["step"] for r in metrics_writer.read_metrics(tmp_path)] == [1, 2, 3, 4]
