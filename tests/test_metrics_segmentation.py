"""DAVIS J and F, the sequence statistics and the benchmark protocols.

Hand-made masks with values worked out by hand, and parity on real data: OSVOS on
DAVIS-2016 blackswan against the official DAVIS evaluation code's result.
"""

import numpy as np
import pytest

from wcs_jax.io import masks as mask_io
from wcs_jax.evaluation import layouts, protocols, scoring, segmentation

# 40x40 frames: diagonal 56.6 px, so the default tolerance is ceil(0.008 * 56.6) = 1 px.
SIZE = 40


def square(top=10, left=10, side=10, size=SIZE):
  mask = np.zeros((size, size), bool)
  mask[top:top + side, left:left + side] = True
  return mask


def ring(top, left, side, size=SIZE):
  """The one-pixel outline of a side x side square."""
  return square(top, left, side, size) & ~square(top + 1, left + 1, side - 2, size)


# ---------------------------------------------------------------- boundary map and tolerance

def test_seg2bmap_of_a_square_is_the_outline_shifted_towards_the_origin():
  # Rows/cols 10..19 filled: a pixel is a contour pixel when it differs from its east,
  # south or south-east neighbour, which puts the contour on the outline of the
  # 11 x 11 square spanning rows/cols 9..19 (40 pixels).
  boundary = segmentation.seg2bmap(square())
  np.testing.assert_array_equal(boundary, ring(9, 9, 11))
  assert boundary.sum() == 40


def test_seg2bmap_full_frame_has_no_contour_and_border_rules():
  assert not segmentation.seg2bmap(np.ones((5, 7), bool)).any()
  # Object touching the last row: the last row compares eastwards only.
  mask = np.zeros((4, 4), bool)
  mask[2:, 1:3] = True
  expected = np.array([[0, 0, 0, 0],
                       [1, 1, 1, 0],   # differs from south / south-east
                       [1, 0, 1, 0],   # (2,0): south-east is object; (2,2): east is background
                       [1, 0, 1, 0]],  # last row: east neighbour only
                      bool)
  np.testing.assert_array_equal(segmentation.seg2bmap(mask), expected)


