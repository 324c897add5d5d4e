"""Helpers of the training tests: config loading, fast compiles, a stand-in encoder,
subprocess environment."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import tempfile
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from wcs_jax.models import efficientnet
from wcs_jax.models import encoders
from wcs_jax.models import layers
from wcs_jax.spec import backbones

REPO = pathlib.Path(__file__).resolve().parents[1]
# One persistent compilation cache for the tests' processes: the subprocess runs of
# the kill and multi-host tests compile the same programs as the in-process ones.
COMPILATION_CACHE = pathlib.Path(tempfile.gettempdir()) / "wcs_jax_test_compilation_cache"


def load_config(name: str, arg: str | None = None):
  """`configs/<name>` loaded as `--config configs/<name>:<arg>` would be."""
  path = REPO / "configs" / name
  spec = importlib.util.spec_from_file_location(f"test_config_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


@contextlib.contextmanager
def fast_compiles():
  """Compilation optimisations off and the shared persistent cache on, then restored."""
  names = ("jax_disable_most_optimizations", "jax_compilation_cache_dir",
           "jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")
  saved = {n: jax.config.values[n] for n in names}
  values = (True, str(COMPILATION_CACHE), 0.0, 0)
  for n, v in zip(names, values):
    jax.config.update(n, v)
  try:
    yield
  finally:
    for n, v in saved.items():
      jax.config.update(n, v)


class MiniEfficientNet(nn.Module):
  """Stand-in encoder of the tests of training mechanics (the chain, data parallelism,
  resume, precise BN): EfficientNet's first layers at a fraction of its compile time,
  which dominates those tests' few tiny steps (EfficientNet-B0 itself trains in
  tests/test_learning.py, tests/test_real_data.py and the kill -9 test).

  The stem (`stem_conv`, `stem_bn`) and one residual MBConv block (`block1a`: depth-wise
  conv, squeeze-excitation, drop-connect at rate 0.2) of `wcs_jax.models.efficientnet`,
  then four stride-2 conv + batch norm + swish levels (`conv2`..`conv5`, `bn2`..`bn5`).
  EfficientNet's layer names where it has the layer, so `frozen_params` prefixes and
  checks of the stem's statistics read as they do on the real encoder.

  [B, H, W, in_channels] in [0, 1] -> five levels [B, H / 2^j, W / 2^j, 8 j], j = 1..5.
  """
  in_channels: int = 3
  depthwise_impl: str = "auto"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> list[jax.Array]:
    if x.shape[-1] != self.in_channels:
      raise ValueError(f"MiniEfficientNet expects {self.in_channels} input channels, got shape {x.shape}")
    x = layers.Conv(8, (3, 3), strides=(2, 2), padding="SAME", use_bias=False, dtype=self.dtype,
                    name="stem_conv")(x.astype(self.dtype))
    x = layers.swish(layers.batch_norm(train, efficientnet.EPSILON, self.dtype, "stem_bn")(x))
    block = backbones.StageArgs(kernel_size=3, repeats=1, filters_in=8, filters_out=8, expand_ratio=1, stride=1)
    x = efficientnet.MBConv(block, 0.2, "swish", self.depthwise_impl, self.dtype, name="block1a")(x, train)
    levels = [x]
    for j in range(2, 6):
      x = layers.Conv(8 * j, (3, 3), strides=(2, 2), padding="SAME", dtype=self.dtype, name=f"conv{j}")(x)
      x = layers.swish(layers.batch_norm(train, efficientnet.EPSILON, self.dtype, f"bn{j}")(x))
      levels.append(x)
    return levels


@contextlib.contextmanager
def stand_in_encoder():
  """Every network built inside uses `MiniEfficientNet` whatever its backbone."""

  def build_encoder(arch, in_channels=3, depthwise_impl="auto", dtype=jnp.float32, name=None):
    del arch
    return MiniEfficientNet(in_channels, depthwise_impl, dtype, name=name)

  original = encoders.build_encoder
  encoders.build_encoder = build_encoder
  try:
    yield
  finally:
    encoders.build_encoder = original


def subprocess_env(device_count: int, *, persistent_cache: bool = True) -> dict[str, str]:
  """Environment of a training subprocess: `device_count` CPU devices, the same
  compilation settings as `fast_compiles`, quiet TensorFlow, no GPU.

  `persistent_cache=False` for the processes of one multi-process run: JAX writes
  their executables to the cache from process 0 only, so on a second run process 0
  loads its step while the others compile it, and the first collective (gloo waits
  30 s for its peers) times out on a slow machine.
  """
  env = dict(os.environ)
  env.update({
      "XLA_FLAGS": f"--xla_force_host_platform_device_count={device_count}",
      "JAX_PLATFORMS": "cpu",
      "JAX_DISABLE_MOST_OPTIMIZATIONS": "1",
      "JAX_COMPILATION_CACHE_DIR": str(COMPILATION_CACHE),
      "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
      "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
      "TF_CPP_MIN_LOG_LEVEL": "2",
      "TF_ENABLE_ONEDNN_OPTS": "0",
      "CUDA_VISIBLE_DEVICES": "",
      "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), env.get("PYTHONPATH", "")]),
  })
  if not persistent_cache:
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                 "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"):
      env.pop(name)
  return env


def assert_same_run(rows_a, rows_b, state_a, state_b, *, learning_rate: float) -> None:
  """Two runs on the same global batches with different device layouts agree.

  The first step (loss and gradient norm, both computed before any update, with
  batch-norm statistics and the gradient mean over the global batch) agrees to float
  summation order. Adam then amplifies that noise: its first update is
  `lr * g / (|g| + eps)`, about `lr * sign(g)`, so a parameter whose gradient is at the
  noise level can move by up to `2 lr` differently at each step. So: later losses to
  1e-3, every parameter within `2 lr` per step, and the mean parameter difference
  under 1e-3 of the mean parameter. A real fault (per-device batch-norm statistics, a
  gradient not averaged over devices, a batch split wrongly) breaks the first-step
  checks by orders of magnitude.

  The decoders' logit convolutions start at zero, so the first-step loss is the same
  for any encoder (every logit 0: ln 2 per pixel, summed in float32 in a different
  order on each layout, hence its 3e-5); the first-step gradient norm is where the
  encoder, its batch-norm statistics and the gradient averaging show.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  np.testing.assert_allclose(rows_b[0]["loss"], rows_a[0]["loss"], rtol=3e-5)
  np.testing.assert_allclose(rows_b[0]["grad_norm"], rows_a[0]["grad_norm"], rtol=1e-4)
  np.testing.assert_allclose([r["loss"] for r in rows_b], [r["loss"] for r in rows_a], rtol=1e-3)
  x = np.concatenate([np.ravel(v) for v in jax.tree.leaves(state_a["params"])])
  y = np.concatenate([np.ravel(v) for v in jax.tree.leaves(state_b["params"])])
  diff = np.abs(x - y)
  assert diff.max() <= 2 * len(rows_a) * learning_rate * 1.01, f"largest parameter difference {diff.max()}"
  assert diff.mean() <= 1e-3 * np.abs(x).mean(), f"mean parameter difference {diff.mean()}"
  for u, v in zip(jax.tree.leaves(state_a["batch_stats"]), jax.tree.leaves(state_b["batch_stats"])):
    np.testing.assert_allclose(u, v, rtol=1e-3, atol=1e-4)
