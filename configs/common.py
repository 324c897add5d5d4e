"""Fields shared by every training config (`python -m wcs_jax.train --config ...`).

Every stage config starts from `base_config(stage)` and sets what the paper gives
for that stage (Sec. 3.3: data, learning rate, batch size). Command-line overrides
take dotted paths, e.g. `--config.total_steps=100 --config.batch_size=8
--config.model.dtype=bfloat16 --config.input.data_dir=/data/tfds`.

Fields
  stage: "egnet" | "gaze2mask" | "stage1" | "stage2" (selects the stream and the
    network: stage1/stage2 train WCS-Net).
  network: the network trained ("egnet" | "gaze2mask" | "wcsnet").
  model: the networks' fields (wcs_jax.spec.networks.default_model_config(): backbone,
    decoder_channels, levels, correlation, hotspot_branch, mask_branch, dtype
    ("float32" | "bfloat16" compute; parameters stay float32), depthwise_impl).
  batch_size: global batch over all devices of all hosts (a multiple of the number of
    devices).
  total_steps, seed.
  optimizer: Adam (`learning_rate`, `b1`, `b2`, `eps`), an optional linear warm-up
    (`warmup_steps`) and global-norm gradient clipping (`grad_clip_norm`, 0 = off).
    The paper: plain Adam at a constant rate; `schedule="cosine"` decays the rate to 0
    over `total_steps` after the warm-up (a short run ends on a settled model).
  frozen_params: "/"-joined parameter path prefixes that do not train, e.g.
    ("encoder/stem_", "encoder/block1"): no gradient is computed for them (and, when
    the encoder's bottom is frozen, none flows through it); their batch-norm
    statistics still follow the data.
  input: data_dir (the TFDS `--data-dir` the datasets were built into), image_size
    (S of the S x S inputs; the paper: 320), shuffle_buffer, the stage's stream
    options, `manual_dirs` (below) and `synthetic` (below).
  input.manual_dirs: {TFDS name: raw folder in the official layout}: the stage's
    datasets are built from those folders with the project's builders into
    `input.data_dir` (default `<workdir>/tfds`) once, then reused. On the command line:
    `--config.input.manual_dirs="{'salicon': 'DIR'}"`; configs/real_cpu.py sets them
    from its own `--config.davis_dir` / `--config.salicon_dir`.
  input.synthetic: when `enabled`, the stage's datasets are procedural stand-ins
    written by `input_pipeline.synthetic` in the official layouts (`num` examples of
    `size` (W, H) per dataset, seed `seed`) and built with the project's TFDS builders
    into `cache_dir` (default `<workdir>/synthetic_data`); built once, then reused.
  init_from: a predecessor's workdir (see `wcs_jax.training.trainer`, "Resume
    priority"): stage 2 from stage 1, Gaze2Mask-Net from EG-Net (its gaze maps),
    WCS-Net stage 1 from Gaze2Mask-Net (carries both first-frame networks along).
  backbone_init: a directory written by `tools/import_backbone.py` (ImageNet encoder),
    or "installed": the ImageNet weights of the installed weights package of
    `model.backbone` (EfficientNet-Lite0/1/2, `./setup.sh`; no file, no download).
  precise_bn_batches: N > 0: the final checkpoint's batch-norm statistics are the mean
    of N training batches' statistics under the final parameters (precise BN), not the
    running averages; 0: the running averages (momentum 0.99).
  log_every, checkpoint_every, keep_checkpoints, async_checkpoints.
"""
from __future__ import annotations

import dataclasses

import ml_collections

from input_pipeline import pairs
from wcs_jax.spec import networks
from wcs_jax.spec.networks import STAGE_NETWORKS


def base_config(stage: str) -> ml_collections.ConfigDict:
  """The fields every stage has, at the paper's defaults where the paper gives one."""
  if stage not in STAGE_NETWORKS:
    raise ValueError(f"unknown stage {stage!r}; expected one of {sorted(STAGE_NETWORKS)}")
  config = ml_collections.ConfigDict()
  config.stage = stage
  config.network = STAGE_NETWORKS[stage]
  config.model = ml_collections.ConfigDict(networks.default_model_config())

  config.batch_size = 32
  config.total_steps = 10_000
  config.seed = 0

  config.optimizer = ml_collections.ConfigDict(dict(
      learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, warmup_steps=0, grad_clip_norm=0.0,
      schedule="constant"))
  config.frozen_params = ()

  config.input = ml_collections.ConfigDict(dict(
      data_dir="", split="train", image_size=320, shuffle_buffer=1024))
  config.input.manual_dirs = ml_collections.ConfigDict()
  config.input.synthetic = ml_collections.ConfigDict(dict(
      enabled=False, num=64, size=(320, 240), seed=0, cache_dir=""))

  config.init_from = ""
  config.backbone_init = ""

  # 100 batches (3200 examples at batch 32), a forward pass each, once per run.
  config.precise_bn_batches = 100
  config.log_every = 50
  config.checkpoint_every = 1000
  config.keep_checkpoints = 3
  config.async_checkpoints = True
  return config


def pair_config() -> ml_collections.ConfigDict:
  """The WCS-Net pair geometry and augmentation (input_pipeline.pairs.PairConfig) as
  config fields, at that dataclass's defaults (`image_size` comes from config.input)."""
  fields = dataclasses.asdict(pairs.PairConfig())
  del fields["image_size"]
  return ml_collections.ConfigDict(fields)


def synthetic(config: ml_collections.ConfigDict, *, steps: int, batch_size: int,
              image_size: int = 96, num: int = 48) -> ml_collections.ConfigDict:
  """Turns a stage config into its embedded-synthetic-data variant at a small size.

  EfficientNet-B0 with a narrow decoder at `image_size` so that a stage trains on a
  2-core CPU in minutes; the data are `num` procedural examples per dataset at
  160x120.
  """
  config.input.synthetic.enabled = True
  config.input.synthetic.num = num
  config.input.synthetic.size = (160, 120)
  config.input.image_size = image_size
  config.input.shuffle_buffer = 64
  config.model.backbone = "efficientnet-b0"
  config.model.decoder_channels = 16
  config.total_steps = steps
  config.batch_size = batch_size
  config.precise_bn_batches = 50
  config.log_every = 10
  config.checkpoint_every = 50
  config.keep_checkpoints = 2
  return config
