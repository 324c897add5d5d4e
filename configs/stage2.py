r"""WCS-Net stage 2: DAVIS-2016 train videos + SALICON (paper Sec. 3.3; Tab. 1-3, 5).

Reproduces: the final WCS-Net, fine-tuned from stage 1 on pairs of DAVIS-2016 train
frames (at most `input.pairs.max_gap` frames apart) mixed at random with SALICON pairs
(half each, our choice), `L = l1 * L_hotspot + l2 * L_mask`; Adam at 1e-4, batch 10.
The tracker evaluated with tools/evaluate.py should then give DAVIS-2016 val J 82.2 /
F 80.7, SegTrackv2 J 72.2, YouTube-Objects J 70.5 and hotspot KLD 2.592, NSS 3.174,
CC 0.429, SIM 0.333 (the paper's figures).

    python -m wcs_jax.train --config configs/stage2.py --workdir runs/stage2 \
        --config.input.data_dir=$TFDS --config.init_from=runs/stage1

Expect: the loss starts near stage 1's final loss and the mask term falls further on
DAVIS. 20k steps (our choice; the paper gives none) draw ~100k DAVIS pairs from the 30
training videos. Time: an estimate of ~20 min on one V100/A100-class GPU (200k pairs,
as in configs/stage1.py).

`configs/stage2.py:synthetic` runs on the synthetic DAVIS-2016 and SALICON stand-ins.
"""

from configs import common


def get_config(arg: str | None = None):
  """WCS-Net stage-2 config; `arg="synthetic"` for the embedded synthetic data."""
  config = common.base_config("stage2")
  config.batch_size = 10
  config.total_steps = 20_000
  config.optimizer.learning_rate = 1e-4
  config.input.weights = (0.5, 0.5)  # (DAVIS-2016, SALICON)
  config.input.pairs = common.pair_config()
  if arg == "synthetic":
    common.synthetic(config, steps=200, batch_size=8)
    config.input.synthetic.num = 16  # videos of 24 frames
  elif arg:
    raise ValueError(f"configs/stage2.py: unknown argument {arg!r}; expected nothing or 'synthetic'")
  return config
