"""Parameters and FLOPs of EG-Net, Gaze2Mask-Net and WCS-Net for a config.

Usage:
  python tools/model_summary.py --config default
  python tools/model_summary.py --config configs/stage2.py
  python tools/model_summary.py --config configs/stage2.py:synthetic --size 320
  python tools/model_summary.py --config default --model backbone=resnet101 --model levels=345
  python tools/model_summary.py --config default --time-track 50

Prints a markdown table: for each network its parameters (all, and those of the
encoder) and the FLOPs of one forward pass at batch 1 in evaluation mode; for WCS-Net
also the two halves of the real-time API: `encode_template` (once per tracked object)
and `track` (every frame: search encoder, correlations, decoders). FLOPs are XLA's
cost analysis of the compiled program on this machine's backend
(`jax.jit(f).lower(...).compile().cost_analysis()["flops"]`; a multiply-add counts 2),
so they include resizes and element-wise ops, not only convolutions. Nothing is run:
parameters come from `jax.eval_shape`, FLOPs from compiling abstract inputs.

`--time-track N` also runs the jitted `wcs_jax.models.wcsnet.track` on one search crop
N times after a warm-up, with random weights (time does not depend on their values),
and prints the median and fastest wall time per frame on this machine.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import pathlib
import sys
import time
from typing import Any

# Config files import the input pipeline, hence TensorFlow: keep it quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top,wrong-import-position
import ml_collections  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from wcs_jax.inference import jax_backend  # pylint: disable=g-import-not-at-top,wrong-import-position
from wcs_jax.models import build  # pylint: disable=g-import-not-at-top,wrong-import-position
from wcs_jax.models import wcsnet  # pylint: disable=g-import-not-at-top,wrong-import-position
from wcs_jax.spec import networks  # pylint: disable=g-import-not-at-top,wrong-import-position


def load_model_config(spec: str) -> tuple[ml_collections.ConfigDict, int | None]:
  """`config.model` (and `config.input.image_size` if any) of a config file, or the defaults.

  Args:
    spec: "default", or PATH[:ARG] of a Python file whose `get_config(ARG)` returns a
      config with a `model` field.

  Returns:
    (model config, image size or None).
  """
  if spec == "default":
    return ml_collections.ConfigDict(networks.default_model_config()), None
  path, _, arg = spec.partition(":")
  file = pathlib.Path(path)
  if not file.is_file():
    raise SystemExit(f"--config: no such config file {path!r} (or give 'default')")
  module_spec = importlib.util.spec_from_file_location(f"model_summary_config_{file.stem}", file)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise SystemExit(f"--config: {path} has no get_config()")
  config = module.get_config(arg) if arg else module.get_config()
  if "model" not in config:
    raise SystemExit(f"--config: get_config() of {path} returned no 'model' field")
  size = config.input.get("image_size") if "input" in config else None
  return config.model, size


def parse_override(text: str) -> tuple[str, Any]:
  """"levels=345" -> ("levels", "345"); ints and true/false are converted."""
  key, sep, value = text.partition("=")
  if not sep:
    raise argparse.ArgumentTypeError(f"--model expects KEY=VALUE, got {text!r}")
  if value.lower() in ("true", "false"):
    return key, value.lower() == "true"
  if value.isdigit() and key != "levels":
    return key, int(value)
  return key, value


def count_params(params: Any) -> int:
  return int(sum(np.prod(p.shape) for p in jax.tree.leaves(params)))


def flops(fn, *args) -> float:
  """XLA's FLOP count of `fn` compiled for `args` (arrays or ShapeDtypeStructs)."""
  cost = jax.jit(fn).lower(*args).compile().cost_analysis()
  if isinstance(cost, (list, tuple)):  # older JAX returned one dict per program
    cost = cost[0]
  return float(cost["flops"])


