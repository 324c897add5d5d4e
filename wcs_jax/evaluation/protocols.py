"""How per-frame J and F become the numbers of the benchmarks' tables.

Per sequence (Perazzi et al. 2016, Sec. 3.3; official code `db_statistics`):
* Mean: the mean over the scored frames (NaN frames ignored).
* Recall: the fraction of scored frames whose value exceeds 0.5.
* Decay: the scored frames are cut into 4 temporal bins at the edges
  `e = round(linspace(1, T, 5)) - 1`; bin i holds frames e[i] to e[i + 1] inclusive
  (neighbouring bins share their edge frame); Decay = mean of the first bin - mean
  of the last.
  The official code casts these indices to uint8, which wraps for sequences longer
  than 256 frames (a bug, not a definition: DAVIS sequences are at most 104 frames,
  but SegTrackv2 has longer ones); here they are plain integers, identical below 257
  frames.

Per benchmark:
* DAVIS-2016 (Tab. 1 of the paper): the first and the last frame of each sequence
  are not scored (the official DAVIS-2016 code, davis-matlab `eval_result.m`, sweeps
  frames 2..N-1 for every method, unsupervised ones included); the dataset Mean,
  Recall and Decay are the means over sequences of the per-sequence values;
  J&F = (J Mean + F Mean) / 2.
* SegTrackv2 (Tab. 2): every annotated frame is scored; the same means over sequences.
* YouTube-Objects (Tab. 3): every annotated frame (every 10th frame) is scored; a
  category's value is the mean over its sequences, the dataset's value the mean over
  the 10 categories (as in the evaluation scripts of the methods the paper compares
  to, e.g. OnAVOS's `eval_youtube.py`).
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

# Number of temporal bins of Decay.
DECAY_BINS = 4
# Recall counts frames above this value.
RECALL_THRESHOLD = 0.5


@dataclasses.dataclass(frozen=True)
class Statistics:
  """Mean, Recall and Decay of one measure (J or F)."""
  mean: float
  recall: float
  decay: float

  def as_dict(self) -> dict[str, float]:
    return dataclasses.asdict(self)


def sequence_statistics(per_frame: Sequence[float] | np.ndarray) -> Statistics:
  """Mean, Recall and Decay of one sequence's scored frames.

  Args:
    per_frame: `[T]` values of the scored frames in temporal order (NaN = missing).

  Returns:
    The statistics; NaN where a quantity is undefined (no frames).
  """
  values = np.asarray(per_frame, dtype=np.float64)
  if values.ndim != 1:
    raise ValueError(f"expected [T] per-frame values, got shape {values.shape}")
  if values.size == 0:
    return Statistics(np.nan, np.nan, np.nan)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins give NaN, on purpose
    mean = float(np.nanmean(values))
    recall = float(np.mean(values > RECALL_THRESHOLD))
    edges = (np.round(np.linspace(1, values.size, DECAY_BINS + 1) + 1e-10) - 1).astype(int)
    first = values[edges[0]:edges[1] + 1]
    last = values[edges[DECAY_BINS - 1]:edges[DECAY_BINS] + 1]
    decay = float(np.nanmean(first) - np.nanmean(last))
  return Statistics(mean, recall, decay)


def davis2016_scored_frames(num_frames: int) -> slice:
  """Frames of a DAVIS-2016 sequence that enter the statistics (all but first, last).

  Args:
    num_frames: annotated frames of the sequence.

  Returns:
    A slice over the frame axis.
  """
  if num_frames < 3:
    raise ValueError(f"a DAVIS sequence needs at least 3 frames to score, got {num_frames}")
  return slice(1, num_frames - 1)


@dataclasses.dataclass(frozen=True)
class SequenceResult:
  """J and F statistics of one sequence, and its per-frame values."""
  J: Statistics
  F: Statistics
  j_per_frame: tuple[float, ...]
  f_per_frame: tuple[float, ...]


def score_sequence(j_per_frame: Sequence[float], f_per_frame: Sequence[float]) -> SequenceResult:
  """Statistics of one sequence from the per-frame J and F of its scored frames."""
  return SequenceResult(sequence_statistics(j_per_frame), sequence_statistics(f_per_frame),
                        tuple(map(float, j_per_frame)), tuple(map(float, f_per_frame)))


def _mean_statistics(items: Sequence[Statistics]) -> Statistics:
  return Statistics(*(float(np.mean([getattr(s, field) for s in items]))
                      for field in ("mean", "recall", "decay")))


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
  """Dataset-level J and F, with the per-sequence (and per-category) breakdown."""
  J: Statistics
  F: Statistics
  sequences: Mapping[str, SequenceResult]
  categories: Mapping[str, tuple[Statistics, Statistics]] | None = None

  @property
  def JF_mean(self) -> float:
    return (self.J.mean + self.F.mean) / 2

  def as_dict(self) -> dict:
    """The evaluation JSON of CONTRACTS.md (fractions in [0, 1])."""
    result = {
        "J": self.J.as_dict(),
        "F": self.F.as_dict(),
        "JF_mean": self.JF_mean,
        "sequences": {name: {"J": seq.J.as_dict(), "F": seq.F.as_dict()}
                      for name, seq in self.sequences.items()},
    }
    if self.categories is not None:
      result["categories"] = {name: {"J": j.as_dict(), "F": f.as_dict()}
                              for name, (j, f) in self.categories.items()}
    return result


def aggregate(sequences: Mapping[str, SequenceResult],
              categories: Mapping[str, str] | None = None) -> BenchmarkResult:
  """Dataset-level statistics: mean over sequences, or over categories of those.

  Args:
    sequences: per-sequence results, by sequence name.
    categories: sequence name -> category (YouTube-Objects); None = plain mean over
      sequences (DAVIS-2016, SegTrackv2).

  Returns:
    The benchmark result.
  """
  if not sequences:
    raise ValueError("no sequences to aggregate")
  if categories is None:
    return BenchmarkResult(_mean_statistics([s.J for s in sequences.values()]),
                           _mean_statistics([s.F for s in sequences.values()]), dict(sequences))
  missing = sorted(set(sequences) - set(categories))
  if missing:
    raise ValueError(f"sequences without a category: {missing}")
  per_category: dict[str, tuple[Statistics, Statistics]] = {}
  for category in sorted(set(categories[name] for name in sequences)):
    members = [s for name, s in sequences.items() if categories[name] == category]
    per_category[category] = (_mean_statistics([s.J for s in members]),
                              _mean_statistics([s.F for s in members]))
  return BenchmarkResult(_mean_statistics([j for j, _ in per_category.values()]),
                         _mean_statistics([f for _, f in per_category.values()]),
                         dict(sequences), per_category)
