"""DUTS (Wang et al., CVPR 2017): salient object detection, 10,553 train / 5,019 test.

WCS-Net's stage 1 mixes its images (mask supervision only) with SALICON's.

Layout read from `manual_dir` (the two official archives extracted side by side):

    DUTS-TR/DUTS-TR-Image/<name>.jpg     DUTS-TR/DUTS-TR-Mask/<name>.png
    DUTS-TE/DUTS-TE-Image/<name>.jpg     DUTS-TE/DUTS-TE-Mask/<name>.png

Masks are greyscale (0/255, anti-aliased edges): foreground where >= 128. Every image
needs its mask; masks without an image are ignored.

Splits: train (DUTS-TR), test (DUTS-TE). Features: `image` [H, W, 3], `mask`
[H, W, 1] 0/1, `image_id` (file stem).
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import reading
from wcs_jax.io import files

_CITATION = """@inproceedings{Wang2017,
  author = {Lijun Wang and Huchuan Lu and Yifan Wang and Mengyang Feng and Dong Wang and Baocai Yin and Xiang Ruan},
  title = {Learning to Detect Salient Objects with Image-level Supervision},
  booktitle = {Computer Vision and Pattern Recognition},
  year = {2017}
}"""

_FOLDERS = {"train": "DUTS-TR", "test": "DUTS-TE"}


class Duts(base.ManualBuilder):
  """DUTS images with binary salient-object masks."""

  name = "duts"
  SPLIT_NAMES = ("train", "test")
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download DUTS-TR.zip and DUTS-TE.zip from http://saliencydetection.net/duts/ and
  extract both into one folder, which then holds
    DUTS-TR/DUTS-TR-Image/*.jpg, DUTS-TR/DUTS-TR-Mask/*.png,
    DUTS-TE/DUTS-TE-Image/*.jpg, DUTS-TE/DUTS-TE-Mask/*.png
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="DUTS salient object detection: images and binary masks.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "mask": tfds.features.Image(shape=(None, None, 1)),
            "image_id": tfds.features.Text(),
        }),
        homepage="http://saliencydetection.net/duts/",
        citation=_CITATION,
    )

  def _find_splits(self, root: pathlib.Path):
    found, missing = {}, {}
    for split, folder in _FOLDERS.items():
      if not (root / folder).is_dir():
        missing[split] = f"no folder {root / folder}"
        continue
      # A split folder that is there but incomplete is a damaged download.
      found[split] = (
          files.require_dir(root / folder / f"{folder}-Image", f"the {folder} images"),
          files.require_dir(root / folder / f"{folder}-Mask", f"the {folder} masks (png)"))
    return found, missing

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    image_dir, mask_dir = source
    for image_path in files.list_images(image_dir, "the DUTS images"):
      mask_path = files.require_file(mask_dir / f"{image_path.stem}.png",
                                     f"the mask of {image_path}")
      image = reading.read_rgb(image_path)
      mask = reading.read_binary_mask(mask_path, image_path, image.size)
      yield image_path.stem, {
          "image": image.data,
          "mask": reading.mask_png(mask),
          "image_id": image_path.stem,
      }
