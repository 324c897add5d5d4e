"""A folder of results scored against a benchmark's ground truth.

Segmentation (`score_segmentation`): J and F of every scored frame (`segmentation`),
then the benchmark's statistics (`protocols`): on DAVIS-2016 all annotated frames but
the first and the last of a sequence are scored, elsewhere every annotated frame;
YouTube-Objects averages over categories, the others over sequences.
Results (`PRED`): `PRED/<sequence>/<frame>.png`, palette or binary PNG at the ground
truth's size, <frame> the frame's name in its layout (`layouts`: `00000` on DAVIS, the
image stem on SegTrackv2, `frame0021` on YouTube-Objects). Every object id counts as
foreground (all three benchmarks are single-foreground). Frames that are not scored
may be absent.

Hotspots (`score_hotspots`): KLD, NSS, CC and SIM (`saliency`) of `PRED/<rel>.png`
greyscale predicted maps against `GT/maps/<rel>.png` continuous ground-truth maps and
`GT/fixations/<rel>.png` binary fixation (or click) maps, non-zero = fixated, with the
same relative names <rel>; the first folder of <rel> names the sequence (a flat folder
is one sequence named `.`).
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from wcs_jax.evaluation import layouts
from wcs_jax.evaluation import protocols
from wcs_jax.evaluation import saliency
from wcs_jax.evaluation import segmentation
from wcs_jax.io import files
from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import IMAGE_EXTENSIONS
from wcs_jax.io.video import read_image

# (image [H, W, 3] uint8 RGB, mask [H, W] bool) -> refined mask [H, W] bool
Postprocess = Callable[[np.ndarray, np.ndarray], np.ndarray]


def scored_frames(dataset: str, sequence: layouts.VideoSequence) -> tuple[layouts.Frame, ...]:
  """The frames of a sequence that enter the benchmark's statistics, in temporal order.

  Raises:
    files.LayoutError: the sequence has no annotated frame.
  """
  annotated = sequence.annotated_frames
  if not annotated:
    raise files.LayoutError(f"{dataset} sequence '{sequence.name}': no annotated frame "
                            f"(no ground truth for the frames of {sequence.images_dir})")
  if dataset == "davis2016":
    return annotated[protocols.davis2016_scored_frames(len(annotated))]
  return annotated


def read_ground_truth(frame: layouts.Frame) -> np.ndarray:
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
    raise FileNotFoundError(f"missing prediction {path} (expected PRED/<sequence>/<frame>.png)")
  prediction = mask_io.read_binary_mask(path)
  if prediction.shape != tuple(shape):
    if not resize:
      raise ValueError(f"{path}: prediction is {prediction.shape[1]}x{prediction.shape[0]} "
                       f"(WxH) but the ground truth is {shape[1]}x{shape[0]}; write masks at "
                       "the ground truth's size (or pass --resize-predictions)")
    prediction = cv2.resize(prediction.view(np.uint8), (shape[1], shape[0]),
                            interpolation=cv2.INTER_NEAREST).view(bool)
  return prediction


def score_segmentation(dataset: str, sequences: Sequence[layouts.VideoSequence],
                       results_dir: str | os.PathLike, *, resize: bool = False,
                       postprocess: Postprocess | None = None,
                       bound_th: float = segmentation.BOUND_TH) -> protocols.BenchmarkResult:
  """J and F of a results folder on a benchmark (module docstring).

  Args:
    dataset: one of `layouts.DATASETS`.
    sequences: from `layouts.read_sequences`.
    results_dir: `PRED`.
    resize: see `read_prediction`.
    postprocess: optional refinement of each prediction given its frame (dense CRF).
    bound_th: contour tolerance of F.

  Returns:
    The benchmark result.
  """
  results_dir = files.require_dir(pathlib.Path(results_dir), "the results, <sequence>/<frame>.png")
  per_sequence = {}
  for sequence in sequences:
    sequence_dir = results_dir / sequence.name
    if not sequence_dir.is_dir():
      raise FileNotFoundError(f"no results for sequence '{sequence.name}': expected the folder "
                              f"{sequence_dir} with <frame>.png masks")
    j_values, f_values = [], []
    for frame in scored_frames(dataset, sequence):
      truth = read_ground_truth(frame)
      prediction = read_prediction(sequence_dir / f"{frame.name}.png", truth.shape, resize)
      if postprocess is not None:
        if frame.image is None:
          raise FileNotFoundError(f"sequence '{sequence.name}' frame '{frame.name}': no image in "
                                  f"{sequence.images_dir} to post-process with")
        prediction = postprocess(read_image(frame.image), prediction)
      j_values.append(segmentation.region_similarity(truth, prediction))
      f_values.append(segmentation.contour_accuracy(truth, prediction, bound_th=bound_th))
    per_sequence[sequence.name] = protocols.score_sequence(j_values, f_values)
  category_of = ({s.name: s.category for s in sequences} if dataset == "youtube_objects"
                 else None)
  return protocols.aggregate(per_sequence, category_of)


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
  Every ground-truth map needs a prediction: a missing one is an error, not a
  smaller benchmark.

  Args:
    results_dir: `PRED` with `<rel>.png` maps.
    gt_dir: `GT` with `maps/<rel>.png` and `fixations/<rel>.png`.

  Returns:
    The result.
  """
  results_dir, gt_dir = pathlib.Path(results_dir), pathlib.Path(gt_dir)
  files.require_dir(results_dir, "the hotspot results, <rel>.png maps")
  files.require_dir(gt_dir / "maps", "the hotspot ground truth's continuous maps, <rel>.png")
  files.require_dir(gt_dir / "fixations", "the hotspot ground truth's fixation maps, <rel>.png")
  predictions = sorted(p for p in results_dir.rglob("*") if p.is_file()
                       and p.suffix.lower() in IMAGE_EXTENSIONS)
  if not predictions:
    raise files.LayoutError(f"no predicted maps (*.png) under {results_dir}")
  truths = {p.relative_to(gt_dir / "maps") for p in (gt_dir / "maps").rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS}
  unpredicted = sorted(truths - {p.relative_to(results_dir) for p in predictions})
  if unpredicted:
    raise FileNotFoundError(
        f"missing prediction {results_dir / unpredicted[0]} ({len(unpredicted)} of "
        f"{len(truths)} ground-truth maps under {gt_dir / 'maps'} have none; every map is "
        "scored)")
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
