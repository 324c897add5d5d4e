"""Scores video object segmentation and hotspot results on the paper's benchmarks.

Segmentation (Tab. 1-3 of the paper): region similarity J and contour accuracy F as
the official DAVIS code defines them (`wcs_jax/metrics/segmentation.py`), per-sequence
Mean / Recall / Decay and the benchmarks' protocols (`wcs_jax/metrics/protocols.py`):

  python tools/evaluate.py --dataset davis2016 --data-dir DAVIS --results-dir PRED \\
      --output runs/eval/davis.json
  python tools/evaluate.py --dataset segtrackv2 --data-dir SegTrackv2 --results-dir PRED ...
  python tools/evaluate.py --dataset youtube_objects --data-dir youtube_masks --results-dir PRED ...

Hotspots (Tab. 5): KLD, NSS, CC and SIM as the MIT saliency benchmark computes them
(`wcs_jax/metrics/saliency.py`):

  python tools/evaluate.py --task hotspot --data-dir GT --results-dir PRED --output OUT.json

Layouts (full text in `wcs_jax/metrics/benchmarks.py`):
  DAVIS-2016       ROOT/JPEGImages/480p/<seq>/%05d.jpg, ROOT/Annotations/480p/<seq>/%05d.png,
                   ROOT/ImageSets/2016/<split>.txt (names) or ROOT/ImageSets/480p/<split>.txt
                   (frame pairs); first and last frame not scored.
  SegTrackv2       ROOT/JPEGImages/<seq>/<frame>.png|bmp, ROOT/GroundTruth/<seq>/<frame>.png|bmp
                   or ROOT/GroundTruth/<seq>/<obj>/<frame>.png|bmp (objects merged).
  YouTube-Objects  ROOT (= youtube_masks of Jain & Grauman 2014)/<category>/data/<video>/
                   shots/<shot>/labels/<n>.jpg (every 10th frame) and .../images/frame%04d.jpg;
                   sequence `<category>_<video>_<shot>`, prediction `frame%04d.png`.
  Results          PRED/<sequence>/<frame>.png (palette or binary, ground-truth size);
                   <frame> = the frame image's stem.
  Hotspots         PRED/<rel>.png; GT/maps/<rel>.png (continuous) and GT/fixations/<rel>.png
                   (non-zero = fixated).

With --workdir RUN instead of --results-dir, the run's tracker (wcs_jax.inference,
automatic initialisation) first segments every sequence; its masks go to
OUT.tracks/<sequence>/<frame>.png and the time per frame is reported.

Writes OUT.json (the contract of CONTRACTS.md: {"J": {"mean", "recall", "decay"},
"F": {...}, "JF_mean", "sequences": {name: {"J": {...}, "F": {...}}}}, plus
"categories" for YouTube-Objects; hotspot: {"KLD", "NSS", "CC", "SIM"}), OUT.csv (per
sequence, per category, dataset) and OUT.png (per-sequence bar chart), and prints the
table in the paper's layout (percent for J and F).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import sys
import time
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from wcs_jax.io import masks as mask_io  # pylint: disable=wrong-import-position
from wcs_jax.metrics import benchmarks, dense_crf, protocols  # pylint: disable=wrong-import-position

_DATASET_TITLES = {"davis2016": "DAVIS-2016", "segtrackv2": "SegTrackv2",
                   "youtube_objects": "YouTube-Objects"}
_STATISTICS = ("mean", "recall", "decay")


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n\n", 1)[0],
      epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--task", choices=("segmentation", "hotspot"), default="segmentation",
                      help="segmentation: J and F on --dataset (default); hotspot: KLD, NSS, "
                      "CC, SIM of predicted maps against GT/maps and GT/fixations")
  parser.add_argument("--dataset", choices=benchmarks.DATASETS,
                      help="benchmark whose official layout --data-dir holds (segmentation)")
  parser.add_argument("--data-dir", required=True, type=pathlib.Path,
                      help="dataset root (segmentation) or the GT folder with maps/ and "
                      "fixations/ (hotspot)")
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--results-dir", type=pathlib.Path,
                      help="predictions: PRED/<sequence>/<frame>.png (segmentation) or "
                      "PRED/<rel>.png maps (hotspot)")
  source.add_argument("--workdir", type=pathlib.Path,
                      help="trained run: track every sequence with its tracker (automatic "
                      "initialisation), then score the masks (segmentation only)")
  parser.add_argument("--output", required=True, type=pathlib.Path,
                      help="OUT.json; OUT.csv and OUT.png are written beside it")
  parser.add_argument("--split", default="val",
                      help="DAVIS-2016 split file under ImageSets (default: val)")
  parser.add_argument("--sequences", nargs="+", metavar="NAME",
                      help="score only these sequences (default: all of the benchmark)")
  parser.add_argument("--crf", action="store_true",
                      help="refine every mask with a dense CRF on its frame before scoring "
                      "(the paper's 'Ours*'); needs the optional package pydensecrf")
  parser.add_argument("--resize-predictions", action="store_true",
                      help="resize predictions of another size to the ground truth "
                      "(nearest neighbour) instead of failing")
  return parser


def output_paths(output: pathlib.Path) -> dict[str, pathlib.Path]:
  """OUT.json and the files written beside it."""
  stem = output.with_suffix("")
  return {"json": output, "csv": stem.with_suffix(".csv"), "plot": stem.with_suffix(".png"),
          "tracks": stem.with_suffix(".tracks")}


def track_benchmark(workdir: pathlib.Path, benchmark: Sequence[benchmarks.BenchmarkSequence],
                    tracks_dir: pathlib.Path) -> float:
  """Segments every sequence with a trained run's tracker; writes a results folder.

  The tracker (`wcs_jax.inference.Tracker`, automatic initialisation) is imported here,
  not at the top, so that `--help` and `--results-dir` stay free of JAX.

  Args:
    workdir: the trained run.
    benchmark: the sequences to track (each with its `images_dir`).
    tracks_dir: receives `<sequence>/<frame>.png` palette masks.

  Returns:
    Seconds per frame of tracking (reading and writing files excluded; the first
    frame of each sequence, which initialises the target, included).
  """
  from wcs_jax import inference  # pylint: disable=import-outside-toplevel
  tracker = inference.Tracker.from_workdir(workdir)
  seconds, count = 0.0, 0
  for sequence in benchmark:
    if sequence.images_dir is None:
      raise benchmarks.LayoutError(f"sequence '{sequence.name}': no frames folder to track")
    paths = benchmarks.list_frames(sequence.images_dir)
    outputs = iter(tracker.track((benchmarks.read_rgb(p) for p in paths), init="auto"))
    for path in paths:
      start = time.perf_counter()
      output = next(outputs)
      seconds += time.perf_counter() - start
      count += 1
      mask_io.write_palette_png(tracks_dir / sequence.name / f"{path.stem}.png",
                                np.asarray(output.mask))
  return seconds / max(count, 1)


def _crf_postprocess() -> benchmarks.Postprocess:
  dense_crf.check_available()
  return dense_crf.refine_mask


# ---------------------------------------------------------------------------- tables

def _pct(value: float) -> str:
  return "  n/a" if math.isnan(value) else f"{100 * value:5.1f}"


def format_segmentation_table(dataset: str, result: protocols.BenchmarkResult,
                              method: str = "Ours") -> str:
  """The paper's table for a segmentation benchmark, then the per-sequence values."""
  title = _DATASET_TITLES[dataset]
  lines = []
  if dataset == "davis2016":
    lines += [f"Tab. 1  {title} ({len(result.sequences)} sequences), percent",
              f"  {'Measure':<14}{method:>8}"]
    for measure, stats in (("J", result.J), ("F", result.F)):
      for field, arrow in zip(_STATISTICS, ("↑", "↑", "↓")):
        label = f"{measure if field == 'mean' else '':<4}{field.capitalize()} {arrow}"
        lines.append(f"  {label:<14}{_pct(getattr(stats, field)):>8}")
    lines.append(f"  {'J&F Mean ↑':<14}{_pct(result.JF_mean):>8}")
  elif dataset == "segtrackv2":
    lines += [f"Tab. 2  {title} ({len(result.sequences)} sequences), percent",
              f"  {'':<10}{method:>8}", f"  {'J Mean ↑':<10}{_pct(result.J.mean):>8}"]
  else:
    categories = list(result.categories)
    lines += [f"Tab. 3  {title} ({len(result.sequences)} sequences), J Mean per category, "
              "percent",
              "  " + "".join(f"{c[:9]:>10}" for c in categories + ["Mean"]),
              "  " + "".join(f"{_pct(result.categories[c][0].mean):>10}" for c in categories)
              + f"{_pct(result.J.mean):>10}"]
  lines += ["", f"  {'sequence':<24}{'J Mean':>8}{'J Rec':>8}{'J Dec':>8}"
            f"{'F Mean':>8}{'F Rec':>8}{'F Dec':>8}"]
  for name, seq in result.sequences.items():
    lines.append(f"  {name:<24}" + "".join(
        f"{_pct(getattr(stats, field)):>8}" for stats in (seq.J, seq.F) for field in _STATISTICS))
  return "\n".join(lines)


