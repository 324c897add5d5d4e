"""tools/track.py end to end on DAVIS frames with a workdir of random weights, written
through the trainer's own checkpoint and config writers; bad input gives one-line errors."""
import importlib.util
import json
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import tracking_testing
import train_testing
from wcs_jax.io import masks as mask_io
from wcs_jax.io import mjpeg
from wcs_jax.io.video import FrameReader

REPO = pathlib.Path(__file__).resolve().parents[1]


def _load_tool():
  spec = importlib.util.spec_from_file_location("track_tool", REPO / "tools" / "track.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


track_tool = _load_tool()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  """A stage-2 workdir of the three networks with random weights (`tracking_testing`)."""
  path = tracking_testing.write_random_workdir(tmp_path_factory.mktemp("run"))
  with train_testing.fast_compiles():
    yield path


@pytest.fixture(scope="module")
def davis(shared_data):
  root = shared_data / "davis2016"
  return root / "JPEGImages/480p/blackswan", root / "Annotations/480p/blackswan/00000.png"


def run_tool(capsys, *argv):
  code = track_tool.main([str(a) for a in argv])
  captured = capsys.readouterr()
  return code, captured.out, captured.err


def test_two_clicks_write_every_output(workdir, davis, tmp_path, capsys):
  frames, _ = davis
  out = tmp_path / "out"
  code, stdout, stderr = run_tool(capsys, "--input", frames, "--workdir", workdir, "--output", out,
                                  "--click", "400,200", "100,100", "--max-frames", 4)
  assert code == 0, stderr
  assert "4 frames" in stdout and "network" in stdout and "crop/paste" in stdout
  assert "frame/s" in stderr  # tqdm's rate
  names = [f"{i:05d}.png" for i in range(4)]
  assert sorted(p.name for p in (out / "masks").iterdir()) == names
  assert sorted(p.name for p in (out / "hotspots").iterdir()) == names
  for name in names:
    mask = Image.open(out / "masks" / name)
    assert mask.mode == "P" and mask.size == (854, 480)
    np.testing.assert_array_equal(np.asarray(mask.getpalette(), np.uint8).reshape(-1, 3)[:4],
                                  mask_io.davis_palette()[:4])
    assert set(np.unique(np.asarray(mask))) <= {0, 1, 2}
    hotspot = Image.open(out / "hotspots" / name)
    assert hotspot.mode == "L" and hotspot.size == (854, 480)
  tracklets = json.loads((out / "tracklets.json").read_text())
  assert (tracklets["width"], tracklets["height"], tracklets["num_frames"]) == (854, 480, 4)
  assert [o["prompt"] for o in tracklets["objects"]] == [["click", 400.0, 200.0], ["click", 100.0, 100.0]]
  assert [f["frame"] for f in tracklets["frames"]] == [0, 1, 2, 3]
  for entry, name in zip(tracklets["frames"], names):
    labels = mask_io.read_label_map(out / "masks" / name)
    for obj in entry["objects"]:
      assert set(obj) >= {"id", "hotspot", "bbox", "area", "lost"}
      assert obj["area"] == np.count_nonzero(labels == obj["id"])
      if obj["area"]:
        x0, y0, x1, y1 = obj["bbox"]
        ys, xs = np.nonzero(labels == obj["id"])
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
      x, y = obj["hotspot"]
      assert 0 <= x < 854 and 0 <= y < 480
  video = FrameReader(out / "overlay.mp4")
  assert (video.info.width, video.info.height) == (854, 480)
  assert sum(1 for _ in video) == 4


def test_overlay_of_a_video_file_is_h264_with_its_audio(workdir, davis, tmp_path, capsys):
  """A video file with sound in, 6 of its frames tracked: overlay.mp4 is H.264 and carries
  the source's audio up to the end of the frames tracked (within one frame)."""
  from test_video_io import probe, write_source  # pylint: disable=import-outside-toplevel
  frames_dir, _ = davis
  frames = [frame for _, frame in zip(range(12), FrameReader(frames_dir))]
  source = write_source(tmp_path / "clip.mp4", frames, fps=24, audio_seconds=0.5)
  out = tmp_path / "out"
  code, _, stderr = run_tool(capsys, "--input", source, "--workdir", workdir, "--output", out,
                             "--click", "400,200", "--max-frames", 6)
  assert code == 0, stderr
  codec, count, times, audio_codec, audio_end, _ = probe(out / "overlay.mp4")
  assert (codec, count, audio_codec) == ("h264", 6, "aac")
  assert abs(audio_end - 6 / 24) <= 1 / 24


def test_mask_init_writes_the_given_mask_first(workdir, davis, tmp_path, capsys):
  frames, first_mask = davis
  out = tmp_path / "out"
  code, _, stderr = run_tool(capsys, "--input", frames, "--workdir", workdir, "--output", out,
                             "--mask", first_mask, "--max-frames", 3, "--no-overlay")
  assert code == 0, stderr
  np.testing.assert_array_equal(mask_io.read_label_map(out / "masks/00000.png"),
                                mask_io.read_label_map(first_mask))
  assert len(list((out / "masks").iterdir())) == 3 and not (out / "overlay.mp4").exists()


def test_bad_input_gives_one_line_errors(workdir, davis, tmp_path, capsys):
  frames, first_mask = davis
  common = ["--workdir", workdir, "--output", tmp_path / "out"]
  broken = tmp_path / "broken.mp4"
  broken.write_bytes(b"not a video at all")
  empty_mask = tmp_path / "empty.png"
  no_frames = tmp_path / "no_frames"
  no_frames.mkdir()
  mask_io.write_palette_png(empty_mask, np.zeros((480, 854), np.uint8))
  cases = [
      (["--input", tmp_path / "missing"], "no such video file or frame folder"),
      (["--input", broken], "broken.mp4"),
      (["--input", no_frames], "expected image files"),
      (["--input", frames, "--click", "900,10"], "--click 900,10 lies outside the 854x480 first frame"),
      (["--input", frames, "--box", "10,10,10,50"], "--box 10,10,10,50: less than one pixel"),
      (["--input", frames, "--mask", empty_mask], "no object pixel"),
      (["--input", frames, "--backend", "torch", "--weights", no_frames], "convert_to_torch"),
  ]
  for argv, message in cases:
    code, _, stderr = run_tool(capsys, *argv, *common)
    assert code == 1, argv
    assert message in stderr and "Traceback" not in stderr, stderr
  code, _, stderr = run_tool(capsys, "--input", frames, "--workdir", tmp_path / "norun", "--output", tmp_path / "o")
  assert code == 1 and "config.json not found" in stderr


def test_flag_errors_are_usage_errors(davis, tmp_path, capsys):
  frames, first_mask = davis
  common = ["--input", frames, "--output", tmp_path / "out", "--workdir", tmp_path]
  for argv, message in [(["--click", "3"], "--click: expected 2 comma-separated numbers"),
                        (["--click", "3,4", "--box", "1,2,3,4"], "give one kind of prompt"),
                        (["--init", "box"], "--init box needs --box"),
                        (["--init", "mask", "--click", "3,4"], "--click given with --init mask")]:
    with pytest.raises(SystemExit) as exit_info:
      run_tool(capsys, *common, *argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
  with pytest.raises(SystemExit):
    run_tool(capsys, "--input", frames, "--output", tmp_path / "o", "--backend", "torch")
  assert "--backend torch needs --weights DIR" in capsys.readouterr().err


def test_help_explains_every_flag():
  result = subprocess.run([sys.executable, str(REPO / "tools" / "track.py"), "--help"],
                          capture_output=True, text=True, check=True, cwd=REPO)
  for flag in ("--input", "--workdir", "--output", "--init", "--click", "--box", "--mask",
               "--backend", "--weights", "--max-frames", "--no-overlay"):
    assert flag in result.stdout


@pytest.mark.parametrize("realtime", [False, True])
def test_http_mjpeg_stream_every_frame_tracked_or_recorded_skipped(workdir, tmp_path, capsys, realtime):
  # Frame i is uniform grey 5 * i, so the frames that arrive can be told apart.
  server = mjpeg.MJPEGServer([np.full((48, 64, 3), 5 * i, np.uint8) for i in range(40)])
  out = tmp_path / "live"
  try:
    code, _, stderr = run_tool(capsys, "--input", server.url, "--workdir", workdir, "--output", out,
                               "--box", "8,8,40,40", *(["--realtime"] if realtime else []))
  finally:
    server.close()
  assert code == 0, stderr
  tracklets = json.loads((out / "tracklets.json").read_text())
  tracked = [f["frame"] for f in tracklets["frames"]]
  skipped = [s["frame"] for s in tracklets["skipped"]]
  assert (server.sent, len(tracked), len(skipped)) == (40, len(tracked), len(skipped))
  assert sorted(tracked + skipped) == list(range(40))
  assert (len(skipped) > 0) == realtime  # the server is much faster than the tracker
  assert sorted(p.stem for p in (out / "masks").iterdir()) == [f"{i:05d}" for i in tracked]
  assert sum(1 for _ in FrameReader(out / "overlay.mp4")) == len(tracked)


def test_prompts_file_adds_and_removes_objects(workdir, davis, tmp_path, capsys):
  frames, first_mask = davis
  (tmp_path / "p.json").write_text(json.dumps([
      {"frame": 0, "object": 4, "mask": str(first_mask)}, {"frame": 2, "object": 9, "box": [500, 100, 700, 300]},
      {"frame": 3, "object": 4, "remove": True}]))
  out = tmp_path / "out"
  code, _, stderr = run_tool(capsys, "--input", frames, "--workdir", workdir, "--output", out,
                             "--prompts", tmp_path / "p.json", "--max-frames", 5)
  assert code == 0, stderr
  tracklets = json.loads((out / "tracklets.json").read_text())
  assert [[o["id"] for o in f["objects"]] for f in tracklets["frames"]] == [[4], [4], [4, 9], [9], [9]]
  assert [(p["frame"], p["object"], p["prompt"][0]) for p in tracklets["prompts"]] == [
      (0, 4, "mask"), (2, 9, "box"), (3, 4, "remove")]
  assert tracklets["objects"] == [{"id": 4, "prompt": ["mask"], "fallback": False}]
  (tmp_path / "bad.json").write_text(json.dumps([{"frame": 90, "object": 1, "click": [10, 10]}]))
  code, _, stderr = run_tool(capsys, "--input", frames, "--workdir", workdir, "--output", tmp_path / "bad",
                             "--prompts", tmp_path / "bad.json")
  assert code == 1 and "entry 0 (frame 90, object 1): the video has" in stderr
  assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
  code, _, stderr = run_tool(capsys, "--input", "camera:57", "--workdir", workdir, "--output", tmp_path / "cam")
  assert code == 1 and "--input camera:57: no camera at index 57" in stderr


def test_sigint_mid_video_stops_with_every_output_complete(workdir, davis, tmp_path):
  """Ctrl-C (SIGINT) after a few frames: exit code 130, every PNG valid, tracklets.json
  complete and marked interrupted, overlay.mp4 decodes to the number of tracked frames."""
  import signal  # pylint: disable=import-outside-toplevel
  frames, _ = davis
  out = tmp_path / "out"
  process = subprocess.Popen([sys.executable, str(REPO / "tools" / "track.py"), "--input", str(frames),
                              "--workdir", str(workdir), "--output", str(out), "--box", "300,100,600,400"],
                             stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 240
  while (not (out / "masks").exists() or len(list((out / "masks").iterdir())) < 3) and process.poll() is None:
    assert time.monotonic() < deadline, "no frame written in time"
    time.sleep(0.1)
  process.send_signal(signal.SIGINT)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 130, stderr
  tracklets = json.loads((out / "tracklets.json").read_text())
  assert tracklets["interrupted"] is True and 3 <= tracklets["num_frames"] < 50
  names = sorted((out / "masks").iterdir())
  assert [p.stem for p in names] == [f"{i:05d}" for i in range(tracklets["num_frames"])]
  for path in names:
    assert mask_io.read_label_map(path).shape == (480, 854)
  assert sum(1 for _ in FrameReader(out / "overlay.mp4")) == tracklets["num_frames"]
