"""Live sources for real: `wcs_jax.io.mjpeg.MJPEGServer` on 127.0.0.1 read by
`wcs_jax.io.live.LiveSource` through OpenCV's FFmpeg backend."""
from __future__ import annotations

import time

import numpy as np
import pytest

from wcs_jax.io import live
from wcs_jax.io import mjpeg


def _grey_frames(num: int) -> list[np.ndarray]:
  """Frame i is uniform grey 8 * i: told apart after JPEG coding."""
  return [np.full((32, 48, 3), 8 * i, np.uint8) for i in range(num)]


def test_every_frame_arrives_in_order_at_the_capture_rate():
  with mjpeg.MJPEGServer(_grey_frames(12), fps=40.0) as server:
    start = time.monotonic()
    with live.LiveSource(server.url) as source:
      got = [(index, int(np.round(frame.mean()))) for index, frame in source]
    seconds = time.monotonic() - start
    assert (source.width, source.height) == (48, 32)
    captured = np.diff(server.captured)
  assert [g[0] for g in got] == list(range(12))
  np.testing.assert_allclose([g[1] for g in got], 8 * np.arange(12), atol=2)
  np.testing.assert_allclose(captured, 1 / 40, rtol=1e-6)  # the schedule, not the send times
  assert seconds >= 11 / 40 - 0.01  # and the frames keep to it
  assert server.sent == 12


def test_realtime_keeps_the_newest_frame_and_reports_the_rest_as_skipped():
  with mjpeg.MJPEGServer(_grey_frames(30), fps=100.0) as server:
    with live.LiveSource(server.url, realtime=True) as source:
      tracked, skipped = [], []
      for index, frame in source:
        tracked.append(index)
        skipped += source.skipped()
        time.sleep(0.05)  # a tracker at 20 frames/s behind a source at 100
      skipped += source.skipped()
  assert skipped and len(tracked) < 30
  assert sorted(tracked + [i for i, _ in skipped]) == list(range(30))
  seconds = [s for _, s in skipped]
  assert seconds == sorted(seconds) and all(s >= 0 for s in seconds)


def test_no_server_and_bad_rate_are_one_line_errors():
  with pytest.raises(ValueError, match="^--input http://127.0.0.1:9/x.mjpg: the stream could not be opened"):
    live.LiveSource("http://127.0.0.1:9/x.mjpg", open_timeout=2.0)
  with pytest.raises(ValueError, match="fps: expected a positive frame rate, got 0"):
    mjpeg.MJPEGServer(_grey_frames(1), fps=0)
