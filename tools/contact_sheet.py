"""A contact sheet of a tracking result: chosen frames side by side, masks and hotspot drawn.

    python tools/contact_sheet.py --input FRAMES_OR_VIDEO --tracks OUT --frames 0,8,16,23 \\
        --output sheet.png [--width 320]

OUT is a `tools/track.py` output folder (OUT/masks/%05d.png, OUT/hotspots/%05d.png);
each chosen frame is drawn as in OUT/overlay.mp4 (`wcs_jax.inference.outputs.overlay`),
scaled to `--width` pixels, and the frames are laid out in one row (PNG).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import cv2
import numpy as np

from wcs_jax.inference import outputs
from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader


def frame_indices(text: str) -> list[int]:
  """"0,8,16" -> [0, 8, 16]; anything but non-negative integers is a usage error."""
  try:
    indices = [int(v) for v in text.split(",")]
  except ValueError:
    indices = []
  if not indices or min(indices) < 0:
    raise argparse.ArgumentTypeError(f"--frames: expected comma-separated frame indices >= 0, got {text!r}")
  return indices


def contact_sheet(frames: list[np.ndarray], tracks: pathlib.Path, indices: list[int], width: int) -> np.ndarray:
  """`[h, len(indices) * width, 3]` uint8 RGB: the overlay of each chosen frame, scaled."""
  tiles = []
  for index in indices:
    labels = mask_io.read_label_map(tracks / "masks" / f"{index:05d}.png")
    hotspot = map_io.read_map(tracks / "hotspots" / f"{index:05d}.png")
    tile = outputs.overlay(frames[index], labels, hotspot)
    height = round(tile.shape[0] * width / tile.shape[1])
    tiles.append(cv2.resize(tile, (width, height), interpolation=cv2.INTER_AREA))
  return np.concatenate(tiles, axis=1)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--input", required=True, help="the video or frame folder that was tracked")
  parser.add_argument("--tracks", required=True, type=pathlib.Path, help="tools/track.py output folder")
  parser.add_argument("--frames", required=True, type=frame_indices, metavar="I,J,...",
                      help="frame indices (from 0), comma-separated")
  parser.add_argument("--output", required=True, type=pathlib.Path, help="the PNG to write")
  parser.add_argument("--width", type=int, default=320, help="width of each frame in the sheet (default 320)")
  args = parser.parse_args(argv)
  try:
    with FrameReader(args.input) as reader:
      frames = [frame for _, frame in zip(range(max(args.frames) + 1), reader)]
    if len(frames) <= max(args.frames):
      raise ValueError(f"--frames {max(args.frames)}: {args.input} has only {len(frames)} frames")
    sheet = contact_sheet(frames, args.tracks, list(args.frames), args.width)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.output), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
      raise OSError(f"could not write {args.output}")
  except (ValueError, OSError) as error:
    print(f"contact_sheet.py: error: {error}", file=sys.stderr)
    return 1
  print(f"wrote {args.output} ({sheet.shape[1]}x{sheet.shape[0]})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
