"""Affine, scale and colour augmentation, and the resampling that applies them.

A static image becomes a template/search pair by drawing a random affine map `A` (scale,
rotation, shear, horizontal flip about the image centre) and reading the search crop
from the transformed image (see `pairs.py`). Geometry is done with 3x3 homogeneous
matrices in *edge* coordinates (pixel `i` covers `[i, i + 1)`), and every crop is one
resampling from the source image (`warp`), so an image is interpolated once however many
transforms are chained.

Randomness is stateless: every draw takes a `[2]` int key (see `sampling.py`), so an
example's augmentation is a pure function of its key.
"""
import dataclasses
import math

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  """Ranges of the random augmentation.

  Attributes:
    scale: the scale factor is log-uniform in `[1 / (1 + scale), 1 + scale]`.
    rotation: rotation angle uniform in `[-rotation, rotation]` degrees.
    shear: horizontal shear factor uniform in `[-shear, shear]`.
    flip: probability of a horizontal flip.
    brightness: additive brightness delta uniform in `[-brightness, brightness]`.
    contrast: contrast factor uniform in `[1 - contrast, 1 + contrast]`.
    saturation: saturation factor uniform in `[1 - saturation, 1 + saturation]`.
    hue: hue delta uniform in `[-hue, hue]` (fraction of the hue circle).
  """
  scale: float = 0.15
  rotation: float = 10.0
  shear: float = 0.05
  flip: float = 0.5
  brightness: float = 0.15
  contrast: float = 0.2
  saturation: float = 0.2
  hue: float = 0.02

  def __post_init__(self):
    for name in ("scale", "rotation", "shear", "brightness", "contrast", "saturation"):
      if getattr(self, name) < 0:
        raise ValueError(f"AugmentConfig.{name} = {getattr(self, name)}: expected >= 0")
    if not 0 <= self.flip <= 1:
      raise ValueError(f"AugmentConfig.flip = {self.flip}: expected a probability in [0, 1]")
    if not 0 <= self.hue <= 0.5:
      raise ValueError(f"AugmentConfig.hue = {self.hue}: expected a value in [0, 0.5]")
    if self.contrast >= 1 or self.saturation >= 1:
      raise ValueError("AugmentConfig.contrast and .saturation must be < 1 (factors stay positive)")


NO_AUGMENT = AugmentConfig(scale=0.0, rotation=0.0, shear=0.0, flip=0.0, brightness=0.0,
                           contrast=0.0, saturation=0.0, hue=0.0)


def translation(dx, dy) -> tf.Tensor:
  """`[3, 3]` float32 matrix `p -> p + (dx, dy)` in `(x, y)` coordinates."""
  dx, dy = tf.cast(dx, tf.float32), tf.cast(dy, tf.float32)
  return tf.stack([tf.stack([1.0, 0.0, dx]), tf.stack([0.0, 1.0, dy]), tf.constant([0.0, 0.0, 1.0])])


