"""EG-Net, Gaze2Mask-Net and WCS-Net: shapes of every network and Tab. 6 ablation,
gradients reaching every parameter, the real-time API equal to the full call, and each
search example using its own template.

Shapes use the real encoders through `jax.eval_shape` (tracing only). The numeric
tests use the real EfficientNet-B0 once (gradients of the default WCS-Net); the rest
swap in a five-level stand-in encoder (`TinyEncoder`, same interface, strides and a
batch norm) so that compiling each variant costs a fraction of a second: what they
test is the decoders, correlations and the template/search wiring, not the encoder.
"""
import functools
import importlib.util
import pathlib
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from wcs_jax.models import build
from wcs_jax.models import encoders
from wcs_jax.models import wcsnet
from wcs_jax.models.egnet import EGNet
from wcs_jax.models.gaze2mask import Gaze2MaskNet
from wcs_jax.models.wcsnet import WCSNet
from wcs_jax.spec import backbones
from wcs_jax.spec import networks

SIZE = 64  # EfficientNet levels at 64 x 64: 32, 16, 8, 4, 2
B0_CHANNELS = (16, 24, 40, 112, 320)
TINY_CHANNELS = (4, 6, 8, 10, 12)
# Tab. 6 variants; those marked True are traced with the real EfficientNet-B0 (level
# widths B0_CHANNELS), the others with the stand-in encoder to keep the suite fast.
ABLATIONS = {
    "default": ({}, True),
    "levels_5": (dict(levels="5"), True),
    "levels_45": (dict(levels="45"), False),
    "levels_345": (dict(levels="345"), False),
    "levels_2345": (dict(levels="2345"), False),
    "concat": (dict(correlation="concat"), True),
    "xcorr": (dict(correlation="xcorr"), True),
    "no_hotspot": (dict(hotspot_branch=False), False),
    "no_mask": (dict(mask_branch=False), False),
    "bfloat16": (dict(dtype="bfloat16"), False),
}


class TinyEncoder(nn.Module):
  """Stand-in encoder: five stride-2 conv + batch norm + swish levels."""
  in_channels: int = 3
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train=False):
    if x.shape[-1] != self.in_channels:
      raise ValueError(f"TinyEncoder expects {self.in_channels} channels, got {x.shape}")
    levels = []
    for j, c in enumerate(TINY_CHANNELS, 1):
      x = nn.Conv(c, (3, 3), strides=(2, 2), dtype=self.dtype, name=f"conv{j}")(x)
      x = nn.BatchNorm(use_running_average=not train, dtype=self.dtype, name=f"bn{j}")(x)
      x = nn.swish(x)
      levels.append(x)
    return levels


def use_tiny_encoder(monkeypatch):
  """Makes every network build `TinyEncoder` whatever its backbone."""
  def build_encoder(arch, in_channels=3, depthwise_impl="auto", dtype=jnp.float32, name=None):
    del arch, depthwise_impl
    return TinyEncoder(in_channels, dtype, name=name)
  monkeypatch.setattr(encoders, "build_encoder", build_encoder)


@pytest.fixture
def tiny_encoder(monkeypatch):
  use_tiny_encoder(monkeypatch)


def model_config(**overrides) -> ml_collections.ConfigDict:
  # decoder_channels 8 under the stand-in, 16 with real encoders: the jitted functional
  # wrappers are cached on the (hashable) module, which does not see the monkeypatch.
  config = ml_collections.ConfigDict(networks.default_model_config())
  config.update(dict(backbone="efficientnet-b0", decoder_channels=8))
  config.update(overrides)
  return config


def make_inputs(batch=2, seed=0, size=SIZE):
  """Template image, a blob mask, a peaked hotspot map and a search image."""
  rng = np.random.RandomState(seed)
  yy, xx = np.mgrid[:size, :size] / size
  masks, hotspots = [], []
  for _ in range(batch):
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)
    masks.append(((yy - cy) ** 2 + (xx - cx) ** 2 < r * r).astype(np.float32))
    hotspots.append(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (r / 3) ** 2)).astype(np.float32))
  template = rng.rand(batch, size, size, 3).astype(np.float32)
  search = np.roll(template, 3, axis=(1, 2)) * 0.8 + 0.2 * rng.rand(batch, size, size, 3).astype(np.float32)
  return tuple(jnp.asarray(a) for a in (template, np.stack(masks)[..., None],
                                        np.stack(hotspots)[..., None], search))


