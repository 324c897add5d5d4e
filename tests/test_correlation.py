"""The correlation ops of WCS-Net (`wcs_jax.ops.correlation`): hand-made values,
brute-force references, empty guidance, jit and vmap."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wcs_jax.ops import correlation
from wcs_jax.ops import resize


def _rand(seed, *shape):
  return jnp.asarray(np.random.RandomState(seed).randn(*shape), jnp.float32)


def _xcorr_reference(search: np.ndarray, kernel: np.ndarray) -> np.ndarray:
  """Loop-by-loop 'same' depth-wise cross-correlation, window mean (the op's docstring)."""
  h, w, c = search.shape
  kh, kw, _ = kernel.shape
  ph, pw = (kh - 1) // 2, (kw - 1) // 2
  padded = np.pad(search.astype(np.float64), ((ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)))
  out = np.zeros((h, w, c))
  for y in range(h):
    for x in range(w):
      out[y, x] = (padded[y:y + kh, x:x + kw] * kernel).sum(axis=(0, 1))
  return out / (kh * kw)


def test_guidance_of_ones_gives_average_pooling():
  features = _rand(0, 5, 7, 3)
  for size in ((5, 7), (40, 56), (3, 4)):
    pooled = correlation.weighted_pool(features, jnp.ones(size + (1,)))
    np.testing.assert_allclose(pooled, jnp.mean(features, axis=(0, 1)), rtol=1e-6, atol=1e-6)


def test_weighted_pool_hand_made_values():
  features = jnp.array([[[1.0, 10.0], [2.0, 20.0]],
                        [[3.0, 30.0], [4.0, 40.0]]])  # [2, 2, 2]
  guidance = jnp.array([[1.0, 0.0], [0.0, 0.5]])[..., None]  # same resolution: no resize
  pooled = correlation.weighted_pool(features, guidance)
  np.testing.assert_allclose(pooled, [(1 + 0.5 * 4) / 1.5, (10 + 0.5 * 40) / 1.5], rtol=1e-6)
  # One pixel selects that position's vector.
  one_hot = jnp.zeros((2, 2, 1)).at[1, 0, 0].set(1.0)
  np.testing.assert_allclose(correlation.weighted_pool(features, one_hot), [3.0, 30.0], rtol=1e-6)


def test_small_object_survives_downsampling_to_a_coarse_level():
  """R_j averages areas: a 2x2-pixel object at 64x64 guides exactly its cell of a 2x2 level."""
  features = jnp.array([[[1.0], [2.0]], [[3.0], [4.0]]])
  guidance = jnp.zeros((64, 64, 1)).at[40:42, 5:7].set(1.0)  # in the bottom-left quadrant
  np.testing.assert_allclose(correlation.weighted_pool(features, guidance), [3.0], rtol=1e-6)


def test_area_resize_hand_made_values():
  x = jnp.arange(16, dtype=jnp.float32).reshape(4, 4, 1)
  np.testing.assert_allclose(resize.resize_area(x, (2, 2))[..., 0], [[2.5, 4.5], [10.5, 12.5]], rtol=1e-6)
  # 3 -> 2: each output cell covers 1.5 input pixels.
  row = jnp.array([[[3.0], [6.0], [9.0]]])  # [1, 3, 1]
  np.testing.assert_allclose(resize.resize_area(row, (1, 2))[0, :, 0], [(3 + 3) / 1.5, (3 + 9) / 1.5],
                             rtol=1e-6)
  batch = jnp.asarray(np.random.RandomState(0).rand(2, 30, 20, 3), jnp.float32)
  np.testing.assert_allclose(jnp.mean(resize.resize_area(batch, (7, 6)), axis=(1, 2)),
                             jnp.mean(batch, axis=(1, 2)), rtol=1e-5)


def test_empty_guidance_gives_zero_vector_and_finite_gradients():
  features = _rand(1, 4, 4, 6)
  empty = jnp.zeros((16, 16, 1))
  np.testing.assert_array_equal(correlation.weighted_pool(features, empty), np.zeros(6))

  def loss(f, g):
    return jnp.sum(correlation.weighted_correlation(f, g, features) ** 2)
  grads = jax.grad(loss, argnums=(0, 1))(features, empty)
  for g in grads:
    assert np.all(np.isfinite(g))


def test_depthwise_correlation_is_a_1x1_depthwise_xcorr():
  vector, search = _rand(2, 6), _rand(3, 5, 4, 6)
  out = correlation.depthwise_correlation(vector, search)
  assert out.shape == search.shape
  np.testing.assert_allclose(out, search * vector, rtol=0, atol=0)
  np.testing.assert_allclose(correlation.depthwise_xcorr(search, vector[None, None], "direct"), out,
                             rtol=1e-6, atol=1e-6)


def test_weighted_correlation_composes_pool_and_product():
  template, search = _rand(4, 8, 8, 5), _rand(5, 8, 8, 5)
  guidance = jnp.asarray(np.random.RandomState(6).rand(32, 32, 1), jnp.float32)
  expected = correlation.weighted_pool(template, guidance) * search
  np.testing.assert_array_equal(correlation.weighted_correlation(template, guidance, search), expected)


def test_concat_fusion_puts_search_first_then_the_broadcast_vector():
  vector, search = _rand(7, 3), _rand(8, 4, 5, 2)
  out = correlation.concat_fusion(vector, search)
  assert out.shape == (4, 5, 5)
  np.testing.assert_array_equal(out[..., :2], search)
  np.testing.assert_array_equal(out[..., 2:], np.broadcast_to(vector, (4, 5, 3)))


@pytest.mark.parametrize("size,kernel", [(10, 6), (20, 10), (2, 2), (5, 3), (1, 1), (32, 16), (160, 80)])
def test_half_template_is_the_exact_centre(size, kernel):
  features = jnp.arange(size * size, dtype=jnp.float32).reshape(size, size, 1)
  out = correlation.half_template(features)
  assert out.shape == (kernel, kernel, 1)
  start = (size - kernel) // 2
  assert start == size - kernel - start  # centred exactly
  np.testing.assert_array_equal(out, features[start:start + kernel, start:start + kernel])


@pytest.mark.parametrize("implementation", ["direct", "fft", "auto"])
@pytest.mark.parametrize("search_shape,kernel_shape", [((9, 7, 3), (4, 3, 3)), ((8, 8, 2), (5, 5, 2)),
                                                       ((6, 10, 4), (1, 1, 4)), ((4, 4, 2), (4, 4, 2))])
def test_depthwise_xcorr_matches_brute_force(implementation, search_shape, kernel_shape):
  search, kernel = _rand(9, *search_shape), _rand(10, *kernel_shape)
  out = correlation.depthwise_xcorr(search, kernel, implementation)
  assert out.shape == search.shape and out.dtype == jnp.float32
  np.testing.assert_allclose(out, _xcorr_reference(np.asarray(search), np.asarray(kernel)),
                             rtol=1e-5, atol=1e-5)


def test_batched_ops_equal_per_example_loops_under_jit():
  b = 3
  template, search = _rand(11, b, 8, 6, 4), _rand(12, b, 8, 6, 4)
  guidance = jnp.asarray(np.random.RandomState(13).rand(b, 16, 12, 1), jnp.float32)
  pool = jax.jit(correlation.weighted_pool_batched)
  vectors = pool(template, guidance)
  kernels = jax.jit(correlation.half_template_batched)(template)
  assert vectors.shape == (b, 4) and kernels.shape == (b, 4, 4, 4)
  batched = {
      "correlation": jax.jit(correlation.depthwise_correlation_batched)(vectors, search),
      "concat": jax.jit(correlation.concat_fusion_batched)(vectors, search),
      "xcorr": jax.jit(correlation.depthwise_xcorr_batched, static_argnums=2)(search, kernels, "fft"),
  }
  for i in range(b):
    v = correlation.weighted_pool(template[i], guidance[i])
    np.testing.assert_allclose(vectors[i], v, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(batched["correlation"][i], correlation.depthwise_correlation(v, search[i]),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(batched["concat"][i], correlation.concat_fusion(v, search[i]),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(batched["xcorr"][i], correlation.depthwise_xcorr(search[i], kernels[i], "fft"),
                               rtol=1e-5, atol=1e-6)
  # Each example uses its own template: a different template changes only its own row.
  other = template.at[1].set(-template[1])
  changed = pool(other, guidance)
  np.testing.assert_allclose(changed[1], -vectors[1], rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(changed)[[0, 2]], np.asarray(vectors)[[0, 2]])


def test_bfloat16_features_keep_their_dtype():
  template = _rand(14, 4, 4, 3).astype(jnp.bfloat16)
  pooled = correlation.weighted_pool(template, jnp.ones((8, 8, 1)))
  assert pooled.dtype == jnp.bfloat16
  out = correlation.depthwise_xcorr(template, correlation.half_template(template))
  assert out.dtype == jnp.bfloat16


def test_bad_shapes_raise_clear_errors():
  with pytest.raises(ValueError, match="guidance"):
    correlation.weighted_pool(jnp.zeros((4, 4, 3)), jnp.zeros((4, 4)))
  with pytest.raises(ValueError, match="depthwise_correlation"):
    correlation.depthwise_correlation(jnp.zeros(3), jnp.zeros((4, 4, 2)))
  with pytest.raises(ValueError, match="kernel"):
    correlation.depthwise_xcorr(jnp.zeros((4, 4, 3)), jnp.zeros((2, 2, 2)))
  with pytest.raises(ValueError, match="implementation"):
    correlation.depthwise_xcorr(jnp.zeros((4, 4, 3)), jnp.zeros((2, 2, 3)), "winograd")
