"""The trainer's input: a stage's tf.data stream turned into global device batches.

`host_batches` builds this host's stream (`input_pipeline.streams.stage_stream`, which
reads the host's disjoint shard of every source and yields `batch_size /
process_count` examples per step, batch `k` a pure function of `(seed, host, k)`), and
`global_batches` assembles each step's per-host pieces into one global array per field
sharded over the mesh's data axis (`jax.make_array_from_process_local_data`).

`prepare_synthetic` writes the embedded procedural datasets (input_pipeline.synthetic)
in their official layouts and builds them with the project's TFDS builders, exactly
as a user's downloads would be built; `prepare_manual` builds a user's raw dataset
folders (`config.input.manual_dirs`, {TFDS name: folder}) the same way into the run's
TFDS directory. Either way process 0 builds, once, and the other hosts wait.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any, Iterator

from absl import logging
import jax
from jax.experimental import multihost_utils
import ml_collections
import numpy as np

from input_pipeline import augment
from input_pipeline import pairs
from input_pipeline import streams

# Written next to the datasets `prepare_manual` built: {TFDS name: the raw folder}.
MANUAL_SOURCES_FILE = "manual_sources.json"


def stage_datasets(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The TFDS datasets the stage's stream reads (those of non-zero `input.weights`)."""
  return streams.stage_datasets(config.stage, _weights(config))


def _weights(config: ml_collections.ConfigDict) -> tuple[float, ...] | None:
  weights = config.input.get("weights")
  return None if weights is None else tuple(weights)


def stream_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The stage-specific keyword arguments of the stage's stream, from `config.input`."""
  inp = config.input
  weights = {"weights": _weights(config)} if _weights(config) is not None else {}
  if config.stage == "egnet":
    return {"flip": inp.flip, **weights, **({"gaze_sigma": inp.gaze_sigma} if "gaze_sigma" in inp else {})}
  if config.stage == "gaze2mask":
    return {"flip": inp.flip, "gaze": inp.gaze, "gaze_sigma": inp.gaze_sigma,
            "video_window": inp.get("video_window", "mask"), "prompts": tuple(inp.get("prompts", (0.0, 0.0))),
            **weights}
  fields = inp.pairs.to_dict()
  fields["augment"] = augment.AugmentConfig(**fields["augment"])
  return {"weights": tuple(inp.weights),
          "config": pairs.PairConfig(image_size=inp.image_size, **fields)}


def host_batches(config: ml_collections.ConfigDict, data_dir: str | pathlib.Path, *,
                 start_step: int) -> Iterator[dict[str, np.ndarray]]:
  """This host's numpy batches from step `start_step` on (infinite)."""
  stream = streams.stage_stream(
      config.stage, data_dir, split=config.input.split, global_batch_size=config.batch_size,
      image_size=config.input.image_size, seed=config.seed, start_step=start_step,
      shuffle_buffer=config.input.shuffle_buffer, process_index=jax.process_index(),
      process_count=jax.process_count(), **stream_kwargs(config))
  return stream.as_numpy_iterator()


def global_batches(batches: Iterator[dict[str, np.ndarray]],
                   sharding: jax.sharding.NamedSharding) -> Iterator[dict[str, jax.Array]]:
  """Per-host numpy batches -> global arrays split along the batch axis.

  Each host's piece becomes the rows of the global batch that live on its devices;
  one batch is transferred ahead so the copy overlaps the previous step.
  """
  def put(batch):
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in batch.items()}

  ahead = put(next(batches))
  for batch in batches:
    current, ahead = ahead, put(batch)
    yield current
  yield ahead


