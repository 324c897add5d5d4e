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
encoder; from scratch it learns too slowly for a smoke run). Overrides:
`--config.total_steps=N` / `--config.batch_size=B` apply to every stage when > 0,
`--config.seed` to all; a single stage's field is `--config.wcsnet.total_steps=N`.

Measured (this machine: 2 shared cores at load average 8-12, 1 CPU device), 46m41s
for the whole chain: EG-Net loss 1.97 at step 10 -> 0.118 at 200; Gaze2Mask-Net 14.9 ->
0.433; WCS-Net 14.0 -> 0.295 at 600 (hotspot term 0.085, mask term 0.210). Held-out
check (`python -m wcs_jax.training.evaluation --workdir runs/smoke`, 128 pairs of the
synthetic validation split): mask IoU 0.393, hotspot hit rate 0.317 (train split: 0.592
and 0.270): the chain trains end to end, but this short run does not make a good
tracker (the target of tracking J >= 0.8 on held-out synthetic videos is not reached).
"""
import pathlib
import sys

import ml_collections

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from configs import egnet  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs import gaze2mask  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs import stage2  # pylint: disable=g-import-not-at-top,wrong-import-position


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
