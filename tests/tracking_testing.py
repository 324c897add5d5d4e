"""A trained run's workdir with random weights, for tests of the tools that track from
`--workdir RUN` (tools/track.py, tools/evaluate.py, tools/reframe.py); the held-out
synthetic videos a trained smoke run must follow."""
import pathlib

import ml_collections
import numpy as np

from input_pipeline import synthetic
from wcs_jax.evaluation import segmentation
from wcs_jax.inference import jax_backend
from wcs_jax.io import workdir as workdir_lib
from wcs_jax.models import build
from wcs_jax.spec import networks
from wcs_jax.training import checkpointing

# EfficientNet-B0 with 8-wide decoders at 64 x 64: the smallest networks that still
# run the paper's architecture end to end.
TINY = dict(backbone="efficientnet-b0", decoder_channels=8)
SIZE = 64


def write_random_workdir(path: pathlib.Path, model: dict = TINY, image_size: int = SIZE) -> pathlib.Path:
  """Writes a WCS-Net stage-2 workdir holding the three networks with random weights.

  Laid out as the trainer writes it (the trainer's own writers): the Orbax checkpoint
  of the state at step 0, with EG-Net and Gaze2Mask-Net frozen in it, config.json and
  networks.json.

  Args:
    path: the workdir; created if missing.
    model: model config overrides (`wcs_jax.spec.networks.resolve_model_config`).
    image_size: S of the crops (`config.input.image_size`).

  Returns:
    `path`.
  """
  path = pathlib.Path(path)
  model_config = networks.resolve_model_config(model)
  variables = {name: jax_backend.random_variables(build.from_config(model_config, name), image_size, k)
               for k, name in enumerate(networks.NETWORKS)}
  config = ml_collections.ConfigDict(dict(
      stage="stage2", network="wcsnet", model=model_config,
      input=dict(image_size=image_size,
                 pairs=dict(template_context=1.5, search_context=2.0, guidance_sigma=0.25))))
  state = {"step": np.int32(0), "params": variables["wcsnet"]["params"],
           "batch_stats": variables["wcsnet"]["batch_stats"],
           "frozen": {"egnet": variables["egnet"], "gaze2mask": variables["gaze2mask"]}}
  checkpointer = checkpointing.Checkpointer(path, every=1, keep=1, asynchronous=False)
  checkpointer.save(0, state, force=True)
  checkpointer.wait()
  checkpointer.close()
  workdir_lib.save_config(path, config, {name: model_config for name in networks.NETWORKS})
  return path


# Videos of render_video's own seeds: the training layouts use other seeds.
HELD_OUT_SEEDS = (101, 202, 303, 404, 505, 606)


def held_out_tracking_j(tracker, seeds=HELD_OUT_SEEDS, num_frames: int = 24) -> list[float]:
  """J of every frame 1..T-2 (the DAVIS protocol's frames) of each video, tracked from
  its first ground-truth mask."""
  scores = []
  for seed in seeds:
    video = synthetic.render_video(seed, num_frames, size=(160, 120))
    results = list(tracker.track(video.frames, "mask", mask=video.masks[0, 0]))
    scores += [segmentation.region_similarity(m, r.mask == 1)
               for r, m in zip(results[1:-1], video.masks[1:-1, 0])]
  return scores


# First frames of render_video's own seeds, apart from HELD_OUT_SEEDS and the training layouts'.
FIRST_FRAME_SEEDS = tuple(range(1000, 1032))


def held_out_first_frames(seeds=FIRST_FRAME_SEEDS):
  """`wcs_jax.evaluation.first_frame.FirstFrame`s of held-out synthetic videos (160 x 120)."""
  from wcs_jax.evaluation import first_frame as first_frame_eval  # pylint: disable=import-outside-toplevel
  frames = []
  for seed in seeds:
    video = synthetic.render_video(seed, 1, size=(160, 120))
    frames.append(first_frame_eval.FirstFrame(f"seed-{seed}", video.frames[0], video.masks[0, 0]))
  return frames
