"""The training losses of Sec. 3.3: pixel-wise cross entropies and the WCS-Net loss.

Every network returns logits; every target is a map in [0, 1] (binary masks and
hotspot regions, or a continuous gaze map, used as a soft label). The paper names the
losses "cross entropy" without further detail; we use the binary (sigmoid) cross
entropy of each pixel, averaged over the pixels of a sample, so that a loss does not
change scale with the input resolution.

The WCS-Net loss is per sample, `L = l1 * L_hotspot + l2 * L_mask`, with `l1, l2` given
by the sample's source (SALICON: l1 = 1, l2 = 0; DUTS/DAVIS: l1 = 0, l2 = 1), and the
batch loss is the mean of the per-sample losses over the whole batch (a sample with
both weights 0, e.g. an invalid pair, contributes 0 but still counts in the mean: the
gradient scale then does not depend on the mix of a batch).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def pixel_cross_entropy(logits: jax.Array, targets: jax.Array) -> jax.Array:
  """Binary cross entropy between logits and soft targets, averaged per sample.

  Args:
    logits: [B, H, W, 1] (any float dtype; computed in float32).
    targets: [B, H, W, 1] in [0, 1].

  Returns:
    [B] float32: the mean over the pixels of each sample of
    `-(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`.
  """
  if logits.shape != targets.shape:
    raise ValueError(f"logits {logits.shape} and targets {targets.shape} must have the same shape")
  x = logits.astype(jnp.float32)
  t = targets.astype(jnp.float32)
  # log(1 + exp(-|x|)) + max(x, 0) - x t: the numerically stable form.
  per_pixel = jnp.maximum(x, 0.0) - x * t + jnp.log1p(jnp.exp(-jnp.abs(x)))
  return jnp.mean(per_pixel, axis=tuple(range(1, x.ndim)))


def wcs_loss(mask_logits: jax.Array | None, hotspot_logits: jax.Array | None,
             mask_targets: jax.Array, hotspot_targets: jax.Array,
             l1: jax.Array, l2: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The WCS-Net loss `L = l1 * L_hotspot + l2 * L_mask`, per sample, then batch mean.

  A branch that is switched off (Tab. 6 ablations) passes None and contributes 0.

  Args:
    mask_logits: [B, S, S, 1] or None.
    hotspot_logits: [B, S, S, 1] or None.
    mask_targets: [B, S, S, 1] binary search mask.
    hotspot_targets: [B, S, S, 1] binary search hotspot region.
    l1: [B] hotspot weight of each sample.
    l2: [B] mask weight of each sample.

  Returns:
    (loss, terms): the scalar loss and {"loss_hotspot", "loss_mask"}, each the batch
    mean of the weighted per-sample term (they add up to the loss).
  """
  zeros = jnp.zeros(l1.shape, jnp.float32)
  hotspot = (l1.astype(jnp.float32) * pixel_cross_entropy(hotspot_logits, hotspot_targets)
             if hotspot_logits is not None else zeros)
  mask = (l2.astype(jnp.float32) * pixel_cross_entropy(mask_logits, mask_targets)
          if mask_logits is not None else zeros)
  terms = {"loss_hotspot": jnp.mean(hotspot), "loss_mask": jnp.mean(mask)}
  return jnp.mean(hotspot + mask), terms
