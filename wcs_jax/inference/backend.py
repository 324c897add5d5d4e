"""The tracker's network calls, behind a small interface over batched numpy arrays.

A backend runs the three networks in evaluation mode and returns probabilities
(sigmoids of the logits); the tracker does everything else (crops, pastes, policy) in
numpy. Two implementations are meant to plug in:

- `JaxBackend` (here): the Flax modules and variables of a trained workdir (or random
  ones, for benchmarks and tests). Every call is one jitted function; the per-frame
  call `track` runs WCS-Net's search encoder, correlations and decoders on the cached
  template code of all objects at once (the objects are the batch axis).
- `wcs_jax.torch_runtime.backend.TorchBackend` (`--backend torch --weights DIR`, the
  export of `tools/convert_to_torch.py`): the same interface on the PyTorch networks,
  its crop geometry from the training config stored in the export.

Shapes: S is the network input side (`image_size`); images `[B, S, S, 3]` float32 RGB in
[0, 1]; maps `[B, S, S, 1]` float32 in [0, 1]; outputs `[B, S, S]` float32 probabilities.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Protocol

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from wcs_jax.models import build
from wcs_jax.models import wcsnet

BACKENDS = ("jax", "torch")


class BackendUnavailableError(ValueError):
  """A backend, or a network a backend should hold, is not available."""


class Backend(Protocol):
  """What the tracker needs from the networks.

  Attributes:
    image_size: S, the side of every network input (template, search, first frame).
    has_first_frame_networks: EG-Net and Gaze2Mask-Net are available (automatic,
      click and box initialisation need them; a given mask does not).
    has_hotspot: WCS-Net predicts the hotspot.
  """
  image_size: int
  has_first_frame_networks: bool
  has_hotspot: bool

  def gaze(self, image: np.ndarray) -> np.ndarray:
    """EG-Net: `[B, S, S, 3]` -> gaze map E `[B, S, S]`."""

  def gaze_to_mask(self, image: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    """Gaze2Mask-Net: `[B, S, S, 3]`, `[B, S, S, 1]` -> mask M `[B, S, S]`."""

  def encode_template(self, image: np.ndarray, mask: np.ndarray, hotspot: np.ndarray) -> Any:
    """WCS-Net's template code of B objects (opaque to the tracker): `[B, S, S, 3]`,
    `[B, S, S, 1]` mask, `[B, S, S, 1]` hotspot guidance."""

  def track(self, code: Any, search: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One frame of WCS-Net for B objects: `[B, S, S, 3]` search crops -> (mask, hotspot)
    `[B, S, S]` each, hotspot None without a hotspot branch."""


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
    """From `wcs_jax.training.checkpointing.load_inference_variables(workdir)`."""
    models = {name: build.from_config(loaded["model_configs"][name], name)
              for name in build.NETWORKS if loaded.get(name) is not None}
    return cls(models, {name: loaded.get(name) for name in build.NETWORKS}, image_size)

  @classmethod
  def random(cls, model_config: ml_collections.ConfigDict | dict | None, image_size: int,
             seed: int = 0) -> JaxBackend:
    """All three networks of `model_config` with untrained weights (`random_variables`)."""
    models = {name: build.from_config(model_config, name) for name in build.NETWORKS}
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

  def track(self, code: Any, search: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    mask, hotspot = _track(self._models["wcsnet"], self._variables["wcsnet"], code, search)
    return np.asarray(mask), None if hotspot is None else np.asarray(hotspot)


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
  image = jax.ShapeDtypeStruct((1, image_size, image_size, 3), jnp.float32)
  single = jax.ShapeDtypeStruct((1, image_size, image_size, 1), jnp.float32)
  inputs = {"EGNet": (image,), "Gaze2MaskNet": (image, single),
            "WCSNet": (image, single, single, image)}[type(model).__name__]
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


def load_backend(name: str, *, workdir: str | os.PathLike | None = None,
                 weights: str | os.PathLike | None = None,
                 options: dict | None = None) -> tuple[Backend, ml_collections.ConfigDict]:
  """A backend and the training config of the run it comes from.

  Args:
    name: "jax" (needs `workdir`) or "torch" (needs `weights`, a
      `tools/convert_to_torch.py` export).
    workdir: a training run's directory.
    weights: an exported weights directory.
    options: keyword arguments of the torch backend (`TorchBackend`: precision,
      num_threads, graph); the JAX backend takes none.

  Returns:
    `(backend, config)`; `config` is the final stage's training config (its
    `input.image_size` and `input.pairs` fix the crop geometry).
  """
  if name not in BACKENDS:
    raise ValueError(f"--backend must be one of {list(BACKENDS)}, got {name!r}")
  if name == "torch":
    if weights is None:
      raise ValueError("--backend torch needs --weights DIR (written by "
                       "`python tools/convert_to_torch.py --workdir RUN --output DIR`)")
    # Imported here: the JAX backend must not need torch, nor the torch one read a workdir.
    from wcs_jax.torch_runtime import backend as torch_backend  # pylint: disable=import-outside-toplevel
    backend = torch_backend.TorchBackend(weights, **(options or {}))
    return backend, ml_collections.ConfigDict(backend.training_config)
  if options:
    raise ValueError(f"the jax backend takes no options, got {sorted(options)}")
  if workdir is None:
    raise ValueError("--backend jax needs --workdir RUN (a directory written by "
                     "`python -m wcs_jax.train`)")
  # Imported here: the Orbax checkpoint machinery is only needed to read a workdir.
  from wcs_jax.training import checkpointing  # pylint: disable=import-outside-toplevel
  loaded = checkpointing.load_inference_variables(workdir)
  config = loaded["config"]
  return JaxBackend.from_inference_variables(loaded, int(config.input.image_size)), config
