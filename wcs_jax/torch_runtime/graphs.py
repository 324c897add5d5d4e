"""Self-contained graphs of the exported networks: TorchScript (`torch.jit.trace`) and
`torch.export` programs, for deployment without this package.

WCS-Net's real-time split becomes two graphs with plain tensor signatures:
- `wcsnet_template`: (template_image, template_mask, template_hotspot) -> the template
  code as a flat tuple (mask-branch entries, then hotspot-branch entries, ascending
  levels);
- `wcsnet_track`: (search_image, *code) -> (mask logits, hotspot logits), a branch
  that is off left out.
EG-Net and Gaze2Mask-Net are graphs of their forward. All inputs NCHW float32 at
the size they were traced with (the padding and resizes depend on it); batch 1.
"""
from __future__ import annotations

import os
import pathlib

import torch
from torch import nn

from wcs_jax.torch_runtime import export
from wcs_jax.torch_runtime import networks

KINDS = {"torchscript": ".pt", "export": ".pt2"}


class TemplateEncoder(nn.Module):
  """`WCSNet.encode_template` with the code flattened into a tuple of tensors."""

  def __init__(self, wcsnet: networks.WCSNet):
    super().__init__()
    self.wcsnet = wcsnet

  def forward(self, template_image: torch.Tensor, template_mask: torch.Tensor,
              template_hotspot: torch.Tensor) -> tuple[torch.Tensor, ...]:
    code = self.wcsnet.encode_template(template_image, template_mask, template_hotspot)
    return tuple(code.mask) + tuple(code.hotspot)


class FrameTracker(nn.Module):
  """`WCSNet.track` on a flat code (as `TemplateEncoder` returns it)."""

  def __init__(self, wcsnet: networks.WCSNet):
    super().__init__()
    self.wcsnet = wcsnet

  def forward(self, search_image: torch.Tensor, *code: torch.Tensor) -> tuple[torch.Tensor, ...]:
    n = len(self.wcsnet.mask_levels)
    mask, hotspot = self.wcsnet.track(networks.TemplateCode(tuple(code[:n]), tuple(code[n:])), search_image)
    return tuple(t for t in (mask, hotspot) if t is not None)


def example_graphs(nets: dict[str, nn.Module], image_size: int) -> dict[str, tuple[nn.Module, tuple]]:
  """{graph name: (module, example inputs)} of the networks of an export."""
  image = torch.rand(1, 3, image_size, image_size).contiguous(memory_format=torch.channels_last)
  guidance = torch.rand(1, 1, image_size, image_size)
  out = {}
  if "egnet" in nets:
    out["egnet"] = (nets["egnet"], (image,))
  if "gaze2mask" in nets:
    out["gaze2mask"] = (nets["gaze2mask"], (image, guidance))
  if "wcsnet" in nets:
    encoder = TemplateEncoder(nets["wcsnet"]).eval()
    with torch.inference_mode():
      code = encoder(image, guidance, guidance)
    out["wcsnet_template"] = (encoder, (image, guidance, guidance))
    out["wcsnet_track"] = (FrameTracker(nets["wcsnet"]).eval(), (image,) + tuple(code))
  return out


def write_graphs(directory: str | os.PathLike, kind: str, image_size: int) -> dict[str, str]:
  """Writes DIR/<graph>.pt (TorchScript) or .pt2 (torch.export) for every network.

  Each graph is checked against the eager network on its example inputs.

  Args:
    directory: an export directory (the graphs are written beside its weights).
    kind: "torchscript" or "export".
    image_size: the input side the graphs are traced at.

  Returns:
    {graph name: one line saying where it went and its largest difference from eager,
    or why it failed}.
  """
  if kind not in KINDS:
    raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
  directory = pathlib.Path(directory)
  nets = export.load_networks(directory)
  report = {}
  for name, (module, inputs) in example_graphs(nets, image_size).items():
    path = directory / f"{name}{KINDS[kind]}"
    try:
      with torch.no_grad():
        expected = _as_tuple(module(*inputs))
        if kind == "torchscript":
          graph = torch.jit.trace(module, inputs, check_trace=False)
          torch.jit.save(graph, str(path))
          got = _as_tuple(torch.jit.load(str(path))(*inputs))
        else:
          program = torch.export.export(module, inputs)
          torch.export.save(program, str(path))
          got = _as_tuple(torch.export.load(str(path)).module()(*inputs))
      difference = max(float((g - e).abs().max()) for g, e in zip(got, expected))
      report[name] = f"{path} (max abs difference from eager {difference:.2g})"
    except Exception as error:  # pylint: disable=broad-except
      # Which graphs a PyTorch version can capture is an empirical fact; report it.
      report[name] = f"FAILED: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
  return report


def _as_tuple(x) -> tuple[torch.Tensor, ...]:
  return tuple(x) if isinstance(x, (tuple, list)) else (x,)