def summarize(model_config: ml_collections.ConfigDict, size: int, batch: int = 1) -> list[dict[str, Any]]:
  """One row per network and real-time stage: name, params, encoder params, FLOPs."""
  key = jax.random.key(0)
  rows = []
  for network in networks.NETWORKS:
    args = [jax.ShapeDtypeStruct(shape, jnp.float32) for shape in networks.input_shapes(network, size, batch)]
    model = build.from_config(model_config, network)
    variables = jax.eval_shape(functools.partial(model.init, train=False), key, *args)
    params = variables["params"]
    name = {"egnet": "EG-Net", "gaze2mask": "Gaze2Mask-Net", "wcsnet": "WCS-Net (template + search)"}[network]
    rows.append(dict(name=name, params=count_params(params), encoder=count_params(params["encoder"]),
                     flops=flops(model.apply, variables, *args)))
    if network == "wcsnet":
      image, gmap = args[0], args[1]
      code = jax.eval_shape(functools.partial(model.apply, method=wcsnet.WCSNet.encode_template),
                            variables, image, gmap, gmap)
      rows.append(dict(name="WCS-Net encode_template (once per object)", params=None, encoder=None,
                       flops=flops(functools.partial(model.apply, method=wcsnet.WCSNet.encode_template),
                                   variables, image, gmap, gmap)))
      rows.append(dict(name="WCS-Net track (one frame)", params=None, encoder=None,
                       flops=flops(functools.partial(model.apply, method=wcsnet.WCSNet.track),
                                   variables, code, image)))
  return rows


def time_track(model_config: ml_collections.ConfigDict, size: int, batch: int, repeats: int) -> dict[str, float]:
  """Wall time per call of the jitted `wcsnet.track` after one warm-up call, in ms."""
  model = build.from_config(model_config, "wcsnet")
  rng = np.random.RandomState(0)
  image = jnp.asarray(rng.rand(batch, size, size, 3), jnp.float32)
  gmap = jnp.asarray(rng.rand(batch, size, size, 1), jnp.float32)
  variables = jax_backend.random_variables(model, size)
  code = wcsnet.encode_template(model, variables, image, gmap, gmap)
  jax.block_until_ready(wcsnet.track(model, variables, code, image))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(wcsnet.track(model, variables, code, image))
    times.append(1e3 * (time.perf_counter() - start))
  return dict(median_ms=float(np.median(times)), min_ms=float(np.min(times)))


def markdown(rows: list[dict[str, Any]], model_config: ml_collections.ConfigDict, size: int, batch: int) -> str:
  c = ml_collections.ConfigDict(networks.resolve_model_config(model_config))
  lines = [f"backbone {c.backbone}, decoder_channels {c.decoder_channels}, levels {c.levels}, "
           f"correlation {c.correlation}, hotspot_branch {c.hotspot_branch}, mask_branch {c.mask_branch}, "
           f"dtype {c.dtype}; input {size}x{size}, batch {batch}; FLOPs from XLA ({jax.default_backend()})",
           "",
           "| network | params (M) | of which encoder (M) | GFLOP |",
           "|---|---:|---:|---:|"]
  for r in rows:
    params = f"{r['params'] / 1e6:.2f}" if r["params"] is not None else ""
    encoder = f"{r['encoder'] / 1e6:.2f}" if r["encoder"] is not None else ""
    lines.append(f"| {r['name']} | {params} | {encoder} | {r['flops'] / 1e9:.2f} |")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", required=True,
                      help="'default' (the paper's model) or a config file PATH[:ARG] whose get_config() "
                           "has a 'model' field, e.g. configs/stage2.py")
  parser.add_argument("--model", action="append", default=[], type=parse_override, metavar="KEY=VALUE",
                      help="override a config.model field, e.g. backbone=resnet101 (repeatable)")
  parser.add_argument("--size", type=int, default=None,
                      help="S of the S x S input (default: the config's input.image_size, else 320)")
  parser.add_argument("--batch", type=int, default=1, help="batch size of the counted pass (default 1)")
  parser.add_argument("--time-track", type=int, default=0, metavar="N",
                      help="also time the jitted WCS-Net track N times after a warm-up (default 0: don't)")
  args = parser.parse_args(argv)

  model_config, config_size = load_model_config(args.config)
  model_config = ml_collections.ConfigDict(dict(model_config))
  for key, value in args.model:
    if key not in networks.default_model_config():
      parser.error(f"--model {key}: not a model field; known: {sorted(networks.default_model_config())}")
    model_config[key] = value
  try:
    networks.resolve_model_config(model_config)
  except ValueError as e:
    parser.error(str(e))
  size = args.size or config_size or 320
  rows = summarize(model_config, size, args.batch)
  print(markdown(rows, model_config, size, args.batch))
  if args.time_track > 0:
    t = time_track(model_config, size, args.batch, args.time_track)
    print(f"\njitted track, {size}x{size}, batch {args.batch}, {args.time_track} calls after warm-up "
          f"({jax.default_backend()}): median {t['median_ms']:.1f} ms, fastest {t['min_ms']:.1f} ms per call")
  return 0


if __name__ == "__main__":
  sys.exit(main())
