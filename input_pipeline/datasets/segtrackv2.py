"""SegTrackv2 (Li et al., ICCV 2013): 14 sequences, 976 frames, 24 objects.

WCS-Net reports J on it under the unsupervised VOS protocol: all objects of a frame
form one foreground.

Layout read from `manual_dir` (the extracted `SegTrackv2.zip`):

    JPEGImages/<seq>/<frame>.png|.bmp|.jpg
    GroundTruth/<seq>/<frame>.png|.bmp            one object
    GroundTruth/<seq>/<k>/<frame>.png|.bmp        several objects, one sub-folder
                                                  each (k = 1, 2, ...)

A frame's masks are the files with the frame's stem (extensions may differ: e.g.
penguin's frames are .bmp and its masks .png) in the sequence folder or in its
numbered object folders; they are merged into one foreground (values >= 128 of the
0/255 masks, whose few intermediate values mark overlaps). A frame without any mask
file has `has_mask` False. `ImageSets/` is not read: the sequences are the folders of
`JPEGImages/` and their frames the images in name order. This is the layout
`wcs_jax.metrics.benchmarks` scores (`tools/evaluate.py --dataset segtrackv2`).

Split: test. Features: `video.video_features()`, `category` "".
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import reading
from input_pipeline.datasets import video

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
    reading.require_dir(root / "GroundTruth", "the SegTrackv2 masks, <seq>/[<k>/]*.png")
    return {"test": root}, {}

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    root = source
    sequences = sorted(p for p in (root / "JPEGImages").iterdir() if p.is_dir())
    if not sequences:
      raise reading.DownloadError(f"{root / 'JPEGImages'}: no sequence folder; expected "
                                  "JPEGImages/<seq>/<frame>.png")
    for sequence_dir in sequences:
      name = sequence_dir.name
      truth = reading.require_dir(root / "GroundTruth" / name, f"the masks of sequence {name}")
      object_dirs = sorted(p for p in truth.iterdir() if p.is_dir())
      mask_dirs = object_dirs or [truth]
      frames = []
      for image in reading.list_images(sequence_dir, f"the frames of sequence {name}"):
        masks = [m for m in (reading.find_with_stem(d, image.stem) for d in mask_dirs) if m]
        frames.append(video.Frame(name=image.stem, image=image, masks=tuple(masks)))
      yield name, video.video_example(name, frames)
