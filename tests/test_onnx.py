"""ONNX export and the ONNX Runtime backend: `tools/convert_to_torch.py --onnx --verify`
(ONNX Runtime against the PyTorch runtime, at batch 2), the tracker on a real DAVIS
sequence with `--backend onnx` against `--backend torch`, the execution-provider
fallback, and the errors of an export without graphs.

The workdir is test_convert_to_torch's: the smoke-ci config (EfficientNet-B0, decoder
width 8, 32 x 32), random weights and batch-norm statistics. The trained smoke chain's
export is held to the absolute 1e-4 in tests/test_learning.py.
"""
import itertools
import subprocess
import sys

import numpy as np
import pytest

from test_convert_to_torch import REPO
from test_convert_to_torch import convert_to_torch
from test_convert_to_torch import write_workdir

from wcs_jax.inference import onnx_backend
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader

GRAPHS = ("egnet", "gaze2mask", "wcsnet_template", "wcsnet_track")


def differences(printed: str, section: str) -> dict[str, tuple[float, float]]:
  """{output: (absolute, relative)} of one `--verify` section of convert_to_torch's output."""
  lines = printed.split(section, 1)[1].splitlines()[1:]
  out = {}
  for line in itertools.takewhile(lambda l: l.startswith("  "), lines):
    fields = line.split()
    out[fields[0]] = (float(fields[1]), float(fields[3]))
  return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """(workdir, export with its ONNX graphs, convert_to_torch's output)."""
  root = tmp_path_factory.mktemp("onnx")
  write_workdir(root / "run")
  argv = ["--workdir", str(root / "run"), "--output", str(root / "export"), "--onnx", "--verify",
          "--tolerance", "1e9"]
  run = subprocess.run([sys.executable, str(REPO / "tools" / "convert_to_torch.py"), *argv],
                       capture_output=True, text=True, check=False)
  assert run.returncode == 0, run.stdout + run.stderr
  return root / "run", root / "export", run.stdout


def test_onnx_graphs_match_the_torch_runtime_at_batch_2(exported):
  _, output, printed = exported
  for name in GRAPHS:
    assert (output / f"{name}.onnx").is_file(), printed
    line = next(l for l in printed.splitlines() if l.startswith(f"onnx {name}:"))
    assert float(line.split("max abs difference from eager ")[1].rstrip(")")) <= 1e-3, line
  got = differences(printed, "verify ONNX at")
  expected = {"egnet/gaze", "gaze2mask/mask", "wcsnet_track/mask", "wcsnet_track/hotspot"}
  assert expected <= set(got) and any(k.startswith("wcsnet_template/code_mask_") for k in got), printed
  # Random weights give logits up to ~300, where float32 rounding alone exceeds an absolute
  # 1e-4 (the trained chain's bound); relative to the logits, they agree to float32 rounding.
  for key, (absolute, relative) in got.items():
    assert relative <= 1e-5, (key, absolute, relative)


def test_tolerance_it_cannot_meet_exits_2(exported, tmp_path, capsys):
  workdir, _, _ = exported
  status = convert_to_torch.main(["--workdir", str(workdir), "--output", str(tmp_path / "export"), "--onnx",
                                  "--verify", "--tolerance", "1e-12"])
  printed = capsys.readouterr().out
  assert status == 2, printed
  assert "ABOVE 1e-12" in printed.split("verify ONNX at", 1)[1]


def test_tracker_masks_agree_between_onnx_and_torch_on_davis(exported, shared_data):
  _, output, _ = exported
  root = shared_data / "davis2016"
  frames = list(itertools.islice(FrameReader(root / "JPEGImages/480p/blackswan"), 8))
  first = mask_io.read_label_map(root / "Annotations/480p/blackswan/00000.png")
  onnx_tracker = Tracker.from_workdir(None, backend="onnx", weights=output)
  torch_tracker = Tracker.from_workdir(None, backend="torch", weights=output)
  assert onnx_tracker.config == torch_tracker.config
  unions = 0
  for o, t in zip(onnx_tracker.track(frames, "mask", mask=first), torch_tracker.track(frames, "mask", mask=first)):
    a, b = o.mask == 1, t.mask == 1
    union = np.logical_or(a, b).sum()
    if union:
      unions += 1
      assert np.logical_and(a, b).sum() / union >= 0.999, f"frame {o.index}"
    np.testing.assert_allclose(o.hotspot, t.hotspot, atol=1e-4)
  assert unions >= 6, unions


