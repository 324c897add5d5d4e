"""The tf.data streams of the training stages (paper Sec. 3.3).

One public function per stage:

| stage | function | sources (TFDS names) | yields, per host, batches of |
|---|---|---|---|
| EG-Net | `egnet_stream` | salicon (+ davis2016) | `image [B, S, S, 3]`, `gaze [B, S, S, 1]` |
| Gaze2Mask-Net | `gaze2mask_stream` | sbd (+ davis2016) | `image`, `gaze`, `mask`, `window [B, S, S, 1]`, `from_egnet [B]` |
| WCS-Net stage 1 | `stage1_stream` | salicon + duts | pairs (below) |
| WCS-Net stage 2 | `stage2_stream` | davis2016 + salicon | pairs (below) |

Pairs: `template_image`, `search_image` `[B, S, S, 3]`; `template_mask`,
`template_hotspot` (the hotspot-branch guidance of the template), `search_mask`,
`search_hotspot` (hotspot ground truth) `[B, S, S, 1]`; `l1`, `l2` `[B]`, the weights of
the hotspot and mask losses of `L = l1 * L_hotspot + l2 * L_mask`: l1 = 1 for SALICON and 0
otherwise, l2 = 0 for SALICON (no object mask) and 1 otherwise; both are 0 for a pair
whose template object is empty. Pair geometry and the maps of each source are
documented in pairs.py (`PairConfig`), the maps in hotspot.py. Images are float32 in
[0, 1], maps float32 in [0, 1], S = `image_size` (the paper: 320).

EG-Net and Gaze2Mask-Net can also learn from annotated video frames (`davis2016`,
weight `weights[1]`, 0 by default, the paper's recipe): a frame drawn uniformly among a
video's annotated frames stands for an image, its object mask for the instance, and for
EG-Net a Gaussian at the object's interior point restricted to the object
(`hotspot.mask_guidance`) for the fixation map: the primary object of a DAVIS video is,
by the dataset's construction, what a viewer looks at. configs/real_cpu.py uses this where
the real SALICON and SBD examples are too few.

`stage_stream(stage, data_dir)` builds a stage's stream from TFDS datasets built in
`data_dir` (a source of weight 0 is not opened, so it need not be built); the functions themselves take `sources.HostSource`s or plain
`tf.data.Dataset`s of examples with the TFDS feature names (input_pipeline/datasets).

Gaze2Mask-Net input gaze: the paper feeds the EG-Net prediction restricted to the
ground-truth instance. Without an EG-Net at data time, the stream's `gaze` comes from
the `gaze` argument: a map made from the instance mask (hotspot.py modes; default
"gaussian", a Gaussian at the instance's interior point nearest its centroid), or
"source", a precomputed map stored with the examples; either way restricted to the
instance. A trainer holding an EG-Net replaces it on device by
`sigmoid(EG-Net(image)) * mask`.

Scale and determinism (sampling.py): host `process_index` of `process_count` reads a
disjoint shard of every source and yields `global_batch_size / process_count` examples
per batch; batch `k` is a pure function of `(seed, host, k)`, so
`start_step=k` resumes exactly where an interrupted run stopped. Work is parallel
(`AUTOTUNE`, `deterministic=True`) and batches are prefetched.
"""
from collections.abc import Callable, Mapping
import dataclasses
import inspect
import os
from typing import NamedTuple

import tensorflow as tf

from input_pipeline import hotspot
from input_pipeline import pairs
from input_pipeline import sampling
from input_pipeline import sources as sources_lib

_AUTOTUNE = tf.data.AUTOTUNE
# Distinct key spaces per stream, so two stages with one seed draw independently.
_STREAM_IDS = {"egnet": 1, "gaze2mask": 2, "pairs": 3}

Example = dict[str, tf.Tensor]
Maker = Callable[[Example, tf.Tensor], Example]


