"""One process of a real multi-process training run (tests/test_train_faults.py).

    python tests/train_multihost_worker.py PORT PROCESS_ID NUM_PROCESSES WORKDIR

Joins the run through a coordinator on 127.0.0.1:PORT (CPU collectives over gloo),
with the simulated local devices of XLA_FLAGS, and trains `tiny_config()` (with the
stand-in encoder `train_testing.MiniEfficientNet`) on the batches of `global_batch`,
of which it feeds only its own rows: the same global batches as a single process
feeding all of them.
"""
from __future__ import annotations

import itertools
import sys

import jax
import ml_collections
import numpy as np


def tiny_config() -> ml_collections.ConfigDict:
  """EG-Net at 32x32 with EfficientNet-B0 (the tests build it under
  `train_testing.stand_in_encoder()`) and an 8-wide decoder, batch 4."""
  from wcs_jax.spec import networks  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict()
  config.stage, config.network = "egnet", "egnet"
  config.model = ml_collections.ConfigDict(networks.default_model_config())
  config.model.backbone, config.model.decoder_channels = "efficientnet-b0", 8
  config.batch_size, config.total_steps, config.seed = 4, 2, 0
  config.optimizer = ml_collections.ConfigDict(dict(
      learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, warmup_steps=0, grad_clip_norm=0.0))
  config.input = ml_collections.ConfigDict(dict(image_size=32))
  config.init_from, config.backbone_init = "", ""
  config.log_every, config.checkpoint_every, config.keep_checkpoints = 1, 2, 2
  config.async_checkpoints = True
  return config


def global_batch(config: ml_collections.ConfigDict, step: int) -> dict[str, np.ndarray]:
  """The global EG-Net batch of `step`: random images, a smooth blob as gaze map."""
  rng = np.random.default_rng([config.seed, step])
  b, s = config.batch_size, config.input.image_size
  image = rng.random((b, s, s, 3), dtype=np.float32)
  yy, xx = np.mgrid[:s, :s] / s
  centres = rng.random((b, 2))
  gaze = np.exp(-((xx - centres[:, :1, None]) ** 2 + (yy - centres[:, 1:, None]) ** 2) / 0.02)
  return {"image": image, "gaze": gaze[..., None].astype(np.float32)}


def host_batches(config: ml_collections.ConfigDict, start_step: int):
  """This process's rows of every global batch from `start_step` on."""
  n, i = jax.process_count(), jax.process_index()
  local = config.batch_size // n
  for step in itertools.count(start_step):
    batch = global_batch(config, step)
    yield {k: v[i * local:(i + 1) * local] for k, v in batch.items()}


def main(port: str, process_id: str, num_processes: str, workdir: str) -> None:
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(f"127.0.0.1:{port}", int(num_processes), int(process_id))
  from wcs_jax.training import trainer  # pylint: disable=g-import-not-at-top
  import train_testing  # pylint: disable=g-import-not-at-top
  with train_testing.stand_in_encoder():
    trainer.train_and_evaluate(tiny_config(), workdir, host_batches=host_batches)
  jax.distributed.shutdown()


if __name__ == "__main__":
  main(*sys.argv[1:])
