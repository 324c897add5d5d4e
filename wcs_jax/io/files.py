"""Checked access to the folders and files of a dataset download.

Every function fails with an error that names the file or folder and says what was
expected there, so a user with a partial or damaged download knows what to fix: a
missing folder or file is a `FileNotFoundError`, a folder or list whose content is
not what its layout expects a `LayoutError`. Used by the dataset layouts
(`wcs_jax.evaluation.layouts`) and by every TFDS builder (`input_pipeline.datasets`).
"""
from __future__ import annotations

import pathlib

from wcs_jax.io.video import IMAGE_EXTENSIONS


class LayoutError(ValueError):
  """A folder or file of a download that is not in the layout its dataset expects."""


def require_dir(path: pathlib.Path, what: str) -> pathlib.Path:
  """Returns `path` if it is a folder; else raises naming it and its expected content."""
  if not path.is_dir():
    raise FileNotFoundError(f"{path}: folder not found; expected {what}")
  return path


def require_file(path: pathlib.Path, what: str) -> pathlib.Path:
  """Returns `path` if it is a file; else raises naming it and its expected content."""
  if not path.is_file():
    raise FileNotFoundError(f"{path}: file not found; expected {what}")
  return path


def list_images(folder: pathlib.Path, what: str) -> list[pathlib.Path]:
  """Image files (`IMAGE_EXTENSIONS`, any case) of a folder, sorted by name.

  Raises:
    FileNotFoundError: no such folder.
    LayoutError: the folder holds no image file.
  """
  require_dir(folder, what)
  images = sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
  if not images:
    raise LayoutError(f"{folder}: no image file ({', '.join(IMAGE_EXTENSIONS)}); "
                      f"expected {what}")
  return images


def find_with_stem(folder: pathlib.Path, stem: str) -> pathlib.Path | None:
  """The image file `folder/stem.<ext>` for any of `IMAGE_EXTENSIONS`, or None."""
  for extension in IMAGE_EXTENSIONS:
    for candidate in (folder / f"{stem}{extension}", folder / f"{stem}{extension.upper()}"):
      if candidate.is_file():
        return candidate
  return None


def read_lines(path: pathlib.Path, what: str) -> list[str]:
  """Non-empty, stripped lines of a text file (e.g. a split list)."""
  require_file(path, what)
  return [line.strip() for line in path.read_text().splitlines() if line.strip()]
