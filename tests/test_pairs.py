"""Pair geometry on hand-made masks with known boxes: the object is centred in the
template, contained in the (jittered, rescaled, affine-augmented) search crop; video
frame selection; hotspot and guidance maps."""
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from input_pipeline import augment
from input_pipeline import hotspot
from input_pipeline import pairs
from input_pipeline import sampling

S = 64
H, W = 120, 160


def _frame(mask: np.ndarray) -> pairs.Frame:
  mask = tf.constant(mask[..., None], tf.float32)
  yy, xx = np.mgrid[:H, :W]
  image = tf.constant(np.stack([yy / H, xx / W, np.full([H, W], 0.5)], -1), tf.float32)
  return pairs.Frame(image=image, mask=mask, guidance=mask, hotspot=mask)


def _box_mask(x0, y0, x1, y1) -> np.ndarray:
  mask = np.zeros([H, W], np.float32)
  mask[y0:y1, x0:x1] = 1
  return mask


def _disc_mask(cx, cy, r) -> np.ndarray:
  yy, xx = np.mgrid[:H, :W] + 0.5
  return (((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r).astype(np.float32)


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
  ys, xs = np.nonzero(mask[..., 0] > 0.5)
  return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def test_mask_box_and_template_window_exact():
  box, nonempty = pairs.mask_box(tf.constant(_box_mask(10, 20, 30, 60)[..., None]))
  np.testing.assert_array_equal(box.numpy(), [10, 20, 30, 60])
  assert bool(nonempty)
  np.testing.assert_allclose(pairs.template_window(box, 1.5).numpy(), [20, 40, 60])
  empty_box, nonempty = pairs.mask_box(tf.zeros([H, W, 1]))
  np.testing.assert_array_equal(empty_box.numpy(), [0, 0, W, H])
  assert not bool(nonempty)


def test_search_window_contains_the_box():
  box = tf.constant([10.0, 20.0, 30.0, 60.0])  # 20 x 40
  np.testing.assert_allclose(pairs.search_window(box, sampling.make_key(0), 2.0, 0.0, 0.0).numpy(), [20, 40, 80])
  windows = np.stack([pairs.search_window(box, sampling.make_key(i), 2.0, 1.0, 0.5).numpy() for i in range(200)])
  cx, cy, side = windows.T
  eps = 1e-4
  assert np.all(cx - side / 2 <= 10 + eps) and np.all(cx + side / 2 >= 30 - eps)
  assert np.all(cy - side / 2 <= 20 + eps) and np.all(cy + side / 2 >= 60 - eps)
  assert np.all(side >= 40 - eps) and side.min() < 60 and side.max() > 100  # scale change, never below the object
  assert np.std(cx) > 5 and np.std(cy) > 5  # jittered
  # Jitter reaches the clip: the box touches the window edge for some draws.
  assert np.isclose(cy - side / 2, 20, atol=1e-3).any() or np.isclose(cy + side / 2, 60, atol=1e-3).any()


def test_object_centred_in_template_and_search_without_jitter():
  config = pairs.PairConfig(image_size=S, template_context=1.6, search_context=2.0, search_jitter=0.0,
                            search_scale=0.0, augment=augment.NO_AUGMENT)
  frame = _frame(_box_mask(40, 30, 80, 50))  # 40 x 20, centre (60, 40)
  pair = pairs.static_pair(frame, sampling.make_key(1), config)
  assert bool(pair["valid"])
  # Template side 1.6 * 40 = 64 source px = S: the box maps to [12, 52) x [22, 42) exactly.
  assert _bbox(pair["template_mask"].numpy()) == (12, 22, 52, 42)
  # Search side 2 * 40 = 80 source px: the box maps to [16, 48) x [24, 40).
  assert _bbox(pair["search_mask"].numpy()) == (16, 24, 48, 40)
  # The image was resampled, not only the masks: pixel (u, v) of the template shows source
  # pixel (28 + u + 0.5 - 0.5, 8 + v) = the colour ramp there.
  np.testing.assert_allclose(pair["template_image"].numpy()[10, 20], [(8 + 10) / H, (28 + 20) / W, 0.5], atol=1e-5)


def test_window_past_the_border_is_padded_with_the_mean_colour():
  config = pairs.PairConfig(image_size=S, template_context=4.0, augment=augment.NO_AUGMENT)
  frame = _frame(_box_mask(0, 0, 20, 20))
  template = pairs.static_pair(frame, sampling.make_key(0), config)["template_image"].numpy()
  np.testing.assert_allclose(template[0, 0], tf.reduce_mean(frame.image, [0, 1]).numpy(), atol=1e-6)
  assert np.any(template[-1, -1] != template[0, 0])  # the image itself, further in


@pytest.mark.parametrize("seed", range(6))
def test_object_contained_in_search_crop_under_affine_and_max_jitter(seed):
  """A disc stays a disc under rotation, scale and flip: if the crop cut it, its bbox
  would not be square or its area would fall short of pi r^2."""
  aug = augment.AugmentConfig(scale=0.4, rotation=45.0, shear=0.0, flip=0.5)
  config = pairs.PairConfig(image_size=S, search_context=1.5, search_jitter=1.0, search_scale=0.3, augment=aug)
  frame = _frame(_disc_mask(50, 60, 18))
  pair = pairs.static_pair(frame, sampling.make_key(seed), config)
  mask = pair["search_mask"].numpy()
  x0, y0, x1, y1 = _bbox(mask)
  assert abs((x1 - x0) - (y1 - y0)) <= 1
  r = (x1 - x0) / 2
  assert abs(mask.sum() - math.pi * r * r) < 2 * math.pi * r  # within a one-pixel rim
  x0, y0, x1, y1 = _bbox(pair["template_mask"].numpy())
  np.testing.assert_allclose([(x0 + x1) / 2, (y0 + y1) / 2], [S / 2, S / 2], atol=0.5)


def test_search_crop_is_jittered_but_keeps_a_square_whole():
  config = pairs.PairConfig(image_size=S, search_context=2.0, search_jitter=1.0, search_scale=0.0,
                            augment=augment.NO_AUGMENT)
  frame = _frame(_box_mask(60, 40, 84, 64))  # a 24 x 24 square: 32 x 32 in the 48 px search window
  centres = []
  for seed in range(8):
    mask = pairs.static_pair(frame, sampling.make_key(seed), config)["search_mask"].numpy()
    x0, y0, x1, y1 = _bbox(mask)
    assert abs(x1 - x0 - 32) <= 1 and abs(y1 - y0 - 32) <= 1  # never cut by the crop edge
    assert abs(mask.sum() - 32 * 32) <= 2 * 32
    centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
  assert np.std(np.array(centres), axis=0).min() > 2


def test_empty_template_object_is_flagged_invalid():
  pair = pairs.static_pair(_frame(np.zeros([H, W], np.float32)), sampling.make_key(0),
                           pairs.PairConfig(image_size=S))
  assert not bool(pair["valid"])
  assert pair["search_mask"].numpy().sum() == 0


def test_video_pair_reads_the_search_frame():
  config = pairs.PairConfig(image_size=S, template_context=1.6, search_context=2.0, search_jitter=0.0,
                            search_scale=0.0, augment=augment.NO_AUGMENT)
  template, search = _frame(_box_mask(40, 30, 80, 50)), _frame(_box_mask(60, 50, 100, 70))
  pair = pairs.video_pair(template, search, sampling.make_key(0), config)
  assert _bbox(pair["template_mask"].numpy()) == (12, 22, 52, 42)
  assert _bbox(pair["search_mask"].numpy()) == (16, 24, 48, 40)  # centred on the search frame's object
  # The search window is centred on (80, 60): the ramp there, not at the template's (60, 40).
  np.testing.assert_allclose(pair["search_image"].numpy()[S // 2, S // 2], [60 / H, 80 / W, 0.5], atol=1e-2)


def test_select_frames_respects_annotation_and_gap():
  has_mask = tf.constant([True, False, True, True, False, False, True, True, True, False])
  gaps = set()
  for seed in range(100):
    a, b = (int(v) for v in pairs.select_frames(has_mask, sampling.make_key(seed), 2))
    assert has_mask[a] and has_mask[b] and a != b and abs(a - b) <= 2
    gaps.add(b - a)
  assert gaps == {-2, -1, 1, 2}
  a, b = pairs.select_frames(tf.constant([False, True, False, False]), sampling.make_key(0), 1)
  assert int(a) == int(b) == 1  # no other annotated frame in reach


def test_peak_region_threshold_is_relative_to_the_maximum():
  gaze = tf.constant([[0.0, 10.0], [35.0, 50.0]])[..., None]
  np.testing.assert_array_equal(hotspot.peak_region(gaze, 0.7).numpy()[..., 0], [[0, 0], [1, 1]])
  np.testing.assert_array_equal(hotspot.peak_region(gaze, 0.71).numpy()[..., 0], [[0, 0], [0, 1]])
  assert hotspot.peak_region(tf.zeros([2, 2, 1]), 0.5).numpy().sum() == 0


def test_gaussian_guidance_peaks_inside_a_non_convex_mask():
  mask = np.zeros([20, 20], np.float32)
  mask[2:18, 2:5] = 1  # an L: its centroid (11.84, 5.16) lies outside the shape
  mask[15:18, 2:14] = 1
  guidance = hotspot.mask_guidance(tf.constant(mask[..., None]), "gaussian", 0.25).numpy()[..., 0]
  peak = np.unravel_index(np.argmax(guidance), guidance.shape)
  assert mask[peak] == 1 and guidance[peak] == pytest.approx(1.0)
  assert peak == (12, 4)  # the mask pixel nearest the centroid
  assert np.all(guidance[mask == 0] == 0)
  np.testing.assert_array_equal(hotspot.mask_guidance(tf.constant(mask[..., None]), "mask", 0.25).numpy()[..., 0],
                                mask)
  with pytest.raises(ValueError, match="guidance mode"):
    hotspot.mask_guidance(tf.constant(mask[..., None]), "box", 0.25)


def test_config_errors_name_the_field():
  with pytest.raises(ValueError, match="template_context"):
    pairs.PairConfig(template_context=0.5)
  with pytest.raises(ValueError, match="hotspot_threshold"):
    pairs.PairConfig(hotspot_threshold=1.5)
  with pytest.raises(ValueError, match="flip"):
    augment.AugmentConfig(flip=2.0)


@pytest.mark.parametrize("flip", [1.0, -1.0])
def test_aligned_and_projective_warps_agree(flip):
  """The fast axis-aligned kernel against the general one: exact inside the image, the
  same fill outside, differing only on the one-pixel rim at the image border."""
  image = tf.random.stateless_uniform([30, 40, 3], [1, 2])
  fill = tf.constant([0.2, 0.4, 0.6])
  # Scale 0.7 (or -0.7: mirrored), the window partly past the left and top borders.
  m = tf.constant([[0.7 * flip, 0.0, 10.0 if flip > 0 else 30.0], [0.0, 0.7, -5.0], [0.0, 0.0, 1.0]])
  aligned = augment.warp_aligned(image, m, 48, fill).numpy()
  projective = augment.warp_projective(image, m, 48, fill).numpy()
  ys = 0.7 * np.arange(48) - 5.0
  xs = m[0, 0].numpy() * np.arange(48) + m[0, 2].numpy()
  inside = ((ys >= 0) & (ys <= 29))[:, None] & ((xs >= 0) & (xs <= 39))[None, :]
  far_outside = ((ys < -1) | (ys > 30))[:, None] | ((xs < -1) | (xs > 40))[None, :]
  np.testing.assert_allclose(aligned[inside], projective[inside], atol=1e-5)
  np.testing.assert_allclose(aligned[far_outside], np.broadcast_to(fill, aligned[far_outside].shape), atol=1e-6)
  np.testing.assert_allclose(projective[far_outside], aligned[far_outside], atol=1e-6)
  assert inside.sum() > 1000 and far_outside.sum() > 100
  # warp() picks the aligned kernel for this matrix.
  np.testing.assert_array_equal(augment.warp(image, m, 48, fill).numpy(), aligned)


def test_colour_transform_exact_cases():
  image = tf.random.stateless_uniform([6, 7, 3], [3, 4], 0.1, 0.9)
  x = image.numpy()
  same = augment.colour_transform(image, 0.0, 1.0, 1.0, 0.0).numpy()
  np.testing.assert_allclose(same, x, atol=1e-6)
  np.testing.assert_allclose(augment.colour_transform(image, 0.05, 1.0, 1.0, 0.0).numpy(), x + 0.05, atol=1e-6)
  flat = augment.colour_transform(image, 0.0, 0.0, 1.0, 0.0).numpy()  # contrast 0: the channel means
  np.testing.assert_allclose(flat, np.broadcast_to(x.mean((0, 1)), x.shape), atol=1e-6)
  grey = augment.colour_transform(image, 0.0, 1.0, 0.0, 0.0).numpy()  # saturation 0: the luma
  luma = x @ np.array([0.299, 0.587, 0.114])
  np.testing.assert_allclose(grey, np.repeat(luma[..., None], 3, -1), atol=1e-5)
  np.testing.assert_allclose(augment.colour_transform(image, 0.0, 1.0, 1.0, 1.0).numpy(), x, atol=1e-5)  # full turn
  muted = 0.5 + 0.2 * (x - 0.5)  # stays in gamut under any hue rotation: no clipping
  half = augment.colour_transform(tf.constant(muted), 0.0, 1.0, 1.0, 0.5).numpy()
  np.testing.assert_allclose(half @ np.array([0.299, 0.587, 0.114]), muted @ np.array([0.299, 0.587, 0.114]),
                             atol=1e-5)  # hue keeps luma
  assert np.abs(half - muted).max() > 0.01
  grey_image = tf.fill([4, 4, 3], 0.4)
  np.testing.assert_allclose(augment.colour_transform(grey_image, 0.0, 1.0, 1.0, 0.3).numpy(), 0.4, atol=1e-5)


def test_video_affine_applies_to_the_search_frame_only():
  """With `video_affine` and a certain flip, the search crop of an asymmetric object is
  the mirror image of the unflipped one; the template is untouched."""
  mask = _box_mask(40, 30, 80, 50) + _box_mask(40, 50, 50, 70)  # an L
  frame = _frame(mask)
  base = dict(image_size=S, template_context=1.6, search_context=2.0, search_jitter=0.0, search_scale=0.0)
  plain = pairs.video_pair(frame, frame, sampling.make_key(0), pairs.PairConfig(**base, augment=augment.NO_AUGMENT))
  flip_only = dataclasses.replace(augment.NO_AUGMENT, flip=1.0)
  flipped = pairs.video_pair(frame, frame, sampling.make_key(0),
                             pairs.PairConfig(**base, video_affine=True, augment=flip_only))
  np.testing.assert_array_equal(flipped["template_mask"].numpy(), plain["template_mask"].numpy())
  np.testing.assert_array_equal(flipped["search_mask"].numpy(), plain["search_mask"].numpy()[:, ::-1])


def test_template_mask_noise_dilates_or_erodes_by_at_most_the_radius():
  """PairConfig.template_mask_noise: a 20 x 12 box in a 64 x 64 crop becomes the box
  grown or shrunk by r pixels on every side (3 x 3 steps: a square structuring element),
  0 <= r <= 0.1 * 64 = 6; both kinds occur; a 2 x 2 box is never eroded away; the other
  fields of a pair are those of the noise-free pair."""
  box = np.zeros([S, S, 1], np.float32)
  box[20:32, 10:30] = 1
  kinds = set()
  for seed in range(24):
    out = pairs.perturb_mask(tf.constant(box), sampling.make_key(seed), 6).numpy()
    grown = 10 - _bbox(out)[0]  # r for a dilation, -r for an erosion
    assert -6 <= grown <= 6
    assert _bbox(out) == (10 - grown, 20 - grown, 30 + grown, 32 + grown)
    assert out.sum() == (20 + 2 * grown) * (12 + 2 * grown)  # the whole grown or shrunk box
    kinds.add("dilated" if grown > 0 else "eroded" if grown < 0 else "exact")
  assert {"dilated", "eroded"} <= kinds
  tiny = np.zeros([S, S, 1], np.float32)
  tiny[5:7, 5:7] = 1
  for seed in range(8):
    assert pairs.perturb_mask(tf.constant(tiny), sampling.make_key(seed), 6).numpy().sum() >= 4
  frame = _frame(_box_mask(40, 30, 80, 50))
  exact = pairs.static_pair(frame, sampling.make_key(3), pairs.PairConfig(image_size=S))
  noisy = pairs.static_pair(frame, sampling.make_key(3), pairs.PairConfig(image_size=S, template_mask_noise=0.1))
  for key in exact:
    if key != "template_mask":
      np.testing.assert_array_equal(exact[key], noisy[key])
  with pytest.raises(ValueError, match="template_mask_noise = 0.6"):
    pairs.PairConfig(template_mask_noise=0.6)
