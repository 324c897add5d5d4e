"""Live frame sources: cameras and network streams, read through OpenCV.

`--input` names one as `camera:N` (the N-th camera OpenCV finds: /dev/videoN with
V4L2 on Linux) or a URL (`rtsp://`, `rtmp://`, `http://` / `https://`, e.g. an MJPEG
stream, `udp://`, `tcp://`; anything OpenCV's FFmpeg backend opens). Iterating a
`LiveSource` yields `(index, frame)`: the frame's index in input order (from 0,
counting every frame the source delivered) and the frame, `[H, W, 3]` uint8 RGB.

Two modes:
- every frame (default): frames are read as the tracker asks for them; none is dropped
  (a network source waits, or its server buffers, while the tracker is behind);
- real time (`realtime=True`): a reader thread takes every frame as it arrives and
  keeps only the newest; when the tracker asks, it gets that one, and the frames that
  arrived in between are dropped and reported by `skipped()` with their arrival time
  (seconds since the source opened), so every delivered frame is either tracked or
  recorded as skipped.

The stream ends when the source does (a server closing the connection, a camera
unplugged) or on `close()`.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
_CAMERA = re.compile(r"camera:(\d+)$")


def is_live(spec: str | os.PathLike) -> bool:
  """Whether `--input` names a camera or a network stream rather than a file or folder."""
  text = str(spec)
  return bool(_CAMERA.match(text)) or text.split("://", 1)[0].lower() in URL_SCHEMES and "://" in text


class LiveSource:
  """A camera or network stream (module docstring).

  Args:
    spec: `camera:N` or a URL.
    realtime: newest frame wins (module docstring).
    open_timeout: seconds to wait for the stream to open.
    read_timeout: seconds a network read may wait (the whole first frame's
      initialisation, with its compiles, can pass before the second frame is read).

  Attributes:
    width, height: the size of the first frame.
    fps: the rate the source announces, or None.

  Raises:
    ValueError: no camera at that index, a stream that cannot be opened, or no first
      frame within `open_timeout` (one line naming `spec`).
  """

  def __init__(self, spec: str, realtime: bool = False, open_timeout: float = 10.0,
               read_timeout: float = 120.0):
    self.spec = str(spec)
    self.realtime = realtime
    camera = _CAMERA.match(self.spec)
    if camera:
      self._capture = cv2.VideoCapture(int(camera.group(1)))
      where = (f"--input {self.spec}: no camera at index {camera.group(1)} could be opened "
               "(none attached, or no permission on /dev/video*)")
    else:
      self._capture = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000),
                                        cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout * 1000)])
      where = f"--input {self.spec}: the stream could not be opened (OpenCV/FFmpeg)"
    if not self._capture.isOpened():
      self._capture.release()
      raise ValueError(where)
    self._opened = time.monotonic()
    first = self._read()
    if first is None:
      self._capture.release()
      raise ValueError(f"--input {self.spec}: opened, but no frame arrived")
    self.height, self.width = first[1].shape[:2]
    fps = self._capture.get(cv2.CAP_PROP_FPS)
    self.fps = float(fps) if 0 < fps < 1000 else None
    self._first_frame: np.ndarray | None = first[1]  # given by the first iteration
    self._count = 1
    self._lock = threading.Condition()
    self._newest: tuple[int, float, np.ndarray] | None = None
    self._dropped: list[tuple[int, float]] = []
    self._ended = False
    self._closed = False
    self._thread = None
    if realtime:
      self._thread = threading.Thread(target=self._pump, name="live-source-reader", daemon=True)
      self._thread.start()

  def _read(self) -> tuple[float, np.ndarray] | None:
    """The next frame of the source and its arrival time, or None at its end."""
    ok, bgr = self._capture.read()
    if not ok or bgr is None:
      return None
    if bgr.ndim == 2:
      bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    return time.monotonic() - self._opened, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

  def _pump(self) -> None:
    """Real time: reads every frame as it arrives; the newest replaces an untaken one."""
    while not self._closed:
      frame = self._read()
      with self._lock:
        if frame is None:
          self._ended = True
          self._lock.notify_all()
          return
        if self._newest is not None:
          self._dropped.append(self._newest[:2])
        self._newest = (self._count, *frame)
        self._count += 1
        self._lock.notify_all()

  def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
    first, self._first_frame = self._first_frame, None
    if first is not None:
      yield 0, first
    while not self._closed:
      if self._thread is None:
        frame = self._read()
        if frame is None:
          return
        index, self._count = self._count, self._count + 1
        yield index, frame[1]
        continue
      with self._lock:
        while self._newest is None and not self._ended and not self._closed:
          self._lock.wait(0.5)
        if self._newest is None:
          return
        index, _, image = self._newest
        self._newest = None
      yield index, image

  def skipped(self) -> list[tuple[int, float]]:
    """`(index, seconds)` of the frames dropped since the last call (real time only)."""
    with self._lock:
      dropped, self._dropped = self._dropped, []
    return dropped

  def close(self) -> None:
    """Stops reading and releases the camera or stream."""
    self._closed = True
    if self._thread is not None:
      self._thread.join(timeout=5.0)
    self._capture.release()

  def __enter__(self) -> LiveSource:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