def random_affine(key: tf.Tensor, centre: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
  """A random affine map about `centre`, from source to augmented edge coordinates.

  Args:
    key: `[2]` int stateless seed.
    centre: `[2]` float `(x, y)`, the fixed point of the map (the image centre).
    config: the ranges.

  Returns:
    `[3, 3]` float32 matrix `A`, `(x', y', 1) = A (x, y, 1)`.
  """
  u = tf.random.stateless_uniform([5], key, -1.0, 1.0)
  log_scale = u[0] * math.log1p(config.scale)
  theta = u[1] * math.radians(config.rotation)
  shear = u[2] * config.shear
  flip = tf.where((u[3] + 1.0) / 2.0 < config.flip, -1.0, 1.0)
  s = tf.exp(log_scale)
  cos, sin = tf.cos(theta), tf.sin(theta)
  # rotation @ shear @ scale @ flip, as one 2x2 block.
  linear = tf.stack([tf.stack([cos, -sin]), tf.stack([sin, cos])])
  linear = linear @ tf.stack([tf.stack([1.0, shear]), tf.constant([0.0, 1.0])])
  linear = linear * s @ tf.linalg.diag(tf.stack([flip, 1.0]))
  block = tf.concat([tf.concat([linear, tf.zeros([2, 1])], 1), tf.constant([[0.0, 0.0, 1.0]])], 0)
  return translation(centre[0], centre[1]) @ block @ translation(-centre[0], -centre[1])


# RGB -> YIQ (NTSC): Y is the luma that saturation blends towards; a hue shift rotates
# the (I, Q) chroma plane about the grey axis.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def colour_transform(image: tf.Tensor, brightness, contrast, saturation, hue) -> tf.Tensor:
  """Brightness, contrast, saturation and hue changes of an RGB image, in that order.

  - brightness: `x + brightness`;
  - contrast: `c (x - mean) + mean`, the mean per channel over the image (as
    `tf.image.adjust_contrast`);
  - saturation: `luma + s (x - luma)` (as PIL's `ImageEnhance.Color`);
  - hue: rotation by `hue` turns of the chroma plane of YIQ space.

  All four are affine in the colour, so they compose into one 3x3 matrix and an offset
  applied once per pixel: on CPU about 10x faster than `tf.image`'s HSV round trips,
  which cost more than the crops themselves. The result is clipped to [0, 1] once, at
  the end.

  Args:
    image: `[H, W, 3]` float32 in [0, 1].
    brightness, contrast, saturation, hue: scalars (0, 1, 1, 0 leave the image as is).

  Returns:
    `[H, W, 3]` float32 in [0, 1].
  """
  angle = 2.0 * math.pi * tf.cast(hue, tf.float32)
  cos, sin = tf.cos(angle), tf.sin(angle)
  rotation = tf.stack([tf.constant([1.0, 0.0, 0.0]), tf.stack([0.0, cos, -sin]), tf.stack([0.0, sin, cos])])
  hue_matrix = tf.constant(_YIQ_TO_RGB, tf.float32) @ rotation @ tf.constant(_RGB_TO_YIQ, tf.float32)
  luma = tf.constant(_RGB_TO_YIQ[0], tf.float32)
  s = tf.cast(saturation, tf.float32)
  saturation_matrix = s * tf.eye(3) + (1.0 - s) * tf.ones([3, 1]) * luma[None, :]
  colour = hue_matrix @ saturation_matrix
  c = tf.cast(contrast, tf.float32)
  mean = tf.reduce_mean(image, [0, 1])
  offset = tf.linalg.matvec(colour, tf.cast(brightness, tf.float32) + (1.0 - c) * mean)
  out = tf.einsum("hwc,dc->hwd", image, c * colour) + offset
  return tf.clip_by_value(out, 0.0, 1.0)


def colour_jitter(image: tf.Tensor, key: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
  """Random brightness, contrast, saturation and hue (`colour_transform`) of a
  `[H, W, 3]` image in [0, 1], each uniform in its `config` range."""
  u = tf.random.stateless_uniform([4], key, -1.0, 1.0)
  return colour_transform(image, u[0] * config.brightness, 1.0 + u[1] * config.contrast,
                          1.0 + u[2] * config.saturation, u[3] * config.hue)


def warp(image: tf.Tensor, output_to_source: tf.Tensor, size: int, fill: tf.Tensor | float = 0.0) -> tf.Tensor:
  """Bilinear resampling of `image` on an `size x size` grid.

  Two kernels: an axis-aligned map (scale, translation, flip: every template crop and
  unrotated search crop) goes through `tf.image.crop_and_resize`, which on CPU runs
  5-10x faster than the general `ImageProjectiveTransformV3` used for rotation and
  shear. They agree except on the one-pixel rim where the window leaves the image (the
  first fills whole pixels, the second blends with the fill); tests check the parity.

  Args:
    image: `[H, W, C]` float32 or uint8.
    output_to_source: `[3, 3]` affine matrix from output pixel indices to source pixel
      indices (integer = pixel centre).
    size: output side.
    fill: value outside the source image, a scalar or a `[C]` vector (e.g. the mean
      colour, the padding convention of siamese trackers).

  Returns:
    `[size, size, C]` float32.
  """
  m = output_to_source / output_to_source[2, 2]
  aligned = tf.abs(m[0, 1]) + tf.abs(m[1, 0]) < 1e-6
  return tf.cond(aligned, lambda: warp_aligned(image, m, size, fill),
                 lambda: warp_projective(image, m, size, fill))


def warp_aligned(image: tf.Tensor, output_to_source: tf.Tensor, size: int, fill: tf.Tensor | float) -> tf.Tensor:
  """`warp` for a matrix without rotation or shear (its off-diagonal terms are ignored)."""
  m = output_to_source
  hw = tf.cast(tf.shape(image)[:2], tf.float32)
  last = float(size - 1)
  # Source index coordinates of the first and last output rows/columns; a flip makes the
  # box run backwards, which crop_and_resize supports.
  y0, y1 = m[1, 2], m[1, 1] * last + m[1, 2]
  x0, x1 = m[0, 2], m[0, 0] * last + m[0, 2]
  box = tf.stack([y0 / (hw[0] - 1), x0 / (hw[1] - 1), y1 / (hw[0] - 1), x1 / (hw[1] - 1)])
  out = tf.image.crop_and_resize(image[None], box[None], [0], [size, size], extrapolation_value=0.0)[0]
  r = tf.range(size, dtype=tf.float32)
  ys, xs = m[1, 1] * r + m[1, 2], m[0, 0] * r + m[0, 2]
  inside_y = tf.cast((ys >= 0) & (ys <= hw[0] - 1), tf.float32)
  inside_x = tf.cast((xs >= 0) & (xs <= hw[1] - 1), tf.float32)
  outside = 1.0 - inside_y[:, None, None] * inside_x[None, :, None]
  return out + outside * tf.cast(fill, tf.float32)


def warp_projective(image: tf.Tensor, output_to_source: tf.Tensor, size: int, fill: tf.Tensor | float) -> tf.Tensor:
  """`warp` for any affine matrix."""
  image = tf.cast(image, tf.float32)
  fill = tf.broadcast_to(tf.cast(fill, tf.float32), tf.shape(image)[-1:])
  transform = tf.reshape(output_to_source, [9])[:8][None]
  # The op fills with one scalar: resample the image relative to `fill`, then add it back.
  out = tf.raw_ops.ImageProjectiveTransformV3(
      images=(image - fill)[None], transforms=transform, output_shape=tf.constant([size, size]),
      fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
  return out[0] + fill
