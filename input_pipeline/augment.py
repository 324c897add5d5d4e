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


def colour_jitter(image: tf.Tensor, key: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
  """Random brightness, contrast, saturation and hue of a `[H, W, 3]` image in [0, 1]."""
  keys = tf.random.experimental.stateless_split(key, 4)
  if config.brightness > 0:
    image = tf.image.stateless_random_brightness(image, config.brightness, keys[0])
  if config.contrast > 0:
    image = tf.image.stateless_random_contrast(image, 1 - config.contrast, 1 + config.contrast, keys[1])
  if config.saturation > 0:
    image = tf.image.stateless_random_saturation(image, 1 - config.saturation, 1 + config.saturation, keys[2])
  if config.hue > 0:
    image = tf.image.stateless_random_hue(image, config.hue, keys[3])
  return tf.clip_by_value(image, 0.0, 1.0)


def warp(image: tf.Tensor, output_to_source: tf.Tensor, size: int, fill: tf.Tensor | float = 0.0) -> tf.Tensor:
  """Bilinear resampling of `image` on an `size x size` grid.

  Args:
    image: `[H, W, C]` float32.
    output_to_source: `[3, 3]` matrix from output pixel indices to source pixel indices
      (integer = pixel centre).
    size: output side.
    fill: value outside the source image, a scalar or a `[C]` vector (e.g. the mean
      colour, the padding convention of siamese trackers).

  Returns:
    `[size, size, C]` float32.
  """
  fill = tf.broadcast_to(tf.cast(fill, tf.float32), tf.shape(image)[-1:])
  m = output_to_source / output_to_source[2, 2]
  transform = tf.reshape(m, [9])[:8][None]
  # The op fills with one scalar: resample the image relative to `fill`, then add it back.
  out = tf.raw_ops.ImageProjectiveTransformV3(
      images=(image - fill)[None], transforms=transform, output_shape=tf.constant([size, size]),
      fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
  return out[0] + fill
