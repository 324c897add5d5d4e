"""Building blocks of the PyTorch networks that reproduce the Flax/Keras conventions.

The JAX encoders follow `keras.applications` exactly; these layers do the same in
PyTorch so that the exported networks agree with the JAX ones to float32 rounding:

- stride-1 convolutions use TensorFlow "SAME" padding, which for the odd kernels of
  these networks is PyTorch's symmetric `padding=k // 2`;
- stride-2 convolutions of EfficientNet are preceded by Keras's asymmetric zero
  padding (`correct_pad`): an even input loses one pixel of padding at the top/left;
- batch norm is inference-only (running statistics) with the encoder's own epsilon
  (1e-3 for EfficientNet, 1.001e-5 for ResNet) and may be folded into the preceding
  convolution at load time (`fold_batch_norms`).

Tensors are NCHW in shape; the runtime keeps them channels_last in memory (the
depth-wise 3x3 convolutions of EfficientNet run ~14x faster that way on CPU).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def correct_pad(in_size: tuple[int, int], kernel_size: int) -> tuple[int, int, int, int]:
  """Keras's padding before a stride-2 'valid' convolution, in `F.pad` order.

  Args:
    in_size: (H, W) of the input.
    kernel_size: k of the k x k kernel.

  Returns:
    (left, right, top, bottom): an even side gets (k // 2 - 1, k // 2), an odd one
    (k // 2, k // 2), as `keras.applications.imagenet_utils.correct_pad`.
  """
  (top, bottom), (left, right) = ((kernel_size // 2 - (1 - n % 2), kernel_size // 2) for n in in_size)
  return left, right, top, bottom


def keras_pad(x: torch.Tensor, kernel_size: int) -> torch.Tensor:
  """Pads [B, C, H, W] with zeros as Keras does before a stride-2 'valid' convolution."""
  return F.pad(x, correct_pad((x.shape[-2], x.shape[-1]), kernel_size))


def conv(in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1,
         bias: bool = True, groups: int = 1) -> nn.Conv2d:
  """A convolution with the padding of the JAX model, where it can be built in.

  Stride 1: TensorFlow "SAME", symmetric `k // 2` for odd kernels. Stride 2: no
  padding; EfficientNet's callers apply `keras_pad` first (its amount depends on the
  input size's parity), ResNet's stride-2 1x1 convolutions are 'valid' anyway.
  """
  if kernel_size % 2 != 1:
    raise ValueError(f"only odd kernel sizes are supported, got {kernel_size}")
  return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                   padding=kernel_size // 2 if stride == 1 else 0, bias=bias, groups=groups)


def batch_norm(channels: int, epsilon: float) -> nn.BatchNorm2d:
  """Inference batch norm: `(x - mean) / sqrt(var + epsilon) * scale + bias`."""
  return nn.BatchNorm2d(channels, eps=epsilon)


@torch.no_grad()
def fold_batch_norm(convolution: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
  """Folds `bn` (inference mode) into `convolution` in place.

  `bn(conv(x)) = s * (W x + b - mean) + beta` with `s = scale / sqrt(var + eps)`, so
  the folded convolution has weights `s W` (per output channel) and bias
  `s (b - mean) + beta`. Float32 rounding of the product moves the outputs by ~1e-7
  relative.
  """
  s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
  convolution.weight.mul_(s.reshape(-1, 1, 1, 1))
  bias = convolution.bias if convolution.bias is not None else torch.zeros_like(bn.running_mean)
  folded = s * (bias - bn.running_mean) + bn.bias
  if convolution.bias is None:
    convolution.bias = nn.Parameter(folded)
  else:
    convolution.bias.copy_(folded)


def fold_batch_norms(model: nn.Module) -> nn.Module:
  """Folds every (convolution, batch norm) pair a module declares, then drops the norms.

  A module declares its pairs as `conv_bn_pairs`, a tuple of (convolution attribute,
  batch-norm attribute) names; after folding the batch-norm attribute is an
  `nn.Identity`. Returns `model`, changed in place.
  """
  for module in list(model.modules()):
    for conv_name, bn_name in getattr(module, "conv_bn_pairs", ()):
      bn = getattr(module, bn_name)
      if isinstance(bn, nn.BatchNorm2d):
        fold_batch_norm(getattr(module, conv_name), bn)
        setattr(module, bn_name, nn.Identity())
  return model
