"""Hotspot ground truth and gaze-like guidance maps.

The paper (Sec. 3.3) trains the hotspot branch against "the peak region of the
SALICON map (a large threshold)": `peak_region` is that region, with the threshold
relative to the map's maximum (SALICON maps are stored scaled so their maximum is 255,
so a relative and an absolute threshold agree on the stored data).

Sources without eye-gaze (SBD, DUTS, DAVIS) still need a gaze-like map: the input of
Gaze2Mask-Net (the paper uses the EG-Net prediction restricted to the instance mask)
and the hotspot guidance of a WCS-Net template. `mask_guidance` makes one from the
object mask, in one of three modes:

- "gaussian": a Gaussian at the mask's interior point nearest its centroid (where a
  viewer's gaze lands on a compact object), restricted to the mask. The default: it has
  the shape of an EG-Net output restricted to the object.
- "random_gaussian": the same Gaussian at a uniformly drawn pixel of the mask, a noisier
  stand-in for an imperfect EG-Net fixation.
- "mask": the mask itself (uniform guidance over the object).

The Gaussian's sigma is `sigma_scale * sqrt(area)`, so the spot scales with the object.

A user's prompt, as the tracker turns it into Gaze2Mask-Net's input gaze
(`wcs_jax.inference.first_frame`), made from the mask for training: `click_map`, a
Gaussian at a pixel of the object of sigma `click_sigma * sqrt(H * W)`, not restricted
(a click says nothing about where the object ends); `box_map`, the "gaussian" guidance
of the object's bounding box, restricted to the box.
All maps are `[H, W, 1]` float32 in [0, 1].
"""
import tensorflow as tf

GUIDANCE_MODES = ("gaussian", "random_gaussian", "mask")


def peak_region(gaze: tf.Tensor, threshold: float) -> tf.Tensor:
  """The hotspot ground truth: the pixels of `gaze` at or above `threshold * max`.

  Args:
    gaze: `[H, W, 1]` float saliency map (any non-negative scale).
    threshold: fraction of the map's maximum, in (0, 1].

  Returns:
    `[H, W, 1]` float32 in {0, 1}; all zeros when the map is all zeros.
  """
  gaze = tf.cast(gaze, tf.float32)
  peak = tf.reduce_max(gaze)
  return tf.cast((gaze >= threshold * peak) & (peak > 0), tf.float32)


def interior_point(mask: tf.Tensor) -> tf.Tensor:
  """The mask pixel nearest the mask's centroid (inside the object even when it is not
  convex).

  Args:
    mask: `[H, W, 1]` binary mask with at least one foreground pixel.

  Returns:
    `[2]` float32 `(y, x)` pixel index.
  """
  points = tf.cast(tf.where(mask[..., 0] > 0.5), tf.float32)
  centroid = tf.reduce_mean(points, axis=0)
  nearest = tf.argmin(tf.reduce_sum(tf.square(points - centroid), axis=1))
  return points[nearest]


def random_point(mask: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
  """A uniformly drawn pixel of a non-empty mask, as `[2]` float32 `(y, x)`."""
  points = tf.cast(tf.where(mask[..., 0] > 0.5), tf.float32)
  index = tf.random.stateless_uniform([], key, 0, tf.shape(points)[0], dtype=tf.int32)
  return points[index]


def gaussian_map(shape: tf.Tensor, centre: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
  """`exp(-|p - centre|^2 / (2 sigma^2))` over an `[H, W, 1]` grid, 1 at `centre`.

  Args:
    shape: `[2]` int `(H, W)`.
    centre: `[2]` float `(y, x)` pixel index.
    sigma: scalar, in pixels.
  """
  ys = tf.range(shape[0], dtype=tf.float32)[:, None]
  xs = tf.range(shape[1], dtype=tf.float32)[None, :]
  d2 = tf.square(ys - centre[0]) + tf.square(xs - centre[1])
  return tf.exp(-d2 / (2.0 * tf.square(sigma)))[..., None]


def mask_guidance(mask: tf.Tensor, mode: str, sigma_scale: float, key: tf.Tensor | None = None) -> tf.Tensor:
  """A gaze-like guidance map made from an object mask (see the module docstring).

  Args:
    mask: `[H, W, 1]` float {0, 1}.
    mode: one of `GUIDANCE_MODES`.
    sigma_scale: Gaussian sigma as a fraction of `sqrt(mask area)`.
    key: `[2]` int stateless seed; required by "random_gaussian".

  Returns:
    `[H, W, 1]` float32 in [0, 1], zero outside the mask (all zeros for an empty mask).
  """
  if mode not in GUIDANCE_MODES:
    raise ValueError(f"guidance mode {mode!r}: expected one of {GUIDANCE_MODES}")
  mask = tf.cast(mask > 0.5, tf.float32)
  if mode == "mask":
    return mask
  if mode == "random_gaussian" and key is None:
    raise ValueError("guidance mode 'random_gaussian' needs a stateless key")

  def spot():
    centre = interior_point(mask) if mode == "gaussian" else random_point(mask, key)
    sigma = tf.maximum(sigma_scale * tf.sqrt(tf.reduce_sum(mask)), 1.0)
    return gaussian_map(tf.shape(mask)[:2], centre, sigma) * mask

  return tf.cond(tf.reduce_any(mask > 0.5), spot, lambda: tf.zeros_like(mask))


def click_map(mask: tf.Tensor, key: tf.Tensor, click_sigma: float) -> tf.Tensor:
  """A click at a uniformly drawn pixel of a non-empty `[H, W, 1]` mask, as the tracker
  makes its gaze: a Gaussian of sigma `click_sigma * sqrt(H * W)`, not restricted."""
  shape = tf.shape(mask)[:2]
  sigma = click_sigma * tf.sqrt(tf.cast(shape[0] * shape[1], tf.float32))
  return gaussian_map(shape, random_point(mask, key), sigma)


def box_map(mask: tf.Tensor, sigma_scale: float) -> tf.Tensor:
  """The bounding box of a non-empty `[H, W, 1]` mask as the tracker makes a box's
  gaze: the "gaussian" guidance of the box's interior (its centre pixel, sigma
  `sigma_scale * sqrt(box area)`), zero outside the box."""
  points = tf.where(mask[..., 0] > 0.5)
  low, high = tf.reduce_min(points, axis=0), tf.reduce_max(points, axis=0)
  shape = tf.shape(mask, out_type=tf.int64)
  rows = (tf.range(shape[0]) >= low[0]) & (tf.range(shape[0]) <= high[0])
  cols = (tf.range(shape[1]) >= low[1]) & (tf.range(shape[1]) <= high[1])
  box = tf.cast(rows[:, None] & cols[None, :], tf.float32)[..., None]
  return mask_guidance(box, "gaussian", sigma_scale)
