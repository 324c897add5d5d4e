"""The first-frame module, link by link, on held-out frames (target object initialisation).

The tracker's automatic start is a chain of two networks: EG-Net's gaze map must peak
on the object, then Gaze2Mask-Net must turn that gaze into the object's mask. A bad
automatic mask can come from either; this check measures each link separately, with a
trained run's own networks, so a failure is pinned on one of them:

- `gaze` (EG-Net, needs a SALICON-layout folder): NSS and CC of the predicted gaze map
  against the ground-truth fixations and gaze map (`wcs_jax.evaluation.saliency`, as
  the paper's Tab. 5 scores hotspots);
- `peak_on_object` (EG-Net, on the video first frames): the fraction of frames whose
  gaze map has its maximum inside the ground-truth object;
- `auto` (the paper's unsupervised start, `wcs_jax.inference.first_frame.automatic`):
  IoU of the automatic mask with the object; `fallback`: how many frames had an empty
  Gaze2Mask-Net output and took the documented fallback;
- `oracle_gaze` (Gaze2Mask-Net alone): IoU when its input is the training gaze made
  from the ground-truth mask (`mask_guidance`: a Gaussian at the object's interior point
  restricted to the object), i.e. EG-Net replaced by a perfect one;
- `click` / `box` (Gaze2Mask-Net from a user's prompt): IoU from one click at the
  point of the mask farthest from its boundary, and from its bounding box, the prompts
  of `tools/evaluate.py --init click|box` (`wcs_jax.evaluation.tracking.first_frame_prompt`).

IoUs are at frame resolution against the first frame's ground truth; each mode reports
the mean, the median and the fraction of frames with IoU >= 0.5 / 0.7 / 0.8.

    python -m wcs_jax.evaluation.first_frame --workdir runs/smoke --data-dir VAL \
        [--split val] [--salicon-dir SALICON] [--output first_frame.json]

`--data-dir` is a DAVIS-2016 layout (the first frame of every sequence of `--split`);
`--salicon-dir` a SALICON 2017 layout (its `val` images, maps and fixations). Both are
what `tools/make_synthetic_data.py` writes, or the real datasets.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
from collections.abc import Sequence

import cv2
import numpy as np

from input_pipeline import fixations as fixations_lib
from wcs_jax.evaluation import layouts
from wcs_jax.evaluation import saliency
from wcs_jax.evaluation import scoring
from wcs_jax.evaluation import segmentation
from wcs_jax.evaluation import tracking
from wcs_jax.inference import first_frame
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io import files

MODES = ("auto", "oracle_gaze", "click", "box")
IOU_THRESHOLDS = (0.5, 0.7, 0.8)


@dataclasses.dataclass(frozen=True)
class FirstFrame:
  """One held-out first frame.

  Attributes:
    name: the sequence it starts.
    image: `[H, W, 3]` uint8 RGB.
    mask: `[H, W]` bool ground-truth object.
  """
  name: str
  image: np.ndarray
  mask: np.ndarray


@dataclasses.dataclass(frozen=True)
class GazeImage:
  """One held-out SALICON image: `image` `[H, W, 3]` uint8, `gaze_map` `[H, W]` float
  ground-truth map, `fixations` `[H, W]` bool fixated pixels."""
  name: str
  image: np.ndarray
  gaze_map: np.ndarray
  fixations: np.ndarray


def read_first_frames(data_dir: str | pathlib.Path, split: str = "val") -> list[FirstFrame]:
  """The first frame and its ground truth of every DAVIS-2016 sequence of `split`."""
  frames = []
  for sequence in layouts.read_sequences("davis2016", data_dir, split):
    first = sequence.frames[0]
    if not first.annotations:
      raise ValueError(f"{data_dir}: the first frame of sequence {sequence.name} ({first.name}) has "
                       "no ground truth; expected an annotated first frame")
    frames.append(FirstFrame(sequence.name, _read_rgb(first.image), scoring.read_ground_truth(first)))
  return frames


def read_gaze_images(salicon_dir: str | pathlib.Path, split: str = "val") -> list[GazeImage]:
  """The images, gaze maps and fixations of a SALICON 2017 layout's `split`."""
  # Imported here: the SALICON reader brings TensorFlow Datasets along.
  from input_pipeline.datasets import salicon  # pylint: disable=import-outside-toplevel
  root = pathlib.Path(salicon_dir)
  out = []
  for image_path in files.list_images(root / "images" / split, f"the {split} images of SALICON"):
    image = _read_rgb(image_path)
    height, width = image.shape[:2]
    map_path = files.require_file(root / "maps" / split / f"{image_path.stem}.png",
                                  f"the gaze map of {image_path}")
    gaze_map = cv2.imread(str(map_path), cv2.IMREAD_GRAYSCALE)
    if gaze_map is None or gaze_map.shape != (height, width):
      raise ValueError(f"{map_path}: expected a {width}x{height} grey PNG, the size of {image_path}")
    points = salicon.mat_fixations(files.require_file(root / "fixations" / split / f"{image_path.stem}.mat",
                                                      f"the fixations of {image_path}"))
    fixated = fixations_lib.fixation_map(points, height, width) > 0
    out.append(GazeImage(image_path.stem, image, gaze_map.astype(np.float32) / 255.0, fixated))
  return out


def _read_rgb(path: pathlib.Path) -> np.ndarray:
  pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
  if pixels is None:
    raise ValueError(f"{path}: not a readable image")
  return pixels[..., ::-1].copy()


def _summary(ious: Sequence[float]) -> dict[str, float]:
  ious = np.asarray(ious, np.float64)
  out = {"mean": float(ious.mean()), "median": float(np.median(ious))}
  for threshold in IOU_THRESHOLDS:
    out[f"iou>={threshold:g}"] = float(np.mean(ious >= threshold))
  return out


