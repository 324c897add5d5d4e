"""The benchmarks as they lie on disk, and the scoring of a folder of results against them.

ROOT layouts (the public downloads, unchanged):

DAVIS-2016 (`davis2016`; Perazzi et al., CVPR 2016), ROOT = the extracted DAVIS folder:
  ROOT/JPEGImages/480p/<seq>/%05d.jpg      frames (854x480)
  ROOT/Annotations/480p/<seq>/%05d.png     ground truth of every frame, binary {0, 255}
                                           (palette PNGs are read too, every id = object)
  ROOT/ImageSets/2016/val.txt              sequence names, one per line (DAVIS-2017
                                           release), or
  ROOT/ImageSets/480p/val.txt              one frame per line, "/JPEGImages/480p/<seq>/
                                           00000.jpg /Annotations/480p/<seq>/00000.png"
                                           (DAVIS-2016 release); the first file found
                                           is used. Scored: all frames but the first and
                                           the last of each sequence.

SegTrackv2 (`segtrackv2`; Li et al., ICCV 2013), ROOT = the extracted `SegTrackv2` folder:
  ROOT/JPEGImages/<seq>/<frame>.png|.bmp|.jpg   frames; sorted file names = temporal order
  ROOT/GroundTruth/<seq>/<frame>.png|.bmp       single-object sequences, or
  ROOT/GroundTruth/<seq>/<obj>/<frame>.png|.bmp multi-object sequences: one sub-folder per
                                                object (`1`, `2`, ...), each with every frame
  Ground truth is binary ({0, 255}, or >= 128 where lossy); the objects of a
  multi-object sequence are merged into one foreground (union), as in the unsupervised
  protocol of the paper. A ground-truth file matches the frame with the same file stem.
  Sequences: the sub-folders of ROOT/GroundTruth. Scored: every frame.

YouTube-Objects (`youtube_objects`), ROOT = the extracted `youtube_masks` folder of the
pixel-level annotations of Jain & Grauman (ECCV 2014) for YouTube-Objects (Prest et al.,
CVPR 2012): 126 shots of 10 categories (aeroplane, bird, boat, car, cat, cow, dog,
horse, motorbike, train), ground truth on every 10th frame:
  ROOT/<category>/data/<video>/shots/<shot>/labels/<n>.jpg|.png  ground truth of frame n
                                           (the stem is the frame number, e.g. 00021.jpg;
                                           JPEG, foreground >= 128)
  ROOT/<category>/data/<video>/shots/<shot>/images/frame%04d.jpg  the frames (needed only
                                           to run the tracker; frame n is frame%04d % n)
  Sequence name: `<category>_<video>_<shot>`, e.g. `aeroplane_0001_001`. Scored: every
  annotated frame; per-category means, then the mean over categories.

Results (`PRED`): `PRED/<sequence>/<frame>.png`, palette or binary PNG at the ground
truth's size, where <frame> is the stem of the frame's image: `00000` (DAVIS), the
image stem (SegTrackv2), `frame0021` (YouTube-Objects). Every object id counts as
foreground (all three benchmarks are single-foreground). Frames that are not scored
may be absent.

Hotspots (`--task hotspot`): `PRED/<rel>.png` greyscale predicted maps; `GT/maps/<rel>.png`
continuous ground-truth maps and `GT/fixations/<rel>.png` binary fixation (or click)
maps, non-zero = fixated, with the same relative names <rel>; the first folder of <rel>
names the sequence (a flat folder is one sequence named `.`).
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from collections.abc import Callable, Iterable, Sequence

import cv2
import numpy as np

from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io
from wcs_jax.metrics import protocols
from wcs_jax.metrics import saliency
from wcs_jax.metrics import segmentation

DATASETS = ("davis2016", "segtrackv2", "youtube_objects")
YOUTUBE_OBJECTS_CATEGORIES = ("aeroplane", "bird", "boat", "car", "cat", "cow", "dog",
                              "horse", "motorbike", "train")
_MASK_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class LayoutError(FileNotFoundError):
  """A dataset or results folder that is not in the expected layout."""


@dataclasses.dataclass(frozen=True)
class AnnotatedFrame:
  """One scored frame.

  Attributes:
    name: the frame's name in the results folder (`PRED/<sequence>/<name>.png`).
    annotations: ground-truth files, one per object (merged into one foreground).
    image: the frame's image, where known.
  """
  name: str
  annotations: tuple[pathlib.Path, ...]
  image: pathlib.Path | None = None


@dataclasses.dataclass(frozen=True)
class BenchmarkSequence:
  """One sequence of a benchmark.

  Attributes:
    name: sequence name (the results sub-folder).
    frames: the scored frames, in temporal order.
    images_dir: the folder holding all its frames (for tracking), where known.
    category: YouTube-Objects category, else None.
  """
  name: str
  frames: tuple[AnnotatedFrame, ...]
  images_dir: pathlib.Path | None
  category: str | None = None


def _files(folder: pathlib.Path, suffixes: Sequence[str]) -> list[pathlib.Path]:
  return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _require_dir(path: pathlib.Path, what: str) -> pathlib.Path:
  if not path.is_dir():
    raise LayoutError(f"{what}: expected the folder {path}")
  return path


def _davis_sequence_names(root: pathlib.Path, split: str) -> list[str]:
  names_file = root / "ImageSets" / "2016" / f"{split}.txt"
  pairs_file = root / "ImageSets" / "480p" / f"{split}.txt"
  if names_file.is_file():
    return [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
  if pairs_file.is_file():
    names: list[str] = []
    for number, line in enumerate(pairs_file.read_text().splitlines(), 1):
      if not line.strip():
        continue
      match = re.match(r"\s*/?JPEGImages/480p/([^/]+)/", line)
      if match is None:
        raise LayoutError(f"{pairs_file}:{number}: expected '/JPEGImages/480p/<seq>/<frame>.jpg "
                          f"/Annotations/480p/<seq>/<frame>.png', got {line.strip()!r}")
      if match.group(1) not in names:
        names.append(match.group(1))
    return names
  raise LayoutError(f"DAVIS-2016 split '{split}': expected {names_file} or {pairs_file}")


def _davis2016(root: pathlib.Path, split: str) -> list[BenchmarkSequence]:
  sequences = []
  for name in _davis_sequence_names(root, split):
    annotations = _files(_require_dir(root / "Annotations" / "480p" / name,
                                      f"DAVIS-2016 ground truth of '{name}'"), (".png",))
    images_dir = _require_dir(root / "JPEGImages" / "480p" / name, f"DAVIS-2016 frames of '{name}'")
    if not annotations:
      raise LayoutError(f"DAVIS-2016 '{name}': no %05d.png ground truth in "
                        f"{root / 'Annotations' / '480p' / name}")
    frames = tuple(AnnotatedFrame(a.stem, (a,), images_dir / f"{a.stem}.jpg") for a in annotations)
    scored = protocols.davis2016_scored_frames(len(frames))
    sequences.append(BenchmarkSequence(name, frames[scored], images_dir))
  return sequences


def _segtrackv2(root: pathlib.Path) -> list[BenchmarkSequence]:
  gt_root = _require_dir(root / "GroundTruth", "SegTrackv2 ground truth")
  sequences = []
  for gt_dir in sorted(p for p in gt_root.iterdir() if p.is_dir()):
    name = gt_dir.name
    images_dir = _require_dir(root / "JPEGImages" / name, f"SegTrackv2 frames of '{name}'")
    images = {p.stem: p for p in _files(images_dir, _IMAGE_SUFFIXES)}
    object_dirs = sorted(p for p in gt_dir.iterdir() if p.is_dir())
    per_object = [_files(d, _MASK_SUFFIXES) for d in (object_dirs or [gt_dir])]
    stems = [p.stem for p in per_object[0]]
    if not stems:
      raise LayoutError(f"SegTrackv2 '{name}': no ground-truth masks in {gt_dir}")
    for object_dir, files in zip(object_dirs, per_object):
      if [p.stem for p in files] != stems:
        raise LayoutError(f"SegTrackv2 '{name}': {object_dir} annotates other frames than "
                          f"{object_dirs[0]}")
    frames = []
    for index, stem in enumerate(stems):
      if stem not in images:
        raise LayoutError(f"SegTrackv2 '{name}': ground truth {per_object[0][index]} has no "
                          f"frame {stem}.* in {images_dir}")
      frames.append(AnnotatedFrame(stem, tuple(files[index] for files in per_object), images[stem]))
    sequences.append(BenchmarkSequence(name, tuple(frames), images_dir))
  if not sequences:
    raise LayoutError(f"SegTrackv2: no sequence folders in {gt_root}")
  return sequences


def _youtube_objects(root: pathlib.Path) -> list[BenchmarkSequence]:
  sequences = []
  for category in YOUTUBE_OBJECTS_CATEGORIES:
    data_dir = root / category / "data"
    if not data_dir.is_dir():
      continue
    for labels_dir in sorted(data_dir.glob("*/shots/*/labels")):
      video, shot = labels_dir.parts[-4], labels_dir.parts[-2]
      name = f"{category}_{video}_{shot}"
      labels = [p for p in _files(labels_dir, _MASK_SUFFIXES) if p.stem.isdigit()]
      if not labels:
        raise LayoutError(f"YouTube-Objects '{name}': no <n>.jpg ground truth in {labels_dir}")
      labels.sort(key=lambda p: int(p.stem))
      images_dir = labels_dir.parent / "images"
      frames = tuple(
          AnnotatedFrame(f"frame{int(p.stem):04d}", (p,), images_dir / f"frame{int(p.stem):04d}.jpg")
          for p in labels)
      sequences.append(BenchmarkSequence(name, frames, images_dir if images_dir.is_dir() else None,
                                         category))
  if not sequences:
    raise LayoutError(f"YouTube-Objects: no <category>/data/<video>/shots/<shot>/labels/ folders "
                      f"under {root} (categories {', '.join(YOUTUBE_OBJECTS_CATEGORIES)})")
  return sequences


def load_benchmark(dataset: str, root: str | os.PathLike, split: str = "val",
                   sequences: Iterable[str] | None = None) -> list[BenchmarkSequence]:
  """Lists the scored frames of a benchmark from its official layout.

  Args:
    dataset: one of `DATASETS`.
    root: the dataset folder (module docstring).
    split: DAVIS-2016 split file name (`val`, `train`, ...); ignored elsewhere.
    sequences: keep only these sequences (None = all).

  Returns:
    The sequences, in the benchmark's order.

  Raises:
    LayoutError: a folder or file of the layout is missing; an unknown sequence.
    ValueError: an unknown dataset.
  """
  root = pathlib.Path(root)
  _require_dir(root, f"{dataset} root")
  if dataset == "davis2016":
    listed = _davis2016(root, split)
  elif dataset == "segtrackv2":
    listed = _segtrackv2(root)
  elif dataset == "youtube_objects":
    listed = _youtube_objects(root)
  else:
    raise ValueError(f"unknown dataset {dataset!r}, expected one of {DATASETS}")
  if sequences is None:
    return listed
  wanted = list(sequences)
  known = {s.name for s in listed}
  unknown = [name for name in wanted if name not in known]
  if unknown:
    raise LayoutError(f"{dataset} at {root} has no sequence(s) {unknown}")
  return [s for s in listed if s.name in wanted]


def read_ground_truth(frame: AnnotatedFrame) -> np.ndarray:
  """The frame's foreground: the union of its objects' masks.

  Returns:
    `[H, W]` bool.
  """
  masks = [mask_io.read_binary_mask(path) for path in frame.annotations]
  for path, mask in zip(frame.annotations[1:], masks[1:]):
    if mask.shape != masks[0].shape:
      raise ValueError(f"{path}: size {mask.shape[::-1]} differs from {frame.annotations[0]} "
                       f"{masks[0].shape[::-1]}")
  return np.logical_or.reduce(masks)


def read_prediction(path: pathlib.Path, shape: tuple[int, int], resize: bool = False) -> np.ndarray:
  """A predicted mask as foreground, checked against the ground truth's size.

  Args:
    path: palette or binary PNG.
    shape: `(H, W)` of the ground truth.
    resize: nearest-neighbour resize a prediction of another size instead of failing.

  Returns:
    `[H, W]` bool.
  """
  if not path.is_file():
    raise LayoutError(f"missing prediction {path} (expected PRED/<sequence>/<frame>.png)")
  prediction = mask_io.read_binary_mask(path)
  if prediction.shape != tuple(shape):
    if not resize:
      raise ValueError(f"{path}: prediction is {prediction.shape[1]}x{prediction.shape[0]} "
                       f"(WxH) but the ground truth is {shape[1]}x{shape[0]}; write masks at "
                       "the ground truth's size (or pass --resize-predictions)")
    prediction = cv2.resize(prediction.view(np.uint8), (shape[1], shape[0]),
                            interpolation=cv2.INTER_NEAREST).view(bool)
  return prediction


# (image [H, W, 3] uint8 RGB, mask [H, W] bool) -> refined mask [H, W] bool
Postprocess = Callable[[np.ndarray, np.ndarray], np.ndarray]


def score_results(benchmark: Sequence[BenchmarkSequence], results_dir: str | os.PathLike,
                  categories: bool = False, resize: bool = False,
                  postprocess: Postprocess | None = None,
                  bound_th: float = segmentation.BOUND_TH) -> protocols.BenchmarkResult:
  """J and F of a results folder on a benchmark.

  Args:
    benchmark: from `load_benchmark`.
    results_dir: `PRED` (module docstring).
    categories: aggregate over categories (YouTube-Objects) instead of sequences.
    resize: see `read_prediction`.
    postprocess: optional refinement of each prediction given its frame (dense CRF).
    bound_th: contour tolerance of F.

  Returns:
    The benchmark result.
  """
  results_dir = pathlib.Path(results_dir)
  _require_dir(results_dir, "results")
  per_sequence = {}
  for sequence in benchmark:
    sequence_dir = results_dir / sequence.name
    if not sequence_dir.is_dir():
      raise LayoutError(f"no results for sequence '{sequence.name}': expected the folder "
                        f"{sequence_dir} with <frame>.png masks")
    j_values, f_values = [], []
    for frame in sequence.frames:
      truth = read_ground_truth(frame)
      prediction = read_prediction(sequence_dir / f"{frame.name}.png", truth.shape, resize)
      if postprocess is not None:
        if frame.image is None:
          raise LayoutError(f"sequence '{sequence.name}' frame '{frame.name}': no image to "
                            "post-process with")
        prediction = postprocess(read_rgb(frame.image), prediction)
      j_values.append(segmentation.region_similarity(truth, prediction))
      f_values.append(segmentation.contour_accuracy(truth, prediction, bound_th=bound_th))
    per_sequence[sequence.name] = protocols.score_sequence(j_values, f_values)
  category_of = {s.name: s.category for s in benchmark} if categories else None
  return protocols.aggregate(per_sequence, category_of)


def list_frames(images_dir: pathlib.Path) -> list[pathlib.Path]:
  """All frames of a sequence, in temporal (sorted file name) order."""
  frames = _files(_require_dir(images_dir, "frames"), _IMAGE_SUFFIXES)
  if not frames:
    raise LayoutError(f"no frames ({', '.join(_IMAGE_SUFFIXES)}) in {images_dir}")
  return frames


def read_rgb(path: pathlib.Path) -> np.ndarray:
  """A frame as `[H, W, 3]` uint8 RGB."""
  if not path.is_file():
    raise LayoutError(f"frame {path} not found")
  image = cv2.imread(str(path), cv2.IMREAD_COLOR)
  if image is None:
    raise ValueError(f"{path}: not a readable image")
  return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclasses.dataclass(frozen=True)
class HotspotResult:
  """Mean KLD, NSS, CC and SIM over images, and per sequence."""
  metrics: dict[str, float]
  sequences: dict[str, dict[str, float]]
  num_images: int


def score_hotspots(results_dir: str | os.PathLike, gt_dir: str | os.PathLike) -> HotspotResult:
  """KLD, NSS, CC and SIM of a folder of predicted hotspot maps (module docstring).

  Each metric is computed per image and averaged over images (NaN images, e.g.
  constant predictions, are left out of the mean), as the MIT benchmark averages.

  Args:
    results_dir: `PRED` with `<rel>.png` maps.
    gt_dir: `GT` with `maps/<rel>.png` and `fixations/<rel>.png`.

  Returns:
    The result.
  """
  results_dir, gt_dir = pathlib.Path(results_dir), pathlib.Path(gt_dir)
  _require_dir(results_dir, "hotspot results")
  _require_dir(gt_dir / "maps", "hotspot ground truth (continuous maps)")
  _require_dir(gt_dir / "fixations", "hotspot ground truth (fixation maps)")
  predictions = sorted(p for p in results_dir.rglob("*") if p.is_file()
                       and p.suffix.lower() in _IMAGE_SUFFIXES)
  if not predictions:
    raise LayoutError(f"no predicted maps (*.png) under {results_dir}")
  per_image: dict[str, list[dict[str, float]]] = {}
  for path in predictions:
    relative = path.relative_to(results_dir)
    prediction = map_io.read_map(path)
    truth = map_io.read_map(gt_dir / "maps" / relative)
    fixations = map_io.read_map(gt_dir / "fixations" / relative) > 0
    for other, name in ((truth, gt_dir / "maps" / relative),
                        (fixations, gt_dir / "fixations" / relative)):
      if other.shape != prediction.shape:
        raise ValueError(f"{path}: prediction is {prediction.shape[1]}x{prediction.shape[0]} "
                         f"(WxH) but {name} is {other.shape[1]}x{other.shape[0]}")
    values = {"KLD": saliency.kld(prediction, truth), "NSS": saliency.nss(prediction, fixations),
              "CC": saliency.cc(prediction, truth), "SIM": saliency.sim(prediction, truth)}
    sequence = relative.parts[0] if len(relative.parts) > 1 else "."
    per_image.setdefault(sequence, []).append(values)

  every_image = [row for rows in per_image.values() for row in rows]
  return HotspotResult(_mean_over_images(every_image),
                       {name: _mean_over_images(rows) for name, rows in per_image.items()},
                       len(every_image))


def _mean_over_images(rows: list[dict[str, float]]) -> dict[str, float]:
  """Per metric, the mean over the images where it is defined (NaN if none)."""
  means = {}
  for key in saliency.METRICS:
    values = np.array([row[key] for row in rows])
    defined = values[~np.isnan(values)]
    means[key] = float(defined.mean()) if defined.size else float("nan")
  return means
