"""What every builder of this package shares: reading a manual download, split by split.

The datasets cannot be downloaded by TFDS (licences, registration forms), so each
builder reads the user's extracted download from `manual_dir`. A download may hold
only some of a dataset's splits (the DAVIS sample of this project ships only the
validation list); a builder then builds the splits it finds and logs which it skipped
and why. A caller that needs a split says so with `splits=...`: a requested split that
is missing is an error naming the file or folder that would have defined it.
"""
from __future__ import annotations

import abc
import pathlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from absl import logging
import tensorflow_datasets as tfds


class ManualBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A `GeneratorBasedBuilder` that reads the splits found in `manual_dir`.

  Subclasses set `SPLIT_NAMES`, `MANUAL_DOWNLOAD_INSTRUCTIONS`, `_info`, and implement
  `_find_splits` and `_generate_examples`.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}
  SPLIT_NAMES: tuple[str, ...] = ()

  def __init__(self, *, splits: Sequence[str] | None = None, **kwargs):
    """Creates the builder.

    Args:
      splits: the splits that must be built (default: all those found).
      **kwargs: of `tfds.core.GeneratorBasedBuilder` (data_dir, ...).

    Raises:
      ValueError: a split name the dataset does not have.
    """
    if splits is not None:
      unknown = [s for s in splits if s not in self.SPLIT_NAMES]
      if unknown or not splits:
        raise ValueError(f"{self.name}: unknown split(s) {unknown or list(splits)}; "
                         f"expected a non-empty subset of {list(self.SPLIT_NAMES)}")
    self._requested_splits = None if splits is None else tuple(splits)
    super().__init__(**kwargs)

  @abc.abstractmethod
  def _find_splits(self, root: pathlib.Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Looks for the splits in the download.

    Args:
      root: the manual directory.

    Returns:
      (found, missing): `found` maps a split name to what `_generate_examples` reads
      for it; `missing` maps each split not found to the reason (the file or folder
      that would define it).
    """

  @abc.abstractmethod
  def _generate_examples(self, source: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yields (key, example) for one split, from what `_find_splits` found."""

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    root = pathlib.Path(dl_manager.manual_dir)
    found, missing = self._find_splits(root)
    if self._requested_splits is not None:
      absent = [s for s in self._requested_splits if s not in found]
      if absent:
        reasons = "; ".join(f"{s}: {missing.get(s, 'not found')}" for s in absent)
        raise FileNotFoundError(f"{self.name}: requested split(s) {absent} not in {root} "
                                f"({reasons})")
      found = {s: found[s] for s in self._requested_splits}
    if not found:
      reasons = "; ".join(f"{s}: {r}" for s, r in missing.items())
      raise FileNotFoundError(
          f"{self.name}: no split found in {root} ({reasons}). Expected layout:\n"
          f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
    skipped = {s: r for s, r in missing.items() if s not in found}
    logging.info("%s: building split(s) %s from %s", self.name, ", ".join(found), root)
    for split, reason in skipped.items():
      logging.warning("%s: split %s not built: %s", self.name, split, reason)
    return {split: self._generate_examples(source) for split, source in found.items()}