class _Part(NamedTuple):
  """One source of a stream: this host's shard, its example maker, its weight and its
  position among the stream's sources (its random key, whichever others are left out)."""
  name: str
  shard: tf.data.Dataset
  make: Maker
  weight: float
  slot: int


def _open(source: sources_lib.HostSource | tf.data.Dataset, name: str, hosts: tuple[int, int],
          required: tuple[str, ...]) -> tf.data.Dataset:
  """This host's shard of `source`, checked to hold the `required` features."""
  shard = sources_lib.as_host_source(source)(*hosts)
  missing = [k for k in required if k not in shard.element_spec]
  if missing:
    raise ValueError(f"source {name!r}: examples lack feature(s) {missing}; expected {list(required)} "
                     f"(the TFDS feature names of input_pipeline/datasets), got {list(shard.element_spec)}")
  return shard


def _host_stream(parts: list[_Part], *, stream: str, hosts: tuple[int, int], global_batch_size: int, seed: int,
                 start_step: int, shuffle_buffer: int) -> tf.data.Dataset:
  """Mix sources into this host's batches (the machinery shared by every stage)."""
  index, count = hosts
  if global_batch_size <= 0 or global_batch_size % count:
    raise ValueError(f"global_batch_size={global_batch_size}: expected a positive multiple of the "
                     f"{count} hosts")
  if start_step < 0 or shuffle_buffer < 1:
    raise ValueError(f"start_step={start_step}, shuffle_buffer={shuffle_buffer}: expected >= 0 and >= 1")
  local_batch = global_batch_size // count
  start = start_step * local_batch
  host_key = sampling.make_key(seed, _STREAM_IDS[stream], index)
  mix_key = sampling.fold(host_key, 0)
  weights = [part.weight for part in parts]
  starts = sampling.mixture_counts(weights, mix_key, start) if len(parts) > 1 else [start]

  streams = []
  for s, part in enumerate(parts):
    size = sampling.dataset_size(part.shard, f"source {part.name!r} (host {index} of {count})")
    key = sampling.fold(host_key, part.slot + 1)
    ordered = sampling.source_order(part.shard, size, key, starts[s], min(shuffle_buffer, size))
    # The makers use tf.cond, never tensor-dependent Python control flow: skipping
    # AutoGraph's source conversion saves seconds of tracing per stream.
    make_indexed = tf.autograph.experimental.do_not_convert(
        lambda j, example, key=key, make=part.make: make(example, sampling.fold(key, j)))
    streams.append(ordered.map(make_indexed, num_parallel_calls=_AUTOTUNE, deterministic=True))
  if len(streams) == 1:
    mixed = streams[0]
  else:
    mixed = tf.data.Dataset.choose_from_datasets(streams, sampling.mixture_choices(weights, mix_key, start))
  batches = mixed.batch(local_batch, drop_remainder=True, num_parallel_calls=_AUTOTUNE, deterministic=True)
  return batches.prefetch(_AUTOTUNE)


def _resize(image: tf.Tensor, size: int) -> tf.Tensor:
  return tf.image.resize(image, [size, size], method="bilinear", antialias=True)


def _random_flip(maps: list[tf.Tensor], key: tf.Tensor, probability: float) -> list[tf.Tensor]:
  """Flip every `[H, W, C]` map horizontally together, with `probability`."""
  flip = tf.random.stateless_uniform([], key) < probability
  return [tf.cond(flip, lambda m=m: tf.reverse(m, [1]), lambda m=m: m) for m in maps]


# ------------------------------------------------------------------------------ EG-Net