def test_disk_and_tolerance():
  np.testing.assert_array_equal(segmentation.disk(1), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
  assert segmentation.disk(2).sum() == 13
  # Integer points with x^2 + y^2 <= 64: sum over x of (2 floor(sqrt(64 - x^2)) + 1).
  assert segmentation.disk(8).sum() == sum(2 * int(np.sqrt(64 - x * x)) + 1 for x in range(-8, 9))
  assert segmentation.boundary_tolerance((480, 854)) == 8   # ceil(0.008 * 979.6)
  assert segmentation.boundary_tolerance((SIZE, SIZE)) == 1
  assert segmentation.boundary_tolerance((SIZE, SIZE), bound_th=3) == 3


# ---------------------------------------------------------------- J and F by hand

@pytest.mark.parametrize("truth, prediction, j, precision_recall, f", [
    # Both empty: J = 1 (empty union), no contours on either side: P = R = 1.
    (np.zeros((SIZE, SIZE)), np.zeros((SIZE, SIZE)), 1.0, (1.0, 1.0), 1.0),
    # Nothing predicted: P = 1, R = 0, F = 0.
    (square(), np.zeros((SIZE, SIZE)), 0.0, (1.0, 0.0), 0.0),
    # Predicted on an empty frame: P = 0, R = 1, F = 0.
    (np.zeros((SIZE, SIZE)), square(), 0.0, (0.0, 1.0), 0.0),
    # Full frame on both sides: J = 1 and neither has a contour.
    (np.ones((SIZE, SIZE)), np.ones((SIZE, SIZE)), 1.0, (1.0, 1.0), 1.0),
    # Full-frame prediction of a 10x10 object: J = 100 / 1600; the prediction has no
    # contour (P = 1, R = 0): F = 0.
    (square(), np.ones((SIZE, SIZE)), 100 / 1600, (1.0, 0.0), 0.0),
    # Exact prediction.
    (square(), square(), 1.0, (1.0, 1.0), 1.0),
    # One pixel to the right: J = 90 / 110; every contour pixel of either side is
    # within 1 px (4-neighbourhood) of the other's: F = 1.
    (square(), square(left=11), 90 / 110, (1.0, 1.0), 1.0),
    # Two pixels to the right: J = 80 / 120. Of the 40 predicted contour pixels (outline
    # of rows 9..19 x cols 11..21), matched within 1 px: the top and bottom rows except
    # their last pixel (2 x 10) and the left column's two end pixels (2): 22 / 40.
    # Recall is the mirror image: 22 / 40. F = 0.55.
    (square(), square(left=12), 80 / 120, (22 / 40, 22 / 40), 0.55),
])
def test_j_and_f_by_hand(truth, prediction, j, precision_recall, f):
  assert segmentation.region_similarity(truth, prediction) == pytest.approx(j, abs=1e-15)
  assert segmentation.boundary_precision_recall(truth, prediction) == pytest.approx(
      precision_recall, abs=1e-15)
  assert segmentation.contour_accuracy(truth, prediction) == pytest.approx(f, abs=1e-15)


def test_tolerance_in_pixels_matches_the_two_pixel_shift():
  # With a 2 px tolerance every contour pixel of a 2 px shift is matched.
  assert segmentation.contour_accuracy(square(), square(left=12), bound_th=2) == 1.0
  # ... and a 3 px shift is not fully matched any more.
  assert segmentation.contour_accuracy(square(), square(left=13), bound_th=2) < 1.0


def test_void_pixels_leave_both_measures():
  truth, prediction = square(), square(left=12)
  void = np.zeros((SIZE, SIZE), bool)
  void[:, 10:12] = void[:, 20:22] = True   # exactly where the masks disagree
  assert segmentation.region_similarity(truth, prediction, void) == 1.0
  assert segmentation.contour_accuracy(truth, prediction, void) == 1.0


def test_object_touching_the_frame_border():
  # The window optimisation must keep the frame's own last-row / last-column rules.
  truth = np.zeros((SIZE, SIZE), bool)
  truth[30:, 30:] = True
  prediction = np.zeros((SIZE, SIZE), bool)
  prediction[28:, 30:] = True
  # Contour of truth (rows/cols 30..39): row 29 cols 29..39 and col 29 rows 29..39
  # (21 px; inside the last row and column nothing differs along the border, and the
  # corner (39, 39) never counts). Prediction (rows 28..39): row 27 cols 29..39 and
  # col 29 rows 27..39 (23 px). Within 1 px (4-neighbourhood): truth's (29, 29),
  # (29, 30) and col 29 rows 30..39 -> recall 12 / 21; prediction's col 29 rows
  # 28..39 -> precision 12 / 23 (its row 27 is 2 px from truth's row 29).
  precision, recall = segmentation.boundary_precision_recall(truth, prediction)
  assert recall == pytest.approx(12 / 21)
  assert precision == pytest.approx(12 / 23)
  assert segmentation.region_similarity(truth, prediction) == pytest.approx(100 / 120)


def test_shape_mismatch_is_an_error():
  with pytest.raises(ValueError, match="differ in size"):
    segmentation.region_similarity(np.zeros((4, 4)), np.zeros((4, 5)))
  with pytest.raises(ValueError, match="differ in size"):
    segmentation.contour_accuracy(np.zeros((4, 4)), np.zeros((5, 4)))


# ---------------------------------------------------------------- statistics and protocols

def test_sequence_statistics_by_hand():
  # 10 frames 1.0, 0.9, ..., 0.1. Bin edges round(linspace(1, 10, 5)) - 1 = 0, 2, 5, 7, 9:
  # first bin frames 0..2 (mean 0.9), last bin frames 7..9 (mean 0.2): Decay 0.7.
  values = 1.0 - 0.1 * np.arange(10)
  stats = protocols.sequence_statistics(values)
  assert stats.mean == pytest.approx(0.55)
  assert stats.recall == pytest.approx(0.5)      # 1.0 .. 0.6 are > 0.5; 0.5 is not
  assert stats.decay == pytest.approx(0.7)
  # NaN frames are left out of Mean and Decay; they count as "not above 0.5".
  with_nan = protocols.sequence_statistics([1.0, np.nan, 0.0, 1.0])
  assert with_nan.mean == pytest.approx(2 / 3)
  assert with_nan.recall == pytest.approx(0.5)


def test_davis_protocol_drops_first_and_last_frame():
  assert protocols.davis2016_scored_frames(50) == slice(1, 49)
  with pytest.raises(ValueError):
    protocols.davis2016_scored_frames(2)


def test_aggregate_over_sequences_and_over_categories():
  make = lambda j: protocols.score_sequence([j, j], [j, j])  # noqa: E731
  sequences = {"a1": make(1.0), "a2": make(0.5), "b1": make(0.0)}
  plain = protocols.aggregate(sequences)
  assert plain.J.mean == pytest.approx(0.5)
  # Categories: a = (1.0 + 0.5) / 2 = 0.75, b = 0.0; mean over categories 0.375.
  by_category = protocols.aggregate(sequences, {"a1": "a", "a2": "a", "b1": "b"})
  assert by_category.categories["a"][0].mean == pytest.approx(0.75)
  assert by_category.J.mean == pytest.approx(0.375)
  assert by_category.JF_mean == pytest.approx(0.375)


# ---------------------------------------------------------------- real data: OSVOS on blackswan

# Reference: the official DAVIS evaluation code, davisvideochallenge/davis2017-evaluation
# (davis2017/metrics.py db_eval_iou and db_eval_boundary, davis2017/utils.py
# db_statistics, frames [1:-1] as in its evaluation.py) on
# ../shared/data/davis2016/Annotations/480p/blackswan (ground truth > 0) and
# ../shared/data/davis2016_osvos/blackswan (object id 1), 48 scored frames. First
# computed at 30b698a with a transcription of that code; produced by the official code
# itself, imported from a checkout at ac7c43f, on 2026-12-04 with the same digits:
#     python tests/reference/official_davis_blackswan.py --official DIR [--check]
# (its docstring: the clone command; --check compares with these values).
OFFICIAL_OSVOS_BLACKSWAN = {
    "J": (0.9430200107249278, 1.0, 0.0014083923122019115),
    "F": (0.9740964785153858, 1.0, -0.00041640925587305144),
}


def test_osvos_blackswan_matches_the_official_davis_code(shared_data):
  sequences = layouts.read_sequences("davis2016", shared_data / "davis2016", sequences=["blackswan"])
  # 50 frames minus first and last
  assert [len(scoring.scored_frames("davis2016", s)) for s in sequences] == [48]
  result = scoring.score_segmentation("davis2016", sequences, shared_data / "davis2016_osvos")
  for measure, expected in OFFICIAL_OSVOS_BLACKSWAN.items():
    stats = getattr(result.sequences["blackswan"], measure)
    np.testing.assert_allclose((stats.mean, stats.recall, stats.decay), expected,
                               rtol=0, atol=1e-12)
  assert result.JF_mean == pytest.approx((0.9430200107249278 + 0.9740964785153858) / 2,
                                         abs=1e-12)
