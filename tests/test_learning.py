"""Learning, for real: the smoke chain, shortened (`configs/smoke.py:short`), trained
from scratch by the user's command, gives a tracker that follows synthetic videos it
never saw.

The full chain (`configs/smoke.py`) is held to J >= 0.8 by
tests/test_tracker.py::test_smoke_trained_tracker_follows_held_out_synthetic_videos
when WCS_SMOKE_WORKDIR points to its workdir; this shorter run (64 x 64 crops, a short
WCS-Net stage) is held to a lower bar. An untrained WCS-Net scores J = 0 here: its
logit convolutions start at zero, so no pixel passes sigmoid > 0.5.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from wcs_jax.inference.tracker import Tracker
from wcs_jax.evaluation import pairs as pair_evaluation

import tracking_testing
import train_testing

TIMEOUT_S = 1800


def test_short_smoke_chain_learns_to_track_held_out_videos(tmp_path):
  env = train_testing.subprocess_env(1)
  env.pop("JAX_DISABLE_MOST_OPTIMIZATIONS")  # hundreds of steps: optimised code pays off
  run = subprocess.run([sys.executable, "-m", "wcs_jax.train", "--config", "configs/smoke.py:short",
                        "--workdir", str(tmp_path)], cwd=train_testing.REPO, env=env, capture_output=True,
                       text=True, timeout=TIMEOUT_S)
  assert run.returncode == 0, run.stderr[-3000:]
  pairs = pair_evaluation.evaluate_pairs(tmp_path, num_pairs=64)
  scores = tracking_testing.held_out_tracking_j(Tracker.from_workdir(tmp_path))
  print(f"held-out pair mask IoU {pairs['mask_iou']:.3f}, tracking J {np.mean(scores):.3f}")
  assert pairs["mask_iou"] >= 0.5, pairs
  assert np.mean(scores) >= 0.5, np.round(scores, 2)
