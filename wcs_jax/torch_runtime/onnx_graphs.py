"""ONNX graphs of an export: `tools/convert_to_torch.py --onnx`, for ONNX Runtime, OpenVINO,
TensorRT and other runtimes (`wcs_jax.inference.onnx_backend` runs them in the tracker).

Four graphs, written beside the weights as `DIR/<graph>.onnx` (opset 17; the weights
inside each file), each taking and returning float32 NCHW tensors at the side S they
were exported at, with a dynamic batch dimension `batch` (one entry per object):

| graph | inputs | outputs |
| --- | --- | --- |
| `egnet` | `image` [batch, 3, S, S] RGB in [0, 1] | `gaze_logits` [batch, 1, S, S] (Eq. 1) |
| `gaze2mask` | `image`, `gaze` [batch, 1, S, S] in [0, 1] | `mask_logits` [batch, 1, S, S] (Eq. 2) |
| `wcsnet_template` | `template_image`, `template_mask`, `template_hotspot` | `code_mask_<j>`, `code_hotspot_<j>` (Eq. 3) |
| `wcsnet_track` | `search_image`, then the template code by name | `mask_logits`, `hotspot_logits` (Eqs. 4-6) |

The template code is one tensor per correlation level of each branch, `j` its level
(e.g. `code_mask_2`), in the order `TemplateCode` holds them; a branch that is off has
no code and no output. Outputs are logits (the sigmoid is the caller's).

Export uses PyTorch's TorchScript-based exporter (`torch.onnx.export(dynamo=False)`):
the `torch.export`-based one specialises the batch dimension of these networks to the
example's, so a graph exported with it would track one object only.
"""
from __future__ import annotations

import os
import pathlib
import warnings

import numpy as np
import torch

from wcs_jax.torch_runtime import export
from wcs_jax.torch_runtime import graphs

OPSET = 17
SUFFIX = ".onnx"
GRAPHS = ("egnet", "gaze2mask", "wcsnet_template", "wcsnet_track")


def code_names(wcsnet) -> list[str]:
  """The template code's tensor names of a `torch_runtime.networks.WCSNet`, in code order."""
  return ([f"code_mask_{j}" for j in wcsnet.mask_levels] +
          [f"code_hotspot_{j}" for j in wcsnet.hotspot_levels])


def signature(name: str, nets: dict) -> tuple[list[str], list[str]]:
  """(input names, output names) of graph `name` of the exported networks `nets`."""
  if name == "egnet":
    return ["image"], ["gaze_logits"]
  if name == "gaze2mask":
    return ["image", "gaze"], ["mask_logits"]
  wcsnet = nets["wcsnet"]
  if name == "wcsnet_template":
    return ["template_image", "template_mask", "template_hotspot"], code_names(wcsnet)
  outputs = (["mask_logits"] if wcsnet.mask_levels else []) + (["hotspot_logits"] if wcsnet.hotspot_levels else [])
  return ["search_image"] + code_names(wcsnet), outputs


def write_onnx(directory: str | os.PathLike, image_size: int) -> dict[str, str]:
  """Writes DIR/<graph>.onnx for every network of the export in `directory`.

  Each graph is checked after writing: loaded back with ONNX Runtime, where it is
  installed, and run on its example inputs at batch 2 (the dynamic batch) against the
  eager PyTorch network.

  Returns:
    {graph name: one line saying where it went and its largest difference from eager,
    or why it failed}.
  """
  directory = pathlib.Path(directory)
  nets = export.load_networks(directory)
  report = {}
  for name, (module, inputs) in graphs.example_graphs(nets, image_size).items():
    path = directory / f"{name}{SUFFIX}"
    input_names, output_names = signature(name, nets)
    # Tensors made under inference mode cannot be traced by the exporter: plain copies.
    inputs = tuple(x.clone().contiguous() for x in inputs)
    try:
      partial = path.with_name(path.name + ".partial")
      with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(module, inputs, str(partial), input_names=input_names, output_names=output_names,
                          opset_version=OPSET, dynamo=False,
                          dynamic_axes={n: {0: "batch"} for n in input_names + output_names})
      partial.replace(path)  # a graph on disk is a complete one
      report[name] = f"{path} ({path.stat().st_size / 1e6:.1f} MB{_eager_difference(path, module, inputs)})"
    except Exception as error:  # pylint: disable=broad-except
      # Which graphs an exporter can capture is an empirical fact; report it.
      report[name] = f"FAILED: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
  return report


