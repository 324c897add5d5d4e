r"""The whole chain on the embedded synthetic data: EG-Net, Gaze2Mask-Net, WCS-Net.

What it shows: every stage of Sec. 3.3 trains, in the paper's order and with the
paper's dependencies (Gaze2Mask-Net's input gaze is the frozen EG-Net's prediction
restricted to the instance mask; WCS-Net is trained on video pairs of the synthetic
DAVIS-2016 stand-in mixed with synthetic SALICON, the stage-2 recipe), on a 2-core CPU
in minutes, with no download. The workdir then holds everything the tracker needs:

    python -m wcs_jax.train --config configs/smoke.py --workdir runs/smoke
    # runs/smoke/{egnet,gaze2mask,wcsnet}/ are the three stages' workdirs,
    # runs/smoke/chain.json lists them; the tools take --workdir runs/smoke.

Small size: EfficientNet-B0, decoder width 16, 96x96 inputs, batch 8, no ImageNet
backbone; WCS-Net at Adam 1e-3 (the paper's 1e-4 is for an ImageNet-initialised
encoder; from scratch it learns too slowly for a smoke run), 3000 steps on pairs of
128 synthetic videos (3/4) and synthetic SALICON (1/4). Overrides:
`--config.total_steps=N` / `--config.batch_size=B` apply to every stage when > 0,
`--config.seed` to all; a single stage's field is `--config.wcsnet.total_steps=N`.

Measured on a 2-core CPU, 1 device (2026-12-01, d5e0eaa; other jobs on the cores for
part of it): 26m26s for the whole chain (20m20s in an earlier run with a lighter
load); EG-Net loss 0.613 at step 10 -> 0.049 at 200; Gaze2Mask-Net 0.534 -> 0.015;
WCS-Net 0.678 -> 0.030 at 3000. The tracker it gives follows six held-out synthetic
videos from their first masks with J mean 0.873 (0.956 in the earlier run: one of the
six videos is lost for part of its length this time;
`WCS_SMOKE_WORKDIR=runs/smoke pytest tests/test_tracker.py -k smoke` holds J >= 0.8);
held-out pairs (`python -m wcs_jax.evaluation.pairs --workdir runs/smoke`): mask IoU
0.898. Every figure and its command: docs/training.md.

`configs/smoke.py:short` (64x64, 5 + 5 + 500 steps, 213-224 s measured) is the learning
test of the CI (tests/test_learning.py: J >= 0.5 on the same videos; measured 0.72).
"""

import ml_collections

from configs import egnet
from configs import gaze2mask
from configs import stage2


def get_config(arg: str | None = None):
  """The smoke chain; `arg="short"`: the learning check of the tests (below); `arg="ci"`:
  the tiniest chain, for tests of the mechanics (a step or two of each stage)."""
  config = ml_collections.ConfigDict()
  config.chain = ("egnet", "gaze2mask", "wcsnet")
  config.egnet = egnet.get_config("synthetic")
  config.gaze2mask = gaze2mask.get_config("synthetic")
  config.gaze2mask.gaze_source = "egnet"
  config.wcsnet = stage2.get_config("synthetic")
  config.wcsnet.optimizer.learning_rate = 1e-3
  config.wcsnet.input.synthetic.num = 128  # videos: variety against distractors
  config.wcsnet.input.weights = (0.75, 0.25)  # (DAVIS-2016, SALICON): mostly mask pairs
  config.wcsnet.checkpoint_every = 500
  config.egnet.total_steps = 200
  config.gaze2mask.total_steps = 200
  config.wcsnet.total_steps = 3000
  # -1: each stage keeps its own; > 0: every stage uses this.
  config.total_steps = -1
  config.batch_size = -1
  config.seed = 0
  if arg == "short":
    # The chain at 64 x 64 with a short WCS-Net stage: a few minutes on 2 cores, and the
    # tracker it gives must follow held-out synthetic videos (tests/test_learning.py).
    for name in config.chain:
      config[name].input.image_size = 64
    config.egnet.total_steps = config.gaze2mask.total_steps = 5
    config.wcsnet.total_steps = 500
    config.wcsnet.input.synthetic.num = 64
  elif arg == "ci":
    for name in config.chain:
      config[name].total_steps = 2
      config[name].log_every = 1
      config[name].input.image_size = 32
      config[name].model.decoder_channels = 8
      config[name].input.synthetic.num = 4
      config[name].input.synthetic.size = (64, 48)
  elif arg:
    raise ValueError(f"configs/smoke.py: unknown argument {arg!r}; expected nothing, 'short' or 'ci'")
  return config