def data_dir(config: ml_collections.ConfigDict, workdir: str | pathlib.Path) -> pathlib.Path:
  """The TFDS data directory of a run: the synthetic cache, `config.input.data_dir`, or
  with `config.input.manual_dirs` and no data_dir, `<workdir>/tfds`."""
  if config.input.synthetic.enabled:
    syn = config.input.synthetic
    cache = pathlib.Path(syn.cache_dir or pathlib.Path(workdir) / "synthetic_data")
    # One folder per data setting, so stages of a chain that share the cache but not
    # the setting never read each other's data.
    width, height = syn.size
    return cache / f"n{syn.num}_{width}x{height}_seed{syn.seed}" / "tfds"
  if not config.input.data_dir and config.input.get("manual_dirs"):
    return pathlib.Path(workdir) / "tfds"
  if not config.input.data_dir:
    raise ValueError("config.input.data_dir is empty: pass --config.input.data_dir=DIR, the TFDS "
                     "--data-dir the datasets were built into (python -m input_pipeline.build), or "
                     "use the embedded synthetic data (`configs/<stage>.py:synthetic`)")
  return pathlib.Path(config.input.data_dir)


def prepare_synthetic(config: ml_collections.ConfigDict, tfds_dir: pathlib.Path) -> None:
  """Writes and builds the synthetic stand-ins of the stage's datasets into `tfds_dir`.

  The raw layouts go to `tfds_dir/../raw/<name>`; a dataset already built there is
  reused (the data are a pure function of the synthetic seed, num and size).
  """
  if jax.process_index() == 0:
    for name in stage_datasets(config):
      _build_synthetic(name, config.input.synthetic, tfds_dir)
  multihost_utils.sync_global_devices("synthetic data ready")


def _build_synthetic(name: str, synthetic: ml_collections.ConfigDict, tfds_dir: pathlib.Path) -> None:
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from input_pipeline import datasets  # pylint: disable=g-import-not-at-top
  from input_pipeline import synthetic as synthetic_lib  # pylint: disable=g-import-not-at-top

  tfds.disable_progress_bar()
  builder = datasets.BUILDERS[name](data_dir=str(tfds_dir))
  if builder.is_prepared():
    return
  raw = tfds_dir.parent / "raw" / name
  logging.info("writing %d synthetic %s examples to %s", synthetic.num, name, raw)
  synthetic_lib.write(name, raw, synthetic.num, seed=synthetic.seed, size=tuple(synthetic.size))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))


def prepare_manual(config: ml_collections.ConfigDict, tfds_dir: pathlib.Path) -> None:
  """Builds the stage's datasets from the raw folders of `config.input.manual_dirs`
  into `tfds_dir` with the project's TFDS builders, recording each folder in
  `tfds_dir/manual_sources.json`; a dataset already built there is reused unless it is
  recorded as built from another folder (an error: nothing is rebuilt over it)."""
  manual = dict(config.input.manual_dirs)
  needed = stage_datasets(config)
  missing = [name for name in needed if not manual.get(name)]
  if missing:
    raise ValueError(f"config.input.manual_dirs names no raw folder for {missing} (stage {config.stage!r} "
                     f"reads {list(needed)}); got {manual}. With configs/real_cpu.py pass "
                     "--config.davis_dir=DIR and --config.salicon_dir=DIR")
  if jax.process_index() == 0:
    for name in needed:
      _build_manual(name, pathlib.Path(manual[name]), tfds_dir)
  multihost_utils.sync_global_devices("datasets built")


def _build_manual(name: str, raw: pathlib.Path, tfds_dir: pathlib.Path) -> None:
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from input_pipeline import datasets  # pylint: disable=g-import-not-at-top

  raw = raw.expanduser().resolve()
  if not raw.is_dir():
    raise FileNotFoundError(f"the raw {name} folder {raw} does not exist (config.input.manual_dirs[{name!r}])")
  record = tfds_dir / MANUAL_SOURCES_FILE
  built = json.loads(record.read_text()) if record.is_file() else {}
  builder = datasets.BUILDERS[name](data_dir=str(tfds_dir))
  if builder.is_prepared():
    if built.get(name) not in (None, str(raw)):
      raise ValueError(f"{tfds_dir} holds {name} built from {built[name]}, not from {raw}: use another "
                       "workdir, or delete that dataset folder to rebuild it")
  else:
    tfds.disable_progress_bar()
    logging.info("building TFDS %s from %s into %s", name, raw, tfds_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  if built.get(name) is None:
    tfds_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({**built, name: str(raw)}, indent=2) + "\n")