def network_args(network, inputs):
  template, mask, hotspot, search = inputs
  return {"egnet": (template,), "gaze2mask": (template, hotspot), "wcsnet": inputs}[network]


def random_variables(shapes, seed=0):
  """Variables of the given shapes: scaled normal kernels, unit scales/variances, small biases.

  Cheaper than `init` for big encoders (no compilation); the numbers only need to be
  generic (non-zero, finite), not a good initialisation.
  """
  rng = np.random.RandomState(seed)

  def fill(path, leaf):
    name = path[-1].key
    if name == "kernel":
      return jnp.asarray(rng.randn(*leaf.shape) / np.sqrt(np.prod(leaf.shape[:-1])), jnp.float32)
    if name in ("scale", "var"):
      return jnp.ones(leaf.shape, jnp.float32)
    if name == "mean":
      return jnp.zeros(leaf.shape, jnp.float32)
    return jnp.asarray(0.1 * rng.randn(*leaf.shape), jnp.float32)
  return jax.tree_util.tree_map_with_path(fill, shapes)


def init_variables(model, *args, seed=0):
  """`random_variables` shaped like `model.init(key, *args)`.

  Compiling `init` itself costs ~15 s of CPU even for the stand-in encoder (XLA
  compiling the truncated-normal initialisers), so the tests never do it.
  """
  shapes = jax.eval_shape(functools.partial(model.init, train=False), jax.random.key(0), *args)
  return random_variables(shapes, seed)


def zero_gradient_params(model, variables, args):
  """Names of the parameters whose gradient of a simple loss is exactly zero."""
  def loss(params):
    out = model.apply({**variables, "params": params}, *args)
    outs = out.values() if isinstance(out, dict) else [out]
    # A weighted sum so that no output's gradient can cancel by symmetry.
    return sum(jnp.mean(o * jnp.linspace(0.5, 1.5, o.size).reshape(o.shape)) for o in outs)
  grads = jax.jit(jax.grad(loss))(variables["params"])
  return sorted(jax.tree_util.keystr(path) for path, g in jax.tree_util.tree_leaves_with_path(grads)
                if not np.any(np.asarray(g)))


def param_names(params):
  return {jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_leaves_with_path(params)}


# --- shapes with the real encoders ------------------------------------------------


@pytest.mark.parametrize("network", ["egnet", "gaze2mask"])
def test_first_frame_networks_shapes(network):
  model = build.from_config(model_config(decoder_channels=16), network)
  args = network_args(network, make_inputs())
  out, variables = jax.eval_shape(functools.partial(model.init_with_output, train=False),
                                  jax.random.key(0), *args)
  assert out.shape == (2, SIZE, SIZE, 1) and out.dtype == jnp.float32
  decoder = variables["params"]["decoder"]
  levels = (3, 4, 5) if network == "egnet" else (1, 2, 3, 4, 5)
  assert set(decoder) == {f"refine{j}" for j in levels} | {"head"}
  # Eq. 2 feeds the gaze map into every block: one more input channel than Eq. 1.
  extra = 1 if network == "gaze2mask" else 0
  for j in levels:
    up = 16 if j != 5 else 0
    kernel = decoder[f"refine{j}"]["conv2"]["conv3x3"]["kernel"]
    assert kernel.shape == (3, 3, B0_CHANNELS[j - 1] + up + extra, 16)
  stem = variables["params"]["encoder"]["stem_conv"]["kernel"]
  assert stem.shape[2] == (4 if network == "gaze2mask" else 3)


