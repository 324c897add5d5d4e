"""Continuous maps on disk (gaze, hotspot, saliency) as greyscale PNG.

A map file is 8-bit or 16-bit greyscale (an RGB(A) file whose colour channels are
equal is accepted too: a greyscale map saved as colour); its values are scaled to
[0, 1] by the type's maximum (255 or 65535). Every error names the file.
"""
from __future__ import annotations

import os
import pathlib

import numpy as np
from PIL import Image


class MapFormatError(ValueError):
  """A file that cannot be read as a greyscale map."""


def read_map(path: str | os.PathLike) -> np.ndarray:
  """Reads a greyscale map.

  Args:
    path: an 8/16-bit greyscale image (PNG, JPEG, ...).

  Returns:
    `[H, W]` float32 in [0, 1].

  Raises:
    FileNotFoundError: no such file.
    MapFormatError: unreadable, a palette image, or a colour image.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"map file not found: {path}")
  try:
    image = Image.open(path)
    image.load()
  except (OSError, SyntaxError) as error:
    raise MapFormatError(f"{path}: not a readable image ({error})") from error
  if image.mode == "P":
    raise MapFormatError(f"{path}: a palette image is a label map, expected a greyscale map")
  array = np.asarray(image)
  if array.ndim == 3:
    colour = array[..., :3]
    if not (np.array_equal(colour[..., 0], colour[..., 1])
            and np.array_equal(colour[..., 0], colour[..., 2])):
      raise MapFormatError(f"{path}: a colour ({image.mode}) image, expected a greyscale map")
    array = colour[..., 0]
  if array.dtype == bool:
    return array.astype(np.float32)
  if array.dtype == np.uint8:
    return array.astype(np.float32) / 255.0
  if array.dtype in (np.uint16, np.int32) and image.mode.startswith("I"):
    return array.astype(np.float32) / 65535.0
  raise MapFormatError(f"{path}: pixels of mode {image.mode} ({array.dtype}), expected "
                       "8-bit or 16-bit greyscale")


def write_map(path: str | os.PathLike, values: np.ndarray, compress_level: int = 6) -> None:
  """Writes a map in [0, 1] as an 8-bit greyscale PNG.

  Args:
    path: output file; its folder is created if missing.
    values: `[H, W]` floats in [0, 1] (clipped), rounded to the nearest of 0..255 in
      their own precision, at least float32's.
    compress_level: zlib level 0..9 (PIL's default 6; 1 encodes ~2.7x faster and
      gives ~1.6x larger files on hotspot maps).
  """
  path = pathlib.Path(path)
  values = np.asarray(values)
  values = values.astype(np.result_type(values.dtype, np.float32), copy=False)
  if values.ndim != 2:
    raise ValueError(f"{path}: expected a [H, W] map, got shape {values.shape}")
  path.parent.mkdir(parents=True, exist_ok=True)
  pixels = np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)
  Image.fromarray(pixels).save(path, compress_level=compress_level)
