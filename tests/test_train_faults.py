"""Faults and scale, for real: `kill -9` then the same command again, and a
two-process run (jax.distributed over 127.0.0.1, gloo collectives) against one process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from wcs_jax.io import workdir as workdir_lib
from wcs_jax.training import metrics_writer
from wcs_jax.training import trainer

import train_multihost_worker as worker
import train_testing

TIMEOUT_S = 600


@pytest.fixture(scope="module", autouse=True)
def fast_compiles():
  with train_testing.fast_compiles():
    yield


# EG-Net on the synthetic SALICON stream, tiny: 32x32, B0, 8-wide decoder, batch 4.
OVERRIDES = {"total_steps": 8, "checkpoint_every": 2, "keep_checkpoints": 2, "log_every": 1,
             "batch_size": 4, "input.image_size": 32, "model.decoder_channels": 8,
             "input.synthetic.num": 6, "input.synthetic.size": (64, 48), "precise_bn_batches": 2}


def _command(workdir, cache):
  flags = [f"--config.{k}={v}" for k, v in OVERRIDES.items() if k != "input.synthetic.size"]
  flags.append("--config.input.synthetic.size=(64, 48)")
  return [sys.executable, "-m", "wcs_jax.train", "--config", "configs/egnet.py:synthetic",
          "--workdir", str(workdir), f"--config.input.synthetic.cache_dir={cache}", *flags]


def test_kill_9_then_rerun_continues_like_an_uninterrupted_run(tmp_path):
  cache = tmp_path / "data"
  reference = train_testing.load_config("egnet.py", "synthetic")
  for key, value in OVERRIDES.items():
    *parents, leaf = key.split(".")
    node = reference
    for p in parents:
      node = node[p]
    node[leaf] = value
  reference.input.synthetic.cache_dir = str(cache)
  trainer.train_and_evaluate(reference, tmp_path / "straight")

  workdir, env = tmp_path / "killed", train_testing.subprocess_env(4)
  log = (tmp_path / "first.log").open("w")
  first = subprocess.Popen(_command(workdir, cache), cwd=train_testing.REPO, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
  deadline = time.time() + TIMEOUT_S
  # Kill once a checkpoint exists and training has gone past it: mid-run, possibly mid-save.
  while not ((workdir / "checkpoints" / "2").is_dir() and _logged_steps(workdir) >= 3):
    assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    assert time.time() < deadline, "the first run did not reach step 3 in time"
    time.sleep(0.05)
  os.kill(first.pid, signal.SIGKILL)
  first.wait()
  assert _logged_steps(workdir) < OVERRIDES["total_steps"], "killed too late to test anything"

  second = subprocess.run(_command(workdir, cache), cwd=train_testing.REPO, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
  assert second.returncode == 0, second.stderr[-3000:]
  assert "resumed from" in second.stderr
  straight, resumed = (metrics_writer.read_metrics(d) for d in (tmp_path / "straight", workdir))
  assert [r["step"] for r in resumed] == list(range(1, OVERRIDES["total_steps"] + 1))
  np.testing.assert_allclose([r["loss"] for r in resumed], [r["loss"] for r in straight], rtol=1e-6)
  (_, a), (_, b) = (workdir_lib.restore_latest_numpy(d) for d in (tmp_path / "straight", workdir))
  for x, y in zip(_leaves(a["params"]), _leaves(b["params"])):
    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
  for x, y in zip(_leaves(a["batch_stats"]), _leaves(b["batch_stats"])):  # precise BN, same batches
    np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


def test_two_processes_give_the_losses_of_one_process_with_four_devices(tmp_path):
  """`worker.tiny_config()` with the stand-in encoder (`train_testing.MiniEfficientNet`)
  here and in the two worker processes."""
  with train_testing.stand_in_encoder():
    trainer.train_and_evaluate(worker.tiny_config(), tmp_path / "single", host_batches=worker.host_batches)

  port = _free_port()
  env = train_testing.subprocess_env(2, persistent_cache=False)
  logs = [(tmp_path / f"process{i}.log").open("w") for i in range(2)]
  processes = [subprocess.Popen([sys.executable, str(train_testing.REPO / "tests" / "train_multihost_worker.py"),
                                 str(port), str(i), "2", str(tmp_path / "multi")],
                                cwd=train_testing.REPO, env=env, stdout=logs[i], stderr=subprocess.STDOUT)
               for i in range(2)]
  try:
    codes = [p.wait(timeout=TIMEOUT_S) for p in processes]
  finally:
    for p in processes:
      if p.poll() is None:
        p.kill()
  assert codes == [0, 0], "\n".join((tmp_path / f"process{i}.log").read_text()[-3000:] for i in range(2))

  single, multi = (metrics_writer.read_metrics(tmp_path / d) for d in ("single", "multi"))
  assert [r["step"] for r in multi] == [1, 2]
  (_, a), (_, b) = (workdir_lib.restore_latest_numpy(tmp_path / d) for d in ("single", "multi"))
  train_testing.assert_same_run(single, multi, a, b, learning_rate=worker.tiny_config().optimizer.learning_rate)


def _logged_steps(workdir) -> int:
  path = workdir / metrics_writer.METRICS_FILE
  return path.read_text().count("\n") if path.is_file() else 0


def _leaves(tree):
  import jax  # pylint: disable=g-import-not-at-top
  return jax.tree.leaves(tree)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]
