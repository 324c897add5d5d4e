"""Template/search crop geometry of the WCS-Net training pairs.

The paper (Sec. 3.2) crops a *template*, a sub-region centred on the target, and a
*search* region, a local crop centred on the target's last estimated position, and
resizes both to 320x320. For training pairs we make both concrete:

- Template window: the object's bounding box, enlarged to a square of side
  `template_context * max(w, h)`, centred on the box centre.
- Search window: a square of side `search_context * max(w, h)`, scaled by a
  log-uniform factor in `[1 / (1 + search_scale), 1 + search_scale]` (never smaller
  than the object), centred on the object's box centre plus a uniform offset of up to
  `search_jitter * side` per axis, clipped so the whole box stays inside the window.
  This mimics a tracker whose last estimate is off by a fraction of the crop.
- Static images (SALICON, DUTS): the search crop is read from the image transformed
  by a random affine map (augment.py), so a pair differs by scale, rotation, shear,
  flip, position and colour. Videos (DAVIS): template and search come from two
  annotated frames at most `max_gap` frames apart (affine only if `video_affine`).
- Windows that reach past the image border are padded with the image's mean colour
  (maps with 0).
- Masks and hotspots are resampled bilinearly and re-binarised at 0.5; the template's
  guidance map stays continuous.
- An empty template mask (object absent from the sampled frame) has no box: the window
  falls back to the whole image and the pair reports `valid = False` so the stream can
  zero its loss weights. An empty search mask (object occluded) is a valid target; the
  search window is then placed on the template's box.

Coordinates: boxes `(x0, y0, x1, y1)` and windows `(cx, cy, side)` are in edge
coordinates (pixel `i` covers `[i, i + 1)`).
"""
import dataclasses
import math
from typing import NamedTuple

import tensorflow as tf

from input_pipeline import augment as augment_lib
from input_pipeline import hotspot
from wcs_jax.spec import geometry


@dataclasses.dataclass(frozen=True)
class PairConfig:
  """Pair geometry, augmentation and the guidance/hotspot maps of each source.

  Attributes:
    image_size: side S of the template and search crops (the paper: 320).
    template_context: template side / longest side of the object's box.
    search_context: search side / longest side of the object's box, before scaling.
    search_jitter: largest offset of the search centre from the object's centre, as a
      fraction of the search side (clipped to keep the object inside).
    search_scale: the search side is scaled by a log-uniform factor in
      `[1 / (1 + search_scale), 1 + search_scale]`.
    max_gap: largest frame distance between template and search frame of a video.
    video_affine: also apply the random affine map to video search frames.
    hotspot_threshold: hotspot ground truth = the SALICON map at or above this
      fraction of its maximum (the paper's "large threshold").
    salicon_object_threshold: a SALICON sample's "object" (its template mask and the
      box the crops are centred on) is the region of the map at or above this fraction
      of its maximum: the salient region around the peak (several blobs when the map
      has several strong modes; the crops then centre on their joint box). It is no
      ground-truth mask, so its mask loss weight l2 is 0.
    salicon_guidance: the template hotspot guidance of a SALICON sample: "gaze" (the
      continuous map, what EG-Net gives the tracker at inference) or "peak" (the
      binary hotspot region).
    guidance: template hotspot guidance of a source without gaze (DUTS, DAVIS), made
      from its mask: one of `hotspot.GUIDANCE_MODES`. Their hotspot target is the peak
      region of that map; their hotspot loss weight l1 is 0.
    guidance_sigma: Gaussian sigma of that guidance, as a fraction of sqrt(mask area).
    template_mask_noise: the template mask of a pair is dilated or eroded (equally
      likely) by a radius drawn uniformly from 0 to `template_mask_noise * S` crop
      pixels: the rough first-frame mask an automatic start or a click gives, so the
      tracker learns to segment the object from an imprecise template. 0 (default):
      the exact mask.
    augment: augmentation ranges (affine of static search crops, colour of all crops).
  """
  image_size: int = geometry.IMAGE_SIZE
  template_context: float = geometry.TEMPLATE_CONTEXT
  search_context: float = geometry.SEARCH_CONTEXT
  search_jitter: float = 0.25
  search_scale: float = 0.15
  max_gap: int = 10
  video_affine: bool = False
  hotspot_threshold: float = 0.7
  salicon_object_threshold: float = 0.3
  salicon_guidance: str = "gaze"
  guidance: str = "gaussian"
  guidance_sigma: float = geometry.GUIDANCE_SIGMA
  template_mask_noise: float = 0.0
  augment: augment_lib.AugmentConfig = augment_lib.AugmentConfig()

  def __post_init__(self):
    if self.image_size < 8:
      raise ValueError(f"PairConfig.image_size = {self.image_size}: expected >= 8")
    if self.template_context < 1 or self.search_context < 1:
      raise ValueError("PairConfig.template_context and .search_context must be >= 1 "
                       "(the window must hold the object)")
    if self.search_jitter < 0 or self.search_scale < 0 or self.max_gap < 1:
      raise ValueError("PairConfig.search_jitter, .search_scale must be >= 0 and .max_gap >= 1")
    for name in ("hotspot_threshold", "salicon_object_threshold"):
      if not 0 < getattr(self, name) <= 1:
        raise ValueError(f"PairConfig.{name} = {getattr(self, name)}: expected a fraction in (0, 1]")
    if self.salicon_guidance not in ("gaze", "peak"):
      raise ValueError(f"PairConfig.salicon_guidance = {self.salicon_guidance!r}: expected 'gaze' or 'peak'")
    if not 0 <= self.template_mask_noise < 0.5:
      raise ValueError(f"PairConfig.template_mask_noise = {self.template_mask_noise}: expected a fraction "
                       "of the crop side in [0, 0.5)")
    if self.guidance not in hotspot.GUIDANCE_MODES:
      raise ValueError(f"PairConfig.guidance = {self.guidance!r}: expected one of {hotspot.GUIDANCE_MODES}")


