"""The PyTorch runtime against the JAX networks it reproduces.

Flax variables are random (He-initialised kernels, as the networks initialise
themselves) with every bias, batch-norm scale, offset and running statistic
randomised, so that each layer and each batch-norm epsilon matters. Shapes are small
(64 x 64 inputs, one odd width to exercise Keras's asymmetric padding, decoder width
8); every check is a max abs difference on the logits.
"""
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from wcs_jax.models import build
from wcs_jax.ops import correlation as jax_corr
from wcs_jax.ops import resize as jax_resize
from wcs_jax.spec import networks as spec
from wcs_jax.torch_runtime import convert
from wcs_jax.torch_runtime import correlation as torch_corr
from wcs_jax.torch_runtime import efficientnet
from wcs_jax.torch_runtime import export
from wcs_jax.torch_runtime import layers
from wcs_jax.torch_runtime import networks
from wcs_jax.torch_runtime import resize as torch_resize

TOLERANCE = 1e-4
# Small networks; the grouped depth-wise formulation compiles faster in XLA and
# computes the same function (tests/test_depthwise.py).
CONFIG = dict(backbone="efficientnet-b0", decoder_channels=8, depthwise_impl="grouped")


def random_variables(module, seed, *args):
  """Random Flax variables of `module` for inputs `args`, without running its init.

  Kernels are He-normal (fan-out, as the networks initialise themselves); biases,
  batch-norm scales and offsets and running statistics are random too, so that each of
  them and each batch-norm epsilon matters. `jax.eval_shape` gives the shapes without
  running the (slow, op-by-op) initialisation.
  """
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    shape, name = leaf.shape, path[-1].key
    if name == "kernel":
      depthwise = shape[-2] == 1 and "dwconv" in jax.tree_util.keystr(path)
      fan_out = np.prod(shape[:2]) * (1 if depthwise else shape[-1])
      return rng.normal(0, np.sqrt(2.0 / fan_out), shape)
    return {"mean": lambda: rng.normal(0, 0.2, shape), "var": lambda: rng.uniform(0.3, 1.5, shape),
            "scale": lambda: rng.uniform(0.5, 1.5, shape), "bias": lambda: rng.normal(0, 0.1, shape)}[name]()

  shapes = jax.eval_shape(module.init, jax.random.key(0), *args)
  return jax.tree_util.tree_map_with_path(lambda p, leaf: draw(p, leaf).astype(np.float32), shapes)


def assert_close(got, expected, what):
  """Max abs difference <= TOLERANCE, relative to the logits' scale when it exceeds 1.

  Random weights give logits up to ~1e3 (products of random features in Eq. 3), where
  float32 rounding alone is ~1e-4; trained networks' logits are O(10) and
  `tools/convert_to_torch.py --verify` checks them in absolute terms.
  """
  assert got.shape == expected.shape, (what, got.shape, expected.shape)
  scale = max(1.0, float(np.abs(expected).max()))
  error = float(np.abs(got - expected).max())
  assert error <= TOLERANCE * scale, f"{what}: max abs diff {error}, logits scale {scale}"


def nchw(x):
  """[B, H, W, C] numpy -> [B, C, H, W] channels_last torch tensor (no copy)."""
  return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)


def nhwc(t):
  return t.detach().permute(0, 2, 3, 1).numpy()


def torch_twin(model_config, network, variables, fold=True):
  model = networks.build_network(model_config, network)
  state = convert.state_dict_from_flax(model, variables)
  export.check_state_dict(model, {k: torch.from_numpy(v) for k, v in state.items()}, network)
  model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
  if fold:
    layers.fold_batch_norms(model)
  return model.to(memory_format=torch.channels_last).eval()


def inputs(seed, size=(64, 64), batch=2):
  rng = np.random.default_rng(seed)
  image = rng.uniform(0, 1, (batch, *size, 3)).astype(np.float32)
  # Blobs rather than noise: guidance maps look like masks and gaze maps.
  yy, xx = np.mgrid[:size[0], :size[1]]
  maps = []
  for _ in range(batch):
    cy, cx = rng.uniform(0.3, 0.7, 2) * size
    maps.append(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size[0] / 6) ** 2)))
  gaze = np.stack(maps)[..., None].astype(np.float32)
  return image, gaze, (gaze > 0.5).astype(np.float32)


def test_imports_without_jax_or_tensorflow():
  code = ("import sys, wcs_jax.torch_runtime, wcs_jax.torch_runtime.runtime; "
          "bad = [m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'flax', 'tensorflow', 'keras')]; "
          "assert not bad, bad")
  subprocess.run([sys.executable, "-c", code], check=True)


