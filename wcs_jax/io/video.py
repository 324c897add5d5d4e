"""Video I/O: frames one at a time from a video file or a folder of images, and a
streaming H.264 writer that carries the source's audio over.

Both sides hold one frame in memory at a time, so tools built on them (tracking,
reframing) run in flat memory however long the video. Frames are RGB `uint8`
`[H, W, 3]` on both sides.

Video files go through FFmpeg's libraries (PyAV, whose wheels ship FFmpeg with
libx264): anything FFmpeg demuxes and decodes is read, frame timestamps included, and
rotated phone videos are turned upright as a player shows them. Output is H.264
(libx264, yuv420p, constant-quality CRF) in an mp4 with `+faststart`, the form every
editor, browser and phone plays; each frame keeps the timestamp it is given (or
`index / fps`), and the audio streams of `audio_from` are copied packet for packet
(re-encoded to AAC only where mp4 cannot hold their codec), up to the end of the
video written.

A folder of images is read in sorted file-name order (DAVIS names its frames
`%05d.jpg`, so sorted order is temporal order); its files are the ones ending in
`IMAGE_EXTENSIONS` (case-insensitive), anything else in the folder is ignored.
"""
from __future__ import annotations

import dataclasses
import fractions
import os
import pathlib
from collections.abc import Iterator
from typing import Self

