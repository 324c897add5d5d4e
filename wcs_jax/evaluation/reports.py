"""What an evaluation writes and prints: OUT.json, OUT.csv, OUT.png and the paper's tables.

    OUT.json   the contract of CONTRACTS.md: {"J": {"mean", "recall", "decay"}, "F": {...},
               "JF_mean", "sequences": {name: {"J": {...}, "F": {...}}}}, plus
               "categories" for YouTube-Objects and "seconds_per_frame" after tracking;
               hotspot: {"KLD", "NSS", "CC", "SIM"}
    OUT.csv    one row per sequence, per category (YouTube-Objects) and for the dataset
    OUT.png    per-sequence bar chart
    OUT.tracks the masks of a tracked run, `<sequence>/<frame>.png` (`tracking`)

Tables: Tab. 1 (DAVIS-2016: J and F Mean / Recall / Decay, J&F), Tab. 2 (SegTrackv2:
J Mean), Tab. 3 (YouTube-Objects: J Mean per category), Tab. 5 (hotspot: KLD, NSS, CC,
SIM), each followed by the per-sequence values; J and F in percent. The plots are
drawn on a bare matplotlib `Figure` (no pyplot, no global backend).
"""
from __future__ import annotations

import csv
import json
import math
import pathlib

from matplotlib.figure import Figure
import numpy as np

from wcs_jax.evaluation import protocols
from wcs_jax.evaluation import saliency
from wcs_jax.evaluation.scoring import HotspotResult

DATASET_TITLES = {"davis2016": "DAVIS-2016", "segtrackv2": "SegTrackv2",
                  "youtube_objects": "YouTube-Objects"}
_STATISTICS = ("mean", "recall", "decay")


def output_paths(output: pathlib.Path) -> dict[str, pathlib.Path]:
  """OUT.json and the files written beside it (module docstring)."""
  stem = output.with_suffix("")
  return {"json": output, "csv": stem.with_suffix(".csv"), "plot": stem.with_suffix(".png"),
          "tracks": stem.with_suffix(".tracks")}


def write_json(path: pathlib.Path, report: dict) -> None:
  """OUT.json (NaN where a value is undefined)."""
  path.write_text(json.dumps(report, indent=1, allow_nan=True) + "\n")


# ---------------------------------------------------------------------------- tables

def _pct(value: float) -> str:
  return "  n/a" if math.isnan(value) else f"{100 * value:5.1f}"


def segmentation_table(dataset: str, result: protocols.BenchmarkResult, method: str = "Ours") -> str:
  """The paper's table for a segmentation benchmark, then the per-sequence values."""
  title = DATASET_TITLES[dataset]
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


def hotspot_table(result: HotspotResult, method: str = "Ours") -> str:
  """Tab. 5: KLD, NSS, CC and SIM, then the per-sequence values."""
  def row(name: str, values: dict[str, float]) -> str:
    return f"  {name:<24}" + "".join(f"{values[k]:>8.3f}" for k in saliency.METRICS)

  header = f"  {'':<24}" + "".join(f"{k:>8}" for k in ("KLD ↓", "NSS ↑", "CC ↑", "SIM ↑"))
  lines = [f"Tab. 5  hotspot ({result.num_images} maps)", header, row(method, result.metrics), ""]
  lines += [row(name, values) for name, values in result.sequences.items()]
  return "\n".join(lines)


# ---------------------------------------------------------------------------- CSV

def write_segmentation_csv(path: pathlib.Path, result: protocols.BenchmarkResult,
                           categories: dict[str, str]) -> None:
  """One row per sequence (with its category, "" if none), per category and for the dataset."""
  fields = [f"{m}_{s}" for m in ("J", "F") for s in _STATISTICS]
  with path.open("w", newline="") as file:
    writer = csv.writer(file)
    writer.writerow(["level", "name", "category"] + fields)

    def stats_row(j: protocols.Statistics, f: protocols.Statistics) -> list[float]:
      return [getattr(x, s) for x in (j, f) for s in _STATISTICS]

    for name, seq in result.sequences.items():
      writer.writerow(["sequence", name, categories.get(name, "")] + stats_row(seq.J, seq.F))
    for name, (j, f) in (result.categories or {}).items():
      writer.writerow(["category", name, name] + stats_row(j, f))
    writer.writerow(["dataset", "all", ""] + stats_row(result.J, result.F))


def write_hotspot_csv(path: pathlib.Path, result: HotspotResult) -> None:
  """One row per sequence and one for all maps."""
  keys = list(saliency.METRICS)
  with path.open("w", newline="") as file:
    writer = csv.writer(file)
    writer.writerow(["level", "name"] + keys)
    for name, values in result.sequences.items():
      writer.writerow(["sequence", name] + [values[k] for k in keys])
    writer.writerow(["dataset", "all"] + [result.metrics[k] for k in keys])


# ---------------------------------------------------------------------------- plots

def plot_segmentation(path: pathlib.Path, result: protocols.BenchmarkResult, title: str) -> None:
  """Grouped bars of J Mean and F Mean per sequence."""
  names = list(result.sequences)
  positions = np.arange(len(names))
  figure = Figure(figsize=(max(6.0, 0.35 * len(names) + 2), 4))
  axis = figure.subplots()
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


def plot_hotspot(path: pathlib.Path, result: HotspotResult) -> None:
  """One panel per metric, one bar per sequence."""
  names = list(result.sequences)
  figure = Figure(figsize=(max(8.0, 1.2 * len(names) + 4), 3.5))
  for axis, key in zip(figure.subplots(1, len(saliency.METRICS)), saliency.METRICS):
    axis.bar(np.arange(len(names)), [result.sequences[n][key] for n in names], color="tab:green")
    axis.set_xticks(np.arange(len(names)), names, rotation=60, ha="right", fontsize=8)
    axis.set_title(f"{key} (all: {result.metrics[key]:.3f})")
  figure.tight_layout()
  figure.savefig(path, dpi=100)
