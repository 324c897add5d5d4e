"""Training sources: one host's shard of a dataset, read in a fixed order.

The streams (streams.py) take each source as a `HostSource`: a function
`(process_index, process_count) -> tf.data.Dataset` that returns one pass over the
host's disjoint shard of the examples, always in the same order. Two kinds exist:

- `from_tfds(name, split, data_dir)`: a built TFDS dataset (input_pipeline/datasets). Each
  host reads only its own share (`tfds.even_splits`: sizes differ by at most one, no
  example dropped, which matters for the 30 DAVIS training videos), files in a
  fixed order, and image features are left encoded (`tfds.decode.SkipDecoding`) so the
  restart skip (sampling.py) and the shuffle buffer handle bytes, not pixels; the
  streams decode only what they use (e.g. two frames of a video).
- `from_dataset(ds)`: any finite `tf.data.Dataset` of examples with the TFDS feature
  names, encoded or already decoded (tests, custom data); host `i` of `n` keeps every
  `n`-th example from the `i`-th.

`decode_image` accepts both forms, so the stream code is the same for either.
"""
from collections.abc import Callable
import os

import tensorflow as tf

HostSource = Callable[[int, int], tf.data.Dataset]


def resolve_hosts(process_index: int | None, process_count: int | None) -> tuple[int, int]:
  """`(index, count)` of this host: JAX's `process_index()`/`process_count()` for `None`."""
  if process_index is None or process_count is None:
    import jax  # Imported late: the pipeline itself does not need JAX.
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index={process_index}, process_count={process_count}: "
                     "expected 0 <= process_index < process_count")
  return process_index, process_count


def from_dataset(dataset: tf.data.Dataset) -> HostSource:
  """A `HostSource` over a finite in-memory or custom dataset (host `i` of `n` keeps
  elements `i, i + n, ...`)."""
  return lambda index, count: dataset.shard(count, index)


def as_host_source(source: HostSource | tf.data.Dataset) -> HostSource:
  """Accept a `tf.data.Dataset` wherever a `HostSource` is expected."""
  if isinstance(source, tf.data.Dataset):
    return from_dataset(source)
  if not callable(source):
    raise TypeError(f"expected a tf.data.Dataset or a HostSource callable, got {type(source).__name__}")
  return source


def from_tfds(name: str, split: str, data_dir: str | os.PathLike) -> HostSource:
  """A `HostSource` over a built TFDS dataset.

  Args:
    name: registered builder name (`salicon`, `duts`, `sbd`, `davis2016`, ...).
    split: split name, e.g. `train`.
    data_dir: the `--data-dir` it was built into.

  Raises:
    FileNotFoundError: when the dataset has not been built there.
  """
  import tensorflow_datasets as tfds
  import input_pipeline.datasets  # noqa: F401  Registers the builders.

  builder = tfds.builder(name, data_dir=os.fspath(data_dir))
  if not tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json")):
    raise FileNotFoundError(
        f"TFDS dataset {name!r} is not built in {data_dir} (expected {builder.data_dir}); build it with "
        f"`python -m input_pipeline.build --dataset {name} --manual-dir SRC --data-dir {data_dir}`")
  if split not in builder.info.splits:
    raise ValueError(f"TFDS dataset {name!r} in {data_dir} has splits {list(builder.info.splits)}, not {split!r}")
  decoders = {key: tfds.decode.SkipDecoding() for key, feature in builder.info.features.items()
              if _holds_images(feature)}

  def open_shard(index: int, count: int) -> tf.data.Dataset:
    num_examples = builder.info.splits[split].num_examples
    if num_examples < count:
      raise ValueError(f"TFDS dataset {name!r} split {split!r} has {num_examples} examples, "
                       f"fewer than the {count} hosts")
    shard = tfds.even_splits(split, n=count)[index]
    return builder.as_dataset(split=shard, shuffle_files=False, decoders=decoders,
                              read_config=tfds.ReadConfig(add_tfds_id=False))

  return open_shard


def _holds_images(feature) -> bool:
  import tensorflow_datasets as tfds
  if isinstance(feature, tfds.features.Sequence):
    return _holds_images(feature.feature)
  return isinstance(feature, tfds.features.Image)


def decode_image(value: tf.Tensor, channels: int) -> tf.Tensor:
  """An image feature as `[H, W, channels]` uint8, whether still encoded (a PNG/JPEG
  string) or already decoded."""
  if value.dtype == tf.string:
    image = tf.io.decode_image(value, channels=channels, expand_animations=False)
  else:
    image = value
  image.set_shape([None, None, channels])
  return image


def to_unit(image: tf.Tensor) -> tf.Tensor:
  """uint8 `[..., C]` to float32 in [0, 1]."""
  return tf.cast(image, tf.float32) / 255.0
