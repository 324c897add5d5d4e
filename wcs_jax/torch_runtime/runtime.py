"""The exported networks behind a numpy interface: what the tracker calls every frame.

`Runtime(DIR)` loads an export (`wcs_jax.torch_runtime.export`) and runs its networks
on batched numpy arrays in the JAX convention (NHWC float32, images RGB in [0, 1],
maps [B, H, W, 1] in [0, 1]; results are float32 logits [B, H, W, 1]), so a caller
switches backends without touching its data. Inside, tensors are NCHW views of the
NHWC arrays, i.e. channels_last in memory, the layout PyTorch's CPU kernels are
fastest in, with no copy on the way in or out.

Speed options (measured by `python tools/benchmark.py --torch`; see docs/torch_runtime.md):
- `precision="bfloat16"`: `torch.autocast` to bfloat16 (AMX on recent x86 CPUs). On
  the trained smoke run the logits move by up to 0.2-0.7 and the tracker's DAVIS masks
  by IoU 0.92-1.0 from float32: far outside the 1e-4 parity tolerance, so it is an
  option and float32 the default.
- `num_threads`: PyTorch's OpenMP threads wait for each other at every op; when other
  processes keep the cores busy, one thread is several times faster than one per core.
- `graph="trace"` (the default): the per-frame `track` runs as a frozen
  `torch.jit.trace` graph of the frame's shapes (traced on the first call of each
  shape, ~1 s), which removes the Python overhead of ~400 small eager ops, and, in
  float32, with oneDNN Graph fusion (`torch.jit.enable_onednn_fusion`, switched on
  around this graph's calls only): convolutions fused with their swish, sigmoid
  gates and residual adds, compiled on the first two calls. On the 2-core CPU this
  took the B2 frame (320, decoder 32) from 34-45 ms (eager) to 21-27 ms, half of JAX's
  (docs/torch_runtime.md, `tools/benchmark.py --torch`); its logits stay within 2e-6 of JAX's on the
  trained smoke run.
  `graph="compile"`: `torch.compile` (Inductor) of every network call; needs a C++
  compiler and takes minutes per shape on 2 cores. `graph="eager"`: plain PyTorch.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from typing import Callable

import numpy as np
import torch

from wcs_jax.torch_runtime import export
from wcs_jax.torch_runtime import graphs
from wcs_jax.torch_runtime.networks import TemplateCode
from wcs_jax.torch_runtime.networks import WCSNet

PRECISIONS = ("float32", "bfloat16")
GRAPHS = ("eager", "trace", "compile")


class Runtime:
  """EG-Net, Gaze2Mask-Net and WCS-Net of an export, on numpy arrays.

  Args:
    directory: written by `tools/convert_to_torch.py`.
    precision: "float32" or "bfloat16" (autocast; see the module docstring).
    graph: "trace", "eager" or "compile" (see the module docstring).
    fold_batch_norm: fold batch norm into the convolutions at load time.
    num_threads: PyTorch intra-op threads; None keeps PyTorch's default.
  """

  def __init__(self, directory: str | os.PathLike, *, precision: str = "float32", graph: str = "trace",
               fold_batch_norm: bool = True, num_threads: int | None = None):
    if precision not in PRECISIONS:
      raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if graph not in GRAPHS:
      raise ValueError(f"graph must be one of {list(GRAPHS)}, got {graph!r}")
    if num_threads is not None:
      torch.set_num_threads(num_threads)
    self.precision = precision
    self.networks = export.load_networks(directory, fold_batch_norm=fold_batch_norm, channels_last=True)
    self.model_configs = export.read_config(directory)["networks"]
    wcsnet = self.networks.get("wcsnet")
    self._calls: dict[str, Callable] = {}
    if "egnet" in self.networks:
      self._calls["egnet"] = self.networks["egnet"]
    if "gaze2mask" in self.networks:
      self._calls["gaze2mask"] = self.networks["gaze2mask"]
    if wcsnet is not None:
      self._calls["encode_template"] = wcsnet.encode_template
      self._calls["track"] = _TracedTrack(wcsnet) if graph == "trace" else wcsnet.track
    if graph == "compile":
      self._calls = {name: torch.compile(fn, dynamic=False) for name, fn in self._calls.items()}

  def has(self, network: str) -> bool:
    """Whether the export holds `network` ("egnet", "gaze2mask" or "wcsnet")."""
    return network in self.networks

  def _call(self, name: str, *args):
    if name not in self._calls:
      network = "wcsnet" if name in ("encode_template", "track") else name
      raise ValueError(f"this export holds no {network} (it has {sorted(self.networks)}): "
                       "convert a run that trained it")
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bfloat16"
                else contextlib.nullcontext())
    with torch.inference_mode(), autocast:
      return self._calls[name](*args)

  def egnet(self, image: np.ndarray, probabilities: bool = False) -> np.ndarray:
    """[B, H, W, 3] RGB in [0, 1] -> [B, H, W, 1] gaze logits (Eq. 1), or their sigmoid."""
    return _to_numpy(self._call("egnet", _to_torch(image, "image", 3)), probabilities)

  def gaze2mask(self, image: np.ndarray, gaze: np.ndarray, probabilities: bool = False) -> np.ndarray:
    """[B, H, W, 3] image, [B, H, W, 1] gaze map in [0, 1] -> [B, H, W, 1] mask logits (Eq. 2),
    or their sigmoid."""
    return _to_numpy(self._call("gaze2mask", _to_torch(image, "image", 3), _to_torch(gaze, "gaze", 1)),
                     probabilities)

  def encode_template(self, template_image: np.ndarray, template_mask: np.ndarray,
                      template_hotspot: np.ndarray) -> TemplateCode:
    """The object's template code (Eq. 3), computed once per object.

    Args:
      template_image: [B, S, S, 3] RGB in [0, 1].
      template_mask: [B, S, S, 1] in [0, 1].
      template_hotspot: [B, S, S, 1] in [0, 1].
    """
    return self._call("encode_template", _to_torch(template_image, "template_image", 3),
                      _to_torch(template_mask, "template_mask", 1),
                      _to_torch(template_hotspot, "template_hotspot", 1))

  def track(self, code: TemplateCode, search_image: np.ndarray, probabilities: bool = False
            ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One frame: [B, S, S, 3] search crop -> (mask, hotspot) [B, S, S, 1] logits, None if off.

    With `probabilities`, their sigmoid (computed by PyTorch: ~20x faster than numpy's).
    """
    mask, hotspot = self._call("track", code, _to_torch(search_image, "search_image", 3))
    return tuple(None if t is None else _to_numpy(t, probabilities) for t in (mask, hotspot))