def format_hotspot_table(result: benchmarks.HotspotResult, method: str = "Ours") -> str:
  """Tab. 5: KLD, NSS, CC and SIM, then the per-sequence values."""
  def row(name: str, values: dict[str, float]) -> str:
    return f"  {name:<24}" + "".join(f"{values[k]:>8.3f}" for k in ("KLD", "NSS", "CC", "SIM"))

  header = f"  {'':<24}" + "".join(f"{k:>8}" for k in ("KLD ↓", "NSS ↑", "CC ↑", "SIM ↑"))
  lines = [f"Tab. 5  hotspot ({result.num_images} maps)", header, row(method, result.metrics), ""]
  lines += [row(name, values) for name, values in result.sequences.items()]
  return "\n".join(lines)


# ---------------------------------------------------------------------------- files

def write_segmentation_csv(path: pathlib.Path, result: protocols.BenchmarkResult,
                           categories: dict[str, str | None]) -> None:
  """One row per sequence, per category (YouTube-Objects) and for the dataset."""
  fields = [f"{m}_{s}" for m in ("J", "F") for s in _STATISTICS]
  with path.open("w", newline="") as file:
    writer = csv.writer(file)
    writer.writerow(["level", "name", "category"] + fields)

    def stats_row(j: protocols.Statistics, f: protocols.Statistics) -> list[float]:
      return [getattr(x, s) for x in (j, f) for s in _STATISTICS]

    for name, seq in result.sequences.items():
      writer.writerow(["sequence", name, categories.get(name) or ""] + stats_row(seq.J, seq.F))
    for name, (j, f) in (result.categories or {}).items():
      writer.writerow(["category", name, name] + stats_row(j, f))
    writer.writerow(["dataset", "all", ""] + stats_row(result.J, result.F))