def evaluate_first_frames(tracker: Tracker, frames: Sequence[FirstFrame],
                          gaze_images: Sequence[GazeImage] = ()) -> dict:
  """Each link of the first-frame module on held-out frames (module docstring).

  Args:
    tracker: a trained run's (`Tracker.from_workdir`): its backend holds EG-Net and
      Gaze2Mask-Net, its config the sigmas of the click and box gazes.
    frames: held-out first frames with their ground-truth objects.
    gaze_images: held-out SALICON images for EG-Net's NSS and CC (none: not scored).

  Returns:
    {"frames": N, "auto" | "oracle_gaze" | "click" | "box": {"mean", "median",
    "iou>=0.5", "iou>=0.7", "iou>=0.8"}, "fallback": {mode: count}, "peak_on_object":
    fraction, "gaze": {"NSS", "CC", "images"} (when `gaze_images`), "per_frame": {name:
    {mode: IoU, "peak_on_object": bool, "fallback": [modes]}}}.
  """
  if not frames:
    raise ValueError("no first frame to evaluate")
  backend = tracker.backend
  size = backend.image_size
  ious = {mode: [] for mode in MODES}
  fallbacks = {mode: 0 for mode in MODES}
  peaks, per_frame = [], {}
  for frame in frames:
    height, width = frame.mask.shape
    image = first_frame.network_input(frame.image, size)
    gaze = cv2.resize(backend.gaze(image)[0], (width, height), interpolation=cv2.INTER_LINEAR)
    peak_y, peak_x = np.unravel_index(np.argmax(gaze), gaze.shape)
    peaks.append(bool(frame.mask[peak_y, peak_x]))
    objects = {"auto": tracker.initialise(frame.image, "auto")[0]}
    oracle = first_frame.mask_guidance(frame.mask, tracker.config.guidance_sigma)
    prob = backend.gaze_to_mask(image, cv2.resize(oracle, (size, size))[None, ..., None])[0]
    objects["oracle_gaze"] = first_frame.InitialObject(
        cv2.resize(prob, (width, height), interpolation=cv2.INTER_LINEAR), oracle, ("oracle",))
    for init in ("click", "box"):
      objects[init] = tracker.initialise(frame.image, init, **tracking.prompt_from_mask(frame.mask, init))[0]
    row = {"peak_on_object": peaks[-1], "fallback": []}
    for mode, obj in objects.items():
      ious[mode].append(segmentation.region_similarity(obj.mask, frame.mask))
      row[mode] = ious[mode][-1]
      if obj.fallback:
        fallbacks[mode] += 1
        row["fallback"].append(mode)
    per_frame[frame.name] = row
  report = {"frames": len(frames), **{mode: _summary(ious[mode]) for mode in MODES},
            "fallback": fallbacks, "peak_on_object": float(np.mean(peaks))}
  if gaze_images:
    nss, cc = [], []
    for item in gaze_images:
      height, width = item.gaze_map.shape
      gaze = backend.gaze(first_frame.network_input(item.image, size))[0]
      gaze = cv2.resize(gaze, (width, height), interpolation=cv2.INTER_LINEAR)
      nss.append(saliency.nss(gaze, item.fixations))
      cc.append(saliency.cc(gaze, item.gaze_map))
    report["gaze"] = {"NSS": float(np.nanmean(nss)), "CC": float(np.nanmean(cc)), "images": len(gaze_images)}
  report["per_frame"] = per_frame
  return report


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="python -m wcs_jax.evaluation.first_frame",
      description="Scores each link of a trained run's first-frame module (EG-Net's gaze, the "
                  "automatic mask, Gaze2Mask-Net from a perfect gaze, a click, a box) on the first "
                  "frames of held-out videos.")
  parser.add_argument("--workdir", required=True, type=pathlib.Path,
                      help="a trained run (a chain's workdir, configs/smoke.py, or its WCS-Net stage's)")
  parser.add_argument("--data-dir", required=True, type=pathlib.Path,
                      help="a DAVIS-2016 layout whose --split sequences give the first frames")
  parser.add_argument("--split", default="val", help="split of --data-dir (default val)")
  parser.add_argument("--salicon-dir", type=pathlib.Path, default=None,
                      help="a SALICON 2017 layout: EG-Net's NSS and CC on its val images")
  parser.add_argument("--output", type=pathlib.Path, default=None, help="write the report here (JSON)")
  return parser


def format_report(report: dict) -> str:
  """The report as a few lines of text."""
  lines = [f"{report['frames']} first frames; EG-Net's peak on the object in "
           f"{100 * report['peak_on_object']:.0f}%"]
  if "gaze" in report:
    lines.append(f"EG-Net gaze on {report['gaze']['images']} SALICON images: NSS {report['gaze']['NSS']:.3f}, "
                 f"CC {report['gaze']['CC']:.3f}")
  for mode in MODES:
    row = report[mode]
    lines.append(f"{mode:<12} IoU mean {row['mean']:.3f}  median {row['median']:.3f}  "
                 + "  ".join(f">={t:g}: {100 * row[f'iou>={t:g}']:.0f}%" for t in IOU_THRESHOLDS)
                 + f"  fallback {report['fallback'][mode]}")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
  args = build_parser().parse_args(argv)
  frames = read_first_frames(args.data_dir, args.split)  # bad data fails before the run loads
  gaze_images = read_gaze_images(args.salicon_dir) if args.salicon_dir is not None else ()
  report = evaluate_first_frames(Tracker.from_workdir(args.workdir), frames, gaze_images)
  print(format_report(report))
  if args.output is not None:
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
  main(sys.argv[1:])
