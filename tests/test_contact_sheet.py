"""tools/contact_sheet.py on a hand-made tracking output: tiles, scale and tint."""
import importlib.util
import pathlib

import cv2
import numpy as np
import pytest

from wcs_jax.inference import outputs
from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io

REPO = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("contact_sheet", REPO / "tools" / "contact_sheet.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


@pytest.fixture
def tracked(tmp_path):
  """Three grey 80x40 frames; object 1 is the 10x10 square at (10 + 20 t, 10); no hotspot."""
  frames, tracks = tmp_path / "frames", tmp_path / "out"
  for folder in (frames, tracks / "masks", tracks / "hotspots"):
    folder.mkdir(parents=True)
  for t in range(3):
    cv2.imwrite(str(frames / f"{t:05d}.png"), np.full((40, 80, 3), 100, np.uint8))
    labels = np.zeros((40, 80), np.uint8)
    labels[10:20, 10 + 20 * t:20 + 20 * t] = 1
    mask_io.write_palette_png(tracks / "masks" / f"{t:05d}.png", labels)
    map_io.write_map(tracks / "hotspots" / f"{t:05d}.png", np.zeros((40, 80), np.float32))
  return frames, tracks


def test_sheet_tiles_the_chosen_frames_tinted(tracked, tmp_path, capsys):
  frames, tracks = tracked
  out = tmp_path / "sheet.png"
  assert tool.main(["--input", str(frames), "--tracks", str(tracks), "--frames", "0,2", "--output", str(out),
                    "--width", "80"]) == 0
  sheet = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
  assert sheet.shape == (40, 160, 3) and "160x40" in capsys.readouterr().out
  colour = mask_io.davis_palette()[1].astype(np.float32)
  tint = np.round((1 - outputs.MASK_ALPHA) * 100 + outputs.MASK_ALPHA * colour)
  np.testing.assert_allclose(sheet[15, 15], tint, atol=1)        # frame 0's square
  np.testing.assert_allclose(sheet[15, 80 + 55], tint, atol=1)   # frame 2's square, second tile
  np.testing.assert_array_equal(sheet[15, 80 + 15], [100, 100, 100])  # frame 0's place in frame 2


def test_frame_past_the_end_is_one_clear_error(tracked, tmp_path, capsys):
  frames, tracks = tracked
  assert tool.main(["--input", str(frames), "--tracks", str(tracks), "--frames", "5",
                    "--output", str(tmp_path / "s.png")]) == 1
  assert "has only 3 frames" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    tool.main(["--input", str(frames), "--tracks", str(tracks), "--frames", "a,1", "--output", "x.png"])
