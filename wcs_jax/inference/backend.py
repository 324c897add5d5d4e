"""The tracker's network calls, behind a small interface over batched numpy arrays.

A backend runs the three networks in evaluation mode and returns probabilities
(sigmoids of the logits); the tracker does everything else (crops, pastes, policy) in
numpy. Two implementations plug in, each imported only when chosen, so that tracking
with one never needs the other's framework:

- "jax" (`wcs_jax.inference.jax_backend.JaxBackend`, `--backend jax --workdir RUN`): the
  Flax modules and variables of a trained workdir;
- "torch" (`wcs_jax.torch_runtime.backend.TorchBackend`, `--backend torch --weights
  DIR`, the export of `tools/convert_to_torch.py`): the same interface on the PyTorch
  networks, with no JAX or TensorFlow installed;
- "onnx" (`wcs_jax.inference.onnx_backend.OnnxBackend`, `--backend onnx --weights DIR`,
  the same export with `--onnx`): its ONNX graphs on ONNX Runtime, on the CPU, OpenVINO,
  CUDA or TensorRT execution provider.

Shapes: S is the network input side (`image_size`); images `[B, S, S, 3]` float32 RGB in
[0, 1]; maps `[B, S, S, 1]` float32 in [0, 1]; outputs `[B, S, S]` float32 probabilities.
"""
from __future__ import annotations

import os
from typing import Any, Protocol

import ml_collections
import numpy as np

BACKENDS = ("jax", "torch", "onnx")


def pipeline_threads() -> int:
  """Intra-op threads for the torch and onnx backends when a whole tracking run shares the
  CPU: one per core but one, the other core decoding frames and encoding the outputs.

  On 2 cores this is 1: there, with the Lite0 tracker at S = 160, PyTorch's and ONNX
  Runtime's one-per-core pools wait for the core the writer holds at every op, and one
  thread tracked 1.7-2x faster (docs/deployment.md, `tools/benchmark.py --track`); for B2
  at S = 320, where the network is nearly all the time, two threads can be faster.
  """
  cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
  return max(1, cores - 1)


def export_tracking_config(config: dict[str, Any], directory: str | os.PathLike) -> tuple[dict, dict]:
  """(training config, WCS-Net model config) of an export's config.json (`tools/convert_to_torch.py`),
  checked to hold what the tracker needs: the run's crop geometry and a WCS-Net with a mask branch."""
  training_config = config.get("source", {}).get("training_config") or {}
  if "image_size" not in training_config.get("input", {}):
    raise ValueError(f"{directory}/config.json has no training config with input.image_size; re-export the run "
                     "with `python tools/convert_to_torch.py --workdir RUN --output DIR`")
  wcsnet = config.get("networks", {}).get("wcsnet")
  if wcsnet is None:
    raise ValueError(f"{directory} holds no WCS-Net (networks: {sorted(config.get('networks', {}))}); "
                     "the tracker needs it")
  if not wcsnet["mask_branch"]:
    raise ValueError("this WCS-Net has no mask branch (config.model.mask_branch=False): "
                     "the tracker follows the object by its mask")
  return training_config, wcsnet


class BackendUnavailableError(ValueError):
  """A backend, or a network a backend should hold, is not available."""


class Backend(Protocol):
  """What the tracker needs from the networks.

  Attributes:
    image_size: S, the side of every network input (template, search, first frame).
    has_first_frame_networks: EG-Net and Gaze2Mask-Net are available (automatic,
      click and box initialisation need them; a given mask does not).
    has_hotspot: WCS-Net predicts the hotspot.
  """
  image_size: int
  has_first_frame_networks: bool
  has_hotspot: bool

  def gaze(self, image: np.ndarray) -> np.ndarray:
    """EG-Net: `[B, S, S, 3]` -> gaze map E `[B, S, S]`."""

  def gaze_to_mask(self, image: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    """Gaze2Mask-Net: `[B, S, S, 3]`, `[B, S, S, 1]` -> mask M `[B, S, S]`."""

  def encode_template(self, image: np.ndarray, mask: np.ndarray, hotspot: np.ndarray) -> Any:
    """WCS-Net's template code of B objects (opaque to the tracker): `[B, S, S, 3]`,
    `[B, S, S, 1]` mask, `[B, S, S, 1]` hotspot guidance."""

  def join_codes(self, codes: list[Any]) -> Any:
    """The template codes of several object groups as one batch, in order (what
    `track` takes for all of them at once)."""

  def track(self, code: Any, search: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One frame of WCS-Net for B objects: `[B, S, S, 3]` search crops -> (mask, hotspot)
    `[B, S, S]` each, hotspot None without a hotspot branch."""


def load_backend(name: str, *, workdir: str | os.PathLike | None = None,
                 weights: str | os.PathLike | None = None,
                 options: dict | None = None) -> tuple[Backend, ml_collections.ConfigDict]:
  """A backend and the training config of the run it comes from.

  Args:
    name: "jax" (needs `workdir`), "torch" or "onnx" (need `weights`, a
      `tools/convert_to_torch.py` export, with `--onnx` for "onnx").
    workdir: a training run's directory.
    weights: an exported weights directory.
    options: keyword arguments of the torch backend (`TorchBackend`: precision,
      num_threads, graph) or of the onnx one (`OnnxBackend`: provider, num_threads);
      the JAX backend takes none.

  Returns:
    `(backend, config)`; `config` is the final stage's training config (its
    `input.image_size` and `input.pairs` fix the crop geometry).
  """
  if name not in BACKENDS:
    raise ValueError(f"--backend must be one of {list(BACKENDS)}, got {name!r}")
  if name in ("torch", "onnx"):
    if weights is None:
      raise ValueError(f"--backend {name} needs --weights DIR (written by "
                       f"`python tools/convert_to_torch.py --workdir RUN --output DIR{' --onnx' * (name == 'onnx')}`)")
    # Imported here: the JAX backend must not need torch or onnxruntime, nor these read a workdir.
    if name == "torch":
      from wcs_jax.torch_runtime import backend as torch_backend  # pylint: disable=import-outside-toplevel
      backend = torch_backend.TorchBackend(weights, **(options or {}))
    else:
      try:
        from wcs_jax.inference import onnx_backend  # pylint: disable=import-outside-toplevel
      except ImportError as error:
        raise BackendUnavailableError(f"--backend onnx needs onnxruntime (pip install -e '.[onnx]'): {error}") \
            from error
      backend = onnx_backend.OnnxBackend(weights, **(options or {}))
    return backend, ml_collections.ConfigDict(backend.training_config)
  if options:
    raise ValueError(f"the jax backend takes no options, got {sorted(options)}")
  if workdir is None:
    raise ValueError("--backend jax needs --workdir RUN (a directory written by "
                     "`python -m wcs_jax.train`)")
  # Imported here: JAX, Flax and the checkpoint reader only for the JAX backend.
  from wcs_jax.inference import jax_backend  # pylint: disable=import-outside-toplevel
  from wcs_jax.io import workdir as workdir_lib  # pylint: disable=import-outside-toplevel
  loaded = workdir_lib.load_inference_variables(workdir)
  config = loaded["config"]
  return jax_backend.JaxBackend.from_inference_variables(loaded, int(config.input.image_size)), config
