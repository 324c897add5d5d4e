"""The two depth-wise convolution formulations compute the same function."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wcs_jax.ops import depthwise
from wcs_jax.spec import geometry

CASES = list(itertools.product([1, 2], [3, 5], ["SAME", "keras"], [(13, 16), (16, 16)]))


def _padding(mode, size, k, stride):
  return geometry.keras_stride2_padding(size, k) if mode == "keras" else mode


@pytest.mark.parametrize("stride,k,mode,size", CASES)
def test_shifted_equals_grouped_values_and_gradients(stride, k, mode, size):
  rng = np.random.default_rng(stride * 100 + k)
  x = jnp.asarray(rng.normal(size=(2, *size, 6)), jnp.float32)
  w = jnp.asarray(rng.normal(size=(k, k, 1, 6)), jnp.float32)
  cot = None
  outs, grads = {}, {}
  for impl in ("grouped", "shifted"):
    f = lambda x, w, impl=impl: depthwise.depthwise_conv2d(
        x, w, stride=stride, padding=_padding(mode, size, k, stride), implementation=impl)
    y = jax.jit(f)(x, w)
    if cot is None:
      cot = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
    outs[impl] = y
    grads[impl] = jax.jit(jax.grad(lambda x, w, f=f: jnp.sum(f(x, w) * cot), argnums=(0, 1)))(x, w)
  np.testing.assert_allclose(outs["shifted"], outs["grouped"], atol=1e-5, rtol=1e-5)
  for g_shift, g_group in zip(grads["shifted"], grads["grouped"]):
    np.testing.assert_allclose(g_shift, g_group, atol=1e-4, rtol=1e-5)


def test_same_padding_matches_tensorflow_output_size():
  x = jnp.ones((1, 13, 16, 2))
  w = jnp.ones((3, 3, 1, 2))
  y = depthwise.depthwise_conv2d(x, w, stride=2, padding="SAME", implementation="shifted")
  assert y.shape == (1, 7, 8, 2)
  # Rows need 2 pixels of padding (one each side), columns 1 (TF puts it right), so
  # the top-left output sees 2 rows x 3 columns and the bottom-right 2 x 2.
  assert float(y[0, 0, 0, 0]) == 6.0
  assert float(y[0, 6, 7, 0]) == 4.0
  assert float(y[0, 3, 3, 0]) == 9.0


def test_hand_made_values():
  x = jnp.arange(16, dtype=jnp.float32).reshape(1, 4, 4, 1)
  w = jnp.zeros((3, 3, 1, 1)).at[0, 0, 0, 0].set(1.0)  # picks the up-left neighbour
  y = depthwise.depthwise_conv2d(x, w, stride=1, padding="SAME", implementation="shifted")
  expected = np.zeros((4, 4))
  expected[1:, 1:] = np.arange(16).reshape(4, 4)[:-1, :-1]
  np.testing.assert_array_equal(np.asarray(y)[0, :, :, 0], expected)


def test_resolve_per_platform():
  assert depthwise.resolve("auto", "cpu") == "shifted"
  assert depthwise.resolve("auto", "gpu") == "grouped"
  assert depthwise.resolve("grouped", "cpu") == "grouped"
  with pytest.raises(ValueError, match="depthwise implementation"):
    depthwise.resolve("fast")


@pytest.mark.parametrize("stride,k,size", [(1, 3, (13, 16)), (2, 5, (13, 16)), (2, 3, (16, 11))])
def test_kernel_gradient_in_many_row_blocks_equals_grouped(monkeypatch, stride, k, size):
  # One cotangent row per scan step (and the first/last rows' padding inside blocks).
  monkeypatch.setattr(depthwise, "KERNEL_GRADIENT_BLOCK_BYTES", 1)
  rng = np.random.default_rng(7)
  x = jnp.asarray(rng.normal(size=(3, *size, 5)), jnp.float32)
  w = jnp.asarray(rng.normal(size=(k, k, 1, 5)), jnp.float32)
  pads = _padding("keras", size, k, stride)
  grads = {}
  for impl in ("grouped", "shifted"):
    f = lambda x, w, impl=impl: depthwise.depthwise_conv2d(x, w, stride=stride, padding=pads, implementation=impl)
    cot = jnp.asarray(np.random.default_rng(8).normal(size=f(x, w).shape), jnp.float32)
    grads[impl] = jax.grad(lambda x, w, f=f: jnp.sum(f(x, w) * cot), argnums=(0, 1))(x, w)
  for g_shift, g_group in zip(grads["shifted"], grads["grouped"]):
    np.testing.assert_allclose(g_shift, g_group, atol=1e-4, rtol=1e-5)


def test_gradient_keeps_the_argument_dtypes():
  x = jnp.ones((2, 8, 8, 4), jnp.bfloat16)
  w = jnp.ones((3, 3, 1, 4), jnp.float32)
  gx, gw = jax.grad(lambda x, w: jnp.sum(depthwise.depthwise_conv2d(
      x, w, implementation="shifted").astype(jnp.float32)), argnums=(0, 1))(x, w)
  assert gx.dtype == jnp.bfloat16 and gw.dtype == jnp.float32
  # An interior pixel is seen by all 9 taps; a kernel tap by 7x7 or 8x8 pixels per image.
  assert float(gx[0, 4, 4, 0]) == 9.0
  assert float(gw[1, 1, 0, 0]) == 2 * 64.0 and float(gw[0, 0, 0, 0]) == 2 * 49.0


def test_an_output_with_no_pixels_has_zero_gradients():
  # VALID 3x3 over a 2-row input: no output rows; nothing flows back, as with "grouped".
  for shape in ((1, 2, 4, 1), (1, 4, 2, 1)):
    x = jnp.ones(shape)
    for impl in ("grouped", "shifted"):
      gx, gw = jax.grad(lambda x, w, impl=impl: jnp.sum(depthwise.depthwise_conv2d(
          x, w, padding="VALID", implementation=impl)), argnums=(0, 1))(x, jnp.ones((3, 3, 1, 1)))
      assert not np.any(gx) and not np.any(gw), impl


def test_kernel_gradient_of_a_sharded_batch_needs_no_all_gather():
  # Data-parallel training shards the batch: each device must reduce its own images.
  devices = jax.devices()
  if len(devices) < 2:
    pytest.skip("needs several devices (tests/conftest.py forces 4 host devices)")
  mesh = jax.make_mesh((len(devices),), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
  spec = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
  rng = np.random.default_rng(0)
  x = jax.device_put(jnp.asarray(rng.normal(size=(2 * len(devices), 12, 12, 8)), jnp.float32), spec)
  w = jnp.asarray(rng.normal(size=(3, 3, 1, 8)), jnp.float32)
  grad = jax.jit(jax.grad(lambda x, w: jnp.sum(jnp.square(depthwise.depthwise_conv2d(
      x, w, stride=2, implementation="shifted"))), argnums=1))
  assert "all-gather" not in grad.lower(x, w).compile().as_text()
  expected = jax.grad(lambda w: jnp.sum(jnp.square(depthwise.depthwise_conv2d(
      np.asarray(x), w, stride=2, implementation="grouped"))))(w)
  np.testing.assert_allclose(grad(x, w), expected, atol=1e-4, rtol=1e-5)