class Frame(NamedTuple):
  """One full-resolution view of a sample.

  Attributes:
    image: `[H, W, 3]` float32 in [0, 1].
    mask: `[H, W, 1]` float32 {0, 1}, the object.
    guidance: `[H, W, 1]` float32 in [0, 1], gaze-like map (template hotspot guidance).
    hotspot: `[H, W, 1]` float32 {0, 1}, hotspot ground truth.
  """
  image: tf.Tensor
  mask: tf.Tensor
  guidance: tf.Tensor
  hotspot: tf.Tensor


def mask_box(mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Bounding box of a mask.

  Args:
    mask: `[H, W, 1]` {0, 1}.

  Returns:
    `[4]` float32 `(x0, y0, x1, y1)` (the whole image when the mask is empty) and a
    scalar bool, whether the mask is non-empty.
  """
  return points_box(pixel_centres(mask), tf.shape(mask))


def pixel_centres(mask: tf.Tensor) -> tf.Tensor:
  """`[N, 2]` float32 `(x, y)` edge coordinates of the centres of the mask's pixels."""
  yx = tf.cast(tf.where(mask[..., 0] > 0.5), tf.float32)
  return tf.reverse(yx, [1]) + 0.5


def points_box(points: tf.Tensor, shape: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Box of pixel centres `[N, 2]` `(x, y)`, each covering a unit square; the image
  box of `shape` `[H, W, ...]` when there are no points. Returns `(box, non_empty)`."""
  nonempty = tf.shape(points)[0] > 0
  image_box = tf.cast(tf.stack([0, 0, shape[1], shape[0]]), tf.float32)
  box = tf.cond(
      nonempty,
      lambda: tf.concat([tf.reduce_min(points, 0) - 0.5, tf.reduce_max(points, 0) + 0.5], 0),
      lambda: image_box)
  return box, nonempty


def template_window(box: tf.Tensor, context: float) -> tf.Tensor:
  """`[3]` `(cx, cy, side)`: the square of side `context * max(w, h)` centred on `box`."""
  centre = (box[:2] + box[2:]) / 2
  extent = tf.reduce_max(box[2:] - box[:2])
  return tf.concat([centre, [context * extent]], 0)


def search_window(box: tf.Tensor, key: tf.Tensor, context: float, jitter: float, scale: float) -> tf.Tensor:
  """`[3]` `(cx, cy, side)`: a jittered, rescaled square that contains `box`.

  The side is `context * max(w, h)` times a log-uniform factor in
  `[1 / (1 + scale), 1 + scale]`, at least `max(w, h)`; the centre is the box centre
  plus a uniform offset in `[-jitter * side, jitter * side]` per axis, clipped to
  `(side - extent) / 2` on that axis so the box stays inside.
  """
  u = tf.random.stateless_uniform([3], key, -1.0, 1.0)
  size = box[2:] - box[:2]
  extent = tf.reduce_max(size)
  side = tf.maximum(context * extent * tf.exp(u[0] * math.log1p(scale)), extent)
  slack = (side - size) / 2
  offset = tf.clip_by_value(u[1:] * jitter * side, -slack, slack)
  return tf.concat([(box[:2] + box[2:]) / 2 + offset, [side]], 0)


def window_matrix(window: tf.Tensor, size: int) -> tf.Tensor:
  """`[3, 3]` map from output pixel indices of an `size x size` crop to the window's
  edge coordinates."""
  step = window[2] / size
  origin = window[:2] - window[2] / 2 + step / 2
  return tf.stack([tf.stack([step, 0.0, origin[0]]), tf.stack([0.0, step, origin[1]]),
                   tf.constant([0.0, 0.0, 1.0])])


def crop(maps: list[tf.Tensor], window: tf.Tensor, size: int, affine: tf.Tensor,
         fills: list[tf.Tensor | float]) -> list[tf.Tensor]:
  """Resample the window (given in the coordinates of `affine` applied to the maps).

  Args:
    maps: `[H, W, C_i]` float32 sources of one size, resampled one by one (no
      full-resolution concatenation).
    window: `[3]` `(cx, cy, side)` in augmented edge coordinates.
    size: output side.
    affine: `[3, 3]` source -> augmented edge coordinates.
    fills: the value outside the source of each map, scalar or `[C_i]`.

  Returns:
    `[size, size, C_i]` float32 per map.
  """
  output_to_source = augment_lib.translation(-0.5, -0.5) @ tf.linalg.inv(affine) @ window_matrix(window, size)
  return [augment_lib.warp(m, output_to_source, size, fill) for m, fill in zip(maps, fills)]


def _binary(x: tf.Tensor) -> tf.Tensor:
  return tf.cast(x > 0.5, tf.float32)


def perturb_mask(mask: tf.Tensor, key: tf.Tensor, max_radius: int) -> tf.Tensor:
  """A binary `[S, S, 1]` mask dilated (or, equally likely, eroded) by r 3 x 3 steps,
  r uniform in {0, ..., max_radius} (`PairConfig.template_mask_noise`); an erosion
  that would leave nothing keeps the mask."""
  k_radius, k_sign = tf.unstack(tf.random.experimental.stateless_split(key, 2))
  radius = tf.random.stateless_uniform([], k_radius, 0, max_radius + 1, dtype=tf.int32)
  erode = tf.random.stateless_uniform([], k_sign) < 0.5
  x = tf.where(erode, 1.0 - mask, mask)[None]
  x = tf.while_loop(lambda i, _: i < radius,
                    lambda i, y: (i + 1, tf.nn.max_pool2d(y, 3, 1, "SAME")), (0, x))[1][0]
  x = tf.where(erode, 1.0 - x, x)
  return tf.where(tf.reduce_any(x > 0.5), x, mask)  # never erode the object away


def make_pair(template: Frame, search: Frame, affine: tf.Tensor, key: tf.Tensor,
              config: PairConfig) -> dict[str, tf.Tensor]:
  """Crop a template from `template` and a search region from `affine(search)`.

  Args:
    template: the template view.
    search: the search view (the same frame for static images, another frame for videos).
    affine: `[3, 3]` source -> augmented map applied to the search view.
    key: `[2]` int stateless seed.
    config: geometry and augmentation.

  Returns:
    `template_image`, `search_image` `[S, S, 3]`; `template_mask`, `template_hotspot`,
    `search_mask`, `search_hotspot` `[S, S, 1]`; `valid` scalar bool (the template
    object is non-empty).
  """
  size = config.image_size
  k_window, k_template_colour, k_search_colour = tf.unstack(tf.random.experimental.stateless_split(key, 3))
  template_box, valid = mask_box(template.mask)
  t_image, t_mask, t_guidance = crop(
      [template.image, template.mask, template.guidance], template_window(template_box, config.template_context),
      size, tf.eye(3), [tf.reduce_mean(template.image, [0, 1]), 0.0, 0.0])

  points = pixel_centres(search.mask)
  moved = points @ tf.transpose(affine[:2, :2]) + affine[:2, 2]
  search_box, search_nonempty = points_box(moved, tf.shape(search.mask))
  corners = tf.reshape(tf.gather(template_box, [0, 1, 2, 1, 0, 3, 2, 3]), [4, 2])
  corners = corners @ tf.transpose(affine[:2, :2]) + affine[:2, 2]
  fallback_box = tf.concat([tf.reduce_min(corners, 0), tf.reduce_max(corners, 0)], 0)
  search_box = tf.where(search_nonempty, search_box, fallback_box)
  window = search_window(search_box, k_window, config.search_context, config.search_jitter, config.search_scale)
  s_image, s_mask, s_hotspot = crop([search.image, search.mask, search.hotspot], window, size, affine,
                                    [tf.reduce_mean(search.image, [0, 1]), 0.0, 0.0])

  t_mask = _binary(t_mask)
  if config.template_mask_noise > 0:  # its own key: the other draws stay those of a noise-free pair
    t_mask = perturb_mask(t_mask, tf.random.experimental.stateless_fold_in(key, 7),
                          int(round(config.template_mask_noise * size)))
  return {
      "template_image": augment_lib.colour_jitter(t_image, k_template_colour, config.augment),
      "template_mask": t_mask,
      "template_hotspot": tf.clip_by_value(t_guidance, 0.0, 1.0),
      "search_image": augment_lib.colour_jitter(s_image, k_search_colour, config.augment),
      "search_mask": _binary(s_mask),
      "search_hotspot": _binary(s_hotspot),
      "valid": valid,
  }


def static_pair(frame: Frame, key: tf.Tensor, config: PairConfig) -> dict[str, tf.Tensor]:
  """A pair from one image: the search view is the image under a random affine map."""
  k_affine, k_pair = tf.unstack(tf.random.experimental.stateless_split(key, 2))
  return make_pair(frame, frame, _image_affine(frame.image, k_affine, config), k_pair, config)


def _image_affine(image: tf.Tensor, key: tf.Tensor, config: PairConfig) -> tf.Tensor:
  """A random affine map about the centre of an `[H, W, C]` image."""
  hw = tf.cast(tf.shape(image)[:2], tf.float32)
  return augment_lib.random_affine(key, tf.reverse(hw, [0]) / 2, config.augment)


def select_frames(has_mask: tf.Tensor, key: tf.Tensor, max_gap: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Template and search frame indices of a video.

  The template frame is uniform over annotated frames; the search frame is uniform over
  the other annotated frames at most `max_gap` away (the template frame itself when
  there is none).

  Args:
    has_mask: `[T]` bool, which frames have ground truth (at least one must).
    key: `[2]` int stateless seed.
    max_gap: largest frame distance.

  Returns:
    Two int32 scalars `(template, search)`.
  """
  u = tf.random.stateless_uniform([2], key)
  index = tf.range(tf.shape(has_mask)[0])
  annotated = tf.boolean_mask(index, has_mask)
  tf.debugging.assert_positive(tf.size(annotated), message="video example has no annotated frame")
  a = _uniform_element(annotated, u[0])
  near = tf.boolean_mask(index, has_mask & (tf.abs(index - a) <= max_gap) & (index != a))
  b = tf.cond(tf.size(near) > 0, lambda: _uniform_element(near, u[1]), lambda: a)
  return a, b


def _uniform_element(values: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
  """`values[floor(u * n)]` for `u` in [0, 1), guarded against float rounding up to n."""
  n = tf.size(values)
  return values[tf.minimum(tf.cast(u * tf.cast(n, tf.float32), tf.int32), n - 1)]


def video_pair(template: Frame, search: Frame, key: tf.Tensor, config: PairConfig) -> dict[str, tf.Tensor]:
  """A pair from two frames of a video (`select_frames`)."""
  if not config.video_affine:
    return make_pair(template, search, tf.eye(3), key, config)
  k_affine, k_pair = tf.unstack(tf.random.experimental.stateless_split(key, 2))
  return make_pair(template, search, _image_affine(search.image, k_affine, config), k_pair, config)
