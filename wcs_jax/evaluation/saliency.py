"""Hotspot (saliency) metrics KLD, NSS, CC and SIM, as the MIT saliency benchmark computes them.

Bylinskii, Judd, Oliva, Torralba, Durand, "What do different evaluation metrics tell
us about saliency models?", TPAMI 2019; definitions follow the benchmark's MATLAB code
(cvzoya/saliency, `code_forMetrics/`: KLdiv.m, NSS.m, CC.m, similarity.m), including its
normalisations and its epsilon (MATLAB `eps` = 2^-52):

* KLD(P, Q) = sum Q * log(eps + Q / (P + eps)), with the predicted map P and the
  ground-truth continuous map Q each divided by its sum (an all-zero map stays zero).
  Lower is better.
* NSS(P, fix) = mean over fixated pixels of (P - mean(P)) / std(P), where std is the
  sample standard deviation (MATLAB `std`, N - 1). Higher is better.
* CC(P, Q) = Pearson correlation of the two maps. Higher is better.
* SIM(P, Q) = sum min(P', Q'), where each map is first min-max normalised to [0, 1]
  and then divided by its sum (an all-zero map stays zero). Higher is better, 1 at best.

The benchmark resizes the prediction to the ground truth (MATLAB `imresize`); here the
maps must already share a size (a difference is an error: this project's tracker
writes its hotspot maps at frame size). Maps are float64 internally; their value
scale does not matter (every metric is scale invariant). Undefined values (a constant
map for NSS, CC and SIM; no fixation for NSS) are NaN, as in MATLAB.
"""
from __future__ import annotations

import numpy as np

# MATLAB's eps (spacing of doubles at 1), used by KLdiv.m.
EPS = float(np.finfo(np.float64).eps)


def _as_map(array: np.ndarray, name: str) -> np.ndarray:
  array = np.asarray(array, dtype=np.float64)
  if array.ndim != 2:
    raise ValueError(f"{name}: expected a [H, W] map, got shape {array.shape}")
  return array


def _pair(saliency_map: np.ndarray, other: np.ndarray, other_name: str):
  prediction = _as_map(saliency_map, "saliency_map")
  reference = _as_map(other, other_name)
  if prediction.shape != reference.shape:
    raise ValueError(f"saliency_map {prediction.shape} and {other_name} {reference.shape} "
                     "differ in size")
  return prediction, reference


def _sum_normalise(values: np.ndarray) -> np.ndarray:
  return values / values.sum() if np.any(values) else values


def kld(saliency_map: np.ndarray, fixation_map: np.ndarray) -> float:
  """Kullback-Leibler divergence of the ground truth from the prediction (KLdiv.m).

  Args:
    saliency_map: `[H, W]` predicted map, non-negative.
    fixation_map: `[H, W]` continuous ground-truth map, non-negative.

  Returns:
    KLD >= 0 (up to eps terms); 0 for identical maps.
  """
  prediction, truth = _pair(saliency_map, fixation_map, "fixation_map")
  prediction = _sum_normalise(prediction)
  truth = _sum_normalise(truth)
  return float(np.sum(truth * np.log(EPS + truth / (prediction + EPS))))


def nss(saliency_map: np.ndarray, fixations: np.ndarray) -> float:
  """Normalized scanpath saliency (NSS.m).

  Args:
    saliency_map: `[H, W]` predicted map.
    fixations: `[H, W]` binary fixation map, non-zero = fixated.

  Returns:
    NSS; NaN for a constant map or no fixation.
  """
  prediction, fixated = _pair(saliency_map, fixations, "fixations")
  fixated = fixated != 0
  with np.errstate(invalid="ignore", divide="ignore"):
    normalised = (prediction - prediction.mean()) / prediction.std(ddof=1)
  if not np.any(fixated):
    return float("nan")
  return float(normalised[fixated].mean())


def cc(saliency_map: np.ndarray, fixation_map: np.ndarray) -> float:
  """Pearson linear correlation coefficient of two maps (CC.m).

  Args:
    saliency_map: `[H, W]` predicted map.
    fixation_map: `[H, W]` continuous ground-truth map.

  Returns:
    CC in [-1, 1]; NaN when a map is constant.
  """
  prediction, truth = _pair(saliency_map, fixation_map, "fixation_map")
  prediction = prediction - prediction.mean()
  truth = truth - truth.mean()
  with np.errstate(invalid="ignore", divide="ignore"):
    return float(np.sum(prediction * truth) / np.sqrt(np.sum(prediction ** 2) * np.sum(truth ** 2)))


def _min_max_then_sum(values: np.ndarray) -> np.ndarray:
  if not np.any(values):
    return values
  with np.errstate(invalid="ignore", divide="ignore"):
    values = (values - values.min()) / (values.max() - values.min())
    return values / values.sum()


def sim(saliency_map: np.ndarray, fixation_map: np.ndarray) -> float:
  """Similarity (histogram intersection) of two maps (similarity.m).

  Args:
    saliency_map: `[H, W]` predicted map.
    fixation_map: `[H, W]` continuous ground-truth map.

  Returns:
    SIM in [0, 1]; NaN when a map is a non-zero constant.
  """
  prediction, truth = _pair(saliency_map, fixation_map, "fixation_map")
  prediction = _min_max_then_sum(prediction)
  truth = _min_max_then_sum(truth)
  if np.all(np.isnan(prediction)) or np.all(np.isnan(truth)):
    return float("nan")
  return float(np.sum(np.minimum(prediction, truth)))


METRICS = {"KLD": kld, "NSS": nss, "CC": cc, "SIM": sim}
