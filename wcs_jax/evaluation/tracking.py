"""A tracker run on every sequence of a benchmark, into the results folder `scoring` reads.

Each sequence goes through `wcs_jax.inference.session.track_to_folder` with automatic
initialisation (the paper's protocol: the first frame's most salient object). That
writes the tracker's outputs under frame indices (`OUT/masks/%05d.png`, hotspots,
tracklets.json); a benchmark names its frames (`layouts`: `00000` on DAVIS, the image
stem on SegTrackv2, `frame0021` on YouTube-Objects), so each sequence is tracked into
a scratch folder, mask k is moved to `TRACKS/<sequence>/<name of frame k>.png` (the
`PRED` layout of `scoring`), and the rest of the scratch folder is removed.
"""
from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Sequence

from wcs_jax.evaluation import layouts
from wcs_jax.inference import session
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io import files
from wcs_jax.io.video import read_image


def track_sequences(tracker: Tracker, sequences: Sequence[layouts.VideoSequence],
                    tracks_dir: pathlib.Path) -> float:
  """Segments every sequence with `tracker`; writes `tracks_dir/<sequence>/<frame>.png`.

  Args:
    tracker: e.g. `Tracker.from_workdir(RUN)`.
    sequences: from `layouts.read_sequences`, each with its frames' images.
    tracks_dir: receives one palette mask per frame (module docstring).

  Returns:
    Seconds per frame of tracking, over all sequences: the network and crop/paste
    time of every frame (`session.Summary`), the first frame of each sequence (which
    initialises the target) counted whole; reading and writing the other frames is
    left out.

  Raises:
    FileNotFoundError: a sequence without its frames (YouTube-Objects without images/).
  """
  seconds, count = 0.0, 0
  for sequence in sequences:
    files.require_dir(sequence.images_dir, f"the frames of sequence {sequence.name}, to track")
    sequence_dir = tracks_dir / sequence.name
    sequence_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tracks_dir, prefix=f".{sequence.name}.") as scratch:
      summary = session.track_to_folder(
          tracker, (read_image(frame.image) for frame in sequence.frames), scratch,
          init="auto", total=len(sequence.frames), overlay_video=False)
      for index, frame in enumerate(sequence.frames):
        os.replace(pathlib.Path(scratch) / "masks" / f"{index:05d}.png",
                   sequence_dir / f"{frame.name}.png")
    seconds += summary.first_frame + (summary.network + summary.crop_paste) * (summary.frames - 1)
    count += summary.frames
  return seconds / max(count, 1)
