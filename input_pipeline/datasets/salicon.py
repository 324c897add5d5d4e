"""SALICON (Jiang et al., CVPR 2015): mouse-tracking "fixations" on 15k COCO images.

EG-Net is trained on it (image -> eye-gaze map), and WCS-Net takes its hotspot ground
truth from it (the peak region of the gaze map).

Two layouts are read from `manual_dir`:

2015 release (JSON, the format of `salicon-api` and of this project's sample
`../shared/data/salicon_examples`):

    annotations/fixations_<tag>.json     COCO-style: "images" (id, file_name, height,
                                         width) and "annotations" (image_id,
                                         worker_id, fixations = 1-based [row, col])
    images/<tag>/<file_name>             (or images/<file_name>)

  The split is read from the tag's start: "train..." (train2014, or the sample's
  train2014examples) is train, "val..." is validation; other tags (no fixations are
  released for test) are ignored.

2017 release (LSUN'17 challenge, what salicon.net serves now):

    images/{train,val}/<name>.jpg
    fixations/{train,val}/<name>.mat     struct array `gaze`, one entry per worker,
                                         field `fixations` = 1-based [x, y]
    maps/{train,val}/<name>.png          optional: the released gaze maps

Gaze map: the released map where there is one (rescaled so its maximum is 255);
otherwise made from the fixations of all workers by `input_pipeline.fixations.gaze_map`
(Gaussian blur, sigma 19 px at 640x480 as the SALICON toolkit, scaled with image size).
The binary fixation map marks every pixel with at least one fixation; fixations
outside the image are dropped.

Features: `image` [H, W, 3]; `gaze` [H, W, 1] uint8, max 255; `fixations` [H, W, 1]
uint8 0/1; `image_id` (file stem). Splits: train, validation.
"""
from __future__ import annotations

import collections
import json
import pathlib
from collections.abc import Iterator

import numpy as np
import scipy.io
import tensorflow_datasets as tfds

from input_pipeline import fixations as fixations_lib
from input_pipeline.datasets import base
from input_pipeline.datasets import reading
from wcs_jax.io import files

_CITATION = """@inproceedings{Jiang2015,
  author = {Ming Jiang and Shengsheng Huang and Juanyong Duan and Qi Zhao},
  title = {SALICON: Saliency in Context},
  booktitle = {Computer Vision and Pattern Recognition},
  year = {2015}
}"""

_FOLDER_SPLITS = {"train": "train", "validation": "val"}


