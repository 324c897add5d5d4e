"""The record format of the video datasets (DAVIS-2016, SegTrackv2, YouTube-Objects).

One example per sequence:

| feature | |
|---|---|
| `sequence` | Text, the sequence name |
| `frames` | Sequence(Image `[H, W, 3]` uint8), in temporal (file-name) order |
| `masks` | Sequence(Image `[H, W, 1]` uint8 0/1): all objects of the frame merged into one foreground (the unsupervised VOS protocol); all zeros where not annotated |
| `has_mask` | Sequence(bool), whether the frame is annotated |
| `frame_names` | Sequence(Text), file stems of the frames (e.g. "00000") |
| `category` | Text, object category ("" when the dataset has none) |

Frames are stored as downloaded (JPEG/PNG bytes, see `reading`), so a stream that reads
only two frames of a sequence decodes only those (`tfds.decode.SkipDecoding()` on
`frames` and `masks`, then `tf.io.decode_image(..., channels=3 or 1)`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from input_pipeline.datasets import reading
from wcs_jax.evaluation import layouts


def video_features() -> tfds.features.FeaturesDict:
  """Features of one sequence (see the module docstring)."""
  return tfds.features.FeaturesDict({
      "sequence": tfds.features.Text(),
      "frames": tfds.features.Sequence(tfds.features.Image(shape=(None, None, 3))),
      "masks": tfds.features.Sequence(tfds.features.Image(shape=(None, None, 1))),
      "has_mask": tfds.features.Sequence(np.bool_),
      "frame_names": tfds.features.Sequence(tfds.features.Text()),
      "category": tfds.features.Text(),
  })


def video_example(sequence: layouts.VideoSequence) -> Mapping[str, Any]:
  """Reads, checks and encodes one sequence (`wcs_jax.evaluation.layouts`).

  Args:
    sequence: the sequence, every frame with its image.

  Returns:
    An example of `video_features()`.

  Raises:
    DownloadError: an unreadable frame or mask, a mask of another size than its
      frame, or frames of different sizes within the sequence.
  """
  name, frames = sequence.name, sequence.frames
  if not frames:
    raise reading.DownloadError(f"sequence {name}: no frames")
  images, masks, has_mask = [], [], []
  empty_mask = None
  first = None
  for frame in frames:
    image = reading.read_rgb(frame.image)
    if first is None:
      first = (frame.image, image.size)
      empty_mask = reading.mask_png(np.zeros((image.height, image.width), bool))
    elif image.size != first[1]:
      raise reading.DownloadError(
          f"{frame.image}: frame is {image.width}x{image.height} but the first frame of "
          f"sequence {name} ({first[0]}) is {first[1][0]}x{first[1][1]}; expected "
          "every frame of a sequence to have the same size")
    images.append(image.data)
    if frame.annotations:
      foreground = np.zeros((image.height, image.width), bool)
      for path in frame.annotations:
        foreground |= reading.read_binary_mask(path, frame.image, image.size)
      masks.append(reading.mask_png(foreground))
    else:
      masks.append(empty_mask)
    has_mask.append(bool(frame.annotations))
  return {
      "sequence": name,
      "frames": images,
      "masks": masks,
      "has_mask": has_mask,
      "frame_names": [frame.name for frame in frames],
      "category": sequence.category,
  }
