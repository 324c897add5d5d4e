"""tools/convert_to_torch.py end to end: a workdir in the trainer's layout, exported,
verified, traced, and tracked on a real DAVIS sequence with both backends.

The workdir is written with the trainer's own checkpointing code (Orbax checkpoint of
the state, config.json, networks.json) and the small smoke-ci config (EfficientNet-B0,
decoder width 8, 64 x 64); the weights are random with random batch-norm statistics.
"""
import importlib.util
import itertools
import json
import os
import pathlib

import numpy as np
import pytest
from safetensors import safe_open

from test_torch_runtime import random_variables  # pylint: disable=g-bad-import-order
import train_testing  # pylint: disable=g-bad-import-order

from wcs_jax.inference.jax_backend import JaxBackend
from wcs_jax.inference.tracker import Tracker
from wcs_jax.inference.tracker import TrackerConfig
from wcs_jax.io import masks as mask_io
from wcs_jax.io import workdir as workdir_lib
from wcs_jax.io.video import FrameReader
from wcs_jax.models import build
from wcs_jax.spec import networks
from wcs_jax.torch_runtime import export
from wcs_jax.training import checkpointing

REPO = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("convert_to_torch", REPO / "tools" / "convert_to_torch.py")
convert_to_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert_to_torch)


def write_workdir(directory, stage="wcsnet", backbone=None):
  """A stage's workdir: the stage's network trained, the earlier ones frozen in its state."""
  chain = networks.NETWORKS[:networks.NETWORKS.index(stage) + 1]
  config = train_testing.load_config("smoke.py", "ci")[stage]
  if backbone:
    config.model.backbone = backbone
  size = config.input.image_size
  image = np.zeros((1, size, size, 3), np.float32)
  single = np.zeros((1, size, size, 1), np.float32)
  args = {"egnet": (image,), "gaze2mask": (image, single), "wcsnet": (image, single, single, image)}
  variables = {name: random_variables(build.from_config(config.model, name), seed, *args[name])
               for seed, name in enumerate(chain)}
  state = {"step": 1, "params": variables[stage]["params"], "batch_stats": variables[stage]["batch_stats"],
           "frozen": {name: v for name, v in variables.items() if name != stage}}
  checkpointer = checkpointing.Checkpointer(directory, every=1, keep=1, asynchronous=False)
  checkpointer.save(1, state, force=True)
  checkpointer.wait()
  checkpointer.close()
  workdir_lib.save_config(directory, config, {name: config.model for name in chain})
  return config


def assert_verified(printed):
  """Every network's `--verify` line reports a relative difference <= 1e-5."""
  for key in ("egnet/gaze", "gaze2mask/mask", "wcsnet/mask", "wcsnet/hotspot"):
    fields = next(l for l in printed.splitlines() if l.strip().startswith(key)).split()
    assert fields[2] == "relative" and float(fields[3]) <= 1e-5, printed


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  root = tmp_path_factory.mktemp("convert")
  config = write_workdir(root / "run")
  return root / "run", root / "torch", config


def test_export_verify_and_torchscript(exported, capsys):
  workdir, output, config = exported
  # Random weights give logits up to ~1e3, where float32 rounding alone exceeds the
  # absolute 1e-4 of trained networks: the tolerance here is relative.
  status = convert_to_torch.main(["--workdir", str(workdir), "--output", str(output), "--verify",
                                  "--torchscript", "--tolerance", "1e9"])
  printed = capsys.readouterr().out
  assert status == 0, printed
  assert_verified(printed)
  for graph in ("egnet", "gaze2mask", "wcsnet_template", "wcsnet_track"):
    assert (output / f"{graph}.pt").is_file(), printed
    # Each graph was loaded back from its file and run against the eager network.
    line = next(l for l in printed.splitlines() if l.startswith(f"torchscript {graph}:"))
    assert float(line.split("max abs difference from eager ")[1].rstrip(")")) <= 1e-4, line
  saved = json.loads((output / export.CONFIG_FILE).read_text())
  assert set(saved["networks"]) == set(networks.NETWORKS)
  assert saved["networks"]["wcsnet"]["decoder_channels"] == config.model.decoder_channels
  assert saved["source"]["training_config"]["input"]["image_size"] == config.input.image_size
  with safe_open(str(output / export.WEIGHTS_FILE), "np") as f:
    names = list(f.keys())
    assert f.get_tensor("wcsnet.encoder.stem_conv.weight").shape == (32, 3, 3, 3)
    assert f.get_tensor("gaze2mask.encoder.stem_conv.weight").shape == (32, 4, 3, 3)
  assert {n.split(".")[0] for n in names} == set(networks.NETWORKS)
  assert any(n.endswith("stem_bn.running_var") for n in names)  # batch norm stored unfolded


