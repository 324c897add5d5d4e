r"""Gaze2Mask-Net on PASCAL VOC instances (SBD) (paper Sec. 3.3).

Reproduces: the gaze-to-mask network of the first-frame module. Its input gaze is the
EG-Net prediction restricted to the ground-truth instance mask (so it needs a trained
EG-Net: `init_from` = the EG-Net workdir; the frozen EG-Net runs inside the train step
and its weights are carried in this run's checkpoints). Cross entropy against the
instance mask, Adam at 1e-3, batch 32, 320x320, EfficientNet-B2 encoder on RGB + gaze
(the gaze channel's stem weights start at zero when started from an RGB backbone).

    python -m wcs_jax.train --config configs/gaze2mask.py --workdir runs/gaze2mask \
        --config.input.data_dir=$TFDS --config.init_from=runs/egnet \
        --config.backbone_init=backbones/b2

`--config.gaze_source=stream` trains without an EG-Net on the stream's mask-derived
gaze (a Gaussian at the instance's centre, restricted to it).

Expect: the mask loss falls steadily (not measured on SBD here: no dataset, no GPU).
15k steps (our choice; the paper gives none) are about 56 epochs of SBD train's ~8.5k
images. Time: an estimate of ~30 min on one V100/A100-class GPU (as EG-Net's, plus the
frozen EG-Net's forward pass in every step).

`configs/gaze2mask.py:synthetic` runs on the embedded synthetic SBD stand-in; with no
`init_from` it uses gaze_source="stream".
"""

from configs import common


def get_config(arg: str | None = None):
  """Gaze2Mask-Net config; `arg="synthetic"` for the embedded synthetic data."""
  config = common.base_config("gaze2mask")
  config.batch_size = 32
  config.total_steps = 15_000
  config.optimizer.learning_rate = 1e-3
  # "egnet": sigmoid(EG-Net(image)) * mask (the paper); "stream": the stream's own gaze.
  config.gaze_source = "egnet"
  config.input.flip = 0.5
  config.input.gaze = "gaussian"
  config.input.gaze_sigma = 0.25
  config.input.weights = (1.0, 0.0)  # (SBD, DAVIS-2016 annotated frames): the paper's SBD only
  # EG-Net's map on a video frame kept within the object ("mask", as SBD's instances)
  # or whole ("frame": the input of the automatic start; input_pipeline/streams.py).
  config.input.video_window = "mask"
  # (click, box): fractions of examples whose gaze is the map the tracker makes from a
  # click on the instance or from its bounding box; the paper: EG-Net's map only.
  config.input.prompts = (0.0, 0.0)
  if arg == "synthetic":
    common.synthetic(config, steps=150, batch_size=8)
    config.gaze_source = "stream"
  elif arg:
    raise ValueError(f"configs/gaze2mask.py: unknown argument {arg!r}; expected nothing or 'synthetic'")
  return config
