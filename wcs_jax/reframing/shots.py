"""Shot boundaries: where a video cuts from one camera to another.

A reframing camera must not glide across a cut: the object jumps, and the window must
jump with it (or change strategy). The test compares colour histograms of consecutive
frames, the classic shot-boundary cue (PySceneDetect's `HistogramDetector` family;
the library itself is not a dependency: it requires the GUI build of OpenCV, which
conflicts with the headless one this project pins), with an adaptive rule like its
`AdaptiveDetector`:

  1. Each frame is downscaled to `ShotConfig.width` pixels wide, converted to HSV and
     summarised by its hue-saturation histogram (`HUE_BINS` x `SATURATION_BINS`;
     brightness is left out, so a flash or a fade in exposure is not a cut).
  2. Its change `d_t` against the previous frame is the Bhattacharyya distance of the
     two histograms (OpenCV's `compareHist`), 0 for equal colour content, 1 for
     disjoint.
  3. Frame t starts a new shot where `d_t >= threshold` and `d_t` is at least `ratio`
     times the mean change of the `window` frames on either side of it (a cut is a
     spike; fast motion or a pan raises the neighbours too), and the current shot is
     at least `min_shot_frames` long.

On four DAVIS-2016 sequences played back to back (179 frames, fast motion and camera
pans in them) the changes within a sequence are at most 0.14 (median 0.05) and the
three cuts 0.55-0.78 (tests/test_reframe.py).

Streaming: `ShotDetector.update(frame)` takes one frame at a time, holding only the
latest histogram and one number per frame.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import cv2
import numpy as np

HUE_BINS = 16
SATURATION_BINS = 8


@dataclasses.dataclass(frozen=True)
class ShotConfig:
  """Parameters of the cut test (module docstring).

  Attributes:
    threshold: smallest change (Bhattacharyya distance, 0..1) that can be a cut.
    ratio: a cut's change is at least this times its neighbours' mean change.
    window: neighbours on each side compared with a candidate.
    min_shot_frames: no shot shorter than this (flashes and fades do not cut twice).
    width: frames are compared at this width (the aspect is kept).
  """
  threshold: float = 0.3
  ratio: float = 3.0
  window: int = 2
  min_shot_frames: int = 8
  width: int = 160

  def __post_init__(self):
    if self.threshold <= 0 or self.ratio < 1 or self.window < 1 or self.min_shot_frames < 1:
      raise ValueError("ShotConfig: need threshold > 0, ratio >= 1, window >= 1, "
                       f"min_shot_frames >= 1, got {self}")


def frame_change(previous: np.ndarray, current: np.ndarray) -> float:
  """The change `d_t` (step 2) between two histograms of `_signature`."""
  return float(cv2.compareHist(previous, current, cv2.HISTCMP_BHATTACHARYYA))


class ShotDetector:
  """Finds cuts in a stream of RGB frames.

  Example:
    detector = ShotDetector()
    for rgb in frames:
      detector.update(rgb)
    shots = detector.shots()   # [(start, end), ...], end exclusive

  Attributes:
    config: the `ShotConfig`.
    changes: `d_t` of every frame so far (`d_0` = 0).
  """

  def __init__(self, config: ShotConfig = ShotConfig()):
    self.config = config
    self.changes: list[float] = []
    self._previous = None

  def _signature(self, frame: np.ndarray) -> np.ndarray:
    """The frame's hue-saturation histogram (step 1), `float32` `[HUE_BINS, SATURATION_BINS]`."""
    height, width = frame.shape[:2]
    small_width = min(width, self.config.width)
    small = cv2.resize(frame, (small_width, max(1, round(height * small_width / width))),
                       interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    return cv2.calcHist([hsv], [0, 1], None, [HUE_BINS, SATURATION_BINS], [0, 180, 0, 256])

  def update(self, frame: np.ndarray) -> None:
    """Adds the next RGB `uint8` `[H, W, 3]` frame."""
    signature = self._signature(np.asarray(frame))
    self.changes.append(0.0 if self._previous is None
                        else frame_change(self._previous, signature))
    self._previous = signature

  def cuts(self) -> list[int]:
    """The frames that start a new shot (step 3), in order; frame 0 is not listed."""
    config = self.config
    changes = np.asarray(self.changes)
    cuts, shot_start = [], 0
    for t in range(1, len(changes)):
      if changes[t] < config.threshold or t - shot_start < config.min_shot_frames:
        continue
      neighbours = np.concatenate([changes[max(1, t - config.window):t],
                                   changes[t + 1:t + 1 + config.window]])
      if neighbours.size and changes[t] < config.ratio * neighbours.mean():
        continue
      cuts.append(t)
      shot_start = t
    return cuts

  def shots(self) -> list[tuple[int, int]]:
    """`[(start, end), ...]` covering every frame seen, `end` exclusive."""
    bounds = [0, *self.cuts(), len(self.changes)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def detect_shots(frames: Iterable[np.ndarray],
                 config: ShotConfig = ShotConfig()) -> list[tuple[int, int]]:
  """The shots of a sequence of RGB frames: `[(start, end), ...]`, `end` exclusive."""
  detector = ShotDetector(config)
  for frame in frames:
    detector.update(frame)
  return detector.shots()
