r"""EG-Net on SALICON (paper Sec. 3.3; Tab. 5 hotspot metrics, through the tracker).

Reproduces: the eye-gaze network of the first-frame module, trained with a cross
entropy against the SALICON gaze maps, Adam at 1e-3, batch 32, 320x320 inputs,
EfficientNet-B2 encoder.

    python tools/import_backbone.py --arch efficientnet-b2 --keras-imagenet --output backbones/b2
    python -m wcs_jax.train --config configs/egnet.py --workdir runs/egnet \
        --config.input.data_dir=$TFDS --config.backbone_init=backbones/b2

Expect: the loss (per-pixel binary cross entropy against the soft gaze map, whose
floor is the maps' own entropy, not 0) falls quickly then slowly; the hotspot metrics
of the paper (KLD 2.592, NSS 3.174, CC 0.429, SIM 0.333 on DAVIS-2016) are reached
through the whole chain. The paper gives no step count: 15k steps (48 epochs of
SALICON train's 10k images) are our choice. Time: an estimate of ~20 min on one
V100/A100-class GPU (480k examples at ~450 EfficientNet-B2 training images/s at
320x320, an assumed rate; not measured here, this machine has no GPU).

`configs/egnet.py:synthetic` trains on the embedded synthetic SALICON stand-in at
96x96 with EfficientNet-B0 (150 steps of batch 8). Measured as the first stage of the
smoke chain (configs/smoke.py: this config for 200 steps; 2026-12-01, d5e0eaa,
docs/training.md): the loss falls from 0.613 at step 10 to 0.052 at step 100 and 0.049
at step 200.
"""

from configs import common


def get_config(arg: str | None = None):
  """EG-Net config; `arg="synthetic"` for the embedded synthetic data."""
  config = common.base_config("egnet")
  config.batch_size = 32
  config.total_steps = 15_000
  config.optimizer.learning_rate = 1e-3
  config.input.flip = 0.5
  config.input.weights = (1.0, 0.0)  # (SALICON, DAVIS-2016 annotated frames): the paper's SALICON only
  config.input.gaze_sigma = 0.25  # of the video frames' gaze target (input_pipeline/streams.py)
  if arg == "synthetic":
    common.synthetic(config, steps=150, batch_size=8)
  elif arg:
    raise ValueError(f"configs/egnet.py: unknown argument {arg!r}; expected nothing or 'synthetic'")
  return config
