"""Video I/O: round trips through an mp4 file and a frame folder, and bad input."""
import av
import cv2
import numpy as np
import pytest

from wcs_jax.io.video import FrameReader, VideoWriter, read_image


def _frames(num_frames=6, height=48, width=64):
  """Smooth, distinct RGB frames (smooth so that lossy mp4 keeps them close)."""
  y, x = np.mgrid[:height, :width]
  frames = []
  for t in range(num_frames):
    red = 40 + 3 * x + 20 * t
    green = 30 + 3 * y
    blue = np.full_like(x, 200 - 25 * t)
    frames.append(np.clip(np.stack([red, green, blue], -1), 0, 255).astype(np.uint8))
  return frames


def test_mp4_round_trip(tmp_path):
  frames = _frames()
  path = tmp_path / "sub" / "clip.mp4"
  with VideoWriter(path, fps=12.5) as writer:
    for frame in frames:
      writer.write(frame)
  assert writer.num_frames == len(frames)

  with FrameReader(path) as reader:
    assert (reader.info.width, reader.info.height) == (64, 48)
    assert reader.info.fps == pytest.approx(12.5)
    assert reader.info.num_frames == len(frames)
    decoded = list(reader)
    assert len(list(reader)) == len(frames)  # a second pass starts again
  assert len(decoded) == len(frames)
  for original, back in zip(frames, decoded):
    assert back.dtype == np.uint8 and back.shape == (48, 64, 3)
    # RGB order survives (a BGR swap would put blue's ~100 levels of error here).
    assert np.abs(back.astype(int) - original).mean() < 4


def test_folder_round_trip_sorted_and_exact(tmp_path):
  frames = _frames(num_frames=4)
  for t in (2, 0, 3, 1):  # written out of order: reading follows names
    cv2.imwrite(str(tmp_path / f"{t:05d}.png"), cv2.cvtColor(frames[t], cv2.COLOR_RGB2BGR))
  (tmp_path / "notes.txt").write_text("not a frame")
  reader = FrameReader(tmp_path)
  assert reader.info.num_frames == 4 and reader.info.fps is None
  assert reader.frame_names == ["00000", "00001", "00002", "00003"]
  for original, back in zip(frames, reader, strict=True):
    np.testing.assert_array_equal(back, original)


def test_grey_image_expands_to_rgb(tmp_path):
  cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 7), 77, np.uint8))
  image = read_image(tmp_path / "g.png")
  assert image.shape == (5, 7, 3) and (image == 77).all()


def test_a_folder_mixing_extensions_is_read_in_name_order(tmp_path):
  frames = _frames(num_frames=4)
  for t, extension in ((3, ".png"), (0, ".bmp"), (2, ".JPG"), (1, ".png")):
    cv2.imwrite(str(tmp_path / f"{t:05d}{extension}"), cv2.cvtColor(frames[t], cv2.COLOR_RGB2BGR))
  reader = FrameReader(tmp_path)
  assert reader.frame_names == ["00000", "00001", "00002", "00003"]
  for t, back in enumerate(reader):
    # The JPEG frame is lossy; the others are exact.
    assert np.abs(back.astype(int) - frames[t]).max() <= (12 if t == 2 else 0), t
  # Two files of one frame name: their outputs (masks/00001.png) would collide.
  cv2.imwrite(str(tmp_path / "00001.jpg"), frames[1])
  with pytest.raises(ValueError) as error:
    FrameReader(tmp_path)
  assert str(error.value) == (f"{tmp_path}: 00001.jpg and 00001.png are the same frame name with "
                              "two extensions; keep one")


