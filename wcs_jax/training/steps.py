"""Pure update steps of the three networks (Sec. 3.3).

Each stage has a loss function `loss_fn(params, batch_stats, frozen, batch, rng) ->
(loss, (terms, new_batch_stats))` whose static dependencies (the Flax module, the
frozen teacher, the gaze source) are keyword-only arguments bound with
`functools.partial`; `train_step` turns any of them into one optimiser update. All of
them are pure, so the trainer jits them over the device mesh and the tests call them
directly.

`TrainState.frozen` holds the variables of the networks this stage does not train,
keyed by network name: Gaze2Mask-Net's EG-Net (it computes the input gaze), and for
WCS-Net both first-frame networks, carried along unchanged so that a WCS-Net workdir
holds everything inference needs.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from wcs_jax.models import layers
from wcs_jax.spec import networks
from wcs_jax.training import losses

# The batch fields each network's step reads.
BATCH_FIELDS = {
    "egnet": ("image", "gaze"),
    "gaze2mask": ("image", "gaze", "mask", "window", "from_egnet"),
    "wcsnet": ("template_image", "template_mask", "template_hotspot", "search_image",
               "search_mask", "search_hotspot", "l1", "l2"),
}
# Channels of the [B, S, S, C] fields; the others (loss weights) are [B].
_FIELD_CHANNELS = {"image": 3, "template_image": 3, "search_image": 3, "gaze": 1, "mask": 1, "window": 1,
                   "template_mask": 1, "template_hotspot": 1, "search_mask": 1, "search_hotspot": 1}
GAZE_SOURCES = ("egnet", "stream")

Batch = dict[str, jax.Array]
LossFn = Callable[..., tuple[jax.Array, tuple[dict[str, jax.Array], Any]]]


@flax.struct.dataclass
class TrainState:
  """Everything a checkpoint holds.

  Attributes:
    step: int32 scalar, the number of updates done.
    params: the trained network's parameters (float32).
    batch_stats: its batch-norm running statistics.
    opt_state: the optax state.
    frozen: {network name: {"params", "batch_stats"}} of the networks not trained here.
  """
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  frozen: Any


def _apply_train(model: nn.Module, params, batch_stats, rng, *inputs):
  """Runs `model` in training mode; returns (outputs, new batch_stats)."""
  out, updates = model.apply({"params": params, "batch_stats": batch_stats}, *inputs, train=True,
                             mutable=["batch_stats"], rngs={"dropout": rng})
  return out, updates["batch_stats"]


def egnet_loss(params, batch_stats, frozen, batch: Batch, rng, *, model: nn.Module):
  """EG-Net: cross entropy of the predicted gaze map against the SALICON map.

  Batch: "image" [B, S, S, 3], "gaze" [B, S, S, 1] (continuous, max 1).
  """
  del frozen
  logits, new_stats = _apply_train(model, params, batch_stats, rng, batch["image"])
  loss = jnp.mean(losses.pixel_cross_entropy(logits, batch["gaze"]))
  return loss, ({"loss_gaze": loss}, new_stats)


def gaze2mask_input(frozen, batch: Batch, *, egnet: nn.Module | None, gaze_source: str) -> jax.Array:
  """The gaze channel Gaze2Mask-Net is trained with, [B, S, S, 1] in [0, 1].

  "egnet" (the paper): the frozen EG-Net's prediction on the image, restricted to the
  stream's "window" (`sigmoid(E) * W`, no renormalisation, so the values are those
  EG-Net gives the tracker at inference): W is the ground-truth instance mask (the
  paper), or the whole frame for the video frames of `input.video_window="frame"`
  (`input_pipeline.streams.gaze2mask_stream`); the examples whose "from_egnet" is 0
  (a click's or a box's map, `input.prompts`) keep the stream's "gaze". "stream": the
  stream's own "gaze"
  field (a gaze-like map made from the mask, `input_pipeline.hotspot.mask_guidance`),
  for training Gaze2Mask-Net without an EG-Net.
  """
  if gaze_source == "stream":
    return batch["gaze"]
  if gaze_source != "egnet":
    raise ValueError(f"gaze_source must be one of {GAZE_SOURCES}, got {gaze_source!r}")
  gaze = jax.nn.sigmoid(egnet.apply(frozen["egnet"], batch["image"], train=False)) * batch["window"]
  from_egnet = batch["from_egnet"][:, None, None, None] > 0.5
  return jax.lax.stop_gradient(jnp.where(from_egnet, gaze, batch["gaze"]))


def gaze2mask_loss(params, batch_stats, frozen, batch: Batch, rng, *, model: nn.Module,
                   egnet: nn.Module | None, gaze_source: str):
  """Gaze2Mask-Net: cross entropy of the predicted mask against the instance mask.

  Batch: "image" [B, S, S, 3], "mask" [B, S, S, 1] binary, "gaze" [B, S, S, 1],
  "window" [B, S, S, 1] and "from_egnet" [B] (both read only with gaze_source="egnet").
  """
  gaze = gaze2mask_input(frozen, batch, egnet=egnet, gaze_source=gaze_source)
  logits, new_stats = _apply_train(model, params, batch_stats, rng, batch["image"], gaze)
  loss = jnp.mean(losses.pixel_cross_entropy(logits, batch["mask"]))
  return loss, ({"loss_mask": loss}, new_stats)


def wcsnet_loss(params, batch_stats, frozen, batch: Batch, rng, *, model: nn.Module):
  """WCS-Net: `L = l1 * L_hotspot + l2 * L_mask` per sample (see `losses.wcs_loss`).

  Batch: the pair fields of `BATCH_FIELDS["wcsnet"]`, maps [B, S, S, C], l1/l2 [B].
  """
  del frozen
  out, new_stats = _apply_train(model, params, batch_stats, rng, batch["template_image"],
                                batch["template_mask"], batch["template_hotspot"],
                                batch["search_image"])
  loss, terms = losses.wcs_loss(out.get("mask"), out.get("hotspot"), batch["search_mask"],
                                batch["search_hotspot"], batch["l1"], batch["l2"])
  return loss, (terms, new_stats)


def is_frozen(path: str, frozen_params: tuple[str, ...]) -> bool:
  """Whether the "/"-joined parameter `path` starts with one of the `frozen_params`
  prefixes ("encoder/block2" matches "encoder/block2a/..." and "encoder/block2b/...")."""
  return any(path.startswith(p) for p in frozen_params)


def count_frozen(params, frozen_params: tuple[str, ...]) -> int:
  """Number of parameter values under the `frozen_params` prefixes; a prefix that
  matches no parameter is an error (a typo would otherwise train everything)."""
  if isinstance(frozen_params, str):
    raise TypeError(f"frozen_params={frozen_params!r}: expected a tuple of path prefixes, not one string")
  flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(params), sep="/")
  for prefix in frozen_params:
    if not any(is_frozen(path, (prefix,)) for path in flat):
      raise ValueError(f"--config.frozen_params: {prefix!r} matches no parameter; the parameters start "
                       f"with {sorted({'/'.join(k.split('/')[:2]) for k in flat})[:12]} ...")
  return sum(int(x.size) for path, x in flat.items() if is_frozen(path, frozen_params))


def _split(params, frozen_params: tuple[str, ...]):
  flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(params), sep="/")
  trainable = {k: v for k, v in flat.items() if not is_frozen(k, frozen_params)}
  fixed = {k: v for k, v in flat.items() if is_frozen(k, frozen_params)}
  return trainable, fixed


def _merge(trainable, fixed):
  return flax.traverse_util.unflatten_dict({**trainable, **fixed}, sep="/")


def train_step(state: TrainState, batch: Batch, *, loss_fn: LossFn,
               optimizer: optax.GradientTransformation,
               learning_rate_fn: optax.Schedule, seed: int,
               frozen_params: tuple[str, ...] = ()) -> tuple[TrainState, dict[str, jax.Array]]:
  """One optimiser update on a (global) batch.

  The dropout (drop-connect) key is `fold_in(seed, step)`: a function of the step
  alone, so a resumed run draws the same masks as an uninterrupted one. Parameters
  under the `frozen_params` prefixes are constants of the differentiated function, so
  no gradient is computed for them (and none flows below a frozen encoder bottom);
  they get a zero gradient, so Adam leaves them unchanged.

  Returns:
    (new state, metrics): "loss", the loss terms, "grad_norm", "param_norm" (global L2
    norms) and "learning_rate", all float32 scalars.
  """
  rng = jax.random.fold_in(jax.random.PRNGKey(seed), state.step)
  trainable, fixed = _split(state.params, frozen_params)
  grad_fn = jax.value_and_grad(lambda t, *args: loss_fn(_merge(t, fixed), *args), has_aux=True)
  (loss, (terms, new_stats)), grads = grad_fn(trainable, state.batch_stats, state.frozen, batch, rng)
  grads = _merge(grads, jax.tree.map(jnp.zeros_like, fixed))
  if not isinstance(state.params, dict):
    grads = flax.core.freeze(grads)
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  metrics = {"loss": loss, **terms, "grad_norm": optax.tree.norm(grads),
             "param_norm": optax.tree.norm(params),
             "learning_rate": jnp.asarray(learning_rate_fn(state.step), jnp.float32)}
  new_state = state.replace(step=state.step + 1, params=params, batch_stats=new_stats,
                            opt_state=opt_state)
  return new_state, metrics


def batch_statistics(state: TrainState, batch: Batch, *, loss_fn: LossFn, seed: int) -> Any:
  """The batch-norm statistics of one batch, in training mode, with the state's
  parameters (what precise BN averages): per layer, the value its running average
  settles at when every step sees this batch.

  A layer called K times in a step (K = 2 for WCS-Net's siamese encoder: template,
  then search) updates its running average r to `m^K r + z`, where z sums the calls'
  statistics b_k weighted `(1 - m) m^(K - k)` (momentum m,
  `layers.BATCH_NORM_MOMENTUM`); it settles at `z / (1 - m^K)`, the b_k's weighted
  mean (the statistic itself for K = 1). One pass from zeroed statistics gives z, one
  from ones gives `m^K + z`; a layer the step never calls (m^K = 1) keeps its value.
  The dropout key is the one of the state's step.

  Returns:
    A tree shaped like `state.batch_stats`.
  """
  rng = jax.random.fold_in(jax.random.PRNGKey(seed), state.step)
  _, (_, from_zeros) = loss_fn(state.params, jax.tree.map(jnp.zeros_like, state.batch_stats),
                               state.frozen, batch, rng)
  _, (_, from_ones) = loss_fn(state.params, jax.tree.map(jnp.ones_like, state.batch_stats),
                              state.frozen, batch, rng)

  def settled(z, o, current):
    kept = 1.0 - (o - z)  # 1 - m^K
    called = kept > 0.5 * (1.0 - layers.BATCH_NORM_MOMENTUM)
    return jnp.where(called, z / jnp.where(called, kept, 1.0), current)

  return jax.tree.map(settled, from_zeros, from_ones, state.batch_stats)


def make_loss_fn(network: str, model: nn.Module, *, egnet: nn.Module | None = None,
                 gaze_source: str = "egnet") -> LossFn:
  """The loss function of `network` with its dependencies bound."""
  if network == "egnet":
    return functools.partial(egnet_loss, model=model)
  if network == "gaze2mask":
    if gaze_source == "egnet" and egnet is None:
      raise ValueError("gaze_source='egnet' needs the frozen EG-Net module")
    return functools.partial(gaze2mask_loss, model=model, egnet=egnet, gaze_source=gaze_source)
  networks.check_network(network)
  return functools.partial(wcsnet_loss, model=model)


def batch_shapes(network: str, batch_size: int, image_size: int) -> dict[str, tuple[int, ...]]:
  """{field: shape} of a global batch of `network`'s step: maps [B, S, S, C], loss weights [B]."""
  return {name: (batch_size, image_size, image_size, _FIELD_CHANNELS[name]) if name in _FIELD_CHANNELS
          else (batch_size,) for name in BATCH_FIELDS[networks.check_network(network)]}

