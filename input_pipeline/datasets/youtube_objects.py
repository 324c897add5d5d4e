"""YouTube-Objects with the pixel-level ground truth of Jain & Grauman (ECCV 2014).

The UVOS benchmark: 126 shots of 10 object categories from YouTube-Objects (Prest et
al., CVPR 2012), one object segmented on every 10th frame. WCS-Net reports J per
category.

Layout read from `manual_dir` (the `youtube_masks` ground truth with the frames of each
shot in `images/`, as in its `youtube_masks_full` variant) by
`wcs_jax.evaluation.layouts`, the reader `tools/evaluate.py --dataset youtube_objects`
scores with too:

    <category>/data/<video>/shots/<shot>/images/frame%04d.jpg   (or %05d.jpg)
    <category>/data/<video>/shots/<shot>/labels/%05d.jpg     0/255, JPEG-compressed

with <category> one of `layouts.YOUTUBE_OBJECTS_CATEGORIES`. A label file annotates
the frame with the same number, the number at the end of the file names
(labels/00011.jpg -> images/frame0011.jpg); masks are foreground where >= 128. Every
frame of `images/` is in the sequence, annotated or not (`has_mask`); shots without
a label file are not part of the benchmark and are skipped. Sequence names are
`<category>_<video>_<shot>` (e.g. "aeroplane_0001_001"), frame names `frame%04d` of
the frame number ("frame0011") whatever the image files are called.

Split: test. Features: `video.video_features()`, `category` the folder's category.
"""
from __future__ import annotations

import pathlib
from collections.abc import Iterator

import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import video
from wcs_jax.evaluation import layouts
from wcs_jax.io import files

_CITATION = """@inproceedings{Jain2014,
  author = {Suyog Dutt Jain and Kristen Grauman},
  title = {Supervoxel-Consistent Foreground Propagation in Video},
  booktitle = {European Conference on Computer Vision},
  year = {2014}
}"""


class YoutubeObjects(base.ManualBuilder):
  """YouTube-Objects shots with masks on every 10th frame."""

  name = "youtube_objects"
  SPLIT_NAMES = ("test",)
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download the YouTube-Objects segmentation ground truth of Jain & Grauman (ECCV 2014,
  "youtube_masks") from https://vision.cs.utexas.edu/projects/videoseg/ and extract
  it; pass the folder that holds the 10 category folders as the manual dir. Each
  annotated shot needs its frames in images/ beside labels/:
    <category>/data/<video>/shots/<shot>/labels/%05d.jpg
    <category>/data/<video>/shots/<shot>/images/frame%04d.jpg
  The "youtube_masks_full" variant ships them so; otherwise copy the shot's frames
  (<category>/data/<video>/shots/<shot>/frame%04d.jpg of YouTube-Objects v1.0,
  https://data.vision.ee.ethz.ch/cvl/youtube-objects/) into images/.
  Categories: aeroplane bird boat car cat cow dog horse motorbike train.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="YouTube-Objects video segmentation (every 10th frame annotated), "
                    "one example per shot.",
        features=video.video_features(),
        homepage="https://vision.cs.utexas.edu/projects/videoseg/",
        citation=_CITATION,
    )

  def _find_splits(self, root: pathlib.Path):
    if not any((root / c).is_dir() for c in layouts.YOUTUBE_OBJECTS_CATEGORIES):
      return {}, {"test": f"none of the category folders "
                          f"{', '.join(layouts.YOUTUBE_OBJECTS_CATEGORIES)} in {root}"}
    return {"test": root}, {}

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    for sequence in layouts.read_youtube_objects(source):
      # The ground truth reads without the frames; the records need them.
      files.require_dir(sequence.images_dir, "the frames of the shot, frame%04d.jpg (youtube_masks_full)")
      yield sequence.name, video.video_example(sequence)
