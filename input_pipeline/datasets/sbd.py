"""SBD (Hariharan et al., ICCV 2011): instance masks of PASCAL VOC 2011 images.

Gaze2Mask-Net is trained on PASCAL VOC instances; SBD is their largest release
(8,498 train / 2,857 val images, 20 VOC classes).

Layout read from `manual_dir` (the extracted `benchmark.tgz`):

    benchmark_RELEASE/dataset/img/<id>.jpg
    benchmark_RELEASE/dataset/inst/<id>.mat   struct GTinst: Segmentation [H, W]
                                              (0 background, i = instance i),
                                              Categories [N, 1] (VOC class 1..20 of
                                              instance i), Boundaries
    benchmark_RELEASE/dataset/cls/<id>.mat    struct GTcls (class masks; not read)
    benchmark_RELEASE/dataset/{train,val}.txt one image id per line

`manual_dir` may also be `benchmark_RELEASE/` or `benchmark_RELEASE/dataset/` itself.
Segmentation values other than 0..N are kept as they are only if 255 (void, the VOC
convention); anything else is an error.

Splits: train (train.txt), validation (val.txt). Features: `image` [H, W, 3];
`instances` [H, W, 1] uint8 (0 background, 1..N instances, 255 void); `labels`
Sequence(ClassLabel, 20 VOC classes), the class of instance i + 1; `image_id`.
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import numpy as np
import scipy.io
import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import reading
from wcs_jax.io import files

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
               "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
               "pottedplant", "sheep", "sofa", "train", "tvmonitor")
VOID = 255

_CITATION = """@inproceedings{Hariharan2011,
  author = {Bharath Hariharan and Pablo Arbelaez and Lubomir Bourdev and Subhransu Maji and Jitendra Malik},
  title = {Semantic Contours from Inverse Detectors},
  booktitle = {International Conference on Computer Vision},
  year = {2011}
}"""

_SPLIT_FILES = {"train": "train.txt", "validation": "val.txt"}


class Sbd(base.ManualBuilder):
  """SBD images with instance masks and their VOC classes."""

  name = "sbd"
  SPLIT_NAMES = ("train", "validation")
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download benchmark.tgz (SBD) from
  http://home.bharathh.info/pubs/codes/SBD/download.html and extract it; pass the
  folder that holds benchmark_RELEASE/ as the manual dir. Read:
    benchmark_RELEASE/dataset/img/*.jpg, benchmark_RELEASE/dataset/inst/*.mat,
    benchmark_RELEASE/dataset/train.txt, benchmark_RELEASE/dataset/val.txt
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="SBD instance segmentation of PASCAL VOC images (20 classes).",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "instances": tfds.features.Image(shape=(None, None, 1)),
            "labels": tfds.features.Sequence(tfds.features.ClassLabel(names=VOC_CLASSES)),
            "image_id": tfds.features.Text(),
        }),
        homepage="http://home.bharathh.info/pubs/codes/SBD/download.html",
        citation=_CITATION,
    )

  def _find_splits(self, root: pathlib.Path):
    dataset = next((d for d in (root / "benchmark_RELEASE" / "dataset", root / "dataset", root)
                    if (d / "img").is_dir() or (d / "inst").is_dir()),
                   root / "benchmark_RELEASE" / "dataset")
    found, missing = {}, {}
    for split, filename in _SPLIT_FILES.items():
      if (dataset / filename).is_file():
        found[split] = (dataset, dataset / filename)
      else:
        missing[split] = f"no {dataset / filename}"
    if found:
      files.require_dir(dataset / "img", "the SBD images, <id>.jpg")
      files.require_dir(dataset / "inst", "the SBD instance masks, <id>.mat")
    return found, missing

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    dataset, split_list = source
    for image_id in files.read_lines(split_list, "a list of SBD image ids"):
      image_path = dataset / "img" / f"{image_id}.jpg"
      image = reading.read_rgb(image_path)
      mat_path = files.require_file(dataset / "inst" / f"{image_id}.mat",
                                    f"the instance masks of {image_path}")
      instances, categories = _read_gtinst(mat_path)
      reading.check_same_size(mat_path, (instances.shape[1], instances.shape[0]),
                              image_path, image.size, what="GTinst.Segmentation")
      yield image_id, {
          "image": image.data,
          "instances": reading.encode_png(instances[..., None]),
          "labels": (categories - 1).tolist(),
          "image_id": image_id,
      }


def _read_gtinst(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
  """(`[H, W]` uint8 instance ids, `[N]` int64 VOC classes 1..20) of an inst .mat file."""
  try:
    gtinst = scipy.io.loadmat(path)["GTinst"][0, 0]
    instances = np.asarray(gtinst["Segmentation"])
    categories = np.asarray(gtinst["Categories"], np.int64).reshape(-1)
  except (ValueError, KeyError, TypeError, IndexError, OSError) as error:
    raise reading.DownloadError(
        f"{path}: not an SBD instance file ({error!r}); expected a struct GTinst with "
        "fields Segmentation and Categories") from error
  if instances.ndim != 2:
    raise reading.DownloadError(f"{path}: GTinst.Segmentation has shape {instances.shape}; "
                                "expected [H, W]")
  ids = np.unique(instances)
  bad_ids = ids[(ids > len(categories)) & (ids != VOID)]
  if ids.min(initial=0) < 0 or bad_ids.size:
    raise reading.DownloadError(
        f"{path}: GTinst.Segmentation holds ids {bad_ids.tolist() or ids.tolist()} but "
        f"Categories lists {len(categories)} instances; expected ids 0..{len(categories)} "
        f"(or {VOID} void)")
  if categories.size and (categories.min() < 1 or categories.max() > len(VOC_CLASSES)):
    raise reading.DownloadError(f"{path}: GTinst.Categories {categories.tolist()}; expected "
                                f"VOC classes 1..{len(VOC_CLASSES)}")
  return instances.astype(np.uint8), categories
