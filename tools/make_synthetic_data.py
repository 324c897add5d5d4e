"""Writes procedural data in the on-disk layout of one of the project's datasets.

    python tools/make_synthetic_data.py --layout davis2016 --output /tmp/syn/davis2016
    python -m input_pipeline.build --dataset davis2016 \
        --manual-dir /tmp/syn/davis2016 --data-dir /tmp/tfds

The scene model (textured blobs with a salient spot, moving and deforming over moving
textured backgrounds; SALICON-like fixations clustered on the spot) and the exact files
of each layout are described in `input_pipeline/synthetic.py`.
"""
from __future__ import annotations

import argparse
import sys
import time

from input_pipeline import synthetic


def _size(text: str) -> tuple[int, int]:
  try:
    width, height = (int(v) for v in text.lower().split("x"))
  except ValueError as error:
    raise argparse.ArgumentTypeError(f"--size {text!r}: expected WxH, e.g. 320x240") from error
  return width, height


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      description="Write synthetic data in a dataset's official on-disk layout, so that "
                  "`python -m input_pipeline.build` builds it like the real download.")
  parser.add_argument("--layout", required=True, choices=synthetic.LAYOUTS,
                      help="dataset whose layout to write")
  parser.add_argument("--output", required=True,
                      help="folder to write into (the later --manual-dir); created if missing")
  parser.add_argument("--num", type=int, default=8,
                      help="number of examples (images, or videos) over all splits; "
                           "two-split datasets get about 3:1 (default 8)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed; the same seed writes the same files (default 0)")
  parser.add_argument("--size", type=_size, default=synthetic.DEFAULT_SIZE,
                      help="image size WxH (default %dx%d)" % synthetic.DEFAULT_SIZE)
  parser.add_argument("--frames", type=int, default=None,
                      help="frames per video for davis2016, segtrackv2, youtube_objects "
                           "(default: %s)" % ", ".join(
                               f"{k} {v}" for k, v in synthetic.DEFAULT_NUM_FRAMES.items()))
  args = parser.parse_args(argv)
  start = time.perf_counter()
  try:
    root = synthetic.write(args.layout, args.output, args.num, seed=args.seed,
                           size=args.size, num_frames=args.frames)
  except ValueError as error:
    parser.error(str(error))
  print(f"wrote {args.num} synthetic {args.layout} example(s) to {root} "
        f"in {time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
