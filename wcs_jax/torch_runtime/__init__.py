"""Standalone PyTorch inference runtime of WCS-Net (imports torch, numpy and safetensors only).

`tools/convert_to_torch.py --workdir RUN --output DIR` exports a trained run;
`Runtime(DIR)` runs its EG-Net, Gaze2Mask-Net and WCS-Net (`encode_template` once per
object, `track` every frame) on numpy arrays, and `tools/track.py --backend torch
--weights DIR` tracks with it. Modules: `networks` (the three networks, PyTorch twins
of `wcs_jax.models`), `efficientnet`, `resnet`, `decoders`, `correlation`, `resize`,
`layers` (their parts), `convert` (Flax variables -> state dicts), `export` (the
on-disk format), `runtime`, `backend` (the tracker's interface), `graphs`
(TorchScript / torch.export).
"""
from wcs_jax.torch_runtime.runtime import Runtime

__all__ = ["Runtime"]
