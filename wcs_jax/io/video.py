"""Video I/O: frames one at a time from a video file or a folder of images, and a
streaming mp4 writer.

Both sides hold one frame in memory at a time, so tools built on them (tracking,
reframing) run in flat memory however long the video. Frames are RGB `uint8`
`[H, W, 3]` on both sides (OpenCV's BGR stays inside this module).

A folder of images is read in sorted file-name order (DAVIS names its frames
`%05d.jpg`, so sorted order is temporal order); its files are the ones ending in
`IMAGE_EXTENSIONS` (case-insensitive), anything else in the folder is ignored.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Iterator
from typing import Self

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What is known about a frame source before reading it through.

  Attributes:
    width: frame width in pixels.
    height: frame height in pixels.
    fps: frames per second, or None where the source does not say (image folders,
      containers that store no rate).
    num_frames: number of frames; exact for image folders, the container's own
      count for video files (None where it stores none). Containers can be wrong
      about it: the frames a reader yields are the truth.
  """
  width: int
  height: int
  fps: float | None
  num_frames: int | None


def list_image_files(folder: str | os.PathLike) -> list[pathlib.Path]:
  """The image files of `folder` in sorted name order.

  Raises:
    FileNotFoundError: `folder` does not exist.
    ValueError: it holds no file ending in one of `IMAGE_EXTENSIONS`.
  """
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f"no such folder: {folder}")
  files = sorted(p for p in folder.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
  if not files:
    raise ValueError(f"{folder}: expected image files ({', '.join(IMAGE_EXTENSIONS)}), "
                     "found none")
  return files


def read_image(path: str | os.PathLike) -> np.ndarray:
  """One image file as RGB `uint8` `[H, W, 3]` (gray images are expanded, alpha dropped).

  Raises:
    ValueError: OpenCV cannot decode the file.
  """
  bgr = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
  if bgr is None:
    raise ValueError(f"{path}: not a readable image")
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class FrameReader:
  """Frames of a video file or an image folder, one at a time.

  Every iteration starts again from the first frame, so a source can be read more
  than once (a video file is reopened). Use as a context manager or call `close()`
  to release an open video file early.

  Example:
    with FrameReader("clip.mp4") as frames:
      for rgb in frames:   # [H, W, 3] uint8
        ...

  Attributes:
    path: the source.
    info: a `VideoInfo`; `width` and `height` are those of the first frame.
    frame_names: for image folders, the file stems in reading order (`00000`, ...);
      for video files, the frame indices as `%05d` (the DAVIS naming).
  """

  def __init__(self, path: str | os.PathLike):
    """Opens `path` and decodes its first frame to learn the frame size.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: an empty folder, an undecodable image, or a video file OpenCV
        cannot open or decode a first frame from.
    """
    self.path = pathlib.Path(path)
    self._capture = None
    if self.path.is_dir():
      self._files = list_image_files(self.path)
      height, width = read_image(self._files[0]).shape[:2]
      self.info = VideoInfo(width, height, None, len(self._files))
      self.frame_names = [p.stem for p in self._files]
      return
    if not self.path.exists():
      raise FileNotFoundError(f"no such video file or frame folder: {self.path}")
    self._files = None
    capture = self._open_capture()
    ok, bgr = capture.read()
    if not ok:
      capture.release()
      raise ValueError(f"{self.path}: no frame could be decoded from this video file")
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    self.info = VideoInfo(bgr.shape[1], bgr.shape[0], fps if fps > 0 else None,
                          count if count > 0 else None)
    self.frame_names = None if count <= 0 else [f"{i:05d}" for i in range(count)]

  def _open_capture(self) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(os.fspath(self.path))
    if not capture.isOpened():
      raise ValueError(f"{self.path}: not a video file OpenCV can open "
                       "(and not a folder of images)")
    return capture

  def __iter__(self) -> Iterator[np.ndarray]:
    """Yields every frame as RGB `uint8` `[H, W, 3]`.

    Raises:
      ValueError: an image file that cannot be decoded, or whose size differs from
        the first frame's (a video is one size throughout).
    """
    if self._files is not None:
      for path in self._files:
        frame = read_image(path)
        if frame.shape[:2] != (self.info.height, self.info.width):
          raise ValueError(
              f"{path}: frame size {frame.shape[1]}x{frame.shape[0]} differs from "
              f"the first frame's {self.info.width}x{self.info.height}")
        yield frame
      return
    capture = self._capture = self._open_capture()
    try:
      while True:
        ok, bgr = capture.read()
        if not ok:
          return
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
      capture.release()

  def close(self) -> None:
    """Releases the video file of the latest iteration, if still open."""
    if self._capture is not None:
      self._capture.release()
      self._capture = None

  def __enter__(self) -> Self:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


class VideoWriter:
  """Streams RGB frames into an mp4 file (OpenCV's `mp4v`, MPEG-4 Part 2).

  The size is fixed by the constructor or, when omitted, by the first frame; every
  frame must then have it. MPEG-4 encoders need even sizes (OpenCV silently drops
  the odd row or column), so an odd size is an error here rather than a surprise
  later. Parent folders are created.

  Example:
    with VideoWriter("out.mp4", fps=24.0) as writer:
      for rgb in frames:
        writer.write(rgb)

  Attributes:
    path: the output file.
    fps: frames per second written into the container.
    num_frames: frames written so far.
  """

  def __init__(self, path: str | os.PathLike, fps: float,
               size: tuple[int, int] | None = None, fourcc: str = "mp4v"):
    """Prepares the writer; the file is opened on the first frame.

    Args:
      path: output file, normally ending in `.mp4`.
      fps: frame rate (> 0).
      size: `(width, height)`, both even; None takes the first frame's.
      fourcc: four-character codec code.

    Raises:
      ValueError: `fps` not positive or `size` not even.
    """
    self.path = pathlib.Path(path)
    if not fps > 0:
      raise ValueError(f"{self.path}: fps must be positive, got {fps}")
    self.fps = float(fps)
    self._fourcc = fourcc
    self._size = None
    if size is not None:
      self._check_size(size)
      self._size = (int(size[0]), int(size[1]))
    self._writer = None
    self.num_frames = 0

  def _check_size(self, size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0 or width % 2 or height % 2:
      raise ValueError(f"{self.path}: video size must be positive and even for "
                       f"{self._fourcc}, got {width}x{height}")

  def write(self, frame: np.ndarray) -> None:
    """Appends one RGB `uint8` `[H, W, 3]` frame.

    Raises:
      ValueError: wrong dtype, shape or size, or OpenCV cannot open the file.
    """
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
      raise ValueError(f"{self.path}: expected an RGB uint8 [H, W, 3] frame, got "
                       f"{frame.dtype} {frame.shape}")
    size = (frame.shape[1], frame.shape[0])
    if self._writer is None:
      if self._size is None:
        self._check_size(size)
        self._size = size
      self.path.parent.mkdir(parents=True, exist_ok=True)
      self._writer = cv2.VideoWriter(os.fspath(self.path),
                                     cv2.VideoWriter_fourcc(*self._fourcc), self.fps,
                                     self._size)
      if not self._writer.isOpened():
        self._writer = None
        raise ValueError(f"{self.path}: OpenCV cannot open this file for writing "
                         f"with codec {self._fourcc}")
    if size != self._size:
      raise ValueError(f"{self.path}: frame {self.num_frames} is {size[0]}x{size[1]}, "
                       f"the video is {self._size[0]}x{self._size[1]}")
    self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    self.num_frames += 1

  def close(self) -> None:
    """Finishes the file (a writer that got no frame leaves no file)."""
    if self._writer is not None:
      self._writer.release()
      self._writer = None

  def __enter__(self) -> Self:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
