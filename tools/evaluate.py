"""Scores video object segmentation and hotspot results on the paper's benchmarks.

Segmentation (Tab. 1-3 of the paper): region similarity J and contour accuracy F as
the official DAVIS code defines them (`wcs_jax/evaluation/segmentation.py`), per-sequence
Mean / Recall / Decay and the benchmarks' protocols (`wcs_jax/evaluation/protocols.py`):

  python tools/evaluate.py --dataset davis2016 --data-dir DAVIS --results-dir PRED \\
      --output runs/eval/davis.json
  python tools/evaluate.py --dataset segtrackv2 --data-dir SegTrackv2 --results-dir PRED ...
  python tools/evaluate.py --dataset youtube_objects --data-dir youtube_masks --results-dir PRED ...

Hotspots (Tab. 5): KLD, NSS, CC and SIM as the MIT saliency benchmark computes them
(`wcs_jax/evaluation/saliency.py`):

  python tools/evaluate.py --task hotspot --data-dir GT --results-dir PRED --output OUT.json

Layouts (full text in `wcs_jax/evaluation/layouts.py` and `scoring.py`):
  DAVIS-2016       ROOT/JPEGImages/480p/<seq>/%05d.jpg, ROOT/Annotations/480p/<seq>/%05d.png,
                   ROOT/ImageSets/2016/<split>.txt (names) or ROOT/ImageSets/480p/<split>.txt
                   (frame pairs); first and last frame not scored.
  SegTrackv2       ROOT/JPEGImages/<seq>/<frame>.png|bmp, ROOT/GroundTruth/<seq>/<frame>.png|bmp
                   or ROOT/GroundTruth/<seq>/<obj>/<frame>.png|bmp (objects merged).
  YouTube-Objects  ROOT (= youtube_masks of Jain & Grauman 2014)/<category>/data/<video>/
                   shots/<shot>/labels/<n>.jpg (every 10th frame) and .../images/frame%04d.jpg;
                   sequence `<category>_<video>_<shot>`, prediction `frame%04d.png`.
  Results          PRED/<sequence>/<frame>.png (palette or binary, ground-truth size);
                   <frame> = the frame image's stem (frame%04d on YouTube-Objects).
  Hotspots         PRED/<rel>.png; GT/maps/<rel>.png (continuous) and GT/fixations/<rel>.png
                   (non-zero = fixated).

With --workdir RUN instead of --results-dir, the run's tracker (wcs_jax.inference) first
segments every sequence (`wcs_jax/evaluation/tracking.py`), initialised by --init: auto
(default, the paper's unsupervised protocol), or from the first frame's ground truth:
mask, click (one click at the point of the mask farthest from its boundary) or box (its
bounding box). Its masks go to OUT.tracks/<sequence>/<frame>.png; the time per frame and
the init are reported (JSON "seconds_per_frame", "init"). --hold-first-mask scores the
baseline a tracker must beat: each sequence's first ground-truth mask held still over
all its frames (masks in OUT.tracks/ too).

Writes OUT.json (the contract of CONTRACTS.md: {"J": {"mean", "recall", "decay"},
"F": {...}, "JF_mean", "sequences": {name: {"J": {...}, "F": {...}}}}, plus
"categories" for YouTube-Objects; hotspot: {"KLD", "NSS", "CC", "SIM"}), OUT.csv (per
sequence, per category, dataset) and OUT.png (per-sequence bar chart), and prints the
table in the paper's layout (percent for J and F).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from wcs_jax import inference
from wcs_jax.evaluation import dense_crf
from wcs_jax.evaluation import layouts
from wcs_jax.evaluation import reports
from wcs_jax.evaluation import scoring
from wcs_jax.evaluation import tracking


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n\n", 1)[0],
      epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--task", choices=("segmentation", "hotspot"), default="segmentation",
                      help="segmentation: J and F on --dataset (default); hotspot: KLD, NSS, "
                      "CC, SIM of predicted maps against GT/maps and GT/fixations")
  parser.add_argument("--dataset", choices=layouts.DATASETS,
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
  source.add_argument("--hold-first-mask", action="store_true",
                      help="score the baseline a tracker must beat: each sequence's first "
                      "ground-truth mask held still over all its frames (segmentation only)")
  parser.add_argument("--init", choices=tracking.INITS, default=None,
                      help="with --workdir: how each sequence's first frame is initialised: auto "
                      "(default, the paper's protocol), or from its ground truth: mask, click "
                      "(the point farthest from the mask's boundary), box (its bounding box)")
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


def _evaluate_segmentation(args: argparse.Namespace, paths: dict[str, pathlib.Path]) -> dict:
  sequences = layouts.read_sequences(args.dataset, args.data_dir, args.split, args.sequences)
  postprocess = None
  if args.crf:
    dense_crf.check_available()
    postprocess = dense_crf.refine_mask
  seconds_per_frame = None
  results_dir = args.results_dir
  if args.hold_first_mask:
    results_dir = paths["tracks"]
    tracking.hold_first_mask(sequences, results_dir)
  elif args.workdir is not None:
    results_dir = paths["tracks"]
    prompts = tracking.first_frame_prompts(sequences, args.init)  # bad ground truth fails before loading the run
    seconds_per_frame = tracking.track_sequences(inference.Tracker.from_workdir(args.workdir),
                                                 sequences, results_dir, args.init, prompts)
  result = scoring.score_segmentation(args.dataset, sequences, results_dir,
                                      resize=args.resize_predictions, postprocess=postprocess)
  report = result.as_dict()
  print(reports.segmentation_table(args.dataset, result, "Ours*" if args.crf else "Ours"))
  if seconds_per_frame is not None:
    report["seconds_per_frame"] = seconds_per_frame
    report["init"] = args.init
    print(f"\ntracking: {seconds_per_frame:.4f} s per frame ({1 / seconds_per_frame:.1f} FPS)")
  reports.write_segmentation_csv(paths["csv"], result, {s.name: s.category for s in sequences})
  reports.plot_segmentation(paths["plot"], result,
                            reports.DATASET_TITLES[args.dataset] + (" + CRF" if args.crf else ""))
  return report


def _evaluate_hotspot(args: argparse.Namespace, paths: dict[str, pathlib.Path]) -> dict:
  result = scoring.score_hotspots(args.results_dir, args.data_dir)
  print(reports.hotspot_table(result))
  reports.write_hotspot_csv(paths["csv"], result)
  reports.plot_hotspot(paths["plot"], result)
  return dict(result.metrics)


def main(argv: list[str] | None = None) -> None:
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.task == "segmentation" and args.dataset is None:
    parser.error("--dataset is required for --task segmentation")
  if args.task == "hotspot":
    if args.workdir is not None or args.hold_first_mask:
      parser.error("--task hotspot scores a folder of maps: give --results-dir")
    if args.crf or args.dataset or args.sequences:
      parser.error("--crf, --dataset and --sequences apply to --task segmentation only")
  if args.init is not None and args.workdir is None:
    parser.error("--init applies to --workdir (tracking) only, not to --results-dir or --hold-first-mask")
  if args.workdir is not None and args.init is None:
    args.init = "auto"
  if args.output.suffix.lower() != ".json":
    parser.error(f"--output: expected a .json file name, got {args.output}")
  paths = reports.output_paths(args.output)
  args.output.parent.mkdir(parents=True, exist_ok=True)
  try:
    if args.task == "segmentation":
      report = _evaluate_segmentation(args, paths)
    else:
      report = _evaluate_hotspot(args, paths)
  except (OSError, ValueError, dense_crf.DenseCRFUnavailable) as error:
    sys.exit(f"evaluate.py: error: {error}")
  reports.write_json(paths["json"], report)
  print(f"\nwrote {paths['json']}, {paths['csv']}, {paths['plot']}")


if __name__ == "__main__":
  main()
