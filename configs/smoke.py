r"""The whole chain on the embedded synthetic data: EG-Net, Gaze2Mask-Net, WCS-Net.

What it shows: every stage of Sec. 3.3 trains, in the paper's order and with the
paper's dependencies (Gaze2Mask-Net's input gaze comes from the frozen EG-Net; WCS-Net
is trained on video pairs of the synthetic DAVIS-2016 stand-in mixed with synthetic
SALICON, the stage-2 recipe), on a 2-core CPU, with no download. The workdir then holds
everything the tracker needs:

    python -m wcs_jax.train --config configs/smoke.py --workdir runs/smoke
    # runs/smoke/{egnet,gaze2mask,wcsnet}/ are the three stages' workdirs,
    # runs/smoke/chain.json lists them; the tools take --workdir runs/smoke.

Small size: EfficientNet-B0, decoder width 16, 96x96 inputs, batch 8, no ImageNet
backbone, 128 synthetic examples per dataset. EG-Net 300 steps on SALICON; Gaze2Mask-Net
2000 steps (cosine decay) on SBD and DAVIS frames, the DAVIS frames with EG-Net's whole
map as the gaze, a fifth of all examples with a click's map and a fifth with a box's
(docs/first_frame.md: what the automatic start needs); WCS-Net at Adam 1e-3 (the
paper's 1e-4 is for an ImageNet-initialised encoder; from scratch it learns too slowly
for a smoke run), 3000 steps on pairs of the synthetic videos (3/4) and synthetic
SALICON (1/4), templates with rough masks (`template_mask_noise`). Every stage ends with
precise BN. Overrides: `--config.total_steps=N` / `--config.batch_size=B` apply to every
stage when > 0, `--config.seed` to all; a single stage's field is
`--config.wcsnet.total_steps=N`.

Measured figures (time, losses, the tracker from the first mask and automatically, each
link of the first-frame module) and their commands: docs/training.md and
docs/first_frame.md.

`configs/smoke.py:short` (64x64, 300 + 600 + 500 steps) is the learning test of the CI
(tests/test_learning.py: tracking, and the first-frame module's links).
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
  for name in config.chain:
    # 128 examples per dataset (96 train): variety against distractors; one data
    # folder for the three stages.
    config[name].input.synthetic.num = 128
  # Gaze2Mask-Net also learns the automatic start's case: the synthetic DAVIS frames
  # with EG-Net's whole map as the gaze and the video's object as the mask.
  config.gaze2mask.input.weights = (1.0, 1.0)  # (SBD, DAVIS-2016 annotated frames)
  config.gaze2mask.input.video_window = "frame"
  # ... and the tracker's click and box maps (a fifth of the examples each), so that
  # each prompt's gaze at inference is one it was trained on.
  config.gaze2mask.input.prompts = (0.2, 0.2)
  config.gaze2mask.optimizer.schedule = "cosine"
  config.wcsnet.input.weights = (0.75, 0.25)  # (DAVIS-2016, SALICON): mostly mask pairs
  # Templates with rough masks (dilated or eroded by up to 8% of the crop side), as an
  # automatic or clicked start gives: the tracker must not copy the first mask's errors.
  config.wcsnet.input.pairs.template_mask_noise = 0.08
  config.wcsnet.checkpoint_every = 500
  config.egnet.total_steps = 300
  config.gaze2mask.total_steps = 2000
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
      config[name].input.synthetic.num = 64
    config.egnet.total_steps = 300
    config.gaze2mask.total_steps = 600
    config.wcsnet.total_steps = 500
    for name in config.chain:
      # One checkpoint, the last: each save stalls the loop ~1.5 s on 2 cores.
      config[name].checkpoint_every = config[name].total_steps
  elif arg == "ci":
    for name in config.chain:
      config[name].total_steps = 2
      config[name].log_every = 1
      config[name].precise_bn_batches = 0
      config[name].input.image_size = 32
      config[name].model.decoder_channels = 8
      config[name].input.synthetic.num = 4
      config[name].input.synthetic.size = (64, 48)
  elif arg:
    raise ValueError(f"configs/smoke.py: unknown argument {arg!r}; expected nothing, 'short' or 'ci'")
  return config
