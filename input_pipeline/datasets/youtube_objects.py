"""YouTube-Objects with the pixel-level ground truth of Jain & Grauman (ECCV 2014).

The UVOS benchmark: 126 shots of 10 object categories from YouTube-Objects (Prest et
al., CVPR 2012), one object segmented on every 10th frame. WCS-Net reports J per
category.

Layout read from `manual_dir` (the `youtube_masks` ground truth with the frames of each
shot in `images/`, as in its `youtube_masks_full` variant; the layout
`wcs_jax.metrics.benchmarks` reads):

    <category>/data/<video>/shots/<shot>/images/frame%04d.jpg   (or %05d.jpg)
    <category>/data/<video>/shots/<shot>/labels/%05d.jpg     0/255, JPEG-compressed

with <category> one of `CATEGORIES`. A label file annotates the frame with the same
number, the number at the end of the file names (labels/00011.jpg ->
images/frame0011.jpg); masks are foreground where >= 128. Every frame of `images/` is
in the sequence, annotated or not (`has_mask`); shots without a `labels/` folder are
not part of the benchmark and are skipped.

Sequence names are `<category>_<video>_<shot>` (e.g. "aeroplane_0001_001"), frame
names `frame%04d` of the frame number ("frame0011") whatever the image files are
called: the names `wcs_jax.metrics.benchmarks` uses for `PRED/<sequence>/<frame>.png`
(`tools/evaluate.py --dataset youtube_objects`).

Split: test. Features: `video.video_features()`, `category` the folder's category.
"""
from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

from absl import logging
import tensorflow_datasets as tfds

from input_pipeline.datasets import base
from input_pipeline.datasets import reading
from input_pipeline.datasets import video

CATEGORIES = ("aeroplane", "bird", "boat", "car", "cat", "cow", "dog", "horse",
              "motorbike", "train")

_CITATION = """@inproceedings{Jain2014,
  author = {Suyog Dutt Jain and Kristen Grauman},
  title = {Supervoxel-Consistent Foreground Propagation in Video},
  booktitle = {European Conference on Computer Vision},
  year = {2014}
}"""

_NUMBER = re.compile(r"(\d+)$")


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
    present = [c for c in CATEGORIES if (root / c).is_dir()]
    if not present:
      return {}, {"test": f"none of the category folders {', '.join(CATEGORIES)} in {root}"}
    return {"test": (root, tuple(present))}, {}

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    root, categories = source
    for category in categories:
      data = reading.require_dir(root / category / "data",
                                 f"the videos of {category}, <video>/shots/<shot>/")
      for labels in sorted(data.glob("*/shots/*/labels")):
        shot_dir = labels.parent
        video_id, shot = shot_dir.parent.parent.name, shot_dir.name
        name = f"{category}_{video_id}_{shot}"
        frames = _shot_frames(shot_dir, labels)
        if frames is None:
          logging.warning("youtube_objects: %s has no label file; skipped", labels)
          continue
        yield name, video.video_example(name, frames, category=category)


def _number(path: pathlib.Path) -> int | None:
  match = _NUMBER.search(path.stem)
  return int(match.group(1)) if match else None


def _shot_frames(shot_dir: pathlib.Path, labels: pathlib.Path) -> list[video.Frame] | None:
  """Frames of one shot with their label files; None if it has no label file."""
  label_files = [p for p in labels.iterdir()
                 if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp")]
  if not label_files:
    return None
  images = reading.list_images(shot_dir / "images",
                               "the frames of the shot, frame%04d.jpg (youtube_masks_full)")
  by_number = {}
  for image in images:
    number = _number(image)
    if number is None:
      raise reading.DownloadError(f"{image}: no frame number in the name; expected "
                                  "frame%04d.jpg")
    if number in by_number:
      raise reading.DownloadError(f"{image}: frame number {number} also names "
                                  f"{by_number[number]}; expected one image per frame")
    by_number[number] = image
  masks = {}
  for label in label_files:
    number = _number(label)
    if number is None or number not in by_number:
      raise reading.DownloadError(
          f"{label}: no frame of {shot_dir / 'images'} has its number; expected "
          f"frame{number if number is not None else 0:04d}.jpg there")
    masks[number] = (label,)
  return [video.Frame(name=f"frame{number:04d}", image=image, masks=masks.get(number, ()))
          for number, image in sorted(by_number.items())]
