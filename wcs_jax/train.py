r"""Trains a WCS-Net stage: `python -m wcs_jax.train --config CONFIG --workdir DIR`.

    python -m wcs_jax.train --config configs/smoke.py --workdir runs/smoke
    python -m wcs_jax.train --config configs/stage2.py --workdir runs/stage2 \
        --config.init_from=runs/stage1 --config.input.data_dir=/data/tfds
    python -m wcs_jax.train --config configs/egnet.py:synthetic --workdir runs/eg \
        --config.total_steps=100 --config.batch_size=8 --config.seed=1

Rerunning the same command after an interruption (even `kill -9`) resumes from the
last checkpoint in DIR. Several hosts: start the same command on every host with
`--multihost` (cluster auto-detection by `jax.distributed.initialize`: SLURM, Open MPI,
Cloud TPU) or with `--coordinator_address`, `--num_processes` and `--process_id`.
See wcs_jax/training/trainer.py for the training loop.
"""
from __future__ import annotations

import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from wcs_jax import cli  # pylint: disable=g-import-not-at-top,wrong-import-position

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Training config file, e.g. configs/stage1.py or configs/stage1.py:synthetic; "
    "override fields with --config.key=value.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, config, metrics.jsonl, "
                               "TensorBoard events; the run resumes from it.")
_MULTIHOST = flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() with cluster "
                               "auto-detection (SLURM, Open MPI, Cloud TPU).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0, for a "
                                   "multi-host run without a cluster manager.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes (with --coordinator_address).")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index (with --coordinator_address).")
flags.mark_flags_as_required(["config", "workdir"])


def initialize_distributed(coordinator_address: str | None, num_processes: int | None,
                           process_id: int | None, auto: bool) -> None:
  """Joins a multi-process run when asked to (explicit address, or auto-detection).

  CPU processes exchange collectives through gloo (the default CPU backend has none).
  """
  try:
    cli.check_distributed_flags(coordinator_address, num_processes, process_id)
  except ValueError as error:
    raise app.UsageError(str(error)) from None
  explicit = coordinator_address is not None
  if not (explicit or auto):
    return
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  if explicit:
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
  else:
    jax.distributed.initialize()


class _QuietOrbax:
  """Drops Orbax's INFO records (several per checkpoint); its warnings still show."""

  def filter(self, record) -> bool:
    return record.levelno > logging.converter.STANDARD_INFO or "orbax" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.get_absl_handler().addFilter(_QuietOrbax())
  # TensorFlow only feeds the input pipeline: keep it off the accelerators.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.set_visible_devices([], "GPU")
  initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value, _MULTIHOST.value)
  from wcs_jax.io import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  from wcs_jax.training import checkpointing  # pylint: disable=g-import-not-at-top
  from wcs_jax.training import trainer  # pylint: disable=g-import-not-at-top
  logging.info("JAX %s: process %d of %d, devices %s", jax.__version__, jax.process_index(),
               jax.process_count(), jax.devices())
  try:
    trainer.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (trainer.ResumeConfigError, workdir_lib.DamagedCheckpointError, checkpointing.CheckpointWriteError) as error:
    print(f"train: error: {error}", file=sys.stderr)
    sys.exit(1)


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with a mistyped `--config.key`, a bad `configs/x.py:arg` or a
  bad flag value reported as one line, exit status 2, instead of a traceback."""
  try:
    rest = flags.FLAGS(argv)
    try:
      list(_CONFIG.value.keys())  # the config file loads lazily: make a missing one fail here
    except OSError as error:
      lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
      raise flags.Error(f"--config: {lines[-1]}") from None
    return rest
  except (KeyError, AttributeError) as error:  # ml_collections: an override of a field that does not exist
    cause = error
    while cause.__cause__ or cause.__context__:
      cause = cause.__cause__ or cause.__context__
    key = str(cause.args[0]) if isinstance(cause, KeyError) and cause.args else str(error).strip("'\"")
    overrides = [a for a in argv if a.startswith("--config.")]
    where = next((a for a in overrides if key in a.split("=", 1)[0].split(".")[1:]), "a --config override")
    hint = re.search(r'Did you mean "([^"]+)"', str(error))
    message = f"{where}: the config has no field {key!r}" + (f" (did you mean {hint.group(1)!r}?)" if hint else "")
  except (flags.Error, ValueError, TypeError) as error:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    message = re.sub(r"^\w+Error: ", "", lines[-1] if lines else type(error).__name__)
  print(f"train: error: {message}", file=sys.stderr)
  sys.exit(2)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
