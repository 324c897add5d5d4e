"""Imports an ImageNet backbone from Keras for training: `DIR/backbone.safetensors`.

Usage:
  python tools/import_backbone.py --arch efficientnet-b2 --keras-weights efficientnetb2_notop.h5 --output backbones/b2
  python tools/import_backbone.py --arch resnet101 --keras-imagenet --output backbones/r101

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
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--keras-weights", metavar="FILE", help="weights file of the keras.applications model")
  source.add_argument("--keras-imagenet", action="store_true", help="Keras's own ImageNet weights (downloads)")
  parser.add_argument("--output", required=True, metavar="DIR", help="where backbone.safetensors/.json go")
  args = parser.parse_args(argv)

  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.set_visible_devices([], "GPU")
  from wcs_jax.io import trees  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import backbone_io, keras_import  # pylint: disable=g-import-not-at-top

  if args.keras_imagenet:
    model, name = keras_import.build_keras_model(args.arch, weights="imagenet"), "keras.applications imagenet"
    variables = keras_import.load_keras_weights(model, args.arch)
  else:
    name = os.path.abspath(args.keras_weights)
    variables = keras_import.load_keras_weights(args.keras_weights, args.arch)
  out = backbone_io.save_backbone(args.output, variables, args.arch, name)
  count = sum(int(v.size) for v in trees.flatten(variables).values())
  print(f"wrote {args.arch} ({count:,} values) from {name} to {out}")
  return 0


if __name__ == "__main__":
  try:
    sys.exit(main())
  except (FileNotFoundError, ValueError) as e:
    sys.exit(f"import_backbone: error: {e}")