def write_hotspot_csv(path: pathlib.Path, result: benchmarks.HotspotResult) -> None:
  """One row per sequence and one for all maps."""
  keys = ("KLD", "NSS", "CC", "SIM")
  with path.open("w", newline="") as file:
    writer = csv.writer(file)
    writer.writerow(["level", "name"] + list(keys))
    for name, values in result.sequences.items():
      writer.writerow(["sequence", name] + [values[k] for k in keys])
    writer.writerow(["dataset", "all"] + [result.metrics[k] for k in keys])


def plot_segmentation(path: pathlib.Path, result: protocols.BenchmarkResult, title: str) -> None:
  """Grouped bars of J Mean and F Mean per sequence."""
  names = list(result.sequences)
  positions = np.arange(len(names))
  figure, axis = plt.subplots(figsize=(max(6.0, 0.35 * len(names) + 2), 4))
  for offset, (measure, colour) in zip((-0.2, 0.2), (("J", "tab:blue"), ("F", "tab:orange"))):
    values = [getattr(result.sequences[n], measure).mean for n in names]
    axis.bar(positions + offset, values, width=0.4, color=colour,
             label=f"{measure} Mean ({getattr(result, measure).mean:.3f})")
  axis.set_xticks(positions, names, rotation=60, ha="right", fontsize=8)
  axis.set_ylim(0, 1)
  axis.set_ylabel("per-sequence mean")
  axis.set_title(title)
  axis.legend(loc="lower right")
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


