r"""WCS-Net stage 1: SALICON + DUTS static images (paper Sec. 3.3).

Reproduces: the first training stage of the object segmentation and hotspot tracking
network. Template/search pairs come from static images through augmentation
(input_pipeline/pairs.py), SALICON and DUTS mixed at random (half each, our choice),
loss `L = l1 * L_hotspot + l2 * L_mask` with l1 = 1 for SALICON samples (else 0) and
l2 = 1 for DUTS samples (else 0); Adam at 1e-4, batch 15, 320x320, EfficientNet-B2.

    python -m wcs_jax.train --config configs/stage1.py --workdir runs/stage1 \
        --config.input.data_dir=$TFDS --config.backbone_init=backbones/b2 \
        --config.init_from=runs/gaze2mask

`init_from` a Gaze2Mask-Net workdir carries EG-Net and Gaze2Mask-Net into this run's
checkpoints (the tracker then needs only this workdir, or stage 2's). Ablations of
Tab. 6 are model switches: `--config.model.levels=345`, `--config.model.correlation=
concat|xcorr`, `--config.model.hotspot_branch=False`, `--config.model.mask_branch=False`,
`--config.model.backbone=resnet101`.

Expect: both loss terms fall steadily (not measured on the real data here). 60k steps
(our choice; the paper gives none) draw ~450k pairs of each source. Time: an estimate
of ~1.5 h on one V100/A100-class GPU (900k pairs, each two encoder passes and the
decoders, ~2.5 EG-Net examples of compute, at the rate assumed in configs/egnet.py).

`configs/stage1.py:synthetic` runs on the synthetic SALICON and DUTS stand-ins.
"""

from configs import common


def get_config(arg: str | None = None):
  """WCS-Net stage-1 config; `arg="synthetic"` for the embedded synthetic data."""
  config = common.base_config("stage1")
  config.batch_size = 15
  config.total_steps = 60_000
  config.optimizer.learning_rate = 1e-4
  config.input.weights = (0.5, 0.5)  # (SALICON, DUTS)
  config.input.pairs = common.pair_config()
  if arg == "synthetic":
    common.synthetic(config, steps=200, batch_size=8)
  elif arg:
    raise ValueError(f"configs/stage1.py: unknown argument {arg!r}; expected nothing or 'synthetic'")
  return config
