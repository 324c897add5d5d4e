"""What the networks are, independent of any framework: the single source of truth that
the Flax modules (`wcs_jax.models`), the PyTorch runtime (`wcs_jax.torch_runtime`), the
trainer, the configs and the tools all read.

- `backbones`: the encoders' architecture tables (EfficientNet-B0..B7, ResNet) and the
  channels of their five levels.
- `networks`: the three networks' names, levels and ablation choices, the model
  config with its defaults and validation, and each network's input shapes.
- `geometry`: padding, resizing and template-crop arithmetic both frameworks compute
  identically.

Every module here imports the standard library and numpy only (a test checks it).
"""