@pytest.mark.parametrize("ablation", sorted(ABLATIONS))
def test_wcsnet_shapes_every_ablation(ablation, monkeypatch):
  overrides, real_encoder = ABLATIONS[ablation]
  channels = B0_CHANNELS
  if not real_encoder:
    use_tiny_encoder(monkeypatch)
    channels = TINY_CHANNELS
  config = model_config(decoder_channels=16, **overrides)
  model = build.from_config(config, "wcsnet")
  inputs = make_inputs()
  out, variables = jax.eval_shape(functools.partial(model.init_with_output, train=False),
                                  jax.random.key(0), *inputs)
  expected_keys = {"mask"} if not config.hotspot_branch else {"mask", "hotspot"}
  expected_keys -= set() if config.mask_branch else {"mask"}
  assert set(out) == expected_keys
  for value in out.values():
    assert value.shape == (2, SIZE, SIZE, 1) and value.dtype == jnp.float32
  params = variables["params"]
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))

  levels = networks.parse_levels(config.levels)
  if config.mask_branch:
    assert set(params["mask_decoder"]) == {f"refine{j}" for j in levels} | {"head"}
    for j in levels:
      fused = 2 * channels[j - 1] if config.correlation == "concat" else channels[j - 1]
      up = 0 if j == max(levels) else 16
      assert params["mask_decoder"][f"refine{j}"]["conv2"]["conv3x3"]["kernel"].shape == (3, 3, fused + up, 16)
  else:
    assert "mask_decoder" not in params
  if config.hotspot_branch:
    widen = 2 if config.correlation == "concat" else 1
    assert params["hotspot_decoder"]["conv2"]["conv3x3"]["kernel"].shape == (
        3, 3, widen * (channels[2] + channels[3]), 16)
    assert params["hotspot_decoder"]["conv2"]["conv1x1"]["kernel"].shape == (1, 1, 16, 1)
  else:
    assert "hotspot_decoder" not in params

  code = jax.eval_shape(functools.partial(model.apply, method=WCSNet.encode_template),
                        variables, *inputs[:3])
  entry_shape = ((lambda j: (2, {1: 16, 2: 8, 3: 4, 4: 2, 5: 2}[j], {1: 16, 2: 8, 3: 4, 4: 2, 5: 2}[j],
                                 channels[j - 1]))
                 if config.correlation == "xcorr" else (lambda j: (2, channels[j - 1])))
  assert [c.shape for c in code.mask] == ([entry_shape(j) for j in levels] if config.mask_branch else [])
  assert [c.shape for c in code.hotspot] == ([entry_shape(3), entry_shape(4)] if config.hotspot_branch else [])


@pytest.mark.parametrize("backbone", ["resnet101"])
def test_backbone_switch(backbone):
  model = build.from_config(model_config(backbone=backbone, decoder_channels=16), "wcsnet")
  out, variables = jax.eval_shape(functools.partial(model.init_with_output, train=False),
                                  jax.random.key(0), *make_inputs(size=32))
  assert {k: v.shape for k, v in out.items()} == {"mask": (2, 32, 32, 1), "hotspot": (2, 32, 32, 1)}
  channels = backbones.level_channels(backbone)
  assert variables["params"]["mask_decoder"]["refine5"]["conv2"]["conv3x3"]["kernel"].shape[2] == channels[4]


# --- numbers with the real EfficientNet-B0 ----------------------------------------


def test_every_wcsnet_parameter_gets_a_gradient_b0():
  """The shared encoder learns through both template and search; every decoder weight learns.

  Batch-norm statistics are not parameters (collection "batch_stats").
  """
  model = build.from_config(model_config(decoder_channels=16), "wcsnet")
  inputs = make_inputs()
  variables = init_variables(model, *inputs)
  zero = zero_gradient_params(model, variables, inputs)
  assert not zero, f"parameters with zero gradient: {zero}"


# --- numbers with the stand-in encoder --------------------------------------------


@pytest.mark.parametrize("network,overrides,expected_zero", [
    ("egnet", {}, []),
    ("gaze2mask", {}, []),
    ("wcsnet", {}, []),
    ("wcsnet", dict(correlation="concat"), []),
    ("wcsnet", dict(correlation="xcorr"), []),
    ("wcsnet", dict(levels="45"), []),
    ("wcsnet", dict(hotspot_branch=False), []),
    # Without the mask branch nothing reads level 5, as documented in wcsnet.
    ("wcsnet", dict(mask_branch=False), ["['encoder']['conv5']['bias']", "['encoder']['conv5']['kernel']",
                                         "['encoder']['bn5']['bias']", "['encoder']['bn5']['scale']"]),
])
def test_every_parameter_gets_a_gradient(tiny_encoder, network, overrides, expected_zero):
  model = build.from_config(model_config(**overrides), network)
  args = network_args(network, make_inputs())
  variables = init_variables(model, *args)
  assert zero_gradient_params(model, variables, args) == sorted(expected_zero)


