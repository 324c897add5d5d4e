"""KLD, NSS, CC and SIM: hand-made maps with values worked out by hand, and the real
SALICON examples (inter-observer agreement between two halves of the workers)."""
import collections
import json
import math

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats

from wcs_jax.evaluation import saliency

EPS = 2.0 ** -52   # MATLAB eps


def flat(values):
  """A 2 x 2 map from 4 values in reading order."""
  return np.asarray(values, dtype=np.float64).reshape(2, 2)


# ---------------------------------------------------------------- by hand

def test_kld_by_hand():
  # P = [3, 1, 0, 0] / 4, Q = [1, 1, 0, 0] / 2:
  # 0.5 ln(0.5 / 0.75) + 0.5 ln(0.5 / 0.25) = 0.5 ln(4 / 3) (eps terms ~1e-16).
  assert saliency.kld(flat([3, 1, 0, 0]), flat([1, 1, 0, 0])) == pytest.approx(
      0.5 * math.log(4 / 3), abs=1e-12)
  # Q has mass where P has none: that pixel costs 0.5 ln(eps + 0.5 / eps) = 0.5 * 51 ln 2
  # (0.5 / 2^-52 = 2^51); the other, 0.5 ln(0.5 / 0.5) = 0.
  assert saliency.kld(flat([1, 0, 0, 1]), flat([1, 1, 0, 0])) == pytest.approx(
      0.5 * 51 * math.log(2), rel=1e-12)
  # Scale does not matter: both maps are divided by their sums.
  assert saliency.kld(flat([30, 10, 0, 0]), flat([7, 7, 0, 0])) == pytest.approx(
      0.5 * math.log(4 / 3), abs=1e-12)
  assert saliency.kld(flat([1, 2, 3, 4]), flat([1, 2, 3, 4])) == pytest.approx(0, abs=1e-14)


def test_nss_by_hand():
  # P = [3, 1, 0, 0]: mean 1, sample std sqrt((4 + 0 + 1 + 1) / 3) = sqrt(2).
  prediction = flat([3, 1, 0, 0])
  assert saliency.nss(prediction, flat([1, 0, 0, 0])) == pytest.approx(math.sqrt(2))
  # Fixations on 3 and on 0: ((3 - 1) + (0 - 1)) / 2 / sqrt(2).
  assert saliency.nss(prediction, flat([1, 0, 1, 0])) == pytest.approx(0.5 / math.sqrt(2))
  assert math.isnan(saliency.nss(prediction, flat([0, 0, 0, 0])))     # no fixation
  assert math.isnan(saliency.nss(flat([2, 2, 2, 2]), flat([1, 0, 0, 0])))  # constant map


def test_cc_by_hand():
  # Centred P = [2, 0, -1, -1], centred Q = [.5, .5, -.5, -.5]:
  # (1 + 0 + .5 + .5) / (sqrt(6) * 1) = 2 / sqrt(6).
  assert saliency.cc(flat([3, 1, 0, 0]), flat([1, 1, 0, 0])) == pytest.approx(2 / math.sqrt(6))
  # Orthogonal after centring.
  assert saliency.cc(flat([1, 0, 0, 1]), flat([1, 1, 0, 0])) == pytest.approx(0, abs=1e-15)
  assert saliency.cc(flat([1, 0, 0, 1]), flat([0, 1, 1, 0])) == pytest.approx(-1)
  assert math.isnan(saliency.cc(flat([1, 1, 1, 1]), flat([1, 0, 0, 0])))


def test_sim_by_hand():
  # Min-max then sum-normalised: P = [1, 1/3, 0, 0] / (4/3) = [.75, .25, 0, 0],
  # Q = [.5, .5, 0, 0]: sum of minima .5 + .25 = .75.
  assert saliency.sim(flat([3, 1, 0, 0]), flat([1, 1, 0, 0])) == pytest.approx(0.75)
  # The min-max step removes an offset: [4, 2, 1, 1] is [3, 1, 0, 0] + 1.
  assert saliency.sim(flat([4, 2, 1, 1]), flat([1, 1, 0, 0])) == pytest.approx(0.75)
  assert saliency.sim(flat([1, 0, 0, 1]), flat([1, 1, 0, 0])) == pytest.approx(0.5)
  assert saliency.sim(flat([1, 0, 0, 0]), flat([0, 1, 0, 0])) == 0.0
  assert saliency.sim(flat([0, 0, 0, 0]), flat([0, 1, 0, 0])) == 0.0   # zero map stays zero
  assert math.isnan(saliency.sim(flat([5, 5, 5, 5]), flat([0, 1, 0, 0])))


