"""Decoding and checking the files of a manual download, shared by every builder.

Every function here fails with an error that names the file and says what was
expected there, so a user with a partial or damaged download knows what to fix (the
folders and file lists of a download are checked by `wcs_jax.io.files`).

Images go into the records as the encoded bytes they were downloaded as when those
are a JPEG or PNG in RGB (no re-encoding loss, no growth); anything else (BMP, grey,
palette, CMYK, RGBA) is converted to RGB and stored as PNG. Every image is fully
decoded once while building, so a truncated or corrupt file fails the build rather
than a training run. Masks are stored as single-channel PNG with values 0/1, whatever
their source encoding (`wcs_jax.io.masks.read_binary_mask`: palette ids > 0, 0/255 or
0/1 greyscale, JPEG-compressed 0/255 thresholded at 128).
"""
from __future__ import annotations

import dataclasses
import io
import pathlib

import cv2
import numpy as np
from PIL import Image

from wcs_jax.io import files
from wcs_jax.io import masks as masks_lib


class DownloadError(ValueError):
  """A file of a manual download that is unreadable or not what its dataset expects."""


@dataclasses.dataclass(frozen=True)
class EncodedImage:
  """An RGB image ready for a `tfds.features.Image` feature.

  Attributes:
    data: JPEG or PNG bytes that decode to `[height, width, 3]` uint8.
    height: pixels.
    width: pixels.
  """
  data: bytes
  height: int
  width: int

  @property
  def size(self) -> tuple[int, int]:
    """(width, height)."""
    return self.width, self.height


def read_rgb(path: pathlib.Path) -> EncodedImage:
  """Decodes an image file and returns it encoded for the records.

  Raises:
    FileNotFoundError: no such file.
    DownloadError: the file does not decode as an image.
  """
  files.require_file(path, "an image (JPEG, PNG or BMP)")
  data = path.read_bytes()
  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except (OSError, SyntaxError, ValueError) as error:
    raise DownloadError(f"{path}: cannot be decoded as an image ({error}); expected a "
                        "readable JPEG, PNG or BMP file") from error
  if image.format in ("JPEG", "PNG") and image.mode == "RGB":
    return EncodedImage(data, image.height, image.width)
  rgb = np.asarray(image.convert("RGB"))
  return EncodedImage(encode_png(rgb), image.height, image.width)


def encode_png(pixels: np.ndarray) -> bytes:
  """PNG bytes of `[H, W]`, `[H, W, 1]` (grey) or `[H, W, 3]` (RGB) uint8 pixels."""
  pixels = np.asarray(pixels, np.uint8)
  if pixels.ndim == 3 and pixels.shape[-1] == 3:
    pixels = pixels[..., ::-1]  # OpenCV encodes BGR.
  ok, buffer = cv2.imencode(".png", np.ascontiguousarray(pixels))
  if not ok:
    raise ValueError(f"PNG encoding failed for an array of shape {pixels.shape}")
  return buffer.tobytes()


def check_same_size(path: pathlib.Path, size: tuple[int, int], image_path: pathlib.Path,
                    image_size: tuple[int, int], what: str = "mask") -> None:
  """Raises DownloadError if a `what` (at `path`, (W, H) `size`) differs from its image."""
  if tuple(size) != tuple(image_size):
    raise DownloadError(
        f"{path}: {what} is {size[0]}x{size[1]} but its image {image_path} is "
        f"{image_size[0]}x{image_size[1]}; expected the same size")


def read_binary_mask(path: pathlib.Path, image_path: pathlib.Path,
                     image_size: tuple[int, int]) -> np.ndarray:
  """Reads a mask as foreground/background and checks it matches its image.

  Args:
    path: mask file (palette, 0/255 or 0/1 greyscale PNG, JPEG, BMP).
    image_path: the image it annotates (for the error message).
    image_size: (W, H) of that image.

  Returns:
    `[H, W]` bool.

  Raises:
    FileNotFoundError: no such file.
    DownloadError: unreadable mask, or a size other than the image's.
  """
  try:
    mask = masks_lib.read_binary_mask(path)
  except masks_lib.MaskFormatError as error:
    raise DownloadError(f"{error}; expected a binary or palette mask") from error
  check_same_size(path, (mask.shape[1], mask.shape[0]), image_path, image_size)
  return mask


def read_grey(path: pathlib.Path, what: str) -> np.ndarray:
  """Reads a greyscale map (e.g. a saliency map) as `[H, W]` uint8.

  Raises:
    FileNotFoundError: no such file.
    DownloadError: unreadable, or not 8-bit greyscale (RGB with equal channels is
      accepted).
  """
  files.require_file(path, what)
  try:
    image = Image.open(path)
    image.load()
  except (OSError, SyntaxError, ValueError) as error:
    raise DownloadError(f"{path}: cannot be decoded as an image ({error}); expected "
                        f"{what}") from error
  pixels = np.asarray(image)
  if pixels.ndim == 3:
    colour = pixels[..., :3]
    if not (np.array_equal(colour[..., 0], colour[..., 1])
            and np.array_equal(colour[..., 0], colour[..., 2])):
      raise DownloadError(f"{path}: a colour image; expected {what} (greyscale)")
    pixels = colour[..., 0]
  if pixels.dtype != np.uint8:
    raise DownloadError(f"{path}: {pixels.dtype} pixels; expected {what} as 8-bit greyscale")
  return pixels


def mask_png(mask: np.ndarray) -> bytes:
  """PNG bytes of a `[H, W]` bool/0-1 mask as single-channel uint8 0/1."""
  return encode_png(np.asarray(mask, bool).astype(np.uint8))

