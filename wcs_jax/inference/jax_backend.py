"""The tracker's JAX backend: the Flax networks of a trained workdir on the default device.

Implements `wcs_jax.inference.backend.Backend`. Every call is one jitted function; the
per-frame call `track` runs WCS-Net's search encoder, correlations and decoders on the
cached template code of all objects at once (the objects are the batch axis).
`JaxBackend.random` and `random_variables` give untrained networks, for benchmarks and
tests. Chosen with `load_backend("jax", workdir=RUN)` (`tools/track.py --backend jax`).
"""
from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.models import build
from wcs_jax.models import egnet
from wcs_jax.models import gaze2mask
from wcs_jax.models import wcsnet
from wcs_jax.spec import networks


@functools.partial(jax.jit, static_argnums=0)
def _gaze(model: nn.Module, variables: Any, image: jax.Array) -> jax.Array:
  return jax.nn.sigmoid(model.apply(variables, image, train=False))[..., 0]


@functools.partial(jax.jit, static_argnums=0)
def _gaze_to_mask(model: nn.Module, variables: Any, image: jax.Array, gaze: jax.Array) -> jax.Array:
  return jax.nn.sigmoid(model.apply(variables, image, gaze, train=False))[..., 0]


@functools.partial(jax.jit, static_argnums=0)
def _track(model: wcsnet.WCSNet, variables: Any, code: wcsnet.TemplateCode,
           search: jax.Array) -> tuple[jax.Array, jax.Array | None]:
  mask, hotspot = model.apply(variables, code, search, method=wcsnet.WCSNet.track)
  return (jax.nn.sigmoid(mask)[..., 0],
          None if hotspot is None else jax.nn.sigmoid(hotspot)[..., 0])


class JaxBackend:
  """The Flax networks on the default JAX device.

  Args:
    models: {"egnet", "gaze2mask", "wcsnet"} -> Flax module; the first two may be
      missing (then only mask initialisation works).
    variables: the same keys -> {"params", "batch_stats"} (numpy or JAX arrays); they
      are placed on the device once, here.
    image_size: S.
  """

  def __init__(self, models: dict[str, nn.Module], variables: dict[str, Any], image_size: int):
    if "wcsnet" not in models or variables.get("wcsnet") is None:
      raise BackendUnavailableError("the tracker needs WCS-Net weights; this run holds none "
                                    f"(networks: {sorted(k for k, v in variables.items() if v is not None)})")
    model = models["wcsnet"]
    if not model.mask_branch:
      raise BackendUnavailableError("this WCS-Net has no mask branch (config.model.mask_branch="
                                    "False): the tracker follows the object by its mask")
    self.image_size = int(image_size)
    self._models = {name: m for name, m in models.items() if variables.get(name) is not None}
    self._variables = {name: jax.device_put(variables[name]) for name in self._models}
    self.has_first_frame_networks = {"egnet", "gaze2mask"} <= set(self._models)
    self.has_hotspot = bool(model.hotspot_branch)

  @classmethod
  def from_inference_variables(cls, loaded: dict[str, Any], image_size: int) -> JaxBackend:
    """From `wcs_jax.io.workdir.load_inference_variables(workdir)`."""
    models = {name: build.from_config(loaded["model_configs"][name], name)
              for name in networks.NETWORKS if loaded.get(name) is not None}
    return cls(models, {name: loaded.get(name) for name in networks.NETWORKS}, image_size)

  @classmethod
  def random(cls, model_config: ml_collections.ConfigDict | dict | None, image_size: int,
             seed: int = 0) -> JaxBackend:
    """All three networks of `model_config` with untrained weights (`random_variables`)."""
    models = {name: build.from_config(model_config, name) for name in networks.NETWORKS}
    keys = np.random.SeedSequence(seed).spawn(len(models))
    variables = {name: random_variables(model, image_size, key)
                 for (name, model), key in zip(models.items(), keys)}
    return cls(models, variables, image_size)

  def _require(self, name: str, what: str) -> tuple[nn.Module, Any]:
    if name not in self._models:
      raise BackendUnavailableError(
          f"{what} needs {name} weights, which this run does not hold; initialise from "
          "a mask instead, or track with a run whose chain trained EG-Net and Gaze2Mask-Net")
    return self._models[name], self._variables[name]

  def gaze(self, image: np.ndarray) -> np.ndarray:
    model, variables = self._require("egnet", "automatic initialisation (EG-Net)")
    return np.asarray(_gaze(model, variables, image))

  def gaze_to_mask(self, image: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    model, variables = self._require("gaze2mask", "click, box and automatic initialisation")
    return np.asarray(_gaze_to_mask(model, variables, image, gaze))

  def encode_template(self, image: np.ndarray, mask: np.ndarray, hotspot: np.ndarray) -> Any:
    return wcsnet.encode_template(self._models["wcsnet"], self._variables["wcsnet"],
                                  image, mask, hotspot)

  def join_codes(self, codes: list[Any]) -> Any:
    if len(codes) == 1:
      return codes[0]
    return jax.tree.map(lambda *parts: jnp.concatenate(parts, axis=0), *codes)

  def track(self, code: Any, search: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    mask, hotspot = _track(self._models["wcsnet"], self._variables["wcsnet"], code, search)
    return np.asarray(mask), None if hotspot is None else np.asarray(hotspot)


_NETWORK_OF = {egnet.EGNet: "egnet", gaze2mask.Gaze2MaskNet: "gaze2mask", wcsnet.WCSNet: "wcsnet"}


def random_variables(model: nn.Module, image_size: int,
                     seed: int | np.random.SeedSequence = 0) -> dict[str, Any]:
  """Untrained variables of one of the three networks, drawn on the host.

  Flax's own defaults (LeCun-normal kernels, fan-in = all axes but the last; zero
  biases; unit batch-norm scales; running mean 0 and variance 1), without compiling the
  network's `init` (on a 2-core CPU, XLA takes over a minute for an EfficientNet's).
  Only the structure comes from the network, through `jax.eval_shape`.

  Args:
    model: an `EGNet`, `Gaze2MaskNet` or `WCSNet`.
    image_size: S of the traced input (the variables do not depend on it).
    seed: numpy seed.

  Returns:
    {"params", "batch_stats"} of float32 numpy arrays.
  """
  network = _NETWORK_OF[type(model)]
  inputs = [jax.ShapeDtypeStruct(shape, jnp.float32) for shape in networks.input_shapes(network, image_size)]
  shapes = jax.eval_shape(functools.partial(model.init, train=False), jax.random.key(0), *inputs)
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    name = path[-1].key
    if name == "kernel":
      fan_in = int(np.prod(leaf.shape[:-1]))
      return (rng.standard_normal(leaf.shape) / np.sqrt(fan_in)).astype(np.float32)
    if name in ("scale", "var"):
      return np.ones(leaf.shape, np.float32)
    return np.zeros(leaf.shape, np.float32)

  return jax.tree_util.tree_map_with_path(draw, dict(shapes))
