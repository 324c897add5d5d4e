"""The tracker's ONNX Runtime backend: `tools/track.py --backend onnx --weights DIR`.

Runs the ONNX graphs that `tools/convert_to_torch.py --onnx` writes beside an export
(`wcs_jax.torch_runtime.onnx_graphs` names their inputs and outputs) behind the
interface of `wcs_jax.inference.backend.Backend`, so the crops, pastes, policy and
outputs are the tracker's, whatever runs the networks. Needs onnxruntime, numpy and
scipy only (no torch, JAX or TensorFlow).

Execution providers (`provider`), each falling back to the next where this
onnxruntime build lacks it, with one line saying so:

| provider | ONNX Runtime providers tried, in order | install |
| --- | --- | --- |
| cpu | CPU | `pip install -e '.[onnx]'` (onnxruntime) |
| openvino | OpenVINO, CPU | onnxruntime-openvino in place of onnxruntime |
| cuda | CUDA, CPU | onnxruntime-gpu in place of onnxruntime |
| tensorrt | TensorRT, CUDA, CPU | onnxruntime-gpu and TensorRT |
"""
from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import onnxruntime
from scipy import special

from wcs_jax.inference import backend as backend_lib

PROVIDERS = {
    "cpu": ("CPUExecutionProvider",),
    "openvino": ("OpenVINOExecutionProvider", "CPUExecutionProvider"),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}
CONFIG_FILE = "config.json"  # wcs_jax.torch_runtime.export.CONFIG_FILE, read here without torch


def choose_providers(provider: str, available: list[str]) -> tuple[list[str], str | None]:
  """(the providers to ask ONNX Runtime for, a note when some were not available).

  Args:
    provider: a key of `PROVIDERS`.
    available: `onnxruntime.get_available_providers()`.
  """
  if provider not in PROVIDERS:
    raise ValueError(f"--onnx-provider must be one of {list(PROVIDERS)}, got {provider!r}")
  wanted = PROVIDERS[provider]
  chosen = [p for p in wanted if p in available]
  if not chosen:
    raise ValueError(f"--onnx-provider {provider}: none of {list(wanted)} is in this onnxruntime "
                     f"(it has {available})")
  missing = [p for p in wanted if p not in available]
  if not missing or chosen[0] == wanted[0]:
    return chosen, None
  return chosen, (f"--onnx-provider {provider}: {', '.join(missing)} not in this onnxruntime "
                  f"{onnxruntime.__version__} (it has {', '.join(available)}); running on {chosen[0]}. "
                  f"Install {'onnxruntime-openvino' if provider == 'openvino' else 'onnxruntime-gpu'} "
                  "in place of onnxruntime for it")


class OnnxBackend:
  """EG-Net, Gaze2Mask-Net and WCS-Net as ONNX graphs behind the tracker's interface.

  Args:
    directory: an export (`tools/convert_to_torch.py --output DIR --onnx`).
    provider: "cpu", "openvino", "cuda" or "tensorrt" (module docstring).
    num_threads: ONNX Runtime intra-op threads; None keeps its default (one per core).

  Attributes:
    image_size: S, the side the networks were exported and trained at.
    has_first_frame_networks: egnet.onnx and gaze2mask.onnx are in the export.
    has_hotspot: WCS-Net predicts the hotspot.
    training_config: the run's training config as a plain dict.
    providers: the execution providers the sessions run on, best first.
    note: a line saying which requested provider was missing, or None.
  """

  def __init__(self, directory: str | os.PathLike, *, provider: str = "cpu", num_threads: int | None = None):
    directory = pathlib.Path(directory)
    config_path = directory / CONFIG_FILE
    try:
      config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
      raise ValueError(f"{config_path}: expected the config of a tools/convert_to_torch.py export ({error})") \
          from error
    self.training_config, wcsnet = backend_lib.export_tracking_config(config, directory)
    self.image_size = int(self.training_config["input"]["image_size"])
    self.has_hotspot = bool(wcsnet["hotspot_branch"])
    self.providers, self.note = choose_providers(provider, onnxruntime.get_available_providers())
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads:
      options.intra_op_num_threads = num_threads
    self._sessions = {}
    for name in ("wcsnet_template", "wcsnet_track", "egnet", "gaze2mask"):
      path = directory / f"{name}.onnx"
      if not path.is_file():
        if name.startswith("wcsnet"):
          raise ValueError(f"{path} is missing: write the ONNX graphs with `python tools/convert_to_torch.py "
                           f"--workdir RUN --output {directory} --onnx`")
        continue
      try:
        session = onnxruntime.InferenceSession(str(path), options, providers=self.providers)
      except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"{path}: ONNX Runtime could not load it ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from error
      side = session.get_inputs()[0].shape[-1]
      if side != self.image_size:
        raise ValueError(f"{path} takes {side}x{side} inputs but the run's image size is {self.image_size}: "
                         "export the graphs again with tools/convert_to_torch.py --onnx")
      self._sessions[name] = session
    self.has_first_frame_networks = "egnet" in self._sessions and "gaze2mask" in self._sessions
    self._code_names = [o.name for o in self._sessions["wcsnet_template"].get_outputs()]
    self._track_outputs = [o.name for o in self._sessions["wcsnet_track"].get_outputs()]

  def _run(self, name: str, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    if name not in self._sessions:
      raise ValueError(f"this export has no {name}.onnx: convert a run that trained it, with --onnx")
    return self._sessions[name].run(None, feed)

  def gaze(self, image: np.ndarray) -> np.ndarray:
    """EG-Net: `[B, S, S, 3]` -> gaze map E `[B, S, S]` in [0, 1]."""
    return _probabilities(self._run("egnet", {"image": nchw(image)})[0])

  def gaze_to_mask(self, image: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    """Gaze2Mask-Net: `[B, S, S, 3]`, `[B, S, S, 1]` -> mask M `[B, S, S]` in [0, 1]."""
    return _probabilities(self._run("gaze2mask", {"image": nchw(image), "gaze": nchw(gaze)})[0])

  def encode_template(self, image: np.ndarray, mask: np.ndarray, hotspot: np.ndarray) -> dict[str, np.ndarray]:
    """WCS-Net's template code of B objects: {code tensor name: [B, C_j]}."""
    code = self._run("wcsnet_template", {"template_image": nchw(image), "template_mask": nchw(mask),
                                         "template_hotspot": nchw(hotspot)})
    return dict(zip(self._code_names, code))

  def join_codes(self, codes: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Several groups' codes as one batch, in order."""
    if len(codes) == 1:
      return codes[0]
    return {name: np.concatenate([c[name] for c in codes]) for name in self._code_names}

  def track(self, code: dict[str, np.ndarray], search: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One frame for B objects: `[B, S, S, 3]` -> (mask, hotspot) `[B, S, S]`, hotspot None if off."""
    outputs = dict(zip(self._track_outputs, self._run("wcsnet_track", {"search_image": nchw(search), **code})))
    hotspot = outputs.get("hotspot_logits")
    return _probabilities(outputs["mask_logits"]), None if hotspot is None else _probabilities(hotspot)


def nchw(x: np.ndarray) -> np.ndarray:
  """[B, H, W, C] -> a C-contiguous float32 [B, C, H, W] copy, as the graphs take it."""
  return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)), dtype=np.float32)


def _probabilities(logits: np.ndarray) -> np.ndarray:
  """[B, 1, H, W] logits -> [B, H, W] sigmoid."""
  return special.expit(logits[:, 0])
