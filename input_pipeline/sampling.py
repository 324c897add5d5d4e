"""Deterministic, restartable sample order of the training streams.

A stream is a pure function of `(seed, host, position)`: restarting at step `k` needs
only `k` (which the trainer's checkpoint already holds), and yields exactly the
batches an uninterrupted run would have yielded from step `k` on.

- Keys: every random draw takes a stateless `[2]` key folded from the seed, the stream,
  the host, the source and the example position (`make_key`, `fold`).
- Source order (`source_order`): a host's shard of a source is read in a fixed order and
  repeated; epoch `e` goes through a shuffle buffer seeded by the epoch's key, so the
  source's `j`-th example (epoch `j // N`) is a function of the key alone. A buffer
  shuffle only swaps records up to `shuffle_buffer` apart, which suffices because TFDS
  writes a split's records in a random permutation when it builds it. The records
  are still encoded at that point, so positioning a source at `j` opens epoch
  `j // N` directly and skips `j % N` undecoded records: at most one epoch of reading,
  whatever `k`.
- Per-example augmentation is keyed by `(source key, j)`, so it never depends on what
  was drawn before.
- Mixing (`mixture_choices`): the source of the host's `n`-th example is drawn from the
  weights with uniforms generated in blocks of `MIX_BLOCK` keyed by `n // MIX_BLOCK`.
  At restart, `mixture_counts` replays only these cheap draws to find how many
  examples of each source the first `n` examples used.

The equivalence holds for the same seed, data and number of hosts (a host's shard depends
on the count, its keys on its index).

Why not a checkpointable tf.data iterator: its state holds the shuffle buffers and
prefetched batches (hundreds of MB of images per host), must be saved beside the Orbax
checkpoint by a separate TF checkpoint, and cannot be restored once the pipeline's
graph changes; a position-keyed stream just resumes with the new code.
"""
from collections.abc import Sequence

import tensorflow as tf

MIX_BLOCK = 1024
_MAX_EPOCHS = 2**62


def make_key(seed: int, *data: int) -> tf.Tensor:
  """`[2]` int64 stateless key from an integer seed and any integers folded into it."""
  key = tf.constant([seed, 0], tf.int64)
  for d in data:
    key = fold(key, d)
  return key


def fold(key: tf.Tensor, data) -> tf.Tensor:
  """A new `[2]` int64 key from `key` and an integer (Python or scalar tensor)."""
  return tf.random.experimental.stateless_fold_in(key, tf.cast(data, tf.int64))


def dataset_size(dataset: tf.data.Dataset, what: str) -> int:
  """Number of elements of a finite dataset (counted when its cardinality is unknown).

  Raises:
    ValueError: naming `what` when the dataset is infinite or empty.
  """
  n = int(dataset.cardinality())
  if n == tf.data.INFINITE_CARDINALITY:
    raise ValueError(f"{what}: expected a finite dataset (one pass over the host's shard), got an infinite one")
  if n == tf.data.UNKNOWN_CARDINALITY:
    n = int(dataset.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))
  if n == 0:
    raise ValueError(f"{what}: no examples for this host")
  return n


def source_order(dataset: tf.data.Dataset, size: int, key: tf.Tensor, start: int,
                 shuffle_buffer: int) -> tf.data.Dataset:
  """The infinite, shuffled-per-epoch sequence of a finite dataset, from position `start`.

  Args:
    dataset: one pass over a host's shard of a source, in a fixed order.
    size: its number of elements.
    key: the source's key.
    start: position of the first element to yield.
    shuffle_buffer: shuffle buffer size (elements).

  Returns:
    Dataset of `(j, element)`, `j = start, start + 1, ...` int64.
  """
  @tf.autograph.experimental.do_not_convert
  def epoch(e):
    seed = tf.random.stateless_uniform([], fold(key, e), minval=None, maxval=None, dtype=tf.int64)
    return dataset.shuffle(shuffle_buffer, seed=seed)

  first_epoch, offset = divmod(start, size)
  examples = tf.data.Dataset.range(first_epoch, _MAX_EPOCHS).flat_map(epoch).skip(offset)
  return tf.data.Dataset.zip(tf.data.Dataset.counter(start), examples)


def _probabilities(weights: Sequence[float]) -> tf.Tensor:
  if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
    raise ValueError(f"mixing weights {list(weights)}: expected non-negative numbers with a positive sum")
  total = float(sum(weights))
  return tf.constant([w / total for w in weights], tf.float32)


def _block_choices(boundaries: tf.Tensor, key: tf.Tensor, block) -> tf.Tensor:
  u = tf.random.stateless_uniform([MIX_BLOCK], fold(key, block))
  return tf.searchsorted(boundaries, u, side="right", out_type=tf.int64)


def mixture_choices(weights: Sequence[float], key: tf.Tensor, start: int) -> tf.data.Dataset:
  """The source index of every example from position `start` on.

  Args:
    weights: relative weight of each source.
    key: the mixture's key.
    start: position of the first choice.

  Returns:
    Infinite dataset of int64 scalars in `[0, len(weights))`.
  """
  boundaries = tf.math.cumsum(_probabilities(weights))[:-1]
  first_block, offset = divmod(start, MIX_BLOCK)
  blocks = tf.data.Dataset.range(first_block, _MAX_EPOCHS)
  choices = blocks.map(tf.autograph.experimental.do_not_convert(lambda b: _block_choices(boundaries, key, b)))
  choices = choices.unbatch()
  return choices.skip(offset)


def mixture_counts(weights: Sequence[float], key: tf.Tensor, count: int) -> list[int]:
  """How many of the first `count` choices of `mixture_choices(weights, key, 0)` picked
  each source."""
  boundaries = tf.math.cumsum(_probabilities(weights))[:-1]
  num_blocks, remainder = divmod(count, MIX_BLOCK)

  def block_counts(b, length):
    return tf.math.bincount(_block_choices(boundaries, key, b)[:length], minlength=len(weights),
                            maxlength=len(weights), dtype=tf.int64)

  full = tf.data.Dataset.range(num_blocks).map(lambda b: block_counts(b, MIX_BLOCK))
  total = full.reduce(tf.zeros([len(weights)], tf.int64), lambda acc, c: acc + c)
  total += block_counts(tf.constant(num_blocks, tf.int64), remainder)
  return [int(c) for c in total.numpy()]
