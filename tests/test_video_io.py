"""Video I/O: round trips through an mp4 file and a frame folder, and bad input."""
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
