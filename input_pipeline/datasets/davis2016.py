"""DAVIS-2016 (Perazzi et al., CVPR 2016): 50 sequences, one binary object, 480p.

WCS-Net trains on its train split (stage 2) and reports J and F on its val split.

Layout read from `manual_dir` (either form of the split lists):

    JPEGImages/480p/<seq>/%05d.jpg
    Annotations/480p/<seq>/%05d.png          binary 0/255 (DAVIS-2016); palette
                                             object ids (DAVIS-2017) are merged
    ImageSets/480p/{train,val}.txt           DAVIS-2016 form: one frame per line,
                                             "/JPEGImages/480p/<seq>/00000.jpg
                                              /Annotations/480p/<seq>/00000.png"
    ImageSets/2016/{train,val}.txt           DAVIS-2017 form: one sequence per line

The DAVIS-2016 form lists every frame with its annotation, and both must exist; with
the DAVIS-2017 form the frames are every image of `JPEGImages/480p/<seq>/` and a frame
is annotated where `Annotations/480p/<seq>/<frame>.png` exists. When both forms are
present the DAVIS-2017 one is read (as `wcs_jax.metrics.benchmarks` does). A split whose list is missing is not built (the
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
from input_pipeline.datasets import reading
from input_pipeline.datasets import video

_CITATION = """@inproceedings{Perazzi2016,
  author = {F. Perazzi and J. Pont-Tuset and B. McWilliams and L. Van Gool and M. Gross and A. Sorkine-Hornung},
  title = {A Benchmark Dataset and Evaluation Methodology for Video Object Segmentation},
  booktitle = {Computer Vision and Pattern Recognition},
  year = {2016}
}"""

_SPLIT_FILES = {"train": "train.txt", "validation": "val.txt"}


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
    for split, filename in _SPLIT_FILES.items():
      davis2016_list = root / "ImageSets" / "480p" / filename
      davis2017_list = root / "ImageSets" / "2016" / filename
      if davis2017_list.is_file():
        found[split] = (root, davis2017_list, "sequences")
      elif davis2016_list.is_file():
        found[split] = (root, davis2016_list, "frames")
      else:
        missing[split] = (f"neither {davis2016_list} (DAVIS-2016 form) nor "
                          f"{davis2017_list} (DAVIS-2017 form) exists")
    if found:
      reading.require_dir(root / "JPEGImages" / "480p", "the 480p frames, <seq>/%05d.jpg")
      reading.require_dir(root / "Annotations" / "480p",
                          "the 480p annotations, <seq>/%05d.png")
    return found, missing

  def _generate_examples(self, source) -> Iterator[tuple[str, dict]]:
    root, split_list, form = source
    if form == "frames":
      sequences = _sequences_from_frame_list(root, split_list)
    else:
      sequences = _sequences_from_names(root, split_list)
    for name, frames in sequences.items():
      yield name, video.video_example(name, frames)


def _sequences_from_frame_list(root: pathlib.Path,
                               split_list: pathlib.Path) -> dict[str, list[video.Frame]]:
  """Sequences of a DAVIS-2016 list ("/JPEGImages/480p/<seq>/<f>.jpg /Annotations/...")."""
  sequences: dict[str, list[video.Frame]] = {}
  lines = reading.read_lines(split_list, "a DAVIS-2016 split list")
  for number, line in enumerate(lines, start=1):
    parts = line.split()
    if len(parts) != 2:
      raise reading.DownloadError(
          f"{split_list}, line {number}: {line!r}; expected two paths, "
          "'/JPEGImages/480p/<seq>/<frame>.jpg /Annotations/480p/<seq>/<frame>.png'")
    image, annotation = (root / part.lstrip("/") for part in parts)
    reading.require_file(image, f"the frame listed on line {number} of {split_list}")
    reading.require_file(annotation, f"the annotation listed on line {number} of {split_list}")
    sequences.setdefault(image.parent.name, []).append(
        video.Frame(name=image.stem, image=image, masks=(annotation,)))
  return sequences


def _sequences_from_names(root: pathlib.Path,
                          split_list: pathlib.Path) -> dict[str, list[video.Frame]]:
  """Sequences of a DAVIS-2017-style list (one sequence name per line)."""
  sequences = {}
  for name in reading.read_lines(split_list, "a list of sequence names"):
    images = reading.list_images(root / "JPEGImages" / "480p" / name,
                                 f"the frames of sequence {name} (listed in {split_list})")
    annotations = reading.require_dir(root / "Annotations" / "480p" / name,
                                      f"the annotations of sequence {name}")
    frames = []
    for image in images:
      annotation = annotations / f"{image.stem}.png"
      frames.append(video.Frame(name=image.stem, image=image,
                                masks=(annotation,) if annotation.is_file() else ()))
    sequences[name] = frames
  return sequences
