"""Import of `keras.applications` backbone weights into the Flax encoders.

The encoders name their submodules after Keras layers (`block2a_expand_conv` becomes
`block2a/expand_conv`, `conv3_block1_0_bn` becomes `conv3_block1/0_bn`), so the import
is a name mapping plus the layout changes below; every Flax variable must receive a
Keras weight of the same shape, or the import fails naming the tensors that did not.

| Keras layer          | Flax variables                                               |
|----------------------|--------------------------------------------------------------|
| Conv2D               | params/kernel [k, k, in, out], params/bias                   |
| DepthwiseConv2D      | params/kernel [k, k, C, 1] -> [k, k, 1, C]                   |
| BatchNormalization   | params/scale, params/bias, batch_stats/mean, batch_stats/var |

Keras imports TensorFlow lazily: only this module and `tools/import_backbone.py` need it,
and no other module of `wcs_jax.models` imports this one.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable

import numpy as np

from wcs_jax.io import trees
from wcs_jax.models import backbone_io
from wcs_jax.models import encoders
from wcs_jax.spec import backbones

# Keras layer name -> Flax module path; the block prefix becomes a submodule.
_BLOCK_PATTERNS = (re.compile(r"^(block\d+[a-z])_(.+)$"), re.compile(r"^(conv\d_block\d+)_(.+)$"))


# Layers after the last pyramid level (classification head): not part of the encoder.
HEAD_LAYERS = ("top_conv", "top_bn", "predictions", "post_bn")


def flax_path(layer_name: str) -> tuple[str, ...]:
  for pattern in _BLOCK_PATTERNS:
    match = pattern.match(layer_name)
    if match:
      return match.groups()
  return (layer_name,)


def keras_constructor(arch: str) -> Callable[..., Any]:
  """The `keras.applications` function that builds `arch`."""
  import keras  # pylint: disable=g-import-not-at-top
  backbones.check_arch(arch)
  if arch in backbones.LITE_ARCHS:
    raise ValueError(f"keras.applications has no {arch}; its ImageNet weights come from PyTorch: "
                     f"tools/import_backbone.py --arch {arch} [--torch-weights FILE]")
  if arch in backbones.EFFICIENTNET_ARCHS:
    return getattr(keras.applications, "EfficientNetB" + arch[-1])
  return getattr(keras.applications, {"resnet50": "ResNet50", "resnet101": "ResNet101",
                                      "resnet152": "ResNet152"}[arch])


def build_keras_model(arch: str, weights: str | None = None) -> Any:
  """The headless Keras model of `arch` (weights: None, "imagenet" or a file path)."""
  return keras_constructor(arch)(include_top=False, weights=weights, input_shape=(None, None, 3))


def keras_variables(model: Any) -> dict[str, dict[str, dict[str, np.ndarray]]]:
  """Reads a Keras backbone's weights as {"params": {...}, "batch_stats": {...}} nested dicts."""
  import keras  # pylint: disable=g-import-not-at-top
  params: dict = {}
  batch_stats: dict = {}

  def put(tree, path, name, value):
    node = tree
    for key in path:
      node = node.setdefault(key, {})
    node[name] = np.asarray(value, np.float32)

  for layer in model.layers:
    if layer.name in HEAD_LAYERS:
      continue
    path = flax_path(layer.name)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
      kernel = np.asarray(layer.kernel)
      if kernel.shape[-1] != 1:
        raise ValueError(f"layer {layer.name}: depth multiplier {kernel.shape[-1]} is not supported")
      put(params, path, "kernel", kernel.transpose(0, 1, 3, 2))
    elif isinstance(layer, keras.layers.Conv2D):
      put(params, path, "kernel", layer.kernel)
      if layer.use_bias:
        put(params, path, "bias", layer.bias)
    elif isinstance(layer, keras.layers.BatchNormalization):
      put(params, path, "scale", layer.gamma)
      put(params, path, "bias", layer.beta)
      put(batch_stats, path, "mean", layer.moving_mean)
      put(batch_stats, path, "var", layer.moving_variance)
    elif isinstance(layer, keras.layers.Normalization):
      _check_imagenet_normalization(model, layer)
    elif layer.weights:
      raise ValueError(f"layer {layer.name} ({type(layer).__name__}) has weights the import does not map")
  return {"params": params, "batch_stats": batch_stats}


