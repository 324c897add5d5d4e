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

from wcs_jax.spec import geometry


def correct_pad(in_size: tuple[int, int], kernel_size: int) -> tuple[int, int, int, int]:
  """Keras's padding before a stride-2 'valid' convolution, in `F.pad` order.

  Args:
    in_size: (H, W) of the input.
    kernel_size: k of the k x k kernel.

  Returns:
    (left, right, top, bottom) of `wcs_jax.spec.geometry.keras_stride2_padding`.
  """
  (top, bottom), (left, right) = geometry.keras_stride2_padding(in_size, kernel_size)
  return left, right, top, bottom


def keras_strided_conv(convolution: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
  """`convolution` (stride 2, no padding of its own) after Keras's `correct_pad`.

  Same result as `convolution(F.pad(x, correct_pad(...)))` without materialising the
  padded input (for block2a of B2 at 320 that copy was ~10% of a frame): the
  convolution pads symmetrically inside its kernel instead. Where Keras pads one
  pixel less before than after (an even side), the symmetric padding is the "after"
  amount rounded up to the parity of "before", i.e. "before" + 2, which starts the
  stride-2 sampling grid one output early; that first output and any extra one at the
  end are then cut off, and the result copied into a dense channels_last tensor (a
  strided view slowed the following layers more than the small copy costs).

  Args:
    convolution: stride 2, `padding=0`, odd square kernel k.
    x: [B, C, H, W].

  Returns:
    [B, C_out, (H + top + bottom - k) // 2 + 1, (W + left + right - k) // 2 + 1].
  """
  k = convolution.kernel_size[0]
  # Python ints: under `torch.jit.trace` the padding arithmetic then becomes constants
  # of the graph instead of ~20 scalar ops per call.
  height, width = int(x.shape[-2]), int(x.shape[-1])
  left, right, top, bottom = correct_pad((height, width), k)
  pad_h, pad_w = (before + 2 * ((after - before + 1) // 2) for before, after in ((top, bottom), (left, right)))
  y = F.conv2d(x, convolution.weight, convolution.bias, stride=convolution.stride,
               padding=(pad_h, pad_w), groups=convolution.groups)
  start_h, start_w = (pad_h - top) // 2, (pad_w - left) // 2
  out_h = (height + top + bottom - k) // 2 + 1
  out_w = (width + left + right - k) // 2 + 1
  return y[:, :, start_h:start_h + out_h, start_w:start_w + out_w].contiguous(memory_format=torch.channels_last)


def conv(in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1,
         bias: bool = True, groups: int = 1) -> nn.Conv2d:
  """A convolution with the padding of the JAX model, where it can be built in.

  Stride 1: TensorFlow "SAME", symmetric `k // 2` for odd kernels. Stride 2: no
  padding; EfficientNet's callers run it through `keras_strided_conv` (its padding
  depends on the input size's parity), ResNet's stride-2 1x1 convolutions are 'valid' anyway.
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