@pytest.mark.parametrize("correlation", networks.CORRELATIONS)
def test_encode_template_then_track_equals_the_full_call(tiny_encoder, correlation):
  model = build.from_config(model_config(correlation=correlation), "wcsnet")
  inputs = make_inputs()
  variables = init_variables(model, *inputs)
  full = jax.jit(model.apply)(variables, *inputs)
  code = wcsnet.encode_template(model, variables, *inputs[:3])
  mask, hotspot = wcsnet.track(model, variables, code, inputs[3])
  # Exact: the same ops on the same values (XLA's fusion decisions happen not to
  # reorder any float sums between the one-program and the two-program versions).
  np.testing.assert_array_equal(full["mask"], mask)
  np.testing.assert_array_equal(full["hotspot"], hotspot)
  # The code is reusable: a second frame with the same code equals a full call on it.
  other_search = inputs[3][::-1]
  full2 = jax.jit(model.apply)(variables, *inputs[:3], other_search)
  np.testing.assert_array_equal(full2["mask"], wcsnet.track(model, variables, code, other_search)[0])


@pytest.mark.parametrize("correlation", networks.CORRELATIONS)
def test_each_search_uses_its_own_template(tiny_encoder, correlation):
  """Swapping the templates of a batch swaps the outputs; the two templates differ."""
  model = build.from_config(model_config(correlation=correlation), "wcsnet")
  template, mask, hotspot, search = make_inputs()
  same_search = jnp.stack([search[0], search[0]])
  variables = init_variables(model, template, mask, hotspot, same_search)
  apply = jax.jit(model.apply)
  out = apply(variables, template, mask, hotspot, same_search)
  swapped = apply(variables, template[::-1], mask[::-1], hotspot[::-1], same_search)
  for key in ("mask", "hotspot"):
    assert float(jnp.max(jnp.abs(out[key][0] - out[key][1]))) > 1e-3 * float(jnp.max(jnp.abs(out[key])))
    np.testing.assert_allclose(swapped[key], out[key][::-1], rtol=1e-5, atol=1e-6)


def test_guidance_changes_the_weighted_result_and_not_xcorr(tiny_encoder):
  """The mask guides the weighted mask branch; "xcorr" (no weighted pooling) ignores it."""
  inputs = make_inputs(batch=1)
  flipped = (inputs[0], inputs[1][:, ::-1, ::-1], inputs[2][:, ::-1, ::-1], inputs[3])
  for correlation, should_change in (("weighted", True), ("xcorr", False)):
    model = build.from_config(model_config(correlation=correlation), "wcsnet")
    variables = init_variables(model, *inputs)
    apply = jax.jit(model.apply)
    a, b = apply(variables, *inputs), apply(variables, *flipped)
    for key in ("mask", "hotspot"):
      assert bool(jnp.any(a[key] != b[key])) == should_change, (correlation, key)


def test_training_mode_updates_batch_stats_of_the_shared_encoder(tiny_encoder):
  model = build.from_config(model_config(), "wcsnet")
  inputs = make_inputs()
  variables = init_variables(model, *inputs)
  apply = jax.jit(functools.partial(model.apply, train=True, mutable=["batch_stats"]))
  out, updates = apply(variables, *inputs, rngs={"dropout": jax.random.key(1)})
  assert set(out) == {"mask", "hotspot"}
  assert all(bool(jnp.all(jnp.isfinite(v))) for v in out.values())
  before = variables["batch_stats"]["encoder"]["bn1"]["mean"]
  after = updates["batch_stats"]["encoder"]["bn1"]["mean"]
  assert not np.allclose(before, after)
  assert set(updates["batch_stats"]) == {"encoder"}  # the decoders have no batch norm