class Salicon(base.ManualBuilder):
  """SALICON images with gaze maps and fixations."""

  name = "salicon"
  SPLIT_NAMES = ("train", "validation")
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download SALICON from http://salicon.net/challenge-2017/ (images, fixations and
  maps of train and val) and extract the archives into one folder:
    images/{train,val}/*.jpg, fixations/{train,val}/*.mat, maps/{train,val}/*.png
  (maps/ is optional: without it the gaze maps are made from the fixations).
  The 2015 JSON release works too (http://salicon.net/download/, format of
  https://github.com/NUS-VIP/salicon-api):
    annotations/fixations_train2014.json, annotations/fixations_val2014.json,
    images/train2014/*.jpg, images/val2014/*.jpg
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="SALICON images with continuous gaze maps and binary fixation maps.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "gaze": tfds.features.Image(shape=(None, None, 1)),
            "fixations": tfds.features.Image(shape=(None, None, 1)),
            "image_id": tfds.features.Text(),
        }),
        homepage="http://salicon.net",
        citation=_CITATION,
    )

  def _find_splits(self, root: pathlib.Path):
    found, missing = {}, {}
    annotations = root / "annotations"
    json_files = sorted(annotations.glob("fixations_*.json")) if annotations.is_dir() else []
    for path in json_files:
      tag = path.stem[len("fixations_"):]
      split = ("train" if tag.startswith("train")
               else "validation" if tag.startswith("val") else None)
      if split is None:
        continue
      if split in found:
        raise reading.DownloadError(
            f"{path}: a second fixation file for split {split} (after {found[split][1]}); "
            "expected one annotations/fixations_<tag>.json per split")
      found[split] = ("json", path, tag)
    for split, folder in _FOLDER_SPLITS.items():
      fixation_dir = root / "fixations" / folder
      if not fixation_dir.is_dir():
        continue
      if split in found:
        raise reading.DownloadError(
            f"{root}: split {split} is given twice, by {found[split][1]} and "
            f"{fixation_dir}; expected one layout (2015 JSON or 2017 folders)")
      found[split] = ("folders", root, folder)
    for split, folder in _FOLDER_SPLITS.items():
      if split not in found:
        missing[split] = (f"no {annotations}/fixations_{folder}*.json (2015 release) and "
                          f"no {root / 'fixations' / folder}/ (2017 release)")
    return found, missing

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    form, path, tag = source
    if form == "json":
      yield from _examples_from_json(path, tag)
    else:
      yield from _examples_from_folders(path, tag)


def _example(image_path: pathlib.Path, image: reading.EncodedImage, points_xy: np.ndarray,
             gaze: np.ndarray | None) -> dict:
  height, width = image.height, image.width
  if gaze is None:
    gaze = fixations_lib.gaze_map(points_xy, height, width)
  elif gaze.max() > 0:
    gaze = np.rint(gaze.astype(np.float64) * (255.0 / gaze.max())).astype(np.uint8)
  return {
      "image": image.data,
      "gaze": reading.encode_png(gaze[..., None]),
      "fixations": reading.encode_png(fixations_lib.fixation_map(points_xy, height, width)[..., None]),
      "image_id": image_path.stem,
  }


def _examples_from_json(path: pathlib.Path, tag: str) -> Iterator[tuple[str, dict]]:
  """Examples of a 2015 JSON fixation file; fixations are 1-based [row, col]."""
  try:
    data = json.loads(path.read_text())
    images = data["images"]
    annotations = data["annotations"]
  except (ValueError, KeyError, TypeError) as error:
    raise reading.DownloadError(f"{path}: not a SALICON fixation file ({error!r}); expected "
                                "JSON with 'images' and 'annotations'") from error
  points = collections.defaultdict(list)
  for annotation in annotations:
    rows_cols = np.asarray(annotation["fixations"], np.float64).reshape(-1, 2)
    points[annotation["image_id"]].append(rows_cols[:, ::-1] - 1.0)
  root = path.parent.parent
  for entry in images:
    image_path = root / "images" / tag / entry["file_name"]
    if not image_path.is_file() and (root / "images" / entry["file_name"]).is_file():
      image_path = root / "images" / entry["file_name"]
    files.require_file(image_path, f"the image {entry['file_name']} listed in {path}")
    image = reading.read_rgb(image_path)
    if (image.width, image.height) != (entry.get("width", image.width),
                                       entry.get("height", image.height)):
      raise reading.DownloadError(
          f"{image_path}: image is {image.width}x{image.height} but {path} says "
          f"{entry['width']}x{entry['height']}; expected the listed size")
    image_points = (np.concatenate(points[entry["id"]]) if points[entry["id"]]
                    else np.zeros((0, 2)))
    yield image_path.stem, _example(image_path, image, image_points, gaze=None)


def mat_fixations(path: pathlib.Path) -> np.ndarray:
  """`[N, 2]` 0-based (x, y) fixations of all workers in a 2017 .mat file."""
  try:
    gaze = scipy.io.loadmat(path)["gaze"]
    points = [np.asarray(worker["fixations"], np.float64).reshape(-1, 2)
              for worker in gaze.flatten()]
  except (ValueError, KeyError, TypeError, OSError) as error:
    raise reading.DownloadError(f"{path}: not a SALICON 2017 fixation file ({error!r}); "
                                "expected a struct array 'gaze' with field 'fixations'") from error
  return np.concatenate(points) - 1.0 if points else np.zeros((0, 2))


def _examples_from_folders(root: pathlib.Path, folder: str) -> Iterator[tuple[str, dict]]:
  """Examples of one split of the 2017 layout."""
  fixation_dir = root / "fixations" / folder
  map_dir = root / "maps" / folder
  for image_path in files.list_images(root / "images" / folder,
                                      f"the {folder} images of SALICON"):
    image = reading.read_rgb(image_path)
    mat = files.require_file(fixation_dir / f"{image_path.stem}.mat",
                             f"the fixations of {image_path}")
    gaze = None
    if map_dir.is_dir():
      map_path = map_dir / f"{image_path.stem}.png"
      gaze = reading.read_grey(map_path, f"the gaze map of {image_path}")
      reading.check_same_size(map_path, (gaze.shape[1], gaze.shape[0]), image_path,
                              image.size, what="gaze map")
    yield image_path.stem, _example(image_path, image, mat_fixations(mat), gaze)
