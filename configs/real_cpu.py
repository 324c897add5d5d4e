r"""A real tracker trained on a CPU: the chain EG-Net -> Gaze2Mask-Net -> WCS-Net on real
DAVIS-2016 frames and SALICON images, from the ImageNet EfficientNet-Lite0 backbone.

    python -m wcs_jax.train --config configs/real_cpu.py --workdir runs/real \
        --config.davis_dir=../shared/data/davis2016_trainval \
        --config.salicon_dir=../shared/data/salicon_examples
    python tools/evaluate.py --dataset davis2016 --data-dir ../shared/data/davis2016_trainval \
        --workdir runs/real --init mask --output runs/real/eval/mask.json

`davis_dir` is a DAVIS-2016 root in the official layout (its ImageSets/2016/train.txt
sequences train, val.txt is held out), `salicon_dir` a SALICON root. Both are built
into `<workdir>/tfds` with the project's TFDS builders on the first run and reused
after; the run resumes from its checkpoints like every training run.

What it trains, and why (2 CPU cores, <= 90 minutes for the whole chain):
- Encoder: EfficientNet-Lite0 with its ImageNet weights from the installed package
  (`backbone_init="installed"`, no file, no download): the fastest encoder of the
  project on this CPU (forward at 320: 35 ms against B2's 60, docs/backbones.md), and
  the only source of real appearance a model trained on ten videos has. Its stem and first two stages (stride 2 and 4) stay
  frozen in EG-Net and WCS-Net (`frozen_params`): ten training videos cannot improve
  ImageNet's edge and colour filters, and no gradient flows through the two most
  expensive stages: a WCS-Net step at 160 x 160, batch 8, runs at 17 examples/s
  against 12 with them training (measured 2026-12-02). Gaze2Mask-Net trains its stem: its fourth
  (gaze) input channel starts at zero and must learn.
- Input 160 x 160 (the paper: 320): WCS-Net sees crops around the object, so 160 keeps
  most of an object's outline at a quarter of the paper's pixels; decoder width 24.
- Data: the 10 train sequences (795 annotated frames). WCS-Net pairs are drawn as in
  stage 2 (configs/stage2.py: search crop jittered and rescaled, colour jitter), 3/4
  DAVIS and 1/4 SALICON (its hotspot branch learns only from SALICON), with two
  changes: template and search frames up to 40 frames apart (stage 2: 10), since the
  tracker matches the first frame's template against every later frame of 40-100 frame
  sequences; and the random affine map (scale, rotation, shear, flip) on video search
  crops too, since ten videos show few poses. The 10 SALICON images and no SBD are too
  few to teach the first-frame networks what the primary object of a video is, so both
  also learn from the DAVIS train frames (input_pipeline/streams.py): EG-Net with a
  gaze target made from the object mask (2/3 of its examples), Gaze2Mask-Net with the
  annotated object as its instance (all of its examples). This departs from the paper
  (SALICON and SBD only), for want of those datasets.
- Steps and rates: Adam with a short warm-up and a cosine decay to 0 (a short run ends
  on a settled model; the paper's constant rate is for 10^4-step runs); EG-Net and
  Gaze2Mask-Net 600 steps of batch 8 at 1e-3 (their losses flatten well before),
  WCS-Net 4000 steps of batch 8 at 3e-4 (its loss still falls at 4000; the 90-minute
  budget stops it).

The dataset folders: every stage's `input.manual_dirs` refers to the two top-level
keys, so `--config.davis_dir` / `--config.salicon_dir` set them all at once.

Measured (2026-12-02, docs/real_tracker.md, with the commands): the whole chain in 46
minutes on a 2-core CPU; tracking the four held-out val sequences from their first
ground-truth masks, J mean 56.0 / F 58.4 (holding that mask still: 35.3 / 26.1);
automatic initialisation 51.7 / 54.8. These 14 sequences all belong to DAVIS-2016 val
in the official split: a score on them is a real-data learning check, never a
DAVIS-2016 benchmark result.

`configs/real_cpu.py:short` is the CI's real-data learning check (tests/test_real_data.py):
WCS-Net alone at 128 x 128 for 450 steps (J 0.641 on car-shadow, held still 0.408).
"""

import ml_collections

from configs import egnet
from configs import gaze2mask
from configs import stage2

BACKBONE = "efficientnet-lite0"
# Frozen bottom of the encoder (stride 2 and 4 stages of EfficientNet-Lite0).
FROZEN_BOTTOM = ("encoder/stem_", "encoder/block1", "encoder/block2")


def _stage(config: ml_collections.ConfigDict, *, steps: int, learning_rate: float, frozen: tuple[str, ...],
           image_size: int = 160) -> ml_collections.ConfigDict:
  config.model.backbone = BACKBONE
  config.model.decoder_channels = 24
  config.backbone_init = "installed"
  config.frozen_params = frozen
  config.input.image_size = image_size
  config.input.shuffle_buffer = 64
  config.batch_size = 8
  config.total_steps = steps
  config.optimizer.learning_rate = learning_rate
  config.optimizer.schedule = "cosine"
  config.optimizer.warmup_steps = min(100, steps // 10)
  config.log_every = 25
  config.checkpoint_every = 500
  config.keep_checkpoints = 2
  return config


def get_config(arg: str | None = None):
  """The real-data chain; `arg="short"`: the CI's check (WCS-Net only, 128 x 128)."""
  config = ml_collections.ConfigDict()
  config.davis_dir = ""
  config.salicon_dir = ""
  davis, salicon = config.get_ref("davis_dir"), config.get_ref("salicon_dir")
  config.chain = ("egnet", "gaze2mask", "wcsnet")

  config.egnet = _stage(egnet.get_config(), steps=600, learning_rate=1e-3, frozen=FROZEN_BOTTOM)
  config.egnet.input.weights = (1.0, 2.0)  # (SALICON, DAVIS-2016 frames)
  config.egnet.input.manual_dirs.salicon = salicon
  config.egnet.input.manual_dirs.davis2016 = davis

  config.gaze2mask = _stage(gaze2mask.get_config(), steps=600, learning_rate=1e-3, frozen=())
  config.gaze2mask.input.weights = (0.0, 1.0)  # (SBD, DAVIS-2016 frames): no SBD here
  config.gaze2mask.input.manual_dirs.davis2016 = davis

  config.wcsnet = _stage(stage2.get_config(), steps=4000, learning_rate=3e-4, frozen=FROZEN_BOTTOM)
  config.wcsnet.input.weights = (0.75, 0.25)  # (DAVIS-2016, SALICON)
  config.wcsnet.input.pairs.max_gap = 40  # the tracker matches frame 0 against frames up to ~50 later
  config.wcsnet.input.pairs.video_affine = True  # scale/rotation/flip on video search crops too
  config.wcsnet.input.manual_dirs.davis2016 = davis
  config.wcsnet.input.manual_dirs.salicon = salicon

  # As configs/smoke.py: -1 keeps each stage's own; > 0 applies to every stage.
  config.total_steps = -1
  config.batch_size = -1
  config.seed = 0
  if arg == "short":
    config.chain = ("wcsnet",)
    config.wcsnet.input.image_size = 128
    config.wcsnet.model.decoder_channels = 16
    config.wcsnet.total_steps = 450
    config.wcsnet.optimizer.learning_rate = 5e-4
    config.wcsnet.optimizer.warmup_steps = 30
    config.wcsnet.checkpoint_every = 450
  elif arg:
    raise ValueError(f"configs/real_cpu.py: unknown argument {arg!r}; expected nothing or 'short'")
  return config