def test_bfloat16_compute_keeps_float32_params_and_logits(tiny_encoder):
  inputs = make_inputs()
  for network in networks.NETWORKS:
    model = build.from_config(model_config(dtype="bfloat16"), network)
    args = network_args(network, inputs)
    variables = init_variables(model, *args)
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(variables["params"]))
    out = jax.jit(model.apply)(variables, *args)
    # The same parameters in float32: bfloat16 compute (8 mantissa bits) moves the logits
    # by a small fraction of their range, never more.
    reference = jax.jit(build.from_config(model_config(), network).apply)(variables, *args)
    if not isinstance(out, dict):
      out, reference = {"logits": out}, {"logits": reference}
    assert set(out) == set(reference)
    for key, value in out.items():
      assert value.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(value)))
      scale = float(jnp.abs(reference[key]).max())
      difference = float(jnp.abs(value - reference[key]).max())
      assert 0 < difference <= 0.1 * scale, (network, key, difference, scale)


# --- config -----------------------------------------------------------------------


def test_default_config_is_the_papers_model():
  config = ml_collections.ConfigDict(networks.default_model_config())
  assert (config.backbone, config.levels, config.correlation) == ("efficientnet-b2", "12345", "weighted")
  assert config.hotspot_branch and config.mask_branch and config.dtype == "float32"
  model = build.from_config(None, "wcsnet")
  assert isinstance(model, WCSNet) and model.backbone == "efficientnet-b2"
  assert isinstance(build.from_config(config, "egnet"), EGNet)
  assert isinstance(build.from_config(config, "gaze2mask"), Gaze2MaskNet)
  # Fields of other components (a trainer's) are ignored; missing ones take defaults.
  assert build.from_config({"levels": "45", "pretrained": "x"}, "wcsnet").levels == "45"


@pytest.mark.parametrize("overrides,message", [
    (dict(levels="1234"), "config.model.levels"),
    (dict(correlation="dot"), "config.model.correlation"),
    (dict(hotspot_branch=False, mask_branch=False), "nothing to predict"),
    (dict(backbone="vgg16"), "config.model.backbone"),
    (dict(dtype="float16"), "config.model.dtype"),
    (dict(decoder_channels=0), "config.model.decoder_channels"),
    (dict(depthwise_impl="fast"), "config.model.depthwise_impl"),
])
def test_bad_config_raises_naming_the_field(overrides, message):
  with pytest.raises(ValueError, match=message):
    build.from_config(model_config(**overrides), "wcsnet")
  with pytest.raises(ValueError, match="network"):
    build.from_config(None, "siammask")


# --- tools/model_summary.py -------------------------------------------------------


def _load_tool():
  path = pathlib.Path(__file__).resolve().parents[1] / "tools" / "model_summary.py"
  spec = importlib.util.spec_from_file_location("model_summary", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_model_summary_table(tiny_encoder, tmp_path, capsys):
  tool = _load_tool()
  config_file = tmp_path / "cfg.py"
  config_file.write_text(
      "import ml_collections\n"
      "def get_config(arg=None):\n"
      "  c = ml_collections.ConfigDict()\n"
      "  c.model = ml_collections.ConfigDict(dict(backbone='efficientnet-b0', decoder_channels=8))\n"
      "  c.input = ml_collections.ConfigDict(dict(image_size=32 if arg == 'small' else 64))\n"
      "  return c\n")
  assert tool.main(["--config", f"{config_file}:small", "--model", "levels=345"]) == 0
  text = capsys.readouterr().out
  assert "levels 345" in text and "input 32x32" in text
  rows = [line for line in text.splitlines() if line.startswith("| ") and "network" not in line]
  assert [r.split(" | ")[0] for r in rows] == [
      "| EG-Net", "| Gaze2Mask-Net", "| WCS-Net (template + search)",
      "| WCS-Net encode_template (once per object)", "| WCS-Net track (one frame)"]

  summary = {r["name"]: r for r in tool.summarize(model_config(levels="345"), 32)}
  full = summary["WCS-Net (template + search)"]
  template = summary["WCS-Net encode_template (once per object)"]
  track = summary["WCS-Net track (one frame)"]
  assert 0 < template["flops"] < track["flops"] < full["flops"]
  np.testing.assert_allclose(template["flops"] + track["flops"], full["flops"], rtol=0.05)
  assert 0 < full["encoder"] < full["params"]
  timing = tool.time_track(model_config(levels="345"), 32, 1, 2)
  assert 0 < timing["min_ms"] <= timing["median_ms"]
  with pytest.raises(SystemExit):
    tool.main(["--config", "default", "--model", "levels=1234"])
  with pytest.raises(SystemExit):
    tool.main(["--config", str(tmp_path / "missing.py")])
