"""Learning, for real: the smoke chain, shortened (`configs/smoke.py:short`), trained
from scratch by the user's command, gives a tracker that follows synthetic videos it
never saw, and first-frame networks that find their objects (automatically, from a
click, from a box) on first frames they never saw.

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
from wcs_jax.evaluation import first_frame as first_frame_evaluation
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
  tracker = Tracker.from_workdir(tmp_path)
  scores = tracking_testing.held_out_tracking_j(tracker)
  print(f"held-out pair mask IoU {pairs['mask_iou']:.3f}, tracking J {np.mean(scores):.3f}")
  # The first-frame module with trained weights, link by link, on 32 held-out first frames.
  report = first_frame_evaluation.evaluate_first_frames(tracker, tracking_testing.held_out_first_frames())
  print(first_frame_evaluation.format_report(report))
  assert pairs["mask_iou"] >= 0.5, pairs
  assert np.mean(scores) >= 0.5, np.round(scores, 2)
  # Bars under what this 64 x 64 chain gives (docs/first_frame.md), far above what the
  # first-frame networks gave before precise BN (auto 0.00, click 0.29, box 0.20 at 96 x 96).
  # Issue 18 asks for IoU >= 0.7 (auto) and >= 0.8 (click, box) on most frames: not met yet.
  assert report["peak_on_object"] >= 0.8, report["peak_on_object"]
  assert report["auto"]["mean"] >= 0.45 and report["fallback"]["auto"] <= 2, (report["auto"], report["fallback"])
  assert report["click"]["mean"] >= 0.5, report["click"]
  assert report["box"]["mean"] >= 0.55, report["box"]
  # The trained chain exported: PyTorch against JAX and its ONNX graphs against PyTorch.
  # This chain's logits reach ~90, where float32 rounding through the networks alone
  # gives ~1.3e-4 (measured 2026-12-04: at most 1.3e-4 absolute, 1.9e-6 relative), so the
  # bound is relative: 1e-5 of each output's largest logit.
  export = subprocess.run([sys.executable, "tools/convert_to_torch.py", "--workdir", str(tmp_path), "--output",
                           str(tmp_path / "export"), "--onnx", "--verify", "--tolerance", "1e-3"],
                          cwd=train_testing.REPO, env=env, capture_output=True, text=True, timeout=600)
  print(export.stdout)
  assert export.returncode == 0, export.stdout + export.stderr
  assert "verify ONNX at" in export.stdout, export.stdout
  rows = [line.split() for line in export.stdout.splitlines() if line.startswith("  ")]
  relative = [float(fields[3]) for fields in rows if len(fields) > 3 and fields[2] == "relative"]
  assert len(relative) >= 8 and max(relative) <= 1e-5, export.stdout
