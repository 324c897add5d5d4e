r"""Produces `OFFICIAL_OSVOS_BLACKSWAN` (tests/test_metrics_segmentation.py) with the
official DAVIS evaluation code, so anyone can re-run the reference the test holds J and
F to.

    git clone https://github.com/davisvideochallenge/davis2017-evaluation /tmp/davis2017-evaluation
    .venv/bin/python tests/reference/official_davis_blackswan.py --official /tmp/davis2017-evaluation
    .venv/bin/python tests/reference/official_davis_blackswan.py --official /tmp/davis2017-evaluation --check

It imports the official `davis2017.metrics.db_eval_iou`, `db_eval_boundary` and
`davis2017.utils.db_statistics` from that checkout (run at ac7c43f; its own
dependencies, numpy, OpenCV, Pillow and scikit-image, are in this project's `.venv`),
reads `../shared/data/davis2016/Annotations/480p/blackswan` (ground truth: pixels > 0,
one object) and `../shared/data/davis2016_osvos/blackswan` (OSVOS's results: object id
1) with Pillow as the official reader does, scores frames [1:-1] as its
`evaluation.py` does for the semi-supervised task, and prints the dict to paste.
`--check` instead compares with the values frozen in the test (exit status 1 if any
differs by more than 1e-12). Nothing of this project's metric code is used.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
from PIL import Image

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def official_values(official: pathlib.Path, shared: pathlib.Path) -> dict[str, tuple[float, float, float]]:
  """{"J": (mean, recall, decay), "F": (...)} of OSVOS on blackswan by the official code."""
  sys.path.insert(0, str(official))
  from davis2017 import metrics  # pylint: disable=import-outside-toplevel
  from davis2017 import utils  # pylint: disable=import-outside-toplevel
  truth_dir = shared / "davis2016" / "Annotations" / "480p" / "blackswan"
  result_dir = shared / "davis2016_osvos" / "blackswan"
  names = sorted(p.name for p in truth_dir.glob("*.png"))[1:-1]
  if len(names) != 48:
    raise SystemExit(f"{truth_dir}: expected the 50 frames of blackswan, found {len(names) + 2}")
  truth = np.stack([np.array(Image.open(truth_dir / n)) > 0 for n in names])
  result = np.stack([np.array(Image.open(result_dir / n)) == 1 for n in names])
  j = metrics.db_eval_iou(truth, result)
  f = metrics.db_eval_boundary(truth, result)
  return {"J": tuple(float(v) for v in utils.db_statistics(j)),
          "F": tuple(float(v) for v in utils.db_statistics(f))}


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--official", required=True, type=pathlib.Path, metavar="DIR",
                      help="a checkout of github.com/davisvideochallenge/davis2017-evaluation")
  parser.add_argument("--shared", type=pathlib.Path, default=SHARED, metavar="DIR",
                      help=f"the shared sample data (default {SHARED})")
  parser.add_argument("--check", action="store_true", help="compare with the test's frozen values")
  args = parser.parse_args(argv)
  if not (args.official / "davis2017" / "metrics.py").is_file():
    parser.error(f"--official {args.official}: expected a davis2017-evaluation checkout (davis2017/metrics.py)")
  values = official_values(args.official, args.shared)
  if not args.check:
    print("OFFICIAL_OSVOS_BLACKSWAN = {")
    for key, value in values.items():
      print(f'    "{key}": {value!r},')
    print("}")
    return 0
  sys.path.insert(0, str(REPO / "tests"))
  from test_metrics_segmentation import OFFICIAL_OSVOS_BLACKSWAN  # pylint: disable=import-outside-toplevel
  worst = max(abs(a - b) for key in values for a, b in zip(values[key], OFFICIAL_OSVOS_BLACKSWAN[key]))
  print(f"official code vs OFFICIAL_OSVOS_BLACKSWAN: largest difference {worst:.3g}")
  return 0 if worst <= 1e-12 else 1


if __name__ == "__main__":
  sys.exit(main())
