"""Argument types shared by the command-line tools (`tools/track.py`, `tools/reframe.py`)."""
from __future__ import annotations

import argparse
from typing import Callable


def numbers(count: int, flag: str) -> Callable[[str], tuple[float, ...]]:
  """An argparse `type` for `count` comma-separated numbers, e.g. `--click X,Y`.

  Args:
    count: how many numbers the flag takes.
    flag: the flag's name, for the error message.

  Returns:
    A parser of "a,b,..." into a tuple of floats; anything else raises
    `argparse.ArgumentTypeError` naming the flag, the count and the text given.
  """
  def parse(text: str) -> tuple[float, ...]:
    try:
      values = tuple(float(v) for v in text.split(","))
    except ValueError:
      values = ()
    if len(values) != count:
      raise argparse.ArgumentTypeError(f"{flag}: expected {count} comma-separated numbers, got {text!r}")
    return values
  return parse


def check_backend(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
  """Exits through `parser.error` unless `--backend` has its model flag: jax needs
  `--workdir RUN`, torch and onnx `--weights DIR`."""
  if args.backend == "jax" and not args.workdir:
    parser.error("--backend jax needs --workdir RUN")
  if args.backend in ("torch", "onnx") and not args.weights:
    parser.error(f"--backend {args.backend} needs --weights DIR")
