"""The video benchmarks as their public downloads lie on disk: sequences, their frames
with the ground-truth files of each, and the splits.

The one reader of these layouts: the evaluation (`scoring`, `tracking`,
`tools/evaluate.py`) and the TFDS builders of the same datasets
(`input_pipeline/datasets/{davis2016,segtrackv2,youtube_objects}.py`) both list a
download through it, so a sequence has the same frames and frame names in the records
and in `PRED/<sequence>/<frame>.png`. Only paths are read here (no image is decoded),
and neither TensorFlow nor JAX is imported.

DAVIS-2016 (`davis2016`; Perazzi et al., CVPR 2016), ROOT = the extracted DAVIS folder:
  ROOT/JPEGImages/480p/<seq>/%05d.jpg      frames (854x480)
  ROOT/Annotations/480p/<seq>/%05d.png     ground truth, binary {0, 255} (palette
                                           object ids of DAVIS-2017 are read too and
                                           merged into one foreground)
  ROOT/ImageSets/2016/<split>.txt          DAVIS-2017 release: one sequence name per
                                           line; the frames are every image of
                                           JPEGImages/480p/<seq>/, annotated where
                                           Annotations/480p/<seq>/<frame>.png exists
  ROOT/ImageSets/480p/<split>.txt          DAVIS-2016 release: one frame per line,
                                           "/JPEGImages/480p/<seq>/00000.jpg
                                           /Annotations/480p/<seq>/00000.png"; both
                                           files must exist
  <split> is `train` or `val`; when both lists exist, the DAVIS-2017 one is read.
  Frame names: the image stems (`00000`).

SegTrackv2 (`segtrackv2`; Li et al., ICCV 2013), ROOT = the extracted `SegTrackv2` folder:
  ROOT/JPEGImages/<seq>/<frame>.png|.bmp|.jpg   frames; sorted names = temporal order
  ROOT/GroundTruth/<seq>/<frame>.png|.bmp       single-object sequences, or
  ROOT/GroundTruth/<seq>/<k>/<frame>.png|.bmp   several objects, one folder each (k = 1, 2, ...)
  The sequences are the folders of JPEGImages/ (`ImageSets/` is not read). A frame's
  ground truth is the files with the frame's stem in the sequence's folder or in each
  of its object folders (extensions may differ: penguin's frames are .bmp, its masks
  .png), merged into one foreground (the unsupervised protocol of the paper); a frame
  without one is not annotated. Frame names: the image stems.

YouTube-Objects (`youtube_objects`), ROOT = the extracted `youtube_masks` folder, the
pixel-level ground truth of Jain & Grauman (ECCV 2014) for YouTube-Objects (Prest et
al., CVPR 2012): 126 shots of the 10 `YOUTUBE_OBJECTS_CATEGORIES`, one object
segmented on every 10th frame:
  ROOT/<category>/data/<video>/shots/<shot>/labels/<n>.jpg   ground truth of frame n
                                           (JPEG 0/255, foreground >= 128; the number
                                           ends the stem, e.g. 00021.jpg)
  ROOT/<category>/data/<video>/shots/<shot>/images/frame%04d.jpg   the frames (or
                                           %05d.jpg), as in the `youtube_masks_full`
                                           variant; frame n is the image whose name
                                           ends in the number n
  Sequence name `<category>_<video>_<shot>` (e.g. `aeroplane_0001_001`), frame names
  `frame%04d` of the frame number (`frame0021`) whatever the image files are called.
  With images/, a sequence is every frame of it; without (the plain ground-truth
  download), only its annotated frames, with no image (enough to score, not to
  track or build records). Shots whose labels/ folder holds no file are skipped.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
from collections.abc import Iterable

from absl import logging

from wcs_jax.io import files
from wcs_jax.io.video import IMAGE_EXTENSIONS

DATASETS = ("davis2016", "segtrackv2", "youtube_objects")
YOUTUBE_OBJECTS_CATEGORIES = ("aeroplane", "bird", "boat", "car", "cat", "cow", "dog",
                              "horse", "motorbike", "train")
_NUMBER = re.compile(r"(\d+)$")


@dataclasses.dataclass(frozen=True)
class Frame:
  """One frame of a sequence on disk.

  Attributes:
    name: the frame's name (module docstring): `frame_names` in the records,
      `PRED/<sequence>/<name>.png` in a results folder.
    image: the frame's image file; None where the download lacks the frames.
    annotations: its ground-truth files, one per object, merged into one foreground;
      empty when the frame is not annotated.
  """
  name: str
  image: pathlib.Path | None
  annotations: tuple[pathlib.Path, ...] = ()


@dataclasses.dataclass(frozen=True)
class VideoSequence:
  """One sequence of a benchmark.

  Attributes:
    name: the sequence name (the records' `sequence`, the results sub-folder).
    frames: its frames in temporal order.
    images_dir: the folder of its frames (it may be missing: YouTube-Objects without
      images/).
    category: YouTube-Objects category, "" elsewhere.
  """
  name: str
  frames: tuple[Frame, ...]
  images_dir: pathlib.Path
  category: str = ""

  @property
  def annotated_frames(self) -> tuple[Frame, ...]:
    """The frames with ground truth, in temporal order."""
    return tuple(frame for frame in self.frames if frame.annotations)


# ------------------------------------------------------------------------- DAVIS-2016

def davis2016_split_list(root: pathlib.Path, split: str) -> pathlib.Path:
  """The file that lists a DAVIS-2016 split (module docstring).

  Args:
    root: the DAVIS folder.
    split: `train` or `val` (the list's file stem).

  Returns:
    ROOT/ImageSets/2016/<split>.txt if it exists, else ROOT/ImageSets/480p/<split>.txt.

  Raises:
    FileNotFoundError: neither exists.
  """
  sequence_list = root / "ImageSets" / "2016" / f"{split}.txt"
  frame_list = root / "ImageSets" / "480p" / f"{split}.txt"
  if sequence_list.is_file():
    return sequence_list
  if frame_list.is_file():
    return frame_list
  raise FileNotFoundError(f"neither {frame_list} (DAVIS-2016 form) nor {sequence_list} "
                          "(DAVIS-2017 form) exists")


def read_davis2016(root: pathlib.Path, split: str) -> list[VideoSequence]:
  """The sequences of a DAVIS-2016 split, in the list's order.

  Raises:
    FileNotFoundError: no list of the split; a listed frame, annotation or sequence
      folder that is missing.
    files.LayoutError: a malformed line of a frame list; a sequence folder without images.
  """
  split_list = davis2016_split_list(root, split)
  if split_list.parent.name == "480p":  # the DAVIS-2016 form, frame pairs
    return _davis2016_from_frame_list(root, split_list)
  return [_davis2016_sequence(root, name, split_list)
          for name in files.read_lines(split_list, "a list of sequence names")]


def _davis2016_from_frame_list(root: pathlib.Path, split_list: pathlib.Path) -> list[VideoSequence]:
  """Sequences of a DAVIS-2016 list ("/JPEGImages/480p/<seq>/<f>.jpg /Annotations/...")."""
  frames: dict[str, list[Frame]] = {}
  for number, line in enumerate(files.read_lines(split_list, "a DAVIS-2016 split list"), start=1):
    parts = line.split()
    if len(parts) != 2:
      raise files.LayoutError(f"{split_list}, line {number}: {line!r}; expected two paths, "
                              "'/JPEGImages/480p/<seq>/<frame>.jpg /Annotations/480p/<seq>/<frame>.png'")
    image, annotation = (root / part.lstrip("/") for part in parts)
    files.require_file(image, f"the frame listed on line {number} of {split_list}")
    files.require_file(annotation, f"the annotation listed on line {number} of {split_list}")
    frames.setdefault(image.parent.name, []).append(Frame(image.stem, image, (annotation,)))
  return [VideoSequence(name, tuple(listed), listed[0].image.parent)
          for name, listed in frames.items()]


def _davis2016_sequence(root: pathlib.Path, name: str, split_list: pathlib.Path) -> VideoSequence:
  """A sequence named by a DAVIS-2017-style list: every image, annotated where a mask is."""
  annotations = files.require_dir(root / "Annotations" / "480p" / name,
                                  f"the annotations of sequence {name}")
  images_dir = root / "JPEGImages" / "480p" / name
  frames = []
  for image in files.list_images(images_dir, f"the frames of sequence {name} (listed in {split_list})"):
    annotation = annotations / f"{image.stem}.png"
    frames.append(Frame(image.stem, image, (annotation,) if annotation.is_file() else ()))
  return VideoSequence(name, tuple(frames), images_dir)


# ------------------------------------------------------------------------- SegTrackv2

def read_segtrackv2(root: pathlib.Path) -> list[VideoSequence]:
  """The SegTrackv2 sequences, in name order.

  Raises:
    FileNotFoundError: no GroundTruth/ or JPEGImages/; a sequence without its
      GroundTruth/<seq>/ folder.
    files.LayoutError: no sequence folder; a sequence folder without images.
  """
  truth_root = files.require_dir(root / "GroundTruth", "the SegTrackv2 masks, <seq>/[<k>/]<frame>.png")
  frames_root = files.require_dir(root / "JPEGImages", "the SegTrackv2 frames, <seq>/<frame>.png")
  sequence_dirs = sorted(p for p in frames_root.iterdir() if p.is_dir())
  if not sequence_dirs:
    raise files.LayoutError(f"{frames_root}: no sequence folder; expected JPEGImages/<seq>/<frame>.png")
  sequences = []
  for images_dir in sequence_dirs:
    name = images_dir.name
    truth = files.require_dir(truth_root / name, f"the masks of sequence {name}")
    mask_dirs = sorted(p for p in truth.iterdir() if p.is_dir()) or [truth]
    frames = []
    for image in files.list_images(images_dir, f"the frames of sequence {name}"):
      masks = (files.find_with_stem(folder, image.stem) for folder in mask_dirs)
      frames.append(Frame(image.stem, image, tuple(mask for mask in masks if mask)))
    sequences.append(VideoSequence(name, tuple(frames), images_dir))
  return sequences


# -------------------------------------------------------------------- YouTube-Objects

def read_youtube_objects(root: pathlib.Path) -> list[VideoSequence]:
  """The annotated shots of the category folders present, by category then path.

  Raises:
    FileNotFoundError: a category folder without data/.
    files.LayoutError: no annotated shot at all; a file name without a frame number; a
      label without its frame, or two frames of one number, in images/.
  """
  sequences = []
  for category in YOUTUBE_OBJECTS_CATEGORIES:
    if not (root / category).is_dir():
      continue
    data = files.require_dir(root / category / "data",
                             f"the videos of {category}, <video>/shots/<shot>/")
    for labels in sorted(data.glob("*/shots/*/labels")):
      shot_dir = labels.parent
      name = f"{category}_{shot_dir.parent.parent.name}_{shot_dir.name}"
      frames = _shot_frames(shot_dir, labels)
      if frames is None:
        logging.warning("youtube_objects: %s has no label file; skipped", labels)
        continue
      sequences.append(VideoSequence(name, frames, shot_dir / "images", category))
  if not sequences:
    raise files.LayoutError(f"YouTube-Objects: no <category>/data/<video>/shots/<shot>/labels/ folder "
                            f"with label files under {root} (categories "
                            f"{', '.join(YOUTUBE_OBJECTS_CATEGORIES)})")
  return sequences


def _frame_number(path: pathlib.Path, expected: str) -> int:
  match = _NUMBER.search(path.stem)
  if match is None:
    raise files.LayoutError(f"{path}: no frame number at the end of the name; expected {expected}")
  return int(match.group(1))


def _shot_frames(shot_dir: pathlib.Path, labels: pathlib.Path) -> tuple[Frame, ...] | None:
  """Frames of one shot with their label files; None if it has no label file."""
  label_files = {_frame_number(p, "<n>.jpg"): p for p in sorted(labels.iterdir())
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS}
  if not label_files:
    return None
  images_dir = shot_dir / "images"
  if not images_dir.is_dir():
    return tuple(Frame(f"frame{number:04d}", None, (label_files[number],))
                 for number in sorted(label_files))
  images: dict[int, pathlib.Path] = {}
  for image in files.list_images(images_dir, "the frames of the shot, frame%04d.jpg (youtube_masks_full)"):
    number = _frame_number(image, "frame%04d.jpg")
    if number in images:
      raise files.LayoutError(f"{image}: frame number {number} also names {images[number]}; "
                              "expected one image per frame")
    images[number] = image
  for number, label in label_files.items():
    if number not in images:
      raise files.LayoutError(f"{label}: no frame of {images_dir} has its number; expected "
                              f"frame{number:04d}.jpg there")
  return tuple(Frame(f"frame{number:04d}", image,
                     (label_files[number],) if number in label_files else ())
               for number, image in sorted(images.items()))


# ------------------------------------------------------------------------------ any

def read_sequences(dataset: str, root: str | pathlib.Path, split: str = "val",
                   sequences: Iterable[str] | None = None) -> list[VideoSequence]:
  """The sequences of a benchmark from its official layout (module docstring).

  Args:
    dataset: one of `DATASETS`.
    root: the dataset folder.
    split: DAVIS-2016 split (`val`, `train`); ignored elsewhere.
    sequences: keep only these sequences (None = all).

  Returns:
    The sequences, in the benchmark's order.

  Raises:
    FileNotFoundError, files.LayoutError: a folder or file of the layout is missing or
      wrong (see the readers); an unknown sequence.
    ValueError: an unknown dataset.
  """
  root = files.require_dir(pathlib.Path(root), f"the {dataset} dataset folder")
  if dataset == "davis2016":
    listed = read_davis2016(root, split)
  elif dataset == "segtrackv2":
    listed = read_segtrackv2(root)
  elif dataset == "youtube_objects":
    listed = read_youtube_objects(root)
  else:
    raise ValueError(f"unknown dataset {dataset!r}, expected one of {DATASETS}")
  if sequences is None:
    return listed
  wanted = list(sequences)
  unknown = [name for name in wanted if name not in {s.name for s in listed}]
  if unknown:
    raise files.LayoutError(f"{dataset} at {root} has no sequence(s) {unknown}")
  return [s for s in listed if s.name in wanted]
