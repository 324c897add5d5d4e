r"""Exports a trained run to the standalone PyTorch runtime (`wcs_jax.torch_runtime`).

    python tools/convert_to_torch.py --workdir runs/smoke --output runs/smoke_torch --verify
    python tools/track.py --backend torch --weights runs/smoke_torch --input clip.mp4 --output out

Writes, from the latest checkpoint of the run's last stage
(`wcs_jax.io.workdir.load_inference_variables`):

- `OUTPUT/wcsnet.safetensors`: the float32 weights of EG-Net, Gaze2Mask-Net and WCS-Net
  (those the run holds), under `<network>.<PyTorch state-dict key>`, batch norm
  unfolded (the runtime folds it at load time); safetensors, no pickle;
- `OUTPUT/config.json`: each network's model config, the run's training config (the
  tracker's crop geometry comes from it) and where the weights came from.

The runtime needs only torch, numpy and safetensors: `from wcs_jax.torch_runtime
import Runtime; Runtime("runs/smoke_torch")`.

`--verify` runs the JAX networks and the exported PyTorch ones (as the runtime loads
them: batch norm folded, channels_last) on the same random inputs at the run's image
size and prints the largest absolute difference of every network's logits; it exits
with status 2 if one exceeds `--tolerance`.

`--torchscript` / `--export` also write `OUTPUT/<network>.pt` graphs of the networks
(`torch.jit.trace`, or `torch.export` as `.pt2`) at the run's image size, for
deployment without this package; see docs/torch_runtime.md for which networks they support.

`--onnx` writes `OUTPUT/<graph>.onnx` ONNX graphs of the same four networks, with named
inputs and outputs and a dynamic batch (`wcs_jax/torch_runtime/onnx_graphs.py` lists
them), for `tools/track.py --backend onnx --weights OUTPUT` and other ONNX runtimes;
with `--verify`, each is also run with ONNX Runtime against the PyTorch runtime, its
largest logit difference printed and held to `--tolerance` like the others.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=wrong-import-position
import torch  # pylint: disable=wrong-import-position

from wcs_jax.spec import networks  # pylint: disable=wrong-import-position
from wcs_jax.torch_runtime import convert  # pylint: disable=wrong-import-position
from wcs_jax.torch_runtime import export  # pylint: disable=wrong-import-position
from wcs_jax.torch_runtime import graphs  # pylint: disable=wrong-import-position


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True, metavar="RUN",
                      help="trained run (python -m wcs_jax.train): a stage's workdir or a chain's")
  parser.add_argument("--output", required=True, metavar="DIR",
                      help="export directory (created): wcsnet.safetensors and config.json")
  parser.add_argument("--verify", action="store_true",
                      help="run JAX and PyTorch on the same inputs and print each network's largest "
                           "logit difference; exit status 2 above --tolerance")
  parser.add_argument("--tolerance", type=float, default=1e-4,
                      help="largest accepted max abs logit difference for --verify (default 1e-4)")
  parser.add_argument("--batch", type=int, default=2, help="examples per network for --verify (default 2)")
  parser.add_argument("--seed", type=int, default=0, help="seed of the --verify inputs (default 0)")
  parser.add_argument("--torchscript", action="store_true",
                      help="also write DIR/<network>.pt, torch.jit.trace graphs at the run's image size")
  parser.add_argument("--export", action="store_true",
                      help="also write DIR/<network>.pt2, torch.export programs at the run's image size")
  parser.add_argument("--onnx", action="store_true",
                      help="also write DIR/<graph>.onnx, ONNX graphs at the run's image size with a dynamic "
                           "batch (needs the onnx extra: pip install -e '.[deploy,onnx]')")
  return parser


def convert_workdir(workdir: str | os.PathLike, output: str | os.PathLike) -> tuple[dict, dict]:
  """Writes the export of `workdir` into `output`.

  Returns:
    (loaded, state_dicts): `load_inference_variables(workdir)` and {network: PyTorch
    state dict} of the exported networks.
  """
  from wcs_jax.io import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  loaded = workdir_lib.load_inference_variables(workdir)
  model_configs = {name: dict(loaded["model_configs"][name]) for name in networks.NETWORKS
                   if loaded.get(name) is not None}
  if "wcsnet" not in model_configs:
    raise ValueError(f"{workdir} holds no WCS-Net weights (networks: {sorted(model_configs)}): "
                     "export a run whose chain trained WCS-Net")
  source = {"workdir": str(pathlib.Path(workdir).resolve()),
            "training_config": json.loads(loaded["config"].to_json_best_effort())}
  try:
    state_dicts = convert.export_flax_variables(output, {name: loaded[name] for name in model_configs},
                                                model_configs, source)
  except convert.VariablesMismatchError as error:
    raise ValueError(f"{workdir}: {error}") from error
  return loaded, state_dicts


def verify_inputs(image_size: int, batch: int, seed: int) -> dict[str, np.ndarray]:
  """The --verify inputs: random images, a shifted search image, a centred gaze blob, its mask."""
  rng = np.random.default_rng(seed)
  image = rng.uniform(0, 1, (batch, image_size, image_size, 3)).astype(np.float32)
  search = (np.roll(image, image_size // 8, axis=(1, 2)) * rng.uniform(0.8, 1.0)).astype(np.float32)
  yy, xx = np.mgrid[:image_size, :image_size] / image_size
  blob = np.exp(-((yy - 0.5) ** 2 + (xx - 0.5) ** 2) / (2 * 0.15 ** 2))
  gaze = np.broadcast_to(blob[None, ..., None], (batch, image_size, image_size, 1)).astype(np.float32)
  return {"image": image, "search": search, "gaze": gaze, "mask": (gaze > 0.5).astype(np.float32)}


def verify(loaded: dict, output: str | os.PathLike, image_size: int, batch: int, seed: int) -> dict[str, float]:
  """Max abs logit difference between JAX and the exported PyTorch networks, per output."""
  import jax  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import build  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import wcsnet  # pylint: disable=g-import-not-at-top

  torch_nets = export.load_networks(output)
  inputs = verify_inputs(image_size, batch, seed)
  image, search, gaze, mask = (inputs[k] for k in ("image", "search", "gaze", "mask"))
  to_torch = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)
  to_numpy = lambda t: t.permute(0, 2, 3, 1).numpy()
  differences = {}
  for name, net in torch_nets.items():
    module = build.from_config(loaded["model_configs"][name], name)
    variables = loaded[name]
    with torch.inference_mode():
      if name == "egnet":
        expected = {"gaze": jax.jit(module.apply)(variables, image)}
        got = {"gaze": net(to_torch(image))}
      elif name == "gaze2mask":
        expected = {"mask": jax.jit(module.apply)(variables, image, gaze)}
        got = {"mask": net(to_torch(image), to_torch(gaze))}
      else:
        code = wcsnet.encode_template(module, variables, image, mask, gaze)
        expected = dict(zip(("mask", "hotspot"), wcsnet.track(module, variables, code, search)))
        torch_code = net.encode_template(to_torch(image), to_torch(mask), to_torch(gaze))
        got = dict(zip(("mask", "hotspot"), net.track(torch_code, to_torch(search))))
    for key, e in expected.items():
      if e is not None:
        differences[f"{name}/{key}"] = float(np.abs(to_numpy(got[key]) - np.asarray(e)).max())
        differences[f"{name}/{key} (logit scale)"] = float(np.abs(np.asarray(e)).max())
  return differences


def main(argv: list[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    loaded, state_dicts = convert_workdir(args.workdir, args.output)
  except (ValueError, OSError) as error:
    print(f"convert_to_torch.py: error: {error}", file=sys.stderr)
    return 1
  image_size = int(loaded["config"].input.image_size)
  count = sum(v.size for sd in state_dicts.values() for v in sd.values())
  print(f"wrote {pathlib.Path(args.output) / export.WEIGHTS_FILE} ({', '.join(state_dicts)}; "
        f"{count / 1e6:.2f} M values) and {export.CONFIG_FILE}")
  for kind, wanted in (("torchscript", args.torchscript), ("export", args.export)):
    if wanted:
      for name, line in graphs.write_graphs(args.output, kind, image_size).items():
        print(f"{kind} {name}: {line}")
  if args.onnx:
    try:
      from wcs_jax.torch_runtime import onnx_graphs  # pylint: disable=g-import-not-at-top
      if args.verify:
        import onnxruntime  # pylint: disable=g-import-not-at-top,unused-import
      lines = onnx_graphs.write_onnx(args.output, image_size)
    except ImportError as error:
      print(f"convert_to_torch.py: error: --onnx needs the onnx extra (pip install -e '.[deploy,onnx]'): {error}",
            file=sys.stderr)
      return 1
    for name, line in lines.items():
      print(f"onnx {name}: {line}")
    if any(line.startswith("FAILED") for line in lines.values()):
      print("convert_to_torch.py: error: an ONNX graph could not be written (above)", file=sys.stderr)
      return 1
  status = 0
  if args.verify:
    differences = verify(loaded, args.output, image_size, args.batch, args.seed)
    print(f"verify at {image_size}x{image_size}, batch {args.batch}: max abs logit difference, JAX vs PyTorch "
          "(batch norm folded, channels_last)")
    status = max(status, _print_differences(differences, args.tolerance))
    if args.onnx:
      differences = onnx_graphs.verify(args.output, image_size, verify_inputs(image_size, args.batch, args.seed))
      print(f"verify ONNX at {image_size}x{image_size}, batch {args.batch}: max abs logit difference, ONNX Runtime "
            "(CPU) vs PyTorch")
      status = max(status, _print_differences(differences, args.tolerance))
  return status


def _print_differences(differences: dict[str, float], tolerance: float) -> int:
  """Prints one line per output; returns 2 if one is above `tolerance`, else 0."""
  status = 0
  for key, value in differences.items():
    if not key.endswith("(logit scale)"):
      scale = differences[f"{key} (logit scale)"]
      verdict = "ok" if value <= tolerance else f"ABOVE {tolerance:g}"
      print(f"  {key:16s} {value:.3g}  relative {value / max(scale, 1e-12):.2g} (logits up to {scale:.3g})  "
            f"{verdict}")
      if value > tolerance:
        status = 2
  return status


if __name__ == "__main__":
  sys.exit(main())