def test_resize_matches_jax():
  # Shrinking (antialiased; area by fractional factors), enlarging, mixed, a 1 x 1 source.
  for size, target in (((64, 64), (2, 2)), ((64, 64), (32, 33)), ((13, 25), (50, 50)), ((7, 9), (3, 20)),
                       ((1, 1), (4, 4)), ((10, 10), (10, 10)), ((100, 66), (13, 9))):
    x = np.random.default_rng(0).normal(size=(2, *size, 3)).astype(np.float32)
    expected = np.asarray(jax_resize.resize_bilinear(jnp.asarray(x), target))
    np.testing.assert_allclose(nhwc(torch_resize.resize_bilinear(nchw(x), target)), expected, atol=1e-5,
                               err_msg=f"{size} -> {target}")
    expected = np.asarray(jax_resize.resize_area(jnp.asarray(x), target))
    np.testing.assert_allclose(nhwc(torch_resize.resize_area(nchw(x), target)), expected, atol=1e-5,
                               err_msg=f"area {size} -> {target}")


def test_keras_strided_conv_is_conv_after_correct_pad():
  # Even, odd and mixed sides, kernels 1 ... 7, dense and depth-wise: the implicit
  # padding (symmetric, then a cut) equals Keras's explicit asymmetric zero padding.
  rng = np.random.default_rng(0)
  for (h, w), k, groups in (((16, 16), 3, 4), ((16, 16), 5, 4), ((15, 15), 3, 1), ((15, 16), 5, 1),
                            ((16, 9), 7, 4), ((10, 11), 3, 1), ((2, 3), 3, 4)):
    convolution = torch.nn.Conv2d(4, 8, k, stride=2, padding=0, groups=groups)
    x = torch.from_numpy(rng.normal(size=(2, 4, h, w)).astype(np.float32))
    with torch.no_grad():
      expected = convolution(torch.nn.functional.pad(x, layers.correct_pad((h, w), k)))
      got = layers.keras_strided_conv(convolution, x)
    assert got.shape == expected.shape, ((h, w), k)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6, err_msg=f"{(h, w)} k={k}")


def test_correlation_ops_match_jax():
  rng = np.random.default_rng(0)
  template = rng.normal(size=(2, 9, 10, 5)).astype(np.float32)
  search = rng.normal(size=(2, 12, 11, 5)).astype(np.float32)
  guidance = rng.uniform(0, 1, (2, 40, 40, 1)).astype(np.float32)
  guidance[1] = 0  # an empty guidance gives the zero vector, not a division by zero
  vector = jax_corr.weighted_pool_batched(jnp.asarray(template), jnp.asarray(guidance))
  got = torch_corr.weighted_pool(nchw(template), nchw(guidance))
  np.testing.assert_allclose(got.numpy(), vector, atol=1e-6)
  assert not got[1].any()
  v = np.array(vector)
  np.testing.assert_allclose(nhwc(torch_corr.depthwise_correlation(torch.from_numpy(v), nchw(search))),
                             jax_corr.depthwise_correlation_batched(vector, jnp.asarray(search)), atol=1e-6)
  np.testing.assert_allclose(nhwc(torch_corr.concat_fusion(torch.from_numpy(v), nchw(search))),
                             jax_corr.concat_fusion_batched(vector, jnp.asarray(search)), atol=1e-6)
  kernel = jax_corr.half_template_batched(jnp.asarray(template))
  np.testing.assert_array_equal(nhwc(torch_corr.half_template(nchw(template))), kernel)
  for kernel_size in ((1, 1), (2, 3), (4, 4), (6, 5)):  # direct below 10 taps, FFT above
    k = rng.normal(size=(2, *kernel_size, 5)).astype(np.float32)
    np.testing.assert_allclose(nhwc(torch_corr.depthwise_xcorr(nchw(search), nchw(k))),
                               jax_corr.depthwise_xcorr_batched(jnp.asarray(search), jnp.asarray(k)),
                               atol=2e-6)


@pytest.mark.parametrize("backbone", ["efficientnet-b0", "efficientnet-lite0", "resnet50"])
def test_egnet_and_gaze2mask_match_jax(backbone):
  # Odd width: Keras's asymmetric padding differs between the two sides.
  image, gaze, _ = inputs(1, size=(64, 66))
  cases = (("egnet", (image,)), ("gaze2mask", (image, gaze))) if backbone.startswith("efficientnet") \
      else (("egnet", (image,)),)
  for network, args in cases:
    module = build.from_config(CONFIG | {"backbone": backbone}, network)
    variables = random_variables(module, 2, *args)
    expected = np.asarray(jax.jit(module.apply)(variables, *args))
    for fold in (False, True):
      twin = torch_twin(CONFIG | {"backbone": backbone}, network, variables, fold)
      with torch.no_grad():
        got = nhwc(twin(*(nchw(a) for a in args)))
      assert_close(got, expected, f"{network} {backbone} fold={fold}")


WCSNET_VARIANTS = [
    dict(),
    dict(levels="345", correlation="concat", hotspot_branch=False),
    dict(levels="2345", correlation="xcorr"),
    dict(levels="5", mask_branch=False),
    dict(backbone="efficientnet-lite0"),
]


