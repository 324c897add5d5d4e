"""Builds one TFDS dataset from a user's extracted download (or synthetic data).

    python -m input_pipeline.build --dataset davis2016 \
        --manual-dir ~/data/DAVIS --data-dir ~/tensorflow_datasets

The records go to DATA_DIR/<dataset>/1.0.0/ (tfrecord shards plus dataset_info.json);
load them with `tfds.builder(name, data_dir=DATA_DIR)` after `import
input_pipeline.datasets`. Building runs through the TFDS Python API
(`download_and_prepare` with a `DownloadConfig(manual_dir=...)`), not the `tfds build`
command, which needs Apache Beam; nothing is downloaded.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

# Quiet TensorFlow (the project's convention); must precede its import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top,wrong-import-position

from input_pipeline import datasets  # pylint: disable=g-import-not-at-top,wrong-import-position


def build(name: str, manual_dir: str | os.PathLike, data_dir: str | os.PathLike, *,
          splits: list[str] | None = None, overwrite: bool = False) -> tfds.core.DatasetBuilder:
  """Builds dataset `name` from `manual_dir` into `data_dir`.

  Args:
    name: one of `datasets.BUILDERS`.
    manual_dir: the extracted download, in the layout of the dataset's
      `MANUAL_DOWNLOAD_INSTRUCTIONS`.
    data_dir: TFDS data directory to write into.
    splits: splits that must be built (error if missing); default all found.
    overwrite: rebuild even if the dataset is already in `data_dir`.

  Returns:
    The prepared builder.

  Raises:
    ValueError: unknown dataset or split name.
    FileNotFoundError: `manual_dir` is not a folder, or a requested split is missing.
  """
  if name not in datasets.BUILDERS:
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(datasets.BUILDERS)}")
  manual_dir = pathlib.Path(manual_dir).expanduser()
  if not manual_dir.is_dir():
    raise FileNotFoundError(
        f"{manual_dir}: --manual-dir is not a folder; expected the extracted {name} "
        f"download:{datasets.BUILDERS[name].MANUAL_DOWNLOAD_INSTRUCTIONS}")
  builder = datasets.BUILDERS[name](data_dir=os.fspath(pathlib.Path(data_dir).expanduser()),
                                    splits=splits)
  mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if overwrite
          else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.fspath(manual_dir), download_mode=mode, try_download_gcs=False))
  return builder


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m input_pipeline.build",
      description="Build one TFDS dataset of WCS-Net from its extracted download "
                  "(or from tools/make_synthetic_data.py output).")
  parser.add_argument("--dataset", required=True, choices=sorted(datasets.BUILDERS),
                      help="dataset to build")
  parser.add_argument("--manual-dir", required=True,
                      help="folder holding the extracted download, in the dataset's "
                           "official layout (see the builder's MANUAL_DOWNLOAD_INSTRUCTIONS)")
  parser.add_argument("--data-dir", required=True,
                      help="TFDS data directory; records go to DATA_DIR/<dataset>/1.0.0/")
  parser.add_argument("--splits", default=None,
                      help="comma-separated splits that must be built, e.g. "
                           "'train,validation'; missing ones are an error (default: build "
                           "every split found and log the others)")
  parser.add_argument("--overwrite", action="store_true",
                      help="rebuild even if DATA_DIR already holds the dataset")
  args = parser.parse_args(argv)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  # TensorFlow only writes records here; keep it off the accelerators.
  tf.config.set_visible_devices([], "GPU")
  splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None
  start = time.perf_counter()
  try:
    builder = build(args.dataset, args.manual_dir, args.data_dir, splits=splits,
                    overwrite=args.overwrite)
  except (FileNotFoundError, ValueError) as error:  # DownloadError is a ValueError.
    print(f"error: {error}", file=sys.stderr)
    return 1
  seconds = time.perf_counter() - start
  print(f"{args.dataset} {builder.version} in {builder.data_dir} ({seconds:.1f} s):")
  for split, info in builder.info.splits.items():
    print(f"  {split}: {info.num_examples} examples, {info.num_shards} shard(s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