def test_track_cli_with_onnx_and_a_missing_provider(exported, shared_data, tmp_path):
  _, output, _ = exported
  root = shared_data / "davis2016"
  run = subprocess.run(
      [sys.executable, str(REPO / "tools" / "track.py"), "--backend", "onnx", "--weights", str(output),
       "--onnx-provider", "openvino", "--input", str(root / "JPEGImages/480p/blackswan"),
       "--mask", str(root / "Annotations/480p/blackswan/00000.png"), "--output", str(tmp_path / "out"),
       "--max-frames", "3", "--no-overlay"], capture_output=True, text=True, check=False)
  assert run.returncode == 0, run.stderr
  assert ("track.py: note: --onnx-provider openvino: OpenVINOExecutionProvider not in this onnxruntime"
          in run.stderr), run.stderr
  assert "running on CPUExecutionProvider" in run.stderr
  assert sorted(p.name for p in (tmp_path / "out" / "masks").iterdir()) == ["00000.png", "00001.png", "00002.png"]


def test_export_without_graphs_is_a_clear_error(exported, tmp_path):
  workdir, _, _ = exported
  assert convert_to_torch.main(["--workdir", str(workdir), "--output", str(tmp_path / "plain")]) == 0
  run = subprocess.run(
      [sys.executable, str(REPO / "tools" / "track.py"), "--backend", "onnx", "--weights", str(tmp_path / "plain"),
       "--input", "unused.mp4", "--output", str(tmp_path / "out")], capture_output=True, text=True, check=False)
  assert run.returncode == 1
  assert run.stderr.strip().splitlines() == [
      f"track.py: error: {tmp_path / 'plain' / 'wcsnet_template.onnx'} is missing: write the ONNX graphs with "
      f"`python tools/convert_to_torch.py --workdir RUN --output {tmp_path / 'plain'} --onnx`"], run.stderr
  assert not (tmp_path / "out").exists()


def test_provider_choice_and_fallback():
  cpu = ["AzureExecutionProvider", "CPUExecutionProvider"]
  assert onnx_backend.choose_providers("cpu", cpu) == (["CPUExecutionProvider"], None)
  chosen, note = onnx_backend.choose_providers("openvino", cpu)
  assert chosen == ["CPUExecutionProvider"] and "onnxruntime-openvino in place of onnxruntime" in note
  gpu = ["CUDAExecutionProvider", "CPUExecutionProvider"]
  assert onnx_backend.choose_providers("cuda", gpu) == (gpu, None)
  chosen, note = onnx_backend.choose_providers("tensorrt", gpu)
  assert chosen == gpu and note.startswith("--onnx-provider tensorrt: TensorrtExecutionProvider not in")
  trt = ["TensorrtExecutionProvider", "CPUExecutionProvider"]
  assert onnx_backend.choose_providers("tensorrt", trt) == (trt, None)  # CUDA missing behind TensorRT: no note
  with pytest.raises(ValueError, match="--onnx-provider must be one of"):
    onnx_backend.choose_providers("directml", cpu)
  with pytest.raises(ValueError, match="none of"):
    onnx_backend.choose_providers("cuda", ["AzureExecutionProvider"])


def test_onnx_backend_imports_without_torch_jax_or_tensorflow():
  code = ("import sys, wcs_jax.inference.onnx_backend; "
          "bad = [m for m in sys.modules if m.split('.')[0] in "
          "('torch', 'jax', 'jaxlib', 'flax', 'tensorflow', 'keras')]; assert not bad, bad")
  subprocess.run([sys.executable, "-c", code], check=True)
