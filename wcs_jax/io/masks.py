"""Segmentation masks on disk: label maps (object ids) and binary masks as PNG.

Reading accepts the encodings the benchmarks and methods ship:

* palette PNG (mode "P", the DAVIS convention): pixel value = object id, 0 is
  background; the palette itself (colours) is ignored;
* binary 8-bit greyscale with values {0, 255} (DAVIS-2016 and SegTrackv2 ground truth,
  most methods' binary output), read as ids {0, 1};
* greyscale with small integer ids (all values < 128, e.g. {0, 1} or {0, 1, 2}),
  read as they are;
* only in `read_binary_mask`: lossy or anti-aliased masks (JPEG ground truth of
  YouTube-Objects), foreground where the value is >= 128.

RGB(A) files are accepted when their colour channels are equal (a greyscale mask saved
as RGB); a coloured RGB mask is ambiguous (which colour is which object?) and is
refused. Every error names the file.

Writing produces palette PNGs with the DAVIS palette (the PASCAL VOC colour map:
object 1 red, 2 green, 3 yellow, ...), which the DAVIS tools, this project's tracker
(`OUT/masks/%05d.png`) and `tools/evaluate.py` all read back as object ids.
"""
from __future__ import annotations

import functools
import os
import pathlib

import numpy as np
from PIL import Image

# Greyscale values at or above this are foreground where a mask is neither {0, 255}
# nor small ids: halfway between the two levels of an 8-bit binary mask.
BINARY_THRESHOLD = 128


class MaskFormatError(ValueError):
  """A mask file that cannot be read as a label map or binary mask."""


@functools.cache
def davis_palette() -> np.ndarray:
  """The DAVIS / PASCAL VOC colour map.

  Colour of id i: the bits of i, three at a time (red, green, blue), are written
  from the most significant bit of each channel down.

  Returns:
    `[256, 3]` uint8, read-only.
  """
  ids = np.arange(256)
  palette = np.zeros((256, 3), np.int64)
  for bit in range(8):
    for channel in range(3):
      palette[:, channel] |= ((ids >> (3 * bit + channel)) & 1) << (7 - bit)
  palette = palette.astype(np.uint8)
  palette.setflags(write=False)
  return palette


def _open(path: str | os.PathLike) -> Image.Image:
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"mask file not found: {path}")
  try:
    image = Image.open(path)
    image.load()
  except (OSError, SyntaxError) as error:
    raise MaskFormatError(f"{path}: not a readable image ({error})") from error
  return image


def _grey_values(image: Image.Image, path: pathlib.Path) -> np.ndarray:
  """Pixel values of a non-palette image as `[H, W]` int64."""
  if image.mode == "1":
    return np.asarray(image, dtype=np.int64)
  array = np.asarray(image)
  if array.ndim == 3:
    colour = array[..., :3]
    if not (np.array_equal(colour[..., 0], colour[..., 1])
            and np.array_equal(colour[..., 0], colour[..., 2])):
      raise MaskFormatError(
          f"{path}: a colour ({image.mode}) mask is ambiguous; expected a palette PNG "
          "(object ids) or a greyscale PNG (0/255 binary, or small integer ids)")
    array = colour[..., 0]
  if array.dtype.kind not in "ui":
    raise MaskFormatError(f"{path}: mask pixels of type {array.dtype}, expected integers")
  return array.astype(np.int64)


def read_label_map(path: str | os.PathLike) -> np.ndarray:
  """Reads a mask as object ids.

  Args:
    path: a palette PNG (ids), a {0, 255} greyscale PNG (ids {0, 1}) or a greyscale
      PNG of small ids (all values < 128).

  Returns:
    `[H, W]` uint8, 0 = background, 1..N = objects.

  Raises:
    FileNotFoundError: no such file.
    MaskFormatError: not an image, a colour image, or greyscale values that are
      neither binary {0, 255} nor small ids (a JPEG or anti-aliased mask: use
      `read_binary_mask`).
  """
  path = pathlib.Path(path)
  image = _open(path)
  if image.mode == "P":
    return np.asarray(image, dtype=np.uint8)
  values = _grey_values(image, path)
  present = np.unique(values)
  if np.all(np.isin(present, (0, 255))):
    return (values == 255).astype(np.uint8)
  if present.max() < BINARY_THRESHOLD and present.min() >= 0:
    return values.astype(np.uint8)
  raise MaskFormatError(
      f"{path}: greyscale values {present[:8].tolist()}{'...' if present.size > 8 else ''} "
      "are neither a binary mask {0, 255} nor object ids < 128")


def read_binary_mask(path: str | os.PathLike) -> np.ndarray:
  """Reads a mask as foreground / background; every object id counts as foreground.

  Args:
    path: any encoding of the module docstring; lossy greyscale (JPEG) masks are
      foreground where the value is >= `BINARY_THRESHOLD`.

  Returns:
    `[H, W]` bool.

  Raises:
    FileNotFoundError: no such file.
    MaskFormatError: not an image, or a colour image.
  """
  path = pathlib.Path(path)
  image = _open(path)
  if image.mode == "P":
    return np.asarray(image) > 0
  values = _grey_values(image, path)
  if values.max(initial=0) < BINARY_THRESHOLD:
    return values > 0
  return values >= BINARY_THRESHOLD


def write_palette_png(path: str | os.PathLike, label_map: np.ndarray, compress_level: int = 6) -> None:
  """Writes object ids as a palette PNG with the DAVIS palette.

  Args:
    path: output file; its folder is created if missing.
    label_map: `[H, W]` integer or bool ids in 0..255, 0 = background.
    compress_level: zlib level 0..9 (PIL's default 6; 1 encodes an 854x480 mask ~3x
      faster, files ~1.5x larger).

  Raises:
    ValueError: not a 2-D integer/bool array, or ids outside 0..255.
  """
  path = pathlib.Path(path)
  label_map = np.asarray(label_map)
  if label_map.ndim != 2 or label_map.dtype.kind not in "uib":
    raise ValueError(
        f"{path}: expected a [H, W] integer label map, got {label_map.dtype} {label_map.shape}")
  if label_map.size and (label_map.min() < 0 or label_map.max() > 255):
    raise ValueError(f"{path}: object ids must lie in 0..255, got "
                     f"{label_map.min()}..{label_map.max()}")
  height, width = label_map.shape
  image = Image.frombytes("P", (width, height), np.ascontiguousarray(label_map, np.uint8).tobytes())
  image.putpalette(davis_palette().tobytes())
  path.parent.mkdir(parents=True, exist_ok=True)
  image.save(path, compress_level=compress_level)
