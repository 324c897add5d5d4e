"""The tracker's PyTorch backend: `tools/track.py --backend torch --weights DIR`.

Implements the interface of `wcs_jax.inference.backend.Backend` (batched numpy in,
probabilities out) on the exported networks, so the tracker's crops, pastes and policy
are the same code whatever runs the networks. The crop geometry comes from the
training config that `tools/convert_to_torch.py` stores in the export
(`training_config`).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from wcs_jax.inference import backend as backend_lib
from wcs_jax.torch_runtime import export
from wcs_jax.torch_runtime import runtime
from wcs_jax.torch_runtime.networks import TemplateCode


class TorchBackend:
  """EG-Net, Gaze2Mask-Net and WCS-Net of an export behind the tracker's interface.

  Args:
    directory: written by `tools/convert_to_torch.py`.
    precision, graph, num_threads: see `wcs_jax.torch_runtime.runtime.Runtime`.

  Attributes:
    image_size: S, the side the networks were trained at.
    has_first_frame_networks: EG-Net and Gaze2Mask-Net are in the export.
    has_hotspot: WCS-Net predicts the hotspot.
    training_config: the run's training config as a plain dict.
  """

  def __init__(self, directory: str | os.PathLike, *, precision: str = "float32", graph: str = "trace",
               num_threads: int | None = None):
    self.training_config, wcsnet = backend_lib.export_tracking_config(export.read_config(directory), directory)
    self.runtime = runtime.Runtime(directory, precision=precision, graph=graph, num_threads=num_threads)
    self.image_size = int(self.training_config["input"]["image_size"])
    self.has_first_frame_networks = self.runtime.has("egnet") and self.runtime.has("gaze2mask")
    self.has_hotspot = bool(wcsnet["hotspot_branch"])

  def gaze(self, image: np.ndarray) -> np.ndarray:
    """EG-Net: `[B, S, S, 3]` -> gaze map E `[B, S, S]` in [0, 1]."""
    return self.runtime.egnet(image, probabilities=True)[..., 0]

  def gaze_to_mask(self, image: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    """Gaze2Mask-Net: `[B, S, S, 3]`, `[B, S, S, 1]` -> mask M `[B, S, S]` in [0, 1]."""
    return self.runtime.gaze2mask(image, gaze, probabilities=True)[..., 0]

  def encode_template(self, image: np.ndarray, mask: np.ndarray, hotspot: np.ndarray) -> TemplateCode:
    """WCS-Net's template code of B objects (opaque to the tracker)."""
    return self.runtime.encode_template(image, mask, hotspot)

  def join_codes(self, codes: list[TemplateCode]) -> TemplateCode:
    """Several groups' codes as one batch, in order."""
    if len(codes) == 1:
      return codes[0]
    return TemplateCode(mask=tuple(torch.cat(parts) for parts in zip(*(c.mask for c in codes))),
                        hotspot=tuple(torch.cat(parts) for parts in zip(*(c.hotspot for c in codes))))

  def track(self, code: TemplateCode, search: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One frame for B objects: `[B, S, S, 3]` -> (mask, hotspot) `[B, S, S]`, hotspot None if off."""
    mask, hotspot = self.runtime.track(code, search, probabilities=True)
    return mask[..., 0], None if hotspot is None else hotspot[..., 0]