def plot_hotspot(path: pathlib.Path, result: benchmarks.HotspotResult) -> None:
  """One panel per metric, one bar per sequence."""
  names = list(result.sequences)
  figure, axes = plt.subplots(1, 4, figsize=(max(8.0, 1.2 * len(names) + 4), 3.5))
  for axis, key in zip(axes, ("KLD", "NSS", "CC", "SIM")):
    axis.bar(np.arange(len(names)), [result.sequences[n][key] for n in names], color="tab:green")
    axis.set_xticks(np.arange(len(names)), names, rotation=60, ha="right", fontsize=8)
    axis.set_title(f"{key} (all: {result.metrics[key]:.3f})")
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


# ---------------------------------------------------------------------------- main

def _evaluate_segmentation(args: argparse.Namespace, paths: dict[str, pathlib.Path]) -> dict:
  benchmark = benchmarks.load_benchmark(args.dataset, args.data_dir, args.split, args.sequences)
  postprocess = _crf_postprocess() if args.crf else None
  seconds_per_frame = None
  results_dir = args.results_dir
  if args.workdir is not None:
    results_dir = paths["tracks"]
    seconds_per_frame = track_benchmark(args.workdir, benchmark, results_dir)
  result = benchmarks.score_results(benchmark, results_dir,
                                    categories=args.dataset == "youtube_objects",
                                    resize=args.resize_predictions, postprocess=postprocess)
  report = result.as_dict()
  if seconds_per_frame is not None:
    report["seconds_per_frame"] = seconds_per_frame
  title = _DATASET_TITLES[args.dataset] + (" + CRF" if args.crf else "")
  print(format_segmentation_table(args.dataset, result, "Ours*" if args.crf else "Ours"))
  if seconds_per_frame is not None:
    print(f"\ntracking: {seconds_per_frame:.4f} s per frame ({1 / seconds_per_frame:.1f} FPS)")
  write_segmentation_csv(paths["csv"], result, {s.name: s.category for s in benchmark})
  plot_segmentation(paths["plot"], result, title)
  return report


def _evaluate_hotspot(args: argparse.Namespace, paths: dict[str, pathlib.Path]) -> dict:
  result = benchmarks.score_hotspots(args.results_dir, args.data_dir)
  print(format_hotspot_table(result))
  write_hotspot_csv(paths["csv"], result)
  plot_hotspot(paths["plot"], result)
  return dict(result.metrics)


def main(argv: list[str] | None = None) -> None:
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.task == "segmentation" and args.dataset is None:
    parser.error("--dataset is required for --task segmentation")
  if args.task == "hotspot":
    if args.workdir is not None:
      parser.error("--task hotspot scores a folder of maps: give --results-dir")
    if args.crf or args.dataset or args.sequences:
      parser.error("--crf, --dataset and --sequences apply to --task segmentation only")
  if args.output.suffix.lower() != ".json":
    parser.error(f"--output: expected a .json file name, got {args.output}")
  paths = output_paths(args.output)
  args.output.parent.mkdir(parents=True, exist_ok=True)
  try:
    if args.task == "segmentation":
      report = _evaluate_segmentation(args, paths)
    else:
      report = _evaluate_hotspot(args, paths)
  except (OSError, ValueError, dense_crf.DenseCRFUnavailable) as error:
    sys.exit(f"evaluate.py: error: {error}")
  paths["json"].write_text(json.dumps(report, indent=1, allow_nan=True) + "\n")
  print(f"\nwrote {paths['json']}, {paths['csv']}, {paths['plot']}")


if __name__ == "__main__":
  main()