def test_lite_backbone_export_verifies(tmp_path, capsys):
  """The three networks on EfficientNet-Lite0 (ReLU6, no SE): PyTorch equals JAX."""
  write_workdir(tmp_path / "run", backbone="efficientnet-lite0")
  status = convert_to_torch.main(["--workdir", str(tmp_path / "run"), "--output", str(tmp_path / "torch"),
                                  "--verify", "--tolerance", "1e9"])
  printed = capsys.readouterr().out
  assert status == 0, printed
  assert_verified(printed)
  saved = json.loads((tmp_path / "torch" / export.CONFIG_FILE).read_text())
  assert {c["backbone"] for c in saved["networks"].values()} == {"efficientnet-lite0"}


def test_tracker_masks_agree_between_backends(exported, shared_data):
  workdir, output, _ = exported
  if not (output / export.WEIGHTS_FILE).is_file():
    convert_to_torch.main(["--workdir", str(workdir), "--output", str(output)])
  root = shared_data / "davis2016"
  frames = list(itertools.islice(FrameReader(root / "JPEGImages/480p/blackswan"), 6))
  first = mask_io.read_label_map(root / "Annotations/480p/blackswan/00000.png")
  torch_tracker = Tracker.from_workdir(None, backend="torch", weights=output,
                                      backend_options={"precision": "float32"})
  loaded = workdir_lib.load_inference_variables(workdir)
  jax_tracker = Tracker(JaxBackend.from_inference_variables(loaded, int(loaded["config"].input.image_size)),
                        TrackerConfig.from_training_config(loaded["config"]))
  assert torch_tracker.config == jax_tracker.config
  pairs = zip(jax_tracker.track(frames, "mask", mask=first), torch_tracker.track(frames, "mask", mask=first))
  unions = 0
  for j, t in pairs:
    a, b = j.mask == 1, t.mask == 1
    union = np.logical_or(a, b).sum()
    if union:  # two empty masks would agree whatever the backends computed
      unions += 1
      iou = np.logical_and(a, b).sum() / union
      assert iou >= 0.99, f"frame {j.index}: IoU {iou}"
    np.testing.assert_allclose(t.hotspot, j.hotspot, atol=1e-3)
    assert [o.bbox for o in t.objects] == [o.bbox for o in j.objects] or j.index == 0
  assert unions >= 4, unions


def test_a_tolerance_it_cannot_meet_exits_2(exported, tmp_path, capsys):
  workdir, _, _ = exported
  status = convert_to_torch.main(["--workdir", str(workdir), "--output", str(tmp_path / "out"), "--verify",
                                  "--tolerance", "1e-12"])
  printed = capsys.readouterr().out
  assert status == 2, printed
  assert sum("ABOVE 1e-12" in line for line in printed.splitlines()) >= 3, printed