def _check_imagenet_normalization(model: Any, layer: Any) -> None:
  """The Flax encoders normalise with fixed ImageNet statistics; refuse anything else.

  Keras's ImageNet EfficientNet stores the *std* as the variance and divides by
  sqrt(std) once more in a Rescaling layer (keras issue tensorflow/tensorflow#49930),
  so both that form and the plain variance = std**2 form are accepted.
  """
  import keras  # pylint: disable=g-import-not-at-top
  mean = np.asarray(layer.mean).reshape(-1)
  std = np.sqrt(np.asarray(layer.variance).reshape(-1))
  index = model.layers.index(layer)
  following = model.layers[index + 1] if index + 1 < len(model.layers) else None
  if isinstance(following, keras.layers.Rescaling) and np.ndim(following.scale) > 0:
    std = std / np.asarray(following.scale).reshape(-1)
  expected_mean = np.array(backbones.IMAGENET_MEAN)
  expected_std = np.array(backbones.IMAGENET_STD)
  if not (np.allclose(mean, expected_mean, atol=1e-3) and np.allclose(std, expected_std, atol=1e-3)):
    raise ValueError(
        f"Keras layer {layer.name} normalises with mean {mean.round(4).tolist()} and std "
        f"{std.round(4).tolist()}; the Flax encoder uses ImageNet mean {list(expected_mean)} and "
        f"std {list(expected_std)}. Set the Keras Normalization layer to those values "
        "(weights='imagenet' does) before importing.")


def check_matches(imported: dict, reference: dict, source: str) -> None:
  """Raises naming every variable that is missing, unexpected or of the wrong shape."""
  flat_imported = trees.flatten(imported)
  flat_reference = trees.flatten(reference)
  missing = sorted(set(flat_reference) - set(flat_imported))
  unexpected = sorted(set(flat_imported) - set(flat_reference))
  wrong = sorted(f"{k}: {flat_imported[k].shape} vs expected {tuple(flat_reference[k].shape)}"
                 for k in set(flat_imported) & set(flat_reference)
                 if tuple(flat_imported[k].shape) != tuple(flat_reference[k].shape))
  if missing or unexpected or wrong:
    raise backbone_io.mismatch_error(f"weights from {source} do not match the Flax encoder:",
                                     missing, unexpected, wrong)


def load_keras_weights(keras_model_or_weights_file: Any, arch: str, in_channels: int = 3) -> dict:
  """Flax variables {"params", "batch_stats"} of `arch` from a Keras model or weights file.

  Args:
    keras_model_or_weights_file: a built `keras.applications` model of `arch`
      (include_top True or False), or the path of its weights file (`.h5` as
      distributed with keras.applications, e.g. `efficientnetb2_notop.h5`, or
      `.weights.h5`).
    arch: "efficientnet-b0".."b7" or "resnet50"/"resnet101"/"resnet152".
    in_channels: encoder input channels; channels beyond 3 start with zero weights.
  """
  import jax  # pylint: disable=g-import-not-at-top
  keras_constructor(arch)  # an arch Keras does not have fails before the file is read
  source = keras_model_or_weights_file
  if isinstance(source, (str, os.PathLike)):
    path = os.fspath(source)
    if not os.path.isfile(path):
      raise FileNotFoundError(f"Keras weights file {path} does not exist")
    model = build_keras_model(arch)
    try:
      model.load_weights(path, skip_mismatch=False)
    except Exception as e:  # Keras raises several types for a wrong file.
      raise ValueError(f"could not load {path} into keras.applications {arch} (include_top=False): {e}") from e
    name = path
  else:
    model, name = source, f"Keras model {getattr(source, 'name', '?')}"
  variables = backbone_io.adapt_in_channels(keras_variables(model), backbones.stem_path(arch), in_channels)
  module = encoders.build_encoder(arch, in_channels)
  reference = jax.eval_shape(lambda: module.init(jax.random.key(0), np.zeros((1, 64, 64, in_channels), np.float32)))
  check_matches(variables, reference, name)
  return variables

