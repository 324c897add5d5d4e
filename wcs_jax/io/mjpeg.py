"""A local MJPEG-over-HTTP stream: a video served as a live source.

Each connection receives the frames once, as `multipart/x-mixed-replace` JPEG parts
(the format of IP cameras and of OpenCV's `http://` input). With `fps`, frame i is
due `i / fps` seconds after the connection opened, as a camera would capture it, and
`captured[i]` records that moment (`time.monotonic()`); a client that falls behind
makes the server's writes wait, but the capture times keep to the schedule, so
`now - captured[i]` is the end-to-end latency a camera user would see. Without `fps`
the frames are sent as fast as the client takes them.

It is how the tests and `tools/benchmark.py --track-live-frames` feed `tools/track.py`
a live stream, and how a user tries `--realtime` without a camera:

    python -m wcs_jax.io.mjpeg --input clip.mp4 --fps 30 --port 8090
    python tools/track.py --input http://127.0.0.1:8090/stream.mjpg --realtime ...

It serves on 127.0.0.1 unless `--host` says otherwise, and holds the clip in memory as
JPEG (about 50 KB per 854x480 frame).
"""
from __future__ import annotations

import argparse
import http.server
import threading
import time
from collections.abc import Iterable
from typing import BinaryIO

import cv2
import numpy as np

BOUNDARY = b"frame"


class MJPEGServer:
  """Serves `frames` as an MJPEG stream from a background thread (module docstring).

  Args:
    frames: `[H, W, 3]` uint8 RGB frames, JPEG-encoded once up front (the encoding is
      the camera's work, not the client's).
    fps: the capture rate, or None to send as fast as the client reads.
    host, port: where to listen (port 0: a free one).
    quality: JPEG quality.

  Attributes:
    url: the stream's address.
    sent: number of frames written to the latest connection so far.
    captured: `time.monotonic()` capture time of each frame of the latest connection.
  """

  def __init__(self, frames: Iterable[np.ndarray], fps: float | None = None, host: str = "127.0.0.1",
               port: int = 0, quality: int = 90):
    if fps is not None and fps <= 0:
      raise ValueError(f"fps: expected a positive frame rate, got {fps}")
    self._jpegs = [cv2.imencode(".jpg", cv2.cvtColor(np.asarray(f), cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes() for f in frames]
    self.fps = fps
    self.sent = 0
    self.captured: list[float] = []
    server = self

    class Handler(http.server.BaseHTTPRequestHandler):
      """One client: the whole stream, then the closing boundary."""

      def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
        self.end_headers()
        server.stream(self.wfile)

      def log_message(self, *args):  # quiet: no line per request on stderr
        pass

    self._http = http.server.ThreadingHTTPServer((host, port), Handler)
    self._http.daemon_threads = True
    self.url = f"http://{host}:{self._http.server_address[1]}/stream.mjpg"
    self._thread = threading.Thread(target=self._http.serve_forever, name="mjpeg-server", daemon=True)
    self._thread.start()

  def stream(self, out: BinaryIO) -> None:
    """Writes the whole stream to one connection's `out` (the request handler's thread);
    `sent` and `captured` then describe this connection."""
    captured: list[float] = []
    self.sent, self.captured = 0, captured
    start = time.monotonic()
    try:
      for i, jpeg in enumerate(self._jpegs):
        due = start + i / self.fps if self.fps else time.monotonic()
        if (wait := due - time.monotonic()) > 0:
          time.sleep(wait)
        captured.append(due)
        out.write(b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(jpeg))
                  + jpeg + b"\r\n")
        if self.captured is captured:  # a newer connection now owns the counters
          self.sent = len(captured)
      out.write(b"--%s--\r\n" % BOUNDARY)
    except (ConnectionError, TimeoutError):  # the client stopped reading
      pass

  def close(self) -> None:
    """Stops serving and frees the port."""
    self._http.shutdown()
    self._http.server_close()

  def __enter__(self) -> MJPEGServer:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def main(argv: list[str] | None = None) -> None:
  """`python -m wcs_jax.io.mjpeg --input VIDEO [--fps F] [--host H] [--port P]`."""
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--input", required=True, help="video file or frame folder to serve")
  parser.add_argument("--fps", type=float, default=None, help="capture rate (default: the video's)")
  parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
  parser.add_argument("--port", type=int, default=8090, help="port (default 8090)")
  args = parser.parse_args(argv)
  from wcs_jax.io.video import FrameReader  # pylint: disable=import-outside-toplevel
  try:
    reader = FrameReader(args.input)
    fps = args.fps if args.fps is not None else reader.info.fps or 30.0
    server = MJPEGServer(reader, fps=fps, host=args.host, port=args.port)
  except (OSError, ValueError) as error:
    raise SystemExit(f"error: {error}") from None
  with server:
    print(f"serving {args.input} at {fps:g} frames/s on {server.url} (Ctrl-C stops)", flush=True)
    try:
      while True:
        time.sleep(3600)
    except KeyboardInterrupt:
      pass


if __name__ == "__main__":
  main()
