"""A tracker run on every sequence of a benchmark, into the results folder `scoring` reads.

Each sequence goes through `wcs_jax.inference.session.track_to_folder`, initialised
(`INITS`) automatically (the paper's protocol: the first frame's most salient object)
or from the first frame's ground truth: the mask itself, one click at the point of the
mask farthest from its boundary, or its bounding box (`first_frame_prompt`). That
writes the tracker's outputs under frame indices (`OUT/masks/%05d.png`, hotspots,
tracklets.json); a benchmark names its frames (`layouts`: `00000` on DAVIS, the image
stem on SegTrackv2, `frame0021` on YouTube-Objects), so each sequence is tracked into
a scratch folder, mask k is moved to `TRACKS/<sequence>/<name of frame k>.png` (the
`PRED` layout of `scoring`), and the rest of the scratch folder is removed.

`hold_first_mask` writes the baseline every tracker must beat: each sequence's first
ground-truth mask, held still over all its frames.
"""
from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from wcs_jax.evaluation import layouts
from wcs_jax.evaluation import scoring
from wcs_jax.inference import session
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io import files
from wcs_jax.io import masks as masks_io
from wcs_jax.io.video import read_image


INITS = ("auto", "mask", "click", "box")


def first_frame_prompt(sequence: layouts.VideoSequence, init: str) -> dict[str, Any]:
  """The prompt of `init` from the ground truth of the sequence's first frame.

  Returns:
    Keyword arguments of `Tracker.track`: {} for "auto"; {"mask": [H, W] bool} for
    "mask"; {"clicks": [(x, y)]} for "click", the pixel of the mask farthest from its
    boundary (Euclidean distance transform; the frame's edge counts as boundary; on
    ties the one nearest the mask's centroid, then the first in row-major order);
    {"boxes": [(x0, y0, x1, y1)]} for "box", the mask's bounding box in edge
    coordinates.

  Raises:
    ValueError: unknown `init`, or a first frame without ground truth or with an empty one.
  """
  if init not in INITS:
    raise ValueError(f"--init must be one of {list(INITS)}, got {init!r}")
  if init == "auto":
    return {}
  first = sequence.frames[0]
  if not first.annotations:
    raise ValueError(f"--init {init} needs the ground truth of the first frame of sequence {sequence.name} "
                     f"({first.name}); it has none")
  mask = scoring.read_ground_truth(first)
  if not mask.any():
    raise ValueError(f"--init {init}: the ground truth of the first frame of sequence {sequence.name} "
                     f"({', '.join(map(str, first.annotations))}) is empty")
  return prompt_from_mask(mask, init)


def prompt_from_mask(mask: np.ndarray, init: str) -> dict[str, Any]:
  """`first_frame_prompt`'s prompt of `init` ("mask", "click" or "box") from a
  non-empty `[H, W]` bool ground-truth mask."""
  if init == "mask":
    return {"mask": mask}
  if init == "box":
    ys, xs = np.nonzero(mask)
    return {"boxes": [(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))]}
  distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
  ys, xs = np.nonzero(distance == distance.max())
  centroid_y, centroid_x = (float(c.mean()) for c in np.nonzero(mask))
  best = int(np.argmin((ys - centroid_y) ** 2 + (xs - centroid_x) ** 2))  # first of equals: row-major
  return {"clicks": [(float(xs[best]), float(ys[best]))]}


def first_frame_prompts(sequences: Sequence[layouts.VideoSequence], init: str) -> dict[str, dict[str, Any]]:
  """{sequence name: `first_frame_prompt`} for every sequence: fails before any tracking."""
  return {sequence.name: first_frame_prompt(sequence, init) for sequence in sequences}


def track_sequences(tracker: Tracker, sequences: Sequence[layouts.VideoSequence],
                    tracks_dir: pathlib.Path, init: str = "auto",
                    prompts: dict[str, dict[str, Any]] | None = None) -> float:
  """Segments every sequence with `tracker`; writes `tracks_dir/<sequence>/<frame>.png`.

  Args:
    tracker: e.g. `Tracker.from_workdir(RUN)`.
    sequences: from `layouts.read_sequences`, each with its frames' images.
    tracks_dir: receives one palette mask per frame (module docstring).
    init: "auto" (the paper's protocol), "mask", "click" or "box" (`first_frame_prompt`).
    prompts: `first_frame_prompts(sequences, init)` if already computed.

  Returns:
    Seconds per frame of tracking, over all sequences: the network and crop/paste
    time of every frame (`session.Summary`), the first frame of each sequence (which
    initialises the target) counted whole; reading and writing the other frames is
    left out.

  Raises:
    FileNotFoundError: a sequence without its frames (YouTube-Objects without images/).
  """
  prompts = first_frame_prompts(sequences, init) if prompts is None else prompts
  seconds, count = 0.0, 0
  for sequence in sequences:
    files.require_dir(sequence.images_dir, f"the frames of sequence {sequence.name}, to track")
    sequence_dir = tracks_dir / sequence.name
    sequence_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tracks_dir, prefix=f".{sequence.name}.") as scratch:
      summary = session.track_to_folder(
          tracker, (read_image(frame.image) for frame in sequence.frames), scratch,
          init=init, total=len(sequence.frames), overlay_video=False, label=f"sequence {sequence.name}",
          **prompts[sequence.name])
      for index, frame in enumerate(sequence.frames):
        os.replace(pathlib.Path(scratch) / "masks" / f"{index:05d}.png",
                   sequence_dir / f"{frame.name}.png")
    seconds += summary.first_frame + (summary.network + summary.crop_paste) * (summary.frames - 1)
    count += summary.frames
  return seconds / max(count, 1)


def hold_first_mask(sequences: Sequence[layouts.VideoSequence], tracks_dir: pathlib.Path) -> None:
  """The held-still baseline: every frame of a sequence gets its first frame's
  ground-truth mask, written as `tracks_dir/<sequence>/<frame>.png` (a tracker that
  never moves; a moving object leaves it, so a trained tracker must beat it).

  Raises:
    ValueError: a first frame without ground truth or with an empty one.
  """
  try:
    first_masks = {s.name: first_frame_prompt(s, "mask")["mask"] for s in sequences}
  except ValueError as error:
    raise ValueError(str(error).replace("--init mask", "--hold-first-mask")) from None
  for sequence in sequences:
    sequence_dir = tracks_dir / sequence.name
    sequence_dir.mkdir(parents=True, exist_ok=True)
    label_map = first_masks[sequence.name].astype(np.uint8)
    for frame in sequence.frames:
      masks_io.write_palette_png(sequence_dir / f"{frame.name}.png", label_map)
