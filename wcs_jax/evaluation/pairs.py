"""Held-out checks of a trained WCS-Net on template/search pairs (no tracker needed).

`evaluate_pairs(workdir)` runs the run's WCS-Net on pairs drawn by the run's own stage
stream from the *validation* split of its datasets (for the synthetic data: videos and
images never trained on) and reports
  - `mask_iou`: mean IoU of the predicted search mask (`sigmoid > 0.5`) with the
    ground truth, over the pairs that carry a mask loss (l2 > 0);
  - `hotspot_hit`: the fraction of pairs with a hotspot loss (l1 > 0) whose predicted
    hotspot peak falls inside the ground-truth hotspot region.
This is the learning check of a training run on one frame pair; the tracking J of the
paper's tables comes from the tracker and tools/evaluate.py.

    python -m wcs_jax.evaluation.pairs --workdir runs/smoke [--num_pairs 256] [--split validation]
"""
from __future__ import annotations

import json
import pathlib

from absl import app
from absl import flags
import jax
import numpy as np

from input_pipeline import streams
from wcs_jax.io import workdir as workdir_lib
from wcs_jax.models import build
from wcs_jax.training import data as data_lib


def evaluate_pairs(workdir: str | pathlib.Path, *, num_pairs: int = 128, batch_size: int = 8,
                   split: str = "validation", seed: int = 1) -> dict[str, float]:
  """Mask IoU and hotspot hit rate of the run's WCS-Net on held-out pairs.

  Args:
    workdir: a WCS-Net stage's workdir or a chain's.
    num_pairs: pairs drawn (rounded up to whole batches).
    batch_size: pairs per forward pass.
    split: the datasets' split to draw from.
    seed: the stream seed (fixed, so two runs are compared on the same pairs).

  Returns:
    {"mask_iou", "hotspot_hit", "mask_pairs", "hotspot_pairs"}.
  """
  stage_dir = workdir_lib.final_stage_dir(workdir)
  config = workdir_lib.load_config(stage_dir)
  if config.network != "wcsnet":
    raise ValueError(f"{stage_dir} trained {config.network}; evaluate_pairs needs a WCS-Net workdir")
  variables = workdir_lib.load_network_variables(stage_dir)["wcsnet"]
  model = build.from_config(config.model, "wcsnet")
  apply = jax.jit(lambda v, b: model.apply(v, b["template_image"], b["template_mask"],
                                           b["template_hotspot"], b["search_image"], train=False))
  # Single-host evaluation whatever the run was trained on.
  stream = streams.stage_stream(
      config.stage, data_lib.data_dir(config, stage_dir), split=split, global_batch_size=batch_size,
      image_size=config.input.image_size, seed=seed, start_step=0, shuffle_buffer=config.input.shuffle_buffer,
      process_index=0, process_count=1, **data_lib.stream_kwargs(config)).as_numpy_iterator()
  ious, hits = [], []
  for _ in range(-(-num_pairs // batch_size)):
    batch = next(stream)
    out = apply(variables, batch)
    if "mask" in out:
      pred = np.asarray(out["mask"])[..., 0] > 0
      true = batch["search_mask"][..., 0] > 0.5
      union = (pred | true).sum((1, 2))
      iou = np.where(union > 0, (pred & true).sum((1, 2)) / np.maximum(union, 1), 1.0)
      ious.extend(iou[batch["l2"] > 0])
    if "hotspot" in out:
      logits = np.asarray(out["hotspot"])[..., 0]
      flat = logits.reshape(len(logits), -1).argmax(1)
      region = batch["search_hotspot"][..., 0].reshape(len(logits), -1)
      hit = region[np.arange(len(logits)), flat] > 0.5
      hits.extend(hit[(batch["l1"] > 0) & (region.max(1) > 0.5)])
  return {"mask_iou": float(np.mean(ious)) if ious else float("nan"),
          "hotspot_hit": float(np.mean(hits)) if hits else float("nan"),
          "mask_pairs": len(ious), "hotspot_pairs": len(hits)}


_WORKDIR = flags.DEFINE_string("workdir", None, "A WCS-Net stage's workdir, or a chain's (configs/smoke.py).")
_NUM_PAIRS = flags.DEFINE_integer("num_pairs", 128, "Held-out pairs to evaluate.")
_SPLIT = flags.DEFINE_string("split", "validation", "Split of the run's datasets to draw the pairs from.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  print(json.dumps(evaluate_pairs(_WORKDIR.value, num_pairs=_NUM_PAIRS.value, split=_SPLIT.value)))


if __name__ == "__main__":
  flags.mark_flag_as_required("workdir")
  app.run(main)