import av
import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
# libx264's constant rate factor: 0 lossless, 18 visually lossless, 23 libx264's
# default, 51 worst. 18: reframed and overlay videos go back into an editor.
DEFAULT_QUALITY = 18
# libx264's presets, fastest first. "medium" is libx264's default; on 2 CPU cores it
# encodes 854x480 at ~21 frames/s, "veryfast" at ~48.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow")
DEFAULT_PRESET = "medium"
# Timestamps of written video frames are stored in this unit (the MPEG clock), fine
# enough for any frame rate and for the timestamps of variable-rate sources.
_TIME_BASE = fractions.Fraction(1, 90000)
# Audio is interleaved with the video up to this far ahead of the latest frame.
_AUDIO_LEAD_S = 0.5


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What is known about a frame source before reading it through.

  Attributes:
    width: frame width in pixels (upright, after any rotation the file asks for).
    height: frame height in pixels.
    fps: frames per second (the stream's average rate), or None where the source
      does not say (image folders, containers that store no rate).
    num_frames: number of frames; exact for image folders, the container's own
      count for video files (None where it stores none). Containers can be wrong
      about it: the frames a reader yields are the truth.
    audio_streams: number of audio streams in the file (0 for folders).
  """
  width: int
  height: int
  fps: float | None
  num_frames: int | None
  audio_streams: int = 0


def frame_rate(fps: float | fractions.Fraction) -> fractions.Fraction:
  """`fps` as an exact rational rate: 29.97002997 -> 30000/1001, 12.5 -> 25/2."""
  return fractions.Fraction(fps).limit_denominator(1001)


def list_image_files(folder: str | os.PathLike) -> list[pathlib.Path]:
  """The image files of `folder` in sorted name order (extensions may mix).

  Raises:
    FileNotFoundError: `folder` does not exist.
    ValueError: it holds no file ending in one of `IMAGE_EXTENSIONS`, or two of them
      share a name but for the extension (`00001.jpg`, `00001.png`): outputs are named
      after the frame, so one would overwrite the other.
  """
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f"no such folder: {folder}")
  files = sorted(p for p in folder.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
  if not files:
    raise ValueError(f"{folder}: expected image files ({', '.join(IMAGE_EXTENSIONS)}), "
                     "found none")
  by_stem: dict[str, pathlib.Path] = {}
  for path in files:
    if path.stem in by_stem:
      raise ValueError(f"{folder}: {by_stem[path.stem].name} and {path.name} are the same "
                       "frame name with two extensions; keep one")
    by_stem[path.stem] = path
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


def _open_input(path: pathlib.Path) -> av.container.InputContainer:
  try:
    return av.open(os.fspath(path))
  except (av.error.FFmpegError, UnicodeDecodeError) as error:
    raise ValueError(f"{path}: not a video file FFmpeg can open (and not a folder of "
                     f"images): {error}") from None


def _stream_rate(stream: av.video.stream.VideoStream) -> fractions.Fraction | None:
  """The stream's frame rate: its average (frames over duration), or the nominal rate
  where the two agree within 0.2% (the average of a 24 frames/s file with millisecond
  timestamps is 24.0037)."""
  average, nominal = stream.average_rate, stream.guessed_rate
  if average and nominal and abs(nominal / average - 1) < 0.002:
    return nominal
  return average or None


def _upright(frame: av.VideoFrame) -> np.ndarray:
  """A decoded frame as RGB `[H, W, 3]`, turned as its display matrix says."""
  rgb = frame.to_ndarray(format="rgb24")
  quarter_turns = round(frame.rotation / 90) % 4  # counter-clockwise
  return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb


class FrameReader:
  """Frames of a video file or an image folder, one at a time.

  Every iteration starts again from the first frame, so a source can be read more
  than once (a video file is reopened). Use as a context manager or call `close()`
  to release an open video file early.

  Example:
    with FrameReader("clip.mp4") as frames:
      for rgb in frames:   # [H, W, 3] uint8
        ...
      for seconds, rgb in frames.timed():   # with each frame's presentation time
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
      ValueError: an empty folder, an undecodable image, or a file FFmpeg cannot open,
        with no video stream, or no first frame that decodes.
    """
    self.path = pathlib.Path(path)
    self._container = None
    if self.path.is_dir():
      self._files = list_image_files(self.path)
      height, width = read_image(self._files[0]).shape[:2]
      self.info = VideoInfo(width, height, None, len(self._files))
      self.frame_names = [p.stem for p in self._files]
      return
    if not self.path.exists():
      raise FileNotFoundError(f"no such video file or frame folder: {self.path}")
    self._files = None
    with _open_input(self.path) as container:
      if not container.streams.video:
        raise ValueError(f"{self.path}: the file has no video stream")
      stream = container.streams.video[0]
      first = next(self._decode(container), None)
      if first is None:
        raise ValueError(f"{self.path}: no frame could be decoded from this video file")
      rate = _stream_rate(stream)
      count = stream.frames
      self.info = VideoInfo(first[1].shape[1], first[1].shape[0],
                            float(rate) if rate else None, count if count > 0 else None,
                            len(container.streams.audio))
    self.frame_names = None if count <= 0 else [f"{i:05d}" for i in range(count)]

  def _decode(self, container: av.container.InputContainer
              ) -> Iterator[tuple[float | None, np.ndarray]]:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    try:
      for frame in container.decode(stream):
        yield frame.time, _upright(frame)
    except av.error.FFmpegError as error:
      raise ValueError(f"{self.path}: decoding failed: {error}") from None

  def timed(self) -> Iterator[tuple[float | None, np.ndarray]]:
    """Yields `(seconds, frame)`: each frame's presentation time in the file (None
    for image folders and frames without one) and the frame as in `__iter__`."""
    if self._files is not None:
      for frame in self._folder_frames():
        yield None, frame
      return
    self.close()
    container = self._container = _open_input(self.path)
    try:
      for seconds, frame in self._decode(container):
        if frame.shape[:2] != (self.info.height, self.info.width):
          raise ValueError(
              f"{self.path}: a frame of {frame.shape[1]}x{frame.shape[0]} after frames "
              f"of {self.info.width}x{self.info.height}; expected one size throughout")
        yield seconds, frame
    finally:
      self.close()

  def _folder_frames(self) -> Iterator[np.ndarray]:
    for path in self._files:
      frame = read_image(path)
      if frame.shape[:2] != (self.info.height, self.info.width):
        raise ValueError(
            f"{path}: frame size {frame.shape[1]}x{frame.shape[0]} differs from "
            f"the first frame's {self.info.width}x{self.info.height}")
      yield frame

  def __iter__(self) -> Iterator[np.ndarray]:
    """Yields every frame as RGB `uint8` `[H, W, 3]`.

    Raises:
      ValueError: a frame that cannot be decoded, or whose size differs from the
        first frame's (a video is one size throughout).
    """
    for _, frame in self.timed():
      yield frame

  def close(self) -> None:
    """Releases the video file of the latest iteration, if still open."""
    if self._container is not None:
      self._container.close()
      self._container = None

  def __enter__(self) -> Self:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


class VideoWriter:
  """Streams RGB frames into an H.264 mp4 file, optionally with another file's audio.

  The size is fixed by the constructor or, when omitted, by the first frame; every
  frame must then have it. H.264 in yuv420p needs even sizes, so an odd size is an
  error here rather than a surprise later. Parent folders are created; the file is
  written under a temporary name and renamed into place by `close()`, so a failure
  never leaves a truncated video under the final name.

  Example:
    with VideoWriter("out.mp4", fps=24.0, audio_from="in.mp4") as writer:
      for seconds, rgb in FrameReader("in.mp4").timed():
        writer.write(rgb, seconds)

  Attributes:
    path: the output file.
    fps: frame rate (the stream's nominal rate; frames without a timestamp are
      placed at `index / fps`).
    quality: libx264 CRF (0 lossless .. 51 worst).
    num_frames: frames written so far.
  """

  def __init__(self, path: str | os.PathLike, fps: float | fractions.Fraction,
               size: tuple[int, int] | None = None, quality: int = DEFAULT_QUALITY,
               audio_from: str | os.PathLike | None = None, preset: str = DEFAULT_PRESET):
    """Prepares the writer; the file is opened on the first frame.

    Args:
      path: output file, normally ending in `.mp4`.
      fps: frame rate (> 0).
      size: `(width, height)`, both even; None takes the first frame's.
      quality: libx264 constant rate factor, 0..51 (lower is better and larger).
      audio_from: a video or audio file whose audio streams are carried over (none
        is fine: a file without audio, or a frame folder's None, adds nothing).
      preset: libx264's speed/size trade-off (`ultrafast` .. `veryslow`; at a given
        CRF the quality is about the same, slower presets make smaller files).

    Raises:
      ValueError: `fps` not positive, `size` not even, `quality` out of range.
    """
    self.path = pathlib.Path(path)
    if not fps > 0:
      raise ValueError(f"{self.path}: fps must be positive, got {fps}")
    if not 0 <= quality <= 51:
      raise ValueError(f"{self.path}: quality (libx264 CRF) must be in 0..51, got {quality}")
    self.fps = float(fps)
    self.quality = int(quality)
    if preset not in X264_PRESETS:
      raise ValueError(f"{self.path}: preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")
    self._preset = preset
    self._rate = frame_rate(fps)
    self._audio_from = pathlib.Path(audio_from) if audio_from is not None else None
    self._size = None
    if size is not None:
      self._check_size(size)
      self._size = (int(size[0]), int(size[1]))
    self._container = None
    self._partial = self.path.with_name(f".{self.path.name}.partial")
    self._audio = None
    self._last_pts = -1
    self._end_s = 0.0
    self.num_frames = 0

  def _check_size(self, size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0 or width % 2 or height % 2:
      raise ValueError(f"{self.path}: video size must be positive and even for H.264 "
                       f"(yuv420p), got {width}x{height}")

  def _open(self) -> None:
    self.path.parent.mkdir(parents=True, exist_ok=True)
    container = av.open(os.fspath(self._partial), "w", format="mp4",
                        container_options={"movflags": "+faststart"})
    try:
      stream = container.add_stream("libx264", rate=self._rate)
      stream.width, stream.height = self._size
      stream.pix_fmt = "yuv420p"
      stream.codec_context.time_base = _TIME_BASE
      stream.time_base = _TIME_BASE
      stream.options = {"crf": str(self.quality), "preset": self._preset}
      self._video = stream
      if self._audio_from is not None and self._audio_from.is_file():
        self._audio = _AudioCopy(self._audio_from, container)
    except BaseException:
      container.close()
      self._partial.unlink(missing_ok=True)
      raise
    self._container = container

  def write(self, frame: np.ndarray, seconds: float | None = None) -> None:
    """Appends one RGB `uint8` `[H, W, 3]` frame, shown at `seconds` (None: at
    `num_frames / fps`).

    Raises:
      ValueError: wrong dtype, shape or size, or a timestamp not after the previous
        frame's.
    """
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
      raise ValueError(f"{self.path}: expected an RGB uint8 [H, W, 3] frame, got "
                       f"{frame.dtype} {frame.shape}")
    size = (frame.shape[1], frame.shape[0])
    if self._container is None:
      if self._size is None:
        self._check_size(size)
        self._size = size
      if size == self._size:
        self._open()
    if size != self._size:
      raise ValueError(f"{self.path}: frame {self.num_frames} is {size[0]}x{size[1]}, "
                       f"the video is {self._size[0]}x{self._size[1]}")
    if seconds is None:
      seconds = float(self.num_frames / self._rate)
    pts = round(seconds / _TIME_BASE)
    if pts <= self._last_pts:
      raise ValueError(f"{self.path}: frame {self.num_frames} at {seconds:.6f} s is not "
                       "after the previous frame")
    video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
    video_frame.pts, video_frame.time_base = pts, _TIME_BASE
    for packet in self._video.encode(video_frame):
      self._container.mux(packet)
    self._last_pts = pts
    self._end_s = seconds + float(1 / self._rate)
    if self._audio is not None:
      self._audio.mux_until(seconds + _AUDIO_LEAD_S, self._end_s)
    self.num_frames += 1

  def close(self) -> None:
    """Finishes the file: flushes the encoder, adds the rest of the audio (up to the
    end of the last frame) and moves it to `path`. A writer that got no frame leaves
    no file."""
    if self._container is None:
      return
    container, self._container = self._container, None
    try:
      for packet in self._video.encode():
        container.mux(packet)
      if self._audio is not None:
        self._audio.mux_until(self._end_s, self._end_s)
        self._audio.close()
      container.close()
    except BaseException:
      container.close()
      self._partial.unlink(missing_ok=True)
      raise
    os.replace(self._partial, self.path)

  def abort(self) -> None:
    """Stops without a file: what was written so far is deleted."""
    if self._container is not None:
      container, self._container = self._container, None
      if self._audio is not None:
        self._audio.close(flush=False)
      container.close()
    self._partial.unlink(missing_ok=True)

  def __enter__(self) -> Self:
    return self

  def __exit__(self, exc_type, *exc_info) -> None:
    """Finishes the file, or, when the block raised, leaves none (`abort`)."""
    if exc_type is None:
      self.close()
    else:
      self.abort()


class _AudioCopy:
  """The audio streams of a source file, muxed into an output as the video advances.

  A stream whose codec mp4 holds is copied packet for packet; another one is decoded
  and re-encoded to AAC. Packets are muxed in order up to a time, so audio and video
  interleave in the file and memory stays flat.
  """

  def __init__(self, source: pathlib.Path, output: av.container.OutputContainer):
    self._input = _open_input(source)
    self._streams = {}  # input stream index -> (output stream, re-encode?)
    for stream in self._input.streams.audio:
      if stream.codec_context.name in output.supported_codecs:
        self._streams[stream.index] = (output.add_stream_from_template(stream), False)
      else:
        encoder = output.add_stream("aac", rate=stream.codec_context.sample_rate or 48000)
        encoder.layout = stream.codec_context.layout.name
        self._streams[stream.index] = (encoder, True)
    self._packets = (self._input.demux(*self._input.streams.audio)
                     if self._streams else iter(()))
    self._pending = None
    self._output = output

  def mux_until(self, seconds: float, end_s: float) -> None:
    """Muxes the source's packets that start before `seconds`, none from `end_s` on."""
    while True:
      if self._pending is None:
        self._pending = next(self._packets, None)
        if self._pending is None:
          return
      packet = self._pending
      if packet.dts is None or packet.pts is None:  # the demuxer's end-of-stream marker
        self._pending = None
        continue
      start = float(packet.pts * packet.time_base)
      if start >= min(seconds, end_s):
        return
      self._pending = None
      stream, encode = self._streams[packet.stream.index]
      if encode:
        for frame in packet.decode():
          for out in stream.encode(frame):
            self._output.mux(out)
      else:
        packet.stream = stream
        self._output.mux(packet)

  def close(self, flush: bool = True) -> None:
    """Flushes the AAC encoders (unless `flush` is False) and closes the source."""
    for stream, encode in self._streams.values():
      if encode and flush:
        for packet in stream.encode():
          self._output.mux(packet)
    self._input.close()