def test_a_greyscale_video_file_is_read_as_rgb(tmp_path):
  """A `gray` pixel-format stream (FFV1 keeps it grey and lossless) decodes to R = G = B."""
  path = tmp_path / "grey.mkv"
  levels = [40 + 30 * t for t in range(5)]
  with av.open(str(path), "w") as container:
    stream = container.add_stream("ffv1", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "gray"
    for level in levels:
      grey = np.full((48, 64), level, np.uint8)
      grey[:, :32] += 20
      container.mux(stream.encode(av.VideoFrame.from_ndarray(grey, format="gray")))
    container.mux(stream.encode())
  with av.open(str(path)) as container:
    assert container.streams.video[0].codec_context.pix_fmt == "gray"
  with FrameReader(path) as reader:
    assert (reader.info.width, reader.info.height) == (64, 48)  # MKV stores no frame count
    decoded = list(reader)
  assert len(decoded) == 5
  for level, frame in zip(levels, decoded):
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[:, 32:], level)
    np.testing.assert_array_equal(frame[:, :32], level + 20)


def test_reader_errors_name_the_input(tmp_path):
  with pytest.raises(FileNotFoundError, match="missing.mp4"):
    FrameReader(tmp_path / "missing.mp4")
  empty = tmp_path / "empty_dir"
  empty.mkdir()
  with pytest.raises(ValueError, match="empty_dir.*found none"):
    FrameReader(empty)
  garbage = tmp_path / "garbage.mp4"
  garbage.write_bytes(b"not a video" * 50)
  with pytest.raises(ValueError, match="garbage.mp4"):
    FrameReader(garbage)

  folder = tmp_path / "frames"
  folder.mkdir()
  cv2.imwrite(str(folder / "00000.png"), np.zeros((8, 8, 3), np.uint8))
  cv2.imwrite(str(folder / "00001.png"), np.zeros((8, 6, 3), np.uint8))
  (folder / "00002.jpg").write_bytes(b"\xff\xd8 broken")
  frames = iter(FrameReader(folder))
  next(frames)
  with pytest.raises(ValueError, match="00001.png.*6x8.*8x8"):
    next(frames)
  (folder / "00001.png").unlink()
  with pytest.raises(ValueError, match="00002.jpg"):
    list(FrameReader(folder))