def _video_frame(example: Example, key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """One annotated frame of a video example, uniform over its annotated frames: the
  image `[H, W, 3]` float32 in [0, 1] and its object mask `[H, W, 1]` float32 {0, 1}
  (only this frame is decoded)."""
  index = tf.range(tf.shape(example["has_mask"])[0])
  annotated = tf.boolean_mask(index, example["has_mask"])
  tf.debugging.assert_positive(tf.size(annotated), message="video example has no annotated frame")
  i = tf.gather(annotated, tf.random.stateless_uniform([], key, 0, tf.size(annotated), dtype=tf.int32))
  image = sources_lib.to_unit(sources_lib.decode_image(tf.gather(example["frames"], i), 3))
  mask = tf.cast(sources_lib.decode_image(tf.gather(example["masks"], i), 1) > 0, tf.float32)
  return image, mask


_VIDEO_FEATURES = ("frames", "masks", "has_mask")
# Where Gaze2Mask-Net's input keeps EG-Net's map on a video frame (`gaze2mask_stream`).
VIDEO_WINDOWS = ("mask", "frame")


def egnet_example(example: Example, key: tf.Tensor, *, image_size: int, flip: float) -> Example:
  """A SALICON example as an EG-Net training example: the frame and its gaze map,
  resized to `image_size` (aspect not kept, as at inference), flipped together."""
  image = sources_lib.to_unit(sources_lib.decode_image(example["image"], 3))
  gaze = sources_lib.to_unit(sources_lib.decode_image(example["gaze"], 1))
  return _egnet_maps(image, gaze, key, image_size, flip)


def egnet_video_example(example: Example, key: tf.Tensor, *, image_size: int, flip: float,
                        gaze_sigma: float) -> Example:
  """A video frame as an EG-Net training example: its gaze target is a Gaussian at the
  object's interior point restricted to the object (`hotspot.mask_guidance`, sigma
  `gaze_sigma * sqrt(area)`), zero where the object is absent."""
  k_frame, k_flip = tf.unstack(tf.random.experimental.stateless_split(key, 2))
  image, mask = _video_frame(example, k_frame)
  return _egnet_maps(image, hotspot.mask_guidance(mask, "gaussian", gaze_sigma), k_flip, image_size, flip)


def _egnet_maps(image, gaze, key, image_size, flip) -> Example:
  image, gaze = _random_flip([_resize(image, image_size), _resize(gaze, image_size)], key, flip)
  return {"image": tf.clip_by_value(image, 0.0, 1.0), "gaze": tf.clip_by_value(gaze, 0.0, 1.0)}


def egnet_stream(salicon: sources_lib.HostSource | tf.data.Dataset,
                 davis2016: sources_lib.HostSource | tf.data.Dataset | None = None, *,
                 weights: tuple[float, float] = (1.0, 0.0), global_batch_size: int = 32,
                 image_size: int = 320, flip: float = 0.5, gaze_sigma: float = 0.25, seed: int = 0,
                 start_step: int = 0, shuffle_buffer: int = 1024, process_index: int | None = None,
                 process_count: int | None = None) -> tf.data.Dataset:
  """EG-Net training batches: `image [B, S, S, 3]`, `gaze [B, S, S, 1]` from SALICON
  (and annotated video frames).

  Args:
    salicon: SALICON examples (`image`, `gaze`).
    davis2016: video examples (`frames`, `masks`, `has_mask`), read when `weights[1] > 0`.
    weights: relative sampling weights (SALICON, videos); the paper: SALICON only.
    global_batch_size: examples per step over all hosts (the paper: 32).
    image_size: S.
    flip: probability of a horizontal flip.
    gaze_sigma: the video frames' Gaussian sigma as a fraction of sqrt(object area).
    seed: the stream's seed.
    start_step: first batch to yield (resume).
    shuffle_buffer: per-epoch shuffle buffer (encoded examples).
    process_index: this host (default `jax.process_index()`).
    process_count: number of hosts (default `jax.process_count()`).

  Returns:
    Infinite dataset of this host's batches, `B = global_batch_size / process_count`.
  """
  hosts = sources_lib.resolve_hosts(process_index, process_count)
  make = lambda example, key: egnet_example(example, key, image_size=image_size, flip=flip)
  make_video = lambda example, key: egnet_video_example(example, key, image_size=image_size, flip=flip,
                                                        gaze_sigma=gaze_sigma)
  parts = _parts([("salicon", salicon, ("image", "gaze"), make, weights[0]),
                  ("davis2016", davis2016, _VIDEO_FEATURES, make_video, weights[1])], hosts)
  return _host_stream(parts, stream="egnet", hosts=hosts, global_batch_size=global_batch_size, seed=seed,
                      start_step=start_step, shuffle_buffer=shuffle_buffer)


def _parts(entries: list[tuple[str, sources_lib.HostSource | tf.data.Dataset | None, tuple[str, ...], Maker, float]],
           hosts: tuple[int, int]) -> list[_Part]:
  """The parts of a stream from `(name, source, required features, maker, weight)`;
  a source of weight 0 is left out (it may be None), a missing one of weight > 0 is an error."""
  weights = [entry[-1] for entry in entries]
  if min(weights) < 0 or sum(weights) <= 0:
    raise ValueError(f"weights={tuple(weights)} of sources {[e[0] for e in entries]}: expected "
                     "non-negative weights, not all 0")
  parts = []
  for slot, (name, source, required, make, weight) in enumerate(entries):
    if weight == 0:
      continue
    if source is None:
      raise ValueError(f"source {name!r} has weight {weight} but was not given")
    parts.append(_Part(name, _open(source, name, hosts, required), make, weight, slot))
  return parts


# ----------------------------------------------------------------------- Gaze2Mask-Net

def gaze2mask_example(example: Example, key: tf.Tensor, *, image_size: int, flip: float, gaze: str,
                      gaze_sigma: float, prompts: tuple[float, float] = (0.0, 0.0),
                      click_sigma: float = 0.05) -> Example:
  """An SBD example as a Gaze2Mask-Net example: one instance, drawn uniformly among the
  ids present (0 background and 255 void are never drawn; void pixels are not part of
  the mask), its mask, and a gaze map restricted to it: the example's own `gaze` map
  for `gaze="source"`, else one made from the mask (`hotspot.mask_guidance`)."""
  k_instance, k_gaze, k_flip, k_prompt = tf.unstack(tf.random.experimental.stateless_split(key, 4))
  image = sources_lib.to_unit(sources_lib.decode_image(example["image"], 3))
  instances = tf.cast(sources_lib.decode_image(example["instances"], 1), tf.int32)
  ids, _ = tf.unique(tf.reshape(instances, [-1]))
  ids = tf.boolean_mask(ids, (ids != 0) & (ids != 255))
  chosen = tf.cond(
      tf.size(ids) > 0,
      lambda: tf.gather(ids, tf.random.stateless_uniform([], k_instance, 0, tf.size(ids), dtype=tf.int32)),
      lambda: tf.constant(-1))
  mask = tf.cast(tf.equal(instances, chosen), tf.float32)
  if gaze == "source":
    gaze_map = sources_lib.to_unit(sources_lib.decode_image(example["gaze"], 1)) * mask
  else:
    gaze_map = hotspot.mask_guidance(mask, gaze, gaze_sigma, k_gaze)
  gaze_map, from_egnet = _prompt(mask, gaze_map, k_prompt, prompts, click_sigma, gaze_sigma)
  return _gaze2mask_maps(image, mask, gaze_map, mask, from_egnet, k_flip, image_size, flip)


def gaze2mask_video_example(example: Example, key: tf.Tensor, *, image_size: int, flip: float, gaze: str,
                            gaze_sigma: float, video_window: str = "mask",
                            prompts: tuple[float, float] = (0.0, 0.0), click_sigma: float = 0.05) -> Example:
  """A video frame as a Gaze2Mask-Net example: the annotated object is the instance,
  its gaze made from its mask (`hotspot.mask_guidance`; videos store no gaze map); its
  window (`gaze2mask_stream`) the mask, or the whole frame for `video_window="frame"`."""
  k_frame, k_gaze, k_flip, k_prompt = tf.unstack(tf.random.experimental.stateless_split(key, 4))
  image, mask = _video_frame(example, k_frame)
  gaze_map = hotspot.mask_guidance(mask, "gaussian" if gaze == "source" else gaze, gaze_sigma, k_gaze)
  gaze_map, from_egnet = _prompt(mask, gaze_map, k_prompt, prompts, click_sigma, gaze_sigma)
  window = tf.ones_like(mask) if video_window == "frame" else mask
  return _gaze2mask_maps(image, mask, gaze_map, window, from_egnet, k_flip, image_size, flip)


def _prompt(mask, gaze_map, key, prompts, click_sigma, box_sigma) -> tuple[tf.Tensor, tf.Tensor]:
  """(gaze, from_egnet): with probability `prompts[0]` a click's map, `prompts[1]` a
  box's (`hotspot.click_map`, `hotspot.box_map`), and `from_egnet` 0; otherwise
  `gaze_map` unchanged and `from_egnet` 1. An empty mask keeps `gaze_map`."""
  if not any(prompts):
    return gaze_map, tf.constant(1.0)
  draw = tf.random.stateless_uniform([], key)
  k_click = tf.random.experimental.stateless_fold_in(key, 1)
  nonempty = tf.reduce_any(mask > 0.5)
  click = nonempty & (draw < prompts[0])
  box = nonempty & ~click & (draw < prompts[0] + prompts[1])
  gaze_map = tf.case([(click, lambda: hotspot.click_map(mask, k_click, click_sigma)),
                      (box, lambda: hotspot.box_map(mask, box_sigma))], default=lambda: gaze_map)
  return gaze_map, 1.0 - tf.cast(click | box, tf.float32)


def _gaze2mask_maps(image, mask, gaze_map, window, from_egnet, key, image_size, flip) -> Example:
  image, mask, gaze_map, window = _random_flip(
      [_resize(image, image_size), _resize(mask, image_size), _resize(gaze_map, image_size),
       _resize(window, image_size)], key, flip)
  mask = tf.cast(mask > 0.5, tf.float32)
  # A map made from the mask stays exactly within the resized mask; a prompt's does not.
  restrict = tf.maximum(mask, 1.0 - from_egnet)
  return {"image": tf.clip_by_value(image, 0.0, 1.0), "gaze": tf.clip_by_value(gaze_map, 0.0, 1.0) * restrict,
          "mask": mask, "window": tf.cast(window > 0.5, tf.float32), "from_egnet": from_egnet}


def gaze2mask_stream(sbd: sources_lib.HostSource | tf.data.Dataset,
                     davis2016: sources_lib.HostSource | tf.data.Dataset | None = None, *,
                     weights: tuple[float, float] = (1.0, 0.0), global_batch_size: int = 32,
                     image_size: int = 320, flip: float = 0.5, gaze: str = "gaussian", gaze_sigma: float = 0.25,
                     video_window: str = "mask", prompts: tuple[float, float] = (0.0, 0.0),
                     click_sigma: float = 0.05, seed: int = 0, start_step: int = 0, shuffle_buffer: int = 1024,
                     process_index: int | None = None, process_count: int | None = None) -> tf.data.Dataset:
  """Gaze2Mask-Net training batches: `image [B, S, S, 3]`, `gaze`, `mask`, `window [B, S,
  S, 1]`, `from_egnet [B]` from SBD (and annotated video frames).

  `window` is where the trainer keeps EG-Net's prediction when it makes the input gaze
  from it (`wcs_jax.training.steps.gaze2mask_input`): the instance mask (the paper's
  "EG-Net prediction restricted to the instance"), or for video frames with
  `video_window="frame"` the whole frame: a video's annotated object is its salient
  one, so EG-Net's unrestricted map of the frame, what the automatic start gives
  Gaze2Mask-Net at inference, should give that object.

  Args:
    sbd: SBD examples (`image`, `instances`; and `gaze` for `gaze="source"`).
    davis2016: video examples (`frames`, `masks`, `has_mask`), read when `weights[1] > 0`.
    weights: relative sampling weights (SBD, videos); the paper: SBD only.
    global_batch_size: examples per step over all hosts (the paper: 32).
    gaze: where the input gaze comes from: "source", the examples' own `gaze` feature
      (e.g. EG-Net maps precomputed into a custom build), or a map made from the
      instance mask, one of `hotspot.GUIDANCE_MODES` (see the module docstring). Video
      frames have no stored gaze: "source" makes theirs with "gaussian".
    gaze_sigma: the Gaussian sigma of those as a fraction of sqrt(instance area).
    video_window: "mask" or "frame", the window of the video frames (above).
    prompts: (click, box) fractions of examples whose gaze is the map the tracker
      makes from a user's click at a random pixel of the instance (sigma `click_sigma
      * sqrt(H * W)`) or from its bounding box (`hotspot.click_map`, `box_map`); their
      `from_egnet` is 0, so a trainer holding an EG-Net keeps them instead of making
      the gaze from EG-Net. The paper: (0, 0).
    image_size, flip, seed, start_step, shuffle_buffer, process_index, process_count:
      as `egnet_stream`.

  Returns:
    Infinite dataset of this host's batches.
  """
  if gaze not in ("source",) + hotspot.GUIDANCE_MODES:
    raise ValueError(f"gaze={gaze!r}: expected 'source' or one of {hotspot.GUIDANCE_MODES}")
  hosts = sources_lib.resolve_hosts(process_index, process_count)
  required = ("image", "instances", "gaze") if gaze == "source" else ("image", "instances")
  if video_window not in VIDEO_WINDOWS:
    raise ValueError(f"video_window={video_window!r}: expected one of {VIDEO_WINDOWS}")
  if len(prompts) != 2 or min(prompts) < 0 or sum(prompts) > 1:
    raise ValueError(f"prompts={tuple(prompts)}: expected (click, box) fractions >= 0 summing to <= 1")
  kwargs = dict(image_size=image_size, flip=flip, gaze=gaze, gaze_sigma=gaze_sigma, prompts=tuple(prompts),
                click_sigma=click_sigma)
  make = lambda example, key: gaze2mask_example(example, key, **kwargs)
  make_video = lambda example, key: gaze2mask_video_example(example, key, video_window=video_window, **kwargs)
  parts = _parts([("sbd", sbd, required, make, weights[0]),
                  ("davis2016", davis2016, _VIDEO_FEATURES, make_video, weights[1])], hosts)
  return _host_stream(parts, stream="gaze2mask", hosts=hosts, global_batch_size=global_batch_size, seed=seed,
                      start_step=start_step, shuffle_buffer=shuffle_buffer)


# ------------------------------------------------------------------------ WCS-Net pairs

def _weights(pair: Example, l1: float, l2: float) -> Example:
  valid = tf.cast(pair.pop("valid"), tf.float32)
  return {**pair, "l1": l1 * valid, "l2": l2 * valid}


def salicon_pair(example: Example, key: tf.Tensor, config: pairs.PairConfig) -> Example:
  """A SALICON image as a pair: its "object" is the map's region above
  `config.salicon_object_threshold`, its hotspot the region above
  `config.hotspot_threshold`; l1 = 1, l2 = 0 (no object mask)."""
  image = sources_lib.to_unit(sources_lib.decode_image(example["image"], 3))
  gaze = tf.cast(sources_lib.decode_image(example["gaze"], 1), tf.float32)
  gaze = gaze / tf.maximum(tf.reduce_max(gaze), 1.0)
  peak = hotspot.peak_region(gaze, config.hotspot_threshold)
  frame = pairs.Frame(image=image, mask=hotspot.peak_region(gaze, config.salicon_object_threshold),
                      guidance=gaze if config.salicon_guidance == "gaze" else peak, hotspot=peak)
  return _weights(pairs.static_pair(frame, key, config), l1=1.0, l2=0.0)


def _mask_frame(image: tf.Tensor, mask: tf.Tensor, key: tf.Tensor, config: pairs.PairConfig) -> pairs.Frame:
  mask = tf.cast(mask > 0, tf.float32)
  guidance = hotspot.mask_guidance(mask, config.guidance, config.guidance_sigma, key)
  return pairs.Frame(image=sources_lib.to_unit(image), mask=mask, guidance=guidance,
                     hotspot=hotspot.peak_region(guidance, config.hotspot_threshold))


def mask_pair(example: Example, key: tf.Tensor, config: pairs.PairConfig) -> Example:
  """A salient-object image (DUTS) as a pair: its mask is the object, its guidance made
  from the mask (`config.guidance`); l1 = 0, l2 = 1."""
  k_guidance, k_pair = tf.unstack(tf.random.experimental.stateless_split(key, 2))
  frame = _mask_frame(sources_lib.decode_image(example["image"], 3),
                      sources_lib.decode_image(example["mask"], 1), k_guidance, config)
  return _weights(pairs.static_pair(frame, k_pair, config), l1=0.0, l2=1.0)


def video_pair(example: Example, key: tf.Tensor, config: pairs.PairConfig) -> Example:
  """A video (DAVIS) as a pair: two annotated frames at most `config.max_gap` apart
  (only these two are decoded); l1 = 0, l2 = 1."""
  k_frames, k_template, k_search, k_pair = tf.unstack(tf.random.experimental.stateless_split(key, 4))
  a, b = pairs.select_frames(example["has_mask"], k_frames, config.max_gap)

  def frame(i, k):
    return _mask_frame(sources_lib.decode_image(tf.gather(example["frames"], i), 3),
                       sources_lib.decode_image(tf.gather(example["masks"], i), 1), k, config)

  return _weights(pairs.video_pair(frame(a, k_template), frame(b, k_search), k_pair, config), l1=0.0, l2=1.0)


_PAIR_KINDS = (  # (required features, maker), the first match wins.
    (("frames", "masks", "has_mask"), video_pair),
    (("image", "gaze"), salicon_pair),
    (("image", "mask"), mask_pair),
)


def _pair_maker(shard: tf.data.Dataset, name: str, config: pairs.PairConfig) -> Maker:
  """The pair maker of a source, chosen by its features (video, gaze map or mask)."""
  spec = shard.element_spec
  for keys, make in _PAIR_KINDS:
    if all(k in spec for k in keys):
      return lambda example, key, make=make: _static_shapes(make(example, key, config), config.image_size)
  raise ValueError(f"pair source {name!r}: expected video features (frames, masks, has_mask), a gaze map "
                   f"(image, gaze) or an object mask (image, mask); got {list(spec)}")


_PAIR_CHANNELS = {"template_image": 3, "template_mask": 1, "template_hotspot": 1, "search_image": 3,
                  "search_mask": 1, "search_hotspot": 1}


def _static_shapes(pair: Example, size: int) -> Example:
  """Pin the shapes so every source's pairs have the same element spec."""
  shapes = {k: [size, size, c] for k, c in _PAIR_CHANNELS.items()} | {"l1": [], "l2": []}
  return {k: tf.ensure_shape(pair[k], shapes[k]) for k in shapes}


def pair_stream(sources: Mapping[str, sources_lib.HostSource | tf.data.Dataset], weights: Mapping[str, float], *,
                global_batch_size: int, config: pairs.PairConfig = pairs.PairConfig(),
                image_size: int | None = None, seed: int = 0, start_step: int = 0, shuffle_buffer: int = 1024,
                process_index: int | None = None, process_count: int | None = None) -> tf.data.Dataset:
  """WCS-Net training pairs mixed from several sources.

  Args:
    sources: name -> source; each source's kind (video, SALICON-like gaze map,
      DUTS-like mask) is read from its features.
    weights: name -> relative sampling weight (same keys as `sources`).
    global_batch_size: pairs per step over all hosts.
    config: pair geometry, maps and augmentation.
    image_size: S; replaces `config.image_size` when given (so every stage takes it).
    seed, start_step, shuffle_buffer, process_index, process_count: as `egnet_stream`.

  Returns:
    Infinite dataset of this host's batches (keys in the module docstring).
  """
  if set(sources) != set(weights):
    raise ValueError(f"pair sources {sorted(sources)} and weights {sorted(weights)} must name the same datasets")
  if image_size is not None:
    config = dataclasses.replace(config, image_size=image_size)
  hosts = sources_lib.resolve_hosts(process_index, process_count)
  parts = []
  for part in _parts([(name, source, (), None, weights[name]) for name, source in sources.items()], hosts):
    parts.append(part._replace(make=_pair_maker(part.shard, part.name, config)))
  return _host_stream(parts, stream="pairs", hosts=hosts, global_batch_size=global_batch_size, seed=seed,
                      start_step=start_step, shuffle_buffer=shuffle_buffer)


def stage1_stream(salicon, duts, *, weights: tuple[float, float] = (0.5, 0.5), global_batch_size: int = 15,
                  **kwargs) -> tf.data.Dataset:
  """WCS-Net stage 1: SALICON + DUTS static images mixed at random with `weights`
  (SALICON, DUTS); the paper's batch: 15. Other arguments as `pair_stream`."""
  return pair_stream({"salicon": salicon, "duts": duts}, {"salicon": weights[0], "duts": weights[1]},
                     global_batch_size=global_batch_size, **kwargs)


def stage2_stream(davis2016, salicon, *, weights: tuple[float, float] = (0.5, 0.5), global_batch_size: int = 10,
                  **kwargs) -> tf.data.Dataset:
  """WCS-Net stage 2: DAVIS-2016 train videos + SALICON mixed at random with `weights`
  (DAVIS, SALICON); the paper's batch: 10. Other arguments as `pair_stream`."""
  return pair_stream({"davis2016": davis2016, "salicon": salicon},
                     {"davis2016": weights[0], "salicon": weights[1]}, global_batch_size=global_batch_size,
                     **kwargs)


STAGES = {
    "egnet": (egnet_stream, ("salicon", "davis2016")),
    "gaze2mask": (gaze2mask_stream, ("sbd", "davis2016")),
    "stage1": (stage1_stream, ("salicon", "duts")),
    "stage2": (stage2_stream, ("davis2016", "salicon")),
}
# The sampling weights of a stage's sources when its stream is given none.
DEFAULT_WEIGHTS = {stage: inspect.signature(make).parameters["weights"].default
                   for stage, (make, _) in STAGES.items()}


def stage_datasets(stage: str, weights: tuple[float, ...] | None = None) -> tuple[str, ...]:
  """The TFDS names a stage's stream reads with these source `weights` (default
  `DEFAULT_WEIGHTS`): those of weight > 0."""
  if stage not in STAGES:
    raise ValueError(f"stage {stage!r}: expected one of {sorted(STAGES)}")
  names = STAGES[stage][1]
  weights = DEFAULT_WEIGHTS[stage] if weights is None else tuple(weights)
  if len(weights) != len(names):
    raise ValueError(f"stage {stage!r}: weights {weights} must give one weight per source {names}")
  return tuple(n for n, w in zip(names, weights) if w > 0)


def stage_stream(stage: str, data_dir: str | os.PathLike, *, split: str = "train", **kwargs) -> tf.data.Dataset:
  """A stage's stream over TFDS datasets built in `data_dir` (keyword arguments go to
  the stage's function; a source of weight 0 is not opened)."""
  used = stage_datasets(stage, kwargs.get("weights"))
  make, names = STAGES[stage]
  return make(*(sources_lib.from_tfds(n, split, data_dir) if n in used else None for n in names), **kwargs)