@pytest.mark.parametrize("variant", WCSNET_VARIANTS,
                         ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) or "paper")
def test_wcsnet_matches_jax(variant):
  config = CONFIG | variant
  template, hotspot, mask = inputs(3)
  search = inputs(4)[0]
  module = build.from_config(config, "wcsnet")
  variables = random_variables(module, 5, template, mask, hotspot, search)
  expected = jax.jit(module.apply)(variables, template, mask, hotspot, search)
  twin = torch_twin(config, "wcsnet", variables)
  with torch.no_grad():
    code = twin.encode_template(nchw(template), nchw(mask), nchw(hotspot))
    got = dict(zip(("mask", "hotspot"), twin.track(code, nchw(search))))
  resolved = spec.resolve_model_config(config)
  assert len(code.mask) == (len(resolved["levels"]) if resolved["mask_branch"] else 0)
  assert len(code.hotspot) == (2 if resolved["hotspot_branch"] else 0)
  assert set(expected) == {k for k, v in got.items() if v is not None}
  for name, e in expected.items():
    assert_close(nhwc(got[name]), np.asarray(e), f"{name} {variant}")


def test_mismatched_variables_are_named():
  config = CONFIG
  module = build.from_config(config, "egnet")
  variables = jax.tree.map(np.asarray, jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, 32, 32, 3))))
  variables = jax.tree.map(lambda s: np.zeros(s.shape, np.float32), variables)
  del variables["params"]["decoder"]["head"]["bias"]
  variables["params"]["decoder"]["extra"] = {"kernel": np.zeros((1, 1, 8, 1), np.float32)}
  with pytest.raises(convert.VariablesMismatchError, match=r"decoder\.head\.bias.*\n.*decoder/extra/kernel"):
    convert.state_dict_from_flax(networks.build_network(config, "egnet"), variables)
  wider = dict(config, decoder_channels=16)
  with pytest.raises(convert.VariablesMismatchError, match=r"wrong shape.*decoder\.refine5\.conv2\.conv3x3\.weight"):
    convert.state_dict_from_flax(networks.build_network(wider, "egnet"),
                                 jax.tree.map(lambda s: np.zeros(s.shape, np.float32),
                                              jax.eval_shape(module.init, jax.random.key(0),
                                                             jnp.zeros((1, 32, 32, 3)))))


def test_export_round_trip_and_mismatch_errors(tmp_path):
  config = dict(backbone="efficientnet-b0", decoder_channels=8, levels="45")
  models = {name: networks.build_network(config, name) for name in spec.NETWORKS}
  state_dicts = {name: {k: v.numpy() for k, v in m.state_dict().items() if "num_batches" not in k}
                 for name, m in models.items()}
  export.save_export(tmp_path, state_dicts, {name: config for name in models}, {"workdir": "RUN", "step": 3})
  saved = json.loads((tmp_path / export.CONFIG_FILE).read_text())
  assert saved["networks"]["wcsnet"]["levels"] == "45" and saved["source"]["step"] == 3
  loaded = export.load_networks(tmp_path, fold_batch_norm=False, channels_last=False)
  for name, model in loaded.items():
    for key, value in model.state_dict().items():
      if "num_batches" not in key:
        np.testing.assert_array_equal(value.numpy(), state_dicts[name][key])

  # The config says decoder width 16: every decoder tensor has the wrong shape.
  bad = json.loads((tmp_path / export.CONFIG_FILE).read_text())
  bad["networks"]["egnet"]["decoder_channels"] = 16
  (tmp_path / export.CONFIG_FILE).write_text(json.dumps(bad))
  with pytest.raises(export.WeightsMismatchError, match=r"network 'egnet'.*\n.*wrong shape.*decoder\.head\.weight"):
    export.load_networks(tmp_path)
  # The config says levels "345": the file lacks refine3 and has none of its tensors extra.
  bad["networks"]["egnet"]["decoder_channels"] = 8
  bad["networks"]["wcsnet"]["levels"] = "345"
  (tmp_path / export.CONFIG_FILE).write_text(json.dumps(bad))
  with pytest.raises(export.WeightsMismatchError, match=r"missing \(\d+\): mask_decoder\.refine3\.conv2"):
    export.load_networks(tmp_path)
  # A network the config does not describe.
  del bad["networks"]["gaze2mask"]
  bad["networks"]["wcsnet"]["levels"] = "45"
  (tmp_path / export.CONFIG_FILE).write_text(json.dumps(bad))
  with pytest.raises(export.WeightsMismatchError, match=r"networks \['gaze2mask'\]"):
    export.load_networks(tmp_path)
  (tmp_path / export.CONFIG_FILE).unlink()
  with pytest.raises(FileNotFoundError, match="convert_to_torch.py"):
    export.load_networks(tmp_path)