def _eager_difference(path: pathlib.Path, module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> str:
  try:
    import onnxruntime  # pylint: disable=import-outside-toplevel
  except ImportError:
    return "; not checked: onnxruntime is not installed"
  batch = tuple(torch.cat([x, x.roll(1, dims=-1)]) for x in inputs)  # two different entries
  with torch.no_grad():
    expected = graphs._as_tuple(module(*batch))  # pylint: disable=protected-access
  session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
  got = session.run(None, {i.name: x.numpy() for i, x in zip(session.get_inputs(), batch)})
  difference = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))
  return f", batch 2: max abs difference from eager {difference:.2g}"


def verify(directory: str | os.PathLike, image_size: int, inputs: dict[str, np.ndarray]) -> dict[str, float]:
  """Max abs logit difference between the ONNX graphs (ONNX Runtime, CPU) and the PyTorch
  runtime (`Runtime(directory)`: batch norm folded, channels_last, eager) on the same inputs.

  Args:
    directory: an export with its `.onnx` graphs.
    image_size: S.
    inputs: NHWC float32 arrays `image` [B, S, S, 3], `search` [B, S, S, 3], `gaze` and
      `mask` [B, S, S, 1] (as `tools/convert_to_torch.py --verify` makes them).

  Returns:
    {"<graph>/<output>": difference}, with "<graph>/<output> (logit scale)" the largest
    absolute logit of PyTorch's, for a relative reading.
  """
  import onnxruntime  # pylint: disable=import-outside-toplevel
  from wcs_jax.inference.onnx_backend import nchw  # pylint: disable=import-outside-toplevel
  from wcs_jax.torch_runtime import runtime  # pylint: disable=import-outside-toplevel
  directory = pathlib.Path(directory)
  torch_runtime = runtime.Runtime(directory, graph="eager")
  sessions = {name: onnxruntime.InferenceSession(str(directory / f"{name}{SUFFIX}"),
                                                 providers=["CPUExecutionProvider"])
              for name in GRAPHS if (directory / f"{name}{SUFFIX}").is_file()}
  expected, got = {}, {}
  if "egnet" in sessions:
    expected["egnet/gaze"] = torch_runtime.egnet(inputs["image"])
    got["egnet/gaze"] = sessions["egnet"].run(None, {"image": nchw(inputs["image"])})[0]
  if "gaze2mask" in sessions:
    expected["gaze2mask/mask"] = torch_runtime.gaze2mask(inputs["image"], inputs["gaze"])
    got["gaze2mask/mask"] = sessions["gaze2mask"].run(
        None, {"image": nchw(inputs["image"]), "gaze": nchw(inputs["gaze"])})[0]
  if "wcsnet_template" in sessions and "wcsnet_track" in sessions:
    code = torch_runtime.encode_template(inputs["image"], inputs["mask"], inputs["gaze"])
    mask, hotspot = torch_runtime.track(code, inputs["search"])
    template = sessions["wcsnet_template"]
    onnx_code = template.run(None, {"template_image": nchw(inputs["image"]), "template_mask": nchw(inputs["mask"]),
                                    "template_hotspot": nchw(inputs["gaze"])})
    flat = [t.numpy() for t in tuple(code.mask) + tuple(code.hotspot)]
    for output, entry, value in zip(template.get_outputs(), flat, onnx_code):
      expected[f"wcsnet_template/{output.name}"] = entry  # both NCHW
      got[f"wcsnet_template/{output.name}"] = value
    track = sessions["wcsnet_track"]
    feed = {"search_image": nchw(inputs["search"])}
    feed.update({output.name: value for output, value in zip(template.get_outputs(), onnx_code)})
    outputs = dict(zip((o.name for o in track.get_outputs()), track.run(None, feed)))
    for key, value in (("mask", mask), ("hotspot", hotspot)):
      if value is not None:
        expected[f"wcsnet_track/{key}"], got[f"wcsnet_track/{key}"] = value, outputs[f"{key}_logits"]
  differences = {}
  for key, e in expected.items():
    g = got[key] if key.startswith("wcsnet_template/") else got[key].transpose(0, 2, 3, 1)  # logits to NHWC
    differences[key] = float(np.abs(g - e).max())
    differences[f"{key} (logit scale)"] = float(np.abs(e).max())
  return differences
