"""DAVIS-2016 (Perazzi et al., CVPR 2016): 50 sequences, one binary object, 480p.

WCS-Net trains on its train split (stage 2) and reports J and F on its val split.

Layout read from `manual_dir` by `wcs_jax.evaluation.layouts`, the reader the
evaluation uses too: JPEGImages/480p/<seq>/%05d.jpg, Annotations/480p/<seq>/%05d.png and either
form of the split lists, ImageSets/480p/{train,val}.txt (DAVIS-2016: frame pairs) or
ImageSets/2016/{train,val}.txt (DAVIS-2017: sequence names, read when both exist).
Palette object ids (DAVIS-2017) are merged into one foreground; a frame without an
annotation file has `has_mask` False. A split whose list is missing is not built (the
log says so). Note that the DAVIS-2017 download re-annotates some DAVIS-2016
sequences with several objects; merged, they are close to, not identical with, the
DAVIS-2016 masks.

Splits: train (train.txt), validation (val.txt). Features: `video.video_features()`,
`category` "".
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import video
from wcs_jax.evaluation import layouts
from wcs_jax.io import files

_CITATION = """@inproceedings{Perazzi2016,
  author = {F. Perazzi and J. Pont-Tuset and B. McWilliams and L. Van Gool and M. Gross and A. Sorkine-Hornung},
  title = {A Benchmark Dataset and Evaluation Methodology for Video Object Segmentation},
  booktitle = {Computer Vision and Pattern Recognition},
  year = {2016}
}"""

# TFDS split -> the stem of its DAVIS list file.
_SPLIT_LISTS = {"train": "train", "validation": "val"}


class Davis2016(base.ManualBuilder):
  """DAVIS-2016 sequences with binary ground truth."""

  name = "davis2016"
  SPLIT_NAMES = ("train", "validation")
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download DAVIS-2016 ("TrainVal - Images and Annotations", 480p) from
  https://davischallenge.org/davis2016/code.html and extract it; pass the folder that
  holds JPEGImages/, Annotations/ and ImageSets/ as the manual dir:
    JPEGImages/480p/<seq>/%05d.jpg, Annotations/480p/<seq>/%05d.png,
    ImageSets/480p/{train,val}.txt (frame pairs per line).
  The DAVIS-2017 TrainVal 480p download works too (https://davischallenge.org/
  davis2017/code.html): its ImageSets/2016/{train,val}.txt list the DAVIS-2016
  sequences by name, and multi-object masks are merged into one foreground.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="DAVIS-2016 video object segmentation, one example per sequence.",
        features=video.video_features(),
        homepage="https://davischallenge.org/davis2016/code.html",
        citation=_CITATION,
    )

  def _find_splits(self, root: pathlib.Path):
    found, missing = {}, {}
    for split, list_name in _SPLIT_LISTS.items():
      try:
        layouts.davis2016_split_list(root, list_name)
      except FileNotFoundError as error:
        missing[split] = str(error)
        continue
      found[split] = (root, list_name)
    if found:
      files.require_dir(root / "JPEGImages" / "480p", "the 480p frames, <seq>/%05d.jpg")
      files.require_dir(root / "Annotations" / "480p", "the 480p annotations, <seq>/%05d.png")
    return found, missing

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    root, list_name = source
    for sequence in layouts.read_davis2016(root, list_name):
      yield sequence.name, video.video_example(sequence)