def test_missing_or_half_written_workdir_is_one_line(tmp_path, capsys):
  assert convert_to_torch.main(["--workdir", str(tmp_path / "nope"), "--output", str(tmp_path / "out")]) == 1
  assert capsys.readouterr().err == (f"convert_to_torch.py: error: {tmp_path / 'nope' / 'config.json'} not found: "
                                     "expected a workdir written by `python -m wcs_jax.train`\n")
  write_workdir(tmp_path / "run")
  (tmp_path / "run" / "networks.json").unlink()
  assert convert_to_torch.main(["--workdir", str(tmp_path / "run"), "--output", str(tmp_path / "out")]) == 1
  assert f"{tmp_path / 'run' / 'networks.json'} not found" in capsys.readouterr().err
  (tmp_path / "run" / "networks.json").write_text("[")
  assert convert_to_torch.main(["--workdir", str(tmp_path / "run"), "--output", str(tmp_path / "out")]) == 1
  assert f"{tmp_path / 'run' / 'networks.json'}: not valid JSON" in capsys.readouterr().err
  assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["truncated", "no_metadata", "empty"])
def test_damaged_latest_checkpoint_is_named(tmp_path, capsys, damage):
  """A later checkpoint that cannot be read: one line naming it and the previous one; nothing written."""
  import shutil  # pylint: disable=g-import-not-at-top
  write_workdir(tmp_path / "run")
  checkpoints = tmp_path / "run" / "checkpoints"
  if damage == "empty":
    (checkpoints / "2").mkdir()
  else:
    shutil.copytree(checkpoints / "1", checkpoints / "2")
    if damage == "truncated":
      for path in (checkpoints / "2").rglob("*"):
        if path.is_file() and path.parent.name == "d":
          path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    else:
      (checkpoints / "2" / "default" / "_METADATA").unlink()
  assert convert_to_torch.main(["--workdir", str(tmp_path / "run"), "--output", str(tmp_path / "out")]) == 1
  err = capsys.readouterr().err
  assert err.startswith(f"convert_to_torch.py: error: {checkpoints / '2'}: the latest checkpoint cannot be read ("), err
  assert err.rstrip().endswith("delete that folder to use step 1, the previous checkpoint") and err.count("\n") == 1, err
  assert not (tmp_path / "out").exists()
  shutil.rmtree(checkpoints / "2")  # as the message says: step 1 is used
  assert convert_to_torch.main(["--workdir", str(tmp_path / "run"), "--output", str(tmp_path / "out")]) == 0


def test_workdir_without_wcsnet_is_a_clear_error(tmp_path, capsys):
  write_workdir(tmp_path / "run", stage="egnet")
  status = convert_to_torch.main(["--workdir", str(tmp_path / "run"), "--output", str(tmp_path / "out")])
  assert status == 1
  assert "holds no WCS-Net" in capsys.readouterr().err


SMOKE_WORKDIR = os.environ.get("WCS_SMOKE_WORKDIR")


@pytest.mark.skipif(not SMOKE_WORKDIR, reason="needs a trained smoke run: python -m wcs_jax.train --config "
                    "configs/smoke.py --workdir DIR, then WCS_SMOKE_WORKDIR=DIR")
def test_smoke_trained_export_matches_jax_on_davis(tmp_path, shared_data, capsys):
  """A trained run: every logit within 1e-4 of JAX (absolute), and the tracker's masks on
  all 50 frames of DAVIS-2016 blackswan within IoU 0.99 of the JAX tracker's."""
  output = tmp_path / "torch"
  assert convert_to_torch.main(["--workdir", SMOKE_WORKDIR, "--output", str(output), "--verify"]) == 0, \
      capsys.readouterr().out
  root = shared_data / "davis2016"
  frames = list(FrameReader(root / "JPEGImages/480p/blackswan"))
  first = mask_io.read_label_map(root / "Annotations/480p/blackswan/00000.png")
  jax_results = Tracker.from_workdir(SMOKE_WORKDIR).track(frames, "mask", mask=first)
  torch_results = Tracker.from_workdir(None, backend="torch", weights=output).track(frames, "mask", mask=first)
  ious = []
  for j, t in zip(jax_results, torch_results):
    union = np.logical_or(j.mask == 1, t.mask == 1).sum()
    ious.append(np.logical_and(j.mask == 1, t.mask == 1).sum() / union if union else 1.0)
  assert len(ious) == len(frames) and min(ious) >= 0.99, np.round(ious, 4)