def test_writer_errors(tmp_path):
  with pytest.raises(ValueError, match="even"):
    VideoWriter(tmp_path / "a.mp4", fps=24, size=(33, 20))
  with pytest.raises(ValueError, match="fps"):
    VideoWriter(tmp_path / "a.mp4", fps=0)
  with VideoWriter(tmp_path / "b.mp4", fps=24) as writer:
    with pytest.raises(ValueError, match="even"):
      writer.write(np.zeros((21, 32, 3), np.uint8))
    writer.write(np.zeros((20, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="b.mp4.*16x20.*32x20"):
      writer.write(np.zeros((20, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
      writer.write(np.zeros((20, 32, 3), np.float32))
  assert FrameReader(tmp_path / "b.mp4").info.num_frames == 1


def write_source(path, frames, fps=24, audio_seconds=None, audio_codec="aac",
                 sample_rate=48000, times=None):
  """A source video written with PyAV directly (not through VideoWriter): H.264 frames
  at `times` (default index / fps) and a 440 Hz tone of `audio_seconds` in `audio_codec`."""
  import fractions
  import av
  with av.open(str(path), "w") as container:
    video = container.add_stream("libx264", rate=fps)
    video.height, video.width = frames[0].shape[:2]
    video.pix_fmt = "yuv420p"
    time_base = fractions.Fraction(1, 1000)
    video.codec_context.time_base = video.time_base = time_base
    audio = None
    if audio_seconds:
      audio = container.add_stream(audio_codec, rate=sample_rate)
      audio.layout = "mono"
    for k, frame in enumerate(frames):
      video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
      video_frame.pts = round((times[k] if times is not None else k / fps) * 1000)
      video_frame.time_base = time_base
      for packet in video.encode(video_frame):
        container.mux(packet)
    for packet in video.encode():
      container.mux(packet)
    if audio is not None:
      samples = round(audio_seconds * sample_rate)
      tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / sample_rate)).astype(np.float32)
      for start in range(0, samples, 1024):
        chunk = tone[None, start:start + 1024]
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate, frame.pts = sample_rate, start
        for packet in audio.encode(frame):
          container.mux(packet)
      for packet in audio.encode():
        container.mux(packet)
  return path


def probe(path):
  """(video codec, frame count, video seconds, audio codec or None, audio seconds,
  audio packet payloads) of a file, read with PyAV."""
  import av
  with av.open(str(path)) as container:
    video = container.streams.video[0]
    times = [frame.time for frame in container.decode(video)]
  with av.open(str(path)) as container:
    audio = container.streams.audio[0] if container.streams.audio else None
    payloads, end = [], 0.0
    if audio is not None:
      for packet in container.demux(audio):
        if packet.size:
          payloads.append(bytes(packet))
          end = max(end, float((packet.pts + packet.duration) * packet.time_base))
    return (video.codec_context.name, len(times), times,
            audio.codec_context.name if audio is not None else None, end, payloads)


def test_h264_with_the_sources_audio_copied_unchanged(tmp_path):
  frames = _frames(num_frames=48)
  source = write_source(tmp_path / "src.mp4", frames, fps=24, audio_seconds=2.0)
  out = tmp_path / "out" / "crop.mp4"
  with FrameReader(source) as reader:
    assert reader.info.audio_streams == 1 and reader.info.fps == pytest.approx(24)
    with VideoWriter(out, reader.info.fps, quality=20, audio_from=source) as writer:
      for seconds, frame in reader.timed():
        writer.write(np.ascontiguousarray(frame[:, 16:48]), seconds)
  codec, count, times, audio_codec, audio_end, payloads = probe(out)
  _, _, source_times, _, source_end, source_payloads = probe(source)
  assert codec == "h264" and count == 48
  np.testing.assert_allclose(times, source_times, atol=1e-4)
  assert audio_codec == "aac"
  assert payloads == source_payloads  # packet for packet
  video_end = times[-1] + 1 / 24
  assert abs(audio_end - video_end) <= 1 / 24 and audio_end == pytest.approx(source_end)
  assert not list(out.parent.glob(".*partial"))


def test_audio_ends_with_a_shorter_video_and_other_codecs_become_aac(tmp_path):
  frames = _frames(num_frames=24)
  # A-law PCM in QuickTime: a codec mp4 cannot hold.
  source = write_source(tmp_path / "src.mov", frames, fps=12, audio_seconds=2.0,
                        audio_codec="pcm_alaw", sample_rate=8000)
  out = tmp_path / "half.mp4"
  with VideoWriter(out, 12, audio_from=source) as writer:
    for frame in frames[:12]:  # the first second only
      writer.write(frame)
  codec, count, times, audio_codec, audio_end, _ = probe(out)
  assert (codec, count, audio_codec) == ("h264", 12, "aac")
  assert abs(audio_end - 1.0) <= 1 / 12


def test_variable_frame_times_are_kept(tmp_path):
  frames = _frames(num_frames=5)
  times = [0.0, 0.04, 0.2, 0.23, 0.5]
  source = write_source(tmp_path / "vfr.mp4", frames, fps=10, times=times)
  out = tmp_path / "copy.mp4"
  with FrameReader(source) as reader, VideoWriter(out, 10) as writer:
    read_times = []
    for seconds, frame in reader.timed():
      writer.write(frame, seconds)
      read_times.append(seconds)
  np.testing.assert_allclose(read_times, times, atol=1e-3)
  np.testing.assert_allclose(probe(out)[2], times, atol=1e-3)
  with VideoWriter(tmp_path / "bad.mp4", 10) as writer:
    writer.write(frames[0], 0.5)
    with pytest.raises(ValueError, match="bad.mp4.*not after"):
      writer.write(frames[1], 0.5)


def test_a_failed_write_leaves_no_file(tmp_path):
  out = tmp_path / "broken.mp4"
  with pytest.raises(RuntimeError):
    with VideoWriter(out, 24) as writer:
      writer.write(_frames(num_frames=1)[0])
      raise RuntimeError("the caller failed mid-video")
  assert not out.exists() and not list(tmp_path.iterdir())
  with pytest.raises(ValueError, match="quality"):
    VideoWriter(out, 24, quality=60)
