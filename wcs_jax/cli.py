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


def check_distributed_flags(coordinator_address: str | None, num_processes: int | None,
                            process_id: int | None) -> None:
  """Raises ValueError unless the multi-host flags of `python -m wcs_jax.train` come
  together: `--coordinator_address` with `--num_processes` and `--process_id`."""
  explicit = coordinator_address is not None
  if explicit and (num_processes is None or process_id is None):
    raise ValueError("--coordinator_address needs --num_processes and --process_id")
  if not explicit and (num_processes is not None or process_id is not None):
    raise ValueError("--num_processes and --process_id need --coordinator_address HOST:PORT "
                     "(or use --multihost on a cluster)")