def test_maps_of_different_size_are_an_error():
  with pytest.raises(ValueError, match="differ in size"):
    saliency.cc(np.zeros((4, 4)), np.zeros((4, 5)))


# ---------------------------------------------------------------- real SALICON examples

SIGMA = 19  # SALICON toolkit `buildFixMap`: Gaussian sigma 19 px at 640 x 480


@pytest.fixture(scope="module")
def salicon_halves(shared_data):
  """Per image: (map of even workers, map of odd workers, odd workers' fixations)."""
  data = json.loads((shared_data / "salicon_examples/annotations/"
                     "fixations_train2014examples.json").read_text())
  sizes = {image["id"]: (image["height"], image["width"]) for image in data["images"]}
  by_image = collections.defaultdict(list)
  for annotation in data["annotations"]:
    by_image[annotation["image_id"]].append(annotation)

  def fixation_map(annotations, shape):
    fixations = np.zeros(shape)
    for annotation in annotations:
      for row, col in annotation["fixations"]:   # 1-based [row, col]
        fixations[row - 1, col - 1] = 1
    return fixations

  def saliency_map(fixations):
    blurred = scipy.ndimage.gaussian_filter(fixations, SIGMA)
    blurred -= blurred.min()
    return blurred / blurred.max()

  halves = []
  for image_id in sorted(by_image):
    workers = sorted(by_image[image_id], key=lambda a: a["worker_id"])
    even = fixation_map(workers[0::2], sizes[image_id])
    odd = fixation_map(workers[1::2], sizes[image_id])
    halves.append((saliency_map(even), saliency_map(odd), odd))
  return halves


def test_salicon_identities(salicon_halves):
  for truth_map, _, fixations in salicon_halves[:3]:
    assert saliency.kld(truth_map, truth_map) == pytest.approx(0, abs=1e-10)
    assert saliency.cc(truth_map, truth_map) == pytest.approx(1, abs=1e-12)
    assert saliency.sim(truth_map, truth_map) == pytest.approx(1, abs=1e-12)
    assert saliency.nss(truth_map, fixations) > 0


def test_salicon_inter_observer_against_scipy(salicon_halves):
  """CC and NSS against numpy/scipy's own formulas; KLD and SIM against the direct sums."""
  for prediction, truth, fixations in salicon_halves:
    assert saliency.cc(prediction, truth) == pytest.approx(
        np.corrcoef(prediction.ravel(), truth.ravel())[0, 1], abs=1e-12)
    assert saliency.nss(prediction, fixations) == pytest.approx(
        scipy.stats.zscore(prediction, axis=None, ddof=1)[fixations > 0].mean(), abs=1e-12)
    p, q = prediction / prediction.sum(), truth / truth.sum()
    # Where P > 0 the eps terms change KLD by less than 1e-5 (relative): there it is
    # sum rel_entr(q, p); every pixel with P = 0 costs q ln(eps + q / eps).
    positive = p > 0
    expected_kld = (scipy.special.rel_entr(q[positive], p[positive]).sum()
                    + np.sum(q[~positive] * np.log(EPS + q[~positive] / EPS)))
    assert saliency.kld(prediction, truth) == pytest.approx(expected_kld, rel=1e-5)
    # The SALICON maps are already min-max normalised: SIM is the plain intersection.
    assert saliency.sim(prediction, truth) == pytest.approx(np.minimum(p, q).sum(), abs=1e-12)


# Means over the 10 SALICON examples of the agreement between the two halves of the
# workers (even -> predicted map, odd -> ground-truth map and fixations); computed once
# with this implementation (each value cross-checked per image above). They pin the
# map construction (1-based [row, col], sigma 19) as well as the metrics.
SALICON_INTER_OBSERVER = {"KLD": 0.320380, "NSS": 1.497826, "CC": 0.872514, "SIM": 0.770972}


def test_salicon_inter_observer_values(salicon_halves):
  means = {name: np.mean([metric(p, f if name == "NSS" else t) for p, t, f in salicon_halves])
           for name, metric in saliency.METRICS.items()}
  for name, expected in SALICON_INTER_OBSERVER.items():
    assert means[name] == pytest.approx(expected, abs=2e-6), name
