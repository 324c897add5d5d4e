"""The three networks and their model config, for every framework.

Networks (paper Sec. 3): "egnet" (EG-Net, Eq. 1, decoder over levels 3-5),
"gaze2mask" (Gaze2Mask-Net, Eq. 2, levels 1-5, 4-channel input), "wcsnet" (WCS-Net,
Eq. 3-5, a mask decoder over `levels` and a hotspot decoder over levels 3 and 4).
Training stages (Sec. 3.3) map onto them by `STAGE_NETWORKS`.

Model config (`config.model` of a `configs/*.py` file; defaults = the paper's choices):

| field | default | meaning |
|---|---|---|
| backbone | "efficientnet-b2" | encoder of all three networks (`backbones.ARCHS`) |
| decoder_channels | 32 | width of every refinement block and of the hotspot Conv2 |
| levels | "12345" | levels of WCS-Net's mask decoder (Tab. 6: 5, 45, 345, 2345, 12345) |
| correlation | "weighted" | "weighted" (Eq. 3), "concat", "xcorr" (Tab. 6) |
| hotspot_branch | True | WCS-Net predicts the hotspot |
| mask_branch | True | WCS-Net predicts the mask |
| dtype | "float32" | JAX computation dtype, "float32" or "bfloat16"; parameters and logits stay float32 |
| depthwise_impl | "auto" | JAX's depth-wise convolution: "auto", "grouped" or "shifted" (`wcs_jax.ops.depthwise`) |

`dtype` and `depthwise_impl` choose how JAX computes, not the function; the PyTorch
runtime accepts and ignores them.

decoder_channels: the paper does not give the decoder's width; it does claim real-time
tracking, and the width decides most of a tracked frame's cost. At 320 x 320 with
EfficientNet-B2 (XLA counts, `tools/model_summary.py`) the search encoder costs ~2.9
GFLOP and the correlations and decoders the rest, most of it in the 160 x 160 level-1
block: 7.17 GFLOP per frame at width 64, 4.32 at 32 (Gaze2Mask-Net 6.99 -> 4.27). 32
is the default: it keeps a tracked frame within one Keras EfficientNet-B2 forward pass
on a CPU (`tools/benchmark.py --track`, docs/tracking.md), and is still wider than the
one-channel maps the blocks refine; 64 is one flag away for a GPU.
"""
from __future__ import annotations

from typing import Any, Mapping

from wcs_jax.spec import backbones

NETWORKS = ("egnet", "gaze2mask", "wcsnet")
STAGE_NETWORKS = {"egnet": "egnet", "gaze2mask": "gaze2mask", "stage1": "wcsnet", "stage2": "wcsnet"}

EGNET_LEVELS = (3, 4, 5)
GAZE2MASK_LEVELS = (1, 2, 3, 4, 5)
HOTSPOT_LEVELS = (3, 4)
LEVEL_CHOICES = ("5", "45", "345", "2345", "12345")
CORRELATIONS = ("weighted", "concat", "xcorr")
DTYPES = ("float32", "bfloat16")
DEPTHWISE_IMPLS = ("auto", "grouped", "shifted")

_DEFAULTS = dict(backbone="efficientnet-b2", decoder_channels=32, levels="12345", correlation="weighted",
                 hotspot_branch=True, mask_branch=True, dtype="float32", depthwise_impl="auto")


def default_model_config() -> dict[str, Any]:
  """The paper's model: EfficientNet-B2, five levels, weighted correlation, both branches."""
  return dict(_DEFAULTS)


def parse_levels(levels: str) -> tuple[int, ...]:
  """"345" -> (3, 4, 5)."""
  return tuple(int(c) for c in levels)


def check_ablation(levels: str, correlation: str, hotspot_branch: bool, mask_branch: bool,
                   where: str = "config.model.") -> None:
  """Raises ValueError naming the offending field (`where` + name) for a bad Tab. 6 variant."""
  if levels not in LEVEL_CHOICES:
    raise ValueError(f"{where}levels must be one of {list(LEVEL_CHOICES)}, got {levels!r}")
  if correlation not in CORRELATIONS:
    raise ValueError(f"{where}correlation must be one of {list(CORRELATIONS)}, got {correlation!r}")
  if not (hotspot_branch or mask_branch):
    raise ValueError(f"{where}hotspot_branch and {where}mask_branch are both off: nothing to predict")


def resolve_model_config(model_config: Mapping[str, Any] | None) -> dict[str, Any]:
  """The defaults overridden by `model_config`'s fields, validated.

  Fields missing from `model_config` take their defaults; fields not in the table
  above (a trainer's own, e.g. pretrained weights) are left out; a bad value raises
  ValueError naming `config.model.<field>`.
  """
  config = default_model_config()
  config.update({k: v for k, v in dict(model_config or {}).items() if k in config})
  if config["backbone"] not in backbones.ARCHS:
    raise ValueError(f"config.model.backbone must be one of {list(backbones.ARCHS)}, got {config['backbone']!r}")
  if not isinstance(config["decoder_channels"], int) or config["decoder_channels"] < 1:
    raise ValueError(f"config.model.decoder_channels must be a positive int, got {config['decoder_channels']!r}")
  check_ablation(config["levels"], config["correlation"], config["hotspot_branch"], config["mask_branch"])
  if config["dtype"] not in DTYPES:
    raise ValueError(f"config.model.dtype must be one of {list(DTYPES)}, got {config['dtype']!r}")
  if config["depthwise_impl"] not in DEPTHWISE_IMPLS:
    raise ValueError(f"config.model.depthwise_impl must be one of {list(DEPTHWISE_IMPLS)}, "
                     f"got {config['depthwise_impl']!r}")
  return config


def check_network(network: str) -> str:
  if network not in NETWORKS:
    raise ValueError(f"network must be one of {list(NETWORKS)}, got {network!r}")
  return network


def input_shapes(network: str, image_size: int, batch: int = 1) -> tuple[tuple[int, int, int, int], ...]:
  """NHWC shapes of the inputs of `network`'s forward pass at side S = `image_size`.

  egnet: (image [B, S, S, 3],); gaze2mask: (image, gaze [B, S, S, 1]); wcsnet:
  (template_image [B, S, S, 3], template_mask [B, S, S, 1], template_hotspot
  [B, S, S, 1], search_image [B, S, S, 3]).
  """
  image, single = (batch, image_size, image_size, 3), (batch, image_size, image_size, 1)
  return {"egnet": (image,), "gaze2mask": (image, single),
          "wcsnet": (image, single, single, image)}[check_network(network)]
