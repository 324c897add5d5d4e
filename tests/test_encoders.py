"""Encoders against their reference, keras.applications, on TensorFlow.

Keras models are built with weights=None (nothing downloads); their batch-norm
statistics and affine parameters are randomised so that every layer matters, and the
EfficientNet `normalization` layer is set to ImageNet mean and variance = std**2.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

tf.config.set_visible_devices([], "GPU")
import keras  # pylint: disable=g-import-not-at-top,wrong-import-position

from wcs_jax.io import trees  # pylint: disable=wrong-import-position
from wcs_jax.models import backbone_io
from wcs_jax.models import efficientnet
from wcs_jax.models import encoders
from wcs_jax.models import keras_import
from wcs_jax.models import resnet
from wcs_jax.spec import backbones
import train_testing  # pylint: disable=wrong-import-order

# Per level, max |ours - Keras| / max |Keras|: measured 2.6e-7 .. 1.6e-6 over the three
# architectures at 320x320 (2026-12-04, XLA:CPU vs TensorFlow CPU); 3x margin.
RELATIVE_TOLERANCE = 5e-6
LEVEL_LAYERS = {
    "efficientnet-b0": ["block1a_project_bn", "block2b_add", "block3b_add", "block5c_add", "block7a_project_bn"],
    "efficientnet-b2": ["block1b_add", "block2c_add", "block3c_add", "block5d_add", "block7b_add"],
    "resnet101": ["conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block23_out", "conv5_block3_out"],
}


def reference_model(arch, seed=0):
  model = keras_import.build_keras_model(arch)
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape))
      layer.beta.assign(rng.normal(0, 0.1, layer.beta.shape))
      layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
      layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape))
    elif isinstance(layer, keras.layers.Normalization):
      layer.adapt_mean.assign(np.array(backbones.IMAGENET_MEAN))
      layer.adapt_variance.assign(np.array(backbones.IMAGENET_STD) ** 2)
      layer.finalize_state()
  return model


@pytest.fixture(scope="module", params=list(LEVEL_LAYERS))
def parity_case(request):
  arch = request.param
  model = reference_model(arch)
  levels = keras.Model(model.input, [model.get_layer(n).output for n in LEVEL_LAYERS[arch]])
  return arch, model, levels


def test_levels_match_keras(parity_case):
  arch, model, levels = parity_case
  x = np.random.default_rng(1).uniform(0, 1, (1, 320, 320, 3)).astype(np.float32)
  keras_input = 255 * x if arch.startswith("efficientnet") else keras.applications.resnet.preprocess_input(255 * x)
  expected = [np.asarray(t) for t in levels(keras_input, training=False)]
  variables = keras_import.load_keras_weights(model, arch)
  encoder = encoders.build_encoder(arch)
  got = jax.jit(lambda v, x: encoder.apply(v, x))(variables, x)
  strides = (2, 4, 8, 16, 32)
  assert len(got) == 5
  for name, stride, e, g in zip(LEVEL_LAYERS[arch], strides, expected, got):
    assert g.shape == e.shape == (1, 320 // stride, 320 // stride, backbones.level_channels(arch)[strides.index(stride)])
    error = np.abs(np.asarray(g) - e).max()
    assert error <= RELATIVE_TOLERANCE * np.abs(e).max(), f"{arch} {name}: max abs diff {error}, level max {np.abs(e).max()}"


def test_parameter_counts_match_keras(parity_case):
  arch, _, levels = parity_case
  keras_trainable = sum(int(np.prod(w.shape)) for w in levels.trainable_weights)
  keras_bn_stats = sum(int(np.prod(w.shape)) for l in levels.layers if isinstance(l, keras.layers.BatchNormalization)
                       for w in (l.moving_mean, l.moving_variance))
  shapes = jax.eval_shape(lambda: encoders.build_encoder(arch).init(jax.random.key(0), jnp.zeros((1, 64, 64, 3))))
  count = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(tree))
  assert count(shapes["params"]) == keras_trainable
  assert count(shapes["batch_stats"]) == keras_bn_stats


def test_four_channel_import_starts_as_the_rgb_encoder(parity_case):
  arch, model, _ = parity_case
  if arch != "efficientnet-b0":
    pytest.skip("one architecture suffices")
  rgb = keras_import.load_keras_weights(model, arch)
  rgbg = keras_import.load_keras_weights(model, arch, in_channels=4)
  assert rgbg["params"]["stem_conv"]["kernel"].shape[2] == 4
  np.testing.assert_array_equal(rgbg["params"]["stem_conv"]["kernel"][:, :, 3], 0)
  x = np.random.default_rng(2).uniform(0, 1, (1, 64, 64, 3)).astype(np.float32)
  gaze = np.random.default_rng(3).uniform(0, 1, (1, 64, 64, 1)).astype(np.float32)
  a = jax.jit(encoders.build_encoder(arch).apply)(rgb, x)
  b = jax.jit(encoders.build_encoder(arch, in_channels=4).apply)(rgbg, np.concatenate([x, gaze], -1))
  for la, lb in zip(a, b):
    np.testing.assert_allclose(la, lb, atol=1e-5)


@pytest.mark.parametrize("arch", ["efficientnet-b0", "resnet50"])
def test_weights_file_round_trip_and_backbone_dir(arch, tmp_path):
  model = reference_model(arch, seed=4)
  path = tmp_path / "w.weights.h5"
  model.save_weights(path)
  from_file = keras_import.load_keras_weights(str(path), arch)
  from_model = keras_import.load_keras_weights(model, arch)
  flat_file, flat_model = trees.flatten(from_file), trees.flatten(from_model)
  assert flat_file.keys() == flat_model.keys()
  for key in flat_file:
    np.testing.assert_array_equal(flat_file[key], flat_model[key])
  backbone_io.save_backbone(tmp_path / "bb", from_file, arch, str(path))
  loaded = backbone_io.load_backbone(tmp_path / "bb", in_channels=4)
  stem = backbones.stem_path(arch)[0]
  assert loaded["params"][stem]["kernel"].shape[2] == 4
  with pytest.raises(ValueError, match="holds a"):
    backbone_io.load_backbone(tmp_path / "bb", arch="efficientnet-b7")


def test_mismatched_weights_name_the_tensors(tmp_path):
  model = reference_model("efficientnet-b0")
  with pytest.raises(ValueError, match=r"missing \(128\): batch_stats/block1b/bn/mean"):
    keras_import.load_keras_weights(model, "efficientnet-b1")
  with pytest.raises(FileNotFoundError, match="nope.h5"):
    keras_import.load_keras_weights(str(tmp_path / "nope.h5"), "efficientnet-b0")
  with pytest.raises(FileNotFoundError, match="import_backbone"):
    backbone_io.load_backbone(tmp_path)


def test_wrong_normalization_is_refused():
  model = keras_import.build_keras_model("efficientnet-b0")  # un-adapted: mean 0, variance 1
  with pytest.raises(ValueError, match="ImageNet mean"):
    keras_import.load_keras_weights(model, "efficientnet-b0")


@train_testing.fast_compiles()
def test_encoder_jits_and_vmaps():
  encoder = encoders.build_encoder("efficientnet-b0")
  x = np.random.default_rng(5).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
  variables = jax.jit(encoder.init)(jax.random.key(0), x[:1])
  batched = jax.jit(lambda v, x: encoder.apply(v, x))(variables, x)
  # vmap over examples, each encoded as a batch of one.
  mapped = jax.jit(jax.vmap(lambda e: encoder.apply(variables, e[None])))(x)
  for b, m in zip(batched, mapped):
    assert m.shape == (2, 1) + b.shape[1:]
    np.testing.assert_allclose(m[:, 0], b, atol=1e-5)


@train_testing.fast_compiles()
def test_train_mode_updates_batch_stats():
  encoder = encoders.build_encoder("efficientnet-b0")
  x = np.random.default_rng(6).uniform(0, 1, (4, 32, 32, 3)).astype(np.float32)
  variables = jax.jit(encoder.init)(jax.random.key(0), x)
  _, updated = jax.jit(lambda v, x: encoder.apply(v, x, train=True, mutable=["batch_stats"],
                                                  rngs={"dropout": jax.random.key(1)}))(variables, x)
  assert not np.allclose(updated["batch_stats"]["stem_bn"]["mean"], variables["batch_stats"]["stem_bn"]["mean"])
  # Evaluation needs no rng and normalises with the running statistics, not the batch's:
  # an example's features do not depend on the rest of its batch, and they change with
  # the updated statistics.
  evaluate = jax.jit(encoder.apply)
  np.testing.assert_allclose(evaluate(variables, x)[4][:1], evaluate(variables, x[:1])[4], rtol=1e-5, atol=1e-6)
  moved = {**variables, "batch_stats": updated["batch_stats"]}
  assert not np.allclose(evaluate(moved, x)[4], evaluate(variables, x)[4])


def test_drop_connect_drops_whole_residual_branches():
  args = backbones.StageArgs(3, 1, 8, 8, 2, 1)
  block = efficientnet.MBConv(args, drop_rate=0.5)
  x = np.random.default_rng(7).normal(size=(16, 8, 8, 8)).astype(np.float32)
  variables = block.init(jax.random.key(0), x, train=False)
  branch = block.apply(variables, x, train=False) - x
  # Batch statistics differ in train mode; compare against a train-mode pass without dropping.
  no_drop = efficientnet.MBConv(args, drop_rate=0.0)
  branch, _ = no_drop.apply(variables, x, train=True, mutable=["batch_stats"])
  branch = branch - x
  out, _ = block.apply(variables, x, train=True, mutable=["batch_stats"], rngs={"dropout": jax.random.key(3)})
  dropped = [np.allclose(out[i], x[i], atol=1e-6) for i in range(16)]
  kept = [np.allclose(out[i], x[i] + 2.0 * branch[i], atol=1e-4) for i in range(16)]
  assert all(d != k for d, k in zip(dropped, kept)), "each sample is either dropped or kept and rescaled"
  assert 0 < sum(dropped) < 16


def test_bad_input_channels():
  encoder = resnet.ResNet("resnet50", in_channels=4)
  with pytest.raises(ValueError, match="expects 4 input channels"):
    encoder.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)))
  with pytest.raises(ValueError, match="unknown backbone"):
    encoders.build_encoder("efficientnet-b9")
