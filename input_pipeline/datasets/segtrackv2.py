"""SegTrackv2 (Li et al., ICCV 2013): 14 sequences, 976 frames, 24 objects.

WCS-Net reports J on it under the unsupervised VOS protocol: all objects of a frame
form one foreground.

Layout read from `manual_dir` (the extracted `SegTrackv2.zip`) by
`wcs_jax.evaluation.layouts`, the reader `tools/evaluate.py --dataset segtrackv2`
scores with too:

    JPEGImages/<seq>/<frame>.png|.bmp|.jpg
    GroundTruth/<seq>/<frame>.png|.bmp            one object
    GroundTruth/<seq>/<k>/<frame>.png|.bmp        several objects, one sub-folder
                                                  each (k = 1, 2, ...)

The sequences are the folders of `JPEGImages/`, their frames the images in name
order. A frame's masks (the files with its stem, in the sequence folder or in each
object folder) are merged into one foreground (values >= 128 of the 0/255 masks,
whose few intermediate values mark overlaps); a frame without any has `has_mask`
False.

Split: test. Features: `video.video_features()`, `category` "".
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import video
from wcs_jax.evaluation import layouts
from wcs_jax.io import files

_CITATION = """@inproceedings{Li2013,
  author = {Fuxin Li and Taeyoung Kim and Ahmad Humayun and David Tsai and James M. Rehg},
  title = {Video Segmentation by Tracking Many Figure-Ground Segments},
  booktitle = {International Conference on Computer Vision},
  year = {2013}
}"""


class Segtrackv2(base.ManualBuilder):
  """SegTrackv2 sequences, every object of a frame merged into one foreground."""

  name = "segtrackv2"
  SPLIT_NAMES = ("test",)
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download SegTrackv2.zip from https://web.engr.oregonstate.edu/~lif/SegTrack2/dataset.html
  and extract it; pass the folder that holds JPEGImages/ and GroundTruth/ (SegTrackv2/)
  as the manual dir:
    JPEGImages/<seq>/*.png|bmp, GroundTruth/<seq>/*.png or GroundTruth/<seq>/<k>/*.png
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="SegTrackv2 video segmentation, one example per sequence.",
        features=video.video_features(),
        homepage="https://web.engr.oregonstate.edu/~lif/SegTrack2/dataset.html",
        citation=_CITATION,
    )

  def _find_splits(self, root: pathlib.Path):
    if not (root / "JPEGImages").is_dir():
      return {}, {"test": f"no folder {root / 'JPEGImages'}"}
    files.require_dir(root / "GroundTruth", "the SegTrackv2 masks, <seq>/[<k>/]*.png")
    return {"test": root}, {}

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    for sequence in layouts.read_segtrackv2(source):
      yield sequence.name, video.video_example(sequence)