class _TracedTrack:
  """`WCSNet.track` as frozen `torch.jit.trace` graphs, one per input signature (shapes, dtype).

  The tracker's shapes are fixed for a video (S, number of objects), so in practice
  one graph is traced on the first frame and reused; the trace is taken inside the
  caller's autocast context, so a bfloat16 runtime gets a bfloat16 graph.
  """

  def __init__(self, wcsnet: WCSNet):
    self._module = graphs.FrameTracker(wcsnet).eval()
    self._mask_branch, self._hotspot_branch = bool(wcsnet.mask_levels), bool(wcsnet.hotspot_levels)
    self._graphs: dict[tuple, torch.jit.ScriptModule] = {}
    self._unfused: set[tuple] = set()

  def _trace(self, inputs: tuple[torch.Tensor, ...]) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
      # Shape checks become constants: right, since each signature gets its own graph.
      warnings.simplefilter("ignore", torch.jit.TracerWarning)
      return torch.jit.freeze(torch.jit.trace(self._module, inputs, check_trace=False))

  def __call__(self, code: TemplateCode, search_image: torch.Tensor):
    inputs = (search_image,) + tuple(code.mask) + tuple(code.hotspot)
    key = tuple((tuple(t.shape), t.dtype) for t in inputs) + (torch.is_autocast_cpu_enabled(),)
    if key not in self._graphs:
      self._graphs[key] = self._trace(inputs)
    # oneDNN Graph fusion is a process-wide switch of the TorchScript executor: on for
    # this graph's calls (float32 only; the first two calls compile the fused graph),
    # then restored, so other TorchScript code in the process is unaffected. oneDNN
    # rejects some small shapes when it compiles them; that signature is then traced
    # again and runs unfused (the same numbers, with a warning).
    fused = key not in self._unfused and not torch.is_autocast_cpu_enabled()
    previous = torch.jit.onednn_fusion_enabled()
    torch.jit.enable_onednn_fusion(fused)
    try:
      try:
        outputs = self._graphs[key](*inputs)
      except RuntimeError as error:
        if not fused:
          raise
        warnings.warn(f"oneDNN Graph fusion failed for WCS-Net track inputs {[k[0] for k in key[:-1]]}; "
                      f"running them unfused ({str(error).splitlines()[-1]})", RuntimeWarning)
        self._unfused.add(key)
        torch.jit.enable_onednn_fusion(False)
        self._graphs[key] = self._trace(inputs)
        outputs = self._graphs[key](*inputs)
    finally:
      torch.jit.enable_onednn_fusion(previous)
    outputs = iter(outputs)
    return (next(outputs) if self._mask_branch else None), (next(outputs) if self._hotspot_branch else None)


def _to_torch(x: np.ndarray, name: str, channels: int) -> torch.Tensor:
  """[B, H, W, C] numpy -> [B, C, H, W] float32 tensor sharing its memory (channels_last)."""
  x = np.asarray(x)
  if x.ndim != 4 or x.shape[-1] != channels:
    raise ValueError(f"{name} must be [B, H, W, {channels}], got shape {x.shape}")
  return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(0, 3, 1, 2)


def _to_numpy(t: torch.Tensor, sigmoid: bool = False) -> np.ndarray:
  """[B, C, H, W] (logits) -> [B, H, W, C] float32 numpy, or their sigmoid."""
  t = t.float()
  if sigmoid:
    with torch.inference_mode():
      t = torch.sigmoid(t)
  return np.ascontiguousarray(t.permute(0, 2, 3, 1).numpy())
