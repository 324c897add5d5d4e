"""Prompts on any frame: what defines, redefines or removes one object from a frame on.

A prompt names a frame (counted from 0 in input order) and an object id (the output
id, 1..255) and is one of:

- click `(x, y)`: a pixel (column, row) on the object (`first_frame.from_clicks`);
- box `(x0, y0, x1, y1)`: edge coordinates, x1/y1 exclusive (`first_frame.from_boxes`);
- mask: `[H, W]` bool, the object's pixels (`first_frame.from_mask`);
- auto: the most salient object (`first_frame.automatic`);
- remove: the object is dropped from that frame on.

On its frame a click, box, mask or auto prompt adds the object when the id is new and
re-initialises it when the id exists (its template is encoded anew from the prompt;
its earlier frames are unchanged). The file form (`tools/track.py --prompts FILE.json`,
`../shared/CONTRACTS.md`) is a JSON list of

    {"frame": F, "object": ID, "click": [X, Y]}
    {"frame": F, "object": ID, "box": [X0, Y0, X1, Y1]}
    {"frame": F, "object": ID, "mask": "PATH.png"}   binary PNG, or palette PNG: ID picks its id
    {"frame": F, "object": ID, "remove": true}

`load` reads and checks such a file; `check` verifies a whole prompt list against the
video before tracking starts (frames beyond the video, removing an id that does not
exist then, clicks outside the frame, boxes of no area, masks of another size, two
prompts for one object on one frame), each failure one `PromptError` line.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Sequence

import numpy as np

from wcs_jax.io import masks as mask_io

KINDS = ("click", "box", "mask", "auto", "remove")
MAX_OBJECT_ID = 255


class PromptError(ValueError):
  """A prompt that cannot be applied (one line naming it and what was expected)."""


@dataclasses.dataclass(frozen=True)
class Prompt:
  """One prompt.

  Attributes:
    frame: frame index, from 0 in input order.
    object: output object id, 1..255.
    kind: one of `KINDS`.
    values: click `(x, y)`, box `(x0, y0, x1, y1)`, optionally a mask's id in its
      file `(id,)`; () otherwise.
    mask: `[H, W]` bool for kind "mask", else None.
    source: how to name it in messages (e.g. "prompts.json entry 3").
  """
  frame: int
  object: int
  kind: str
  values: tuple[float, ...] = ()
  mask: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
  source: str = "prompt"

  def __post_init__(self):
    object.__setattr__(self, "values", tuple(float(v) for v in self.values))
    if self.kind not in KINDS:
      raise PromptError(f"{self.source}: kind must be one of {list(KINDS)}, got {self.kind!r}")
    _check_frame_and_id(self.frame, self.object, self.source)
    expected = {"click": (2,), "box": (4,), "mask": (0, 1)}.get(self.kind, (0,))
    if len(self.values) not in expected:
      raise PromptError(f"{self.source}: a {self.kind} takes {' or '.join(map(str, expected))} numbers, got {list(self.values)}")
    if (self.kind == "mask") != (self.mask is not None):
      raise PromptError(f"{self.source}: a mask prompt needs its mask (and only it has one)")

  def record(self, fallback: bool | None = None) -> dict:
    """The entry of tracklets.json's "prompts": {"frame", "object", "prompt": [kind,
    values...], "fallback"} (no "fallback" for remove)."""
    entry = {"frame": int(self.frame), "object": int(self.object),
             "prompt": [self.kind, *(float(v) for v in self.values)]}
    if fallback is not None:
      entry["fallback"] = bool(fallback)
    return entry


def _check_frame_and_id(frame: object, object_id: object, source: str) -> None:
  if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 0:
    raise PromptError(f"{source}: \"frame\" must be an integer >= 0, got {frame!r}")
  if (isinstance(object_id, bool) or not isinstance(object_id, (int, np.integer))
      or not 1 <= object_id <= MAX_OBJECT_ID):
    raise PromptError(f"{source}: \"object\" must be an integer id in 1..{MAX_OBJECT_ID}, got {object_id!r}")


def _numbers(entry: dict, key: str, count: int, source: str) -> tuple[float, ...]:
  value = entry[key]
  if (not isinstance(value, list) or len(value) != count
      or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
    raise PromptError(f"{source}: \"{key}\" must be a list of {count} numbers, got {value!r}")
  return tuple(float(v) for v in value)


def _read_mask(path: pathlib.Path, object_id: int, source: str) -> np.ndarray:
  """The object of a mask PNG: all its foreground when it holds one id (a binary mask),
  else the pixels of `object_id` (a palette PNG of several objects)."""
  try:
    labels = mask_io.read_label_map(path)
  except (OSError, ValueError) as error:
    raise PromptError(f"{source}: {error}") from None
  ids = set(np.unique(labels).tolist()) - {0}
  if not ids:
    raise PromptError(f"{source}: {path} has no object pixels")
  if len(ids) == 1:  # a binary mask, or a label map of one object: that object
    return labels > 0
  if object_id not in ids:
    raise PromptError(f"{source}: {path} holds ids {sorted(ids)}; \"object\": {object_id} picks none of them")
  return labels == object_id


def from_json(entries: object, base: pathlib.Path | None = None, name: str = "prompts") -> list[Prompt]:
  """Prompts of the file form (module docstring); mask paths are relative to `base`."""
  if not isinstance(entries, list):
    raise PromptError(f"{name}: expected a JSON list of prompts, got {type(entries).__name__}")
  prompts = []
  for number, entry in enumerate(entries):
    source = f"{name} entry {number}"
    if not isinstance(entry, dict):
      raise PromptError(f"{source}: expected an object like {{\"frame\": 0, \"object\": 1, \"click\": [X, Y]}}")
    kinds = [k for k in ("click", "box", "mask", "remove") if k in entry]
    unknown = sorted(set(entry) - {"frame", "object", "click", "box", "mask", "remove"})
    if unknown:
      raise PromptError(f"{source}: unknown keys {unknown}; expected \"frame\", \"object\" and one of "
                        "\"click\", \"box\", \"mask\", \"remove\"")
    if len(kinds) != 1 or "frame" not in entry or "object" not in entry:
      raise PromptError(f"{source}: expected \"frame\", \"object\" and exactly one of \"click\", \"box\", "
                        f"\"mask\", \"remove\"; got keys {sorted(entry)}")
    kind = kinds[0]
    frame, object_id = entry["frame"], entry["object"]
    if kind == "remove":
      if entry["remove"] is not True:
        raise PromptError(f"{source}: \"remove\" must be true, got {entry['remove']!r}")
      prompts.append(Prompt(frame, object_id, "remove", source=source))
    elif kind == "mask":
      if not isinstance(entry["mask"], str):
        raise PromptError(f"{source}: \"mask\" must be a PNG path, got {entry['mask']!r}")
      path = pathlib.Path(entry["mask"])
      if base is not None and not path.is_absolute():
        path = base / path
      _check_frame_and_id(frame, object_id, source)  # before the PNG is read
      prompts.append(Prompt(frame, object_id, "mask", mask=_read_mask(path, object_id, source), source=source))
    else:
      prompts.append(Prompt(frame, object_id, kind, _numbers(entry, kind, 2 if kind == "click" else 4, source),
                            source=source))
  return prompts


def load(path: str | os.PathLike) -> list[Prompt]:
  """Reads a prompts file (module docstring); mask paths are relative to its folder."""
  path = pathlib.Path(path)
  try:
    entries = json.loads(path.read_text(encoding="utf-8"))
  except FileNotFoundError:
    raise PromptError(f"--prompts {path}: no such file") from None
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
    raise PromptError(f"--prompts {path}: not a JSON file ({error})") from None
  return from_json(entries, path.parent, f"--prompts {path}")


def check(prompts: Sequence[Prompt], width: int, height: int, num_frames: int | None) -> None:
  """Checks a run's prompts against the video before tracking (module docstring).

  Args:
    prompts: every prompt of the run, the first-frame ones included.
    width, height: the frame size.
    num_frames: the number of frames, or None when unknown (a live source).

  Raises:
    PromptError: the first bad prompt, in frame order.
  """
  seen = set()
  alive: set[int] = set()
  for prompt in sorted(prompts, key=lambda p: (p.frame, p.kind != "remove")):
    where = f"{prompt.source} (frame {prompt.frame}, object {prompt.object})"
    if num_frames is not None and prompt.frame >= num_frames:
      raise PromptError(f"{where}: the video has {num_frames} frames (0..{num_frames - 1})")
    if (prompt.frame, prompt.object) in seen:
      raise PromptError(f"{where}: a second prompt for this object on this frame")
    seen.add((prompt.frame, prompt.object))
    if prompt.kind == "remove":
      if prompt.object not in alive:
        raise PromptError(f"{where}: remove of an object that does not exist then "
                          f"(objects: {sorted(alive) or 'none'})")
      alive.discard(prompt.object)
      continue
    if prompt.kind == "click":
      x, y = prompt.values
      if not (0 <= x < width and 0 <= y < height):
        raise PromptError(f"{where}: click ({x:g}, {y:g}) lies outside the {width}x{height} frame")
    elif prompt.kind == "box":
      x0, y0, x1, y1 = prompt.values
      if min(x1, width) - max(x0, 0) <= 0 or min(y1, height) - max(y0, 0) <= 0:
        raise PromptError(f"{where}: box {list(prompt.values)} has no area inside the {width}x{height} frame "
                          "(expected X0 < X1, Y0 < Y1)")
    elif prompt.kind == "mask" and prompt.mask.shape != (height, width):
      raise PromptError(f"{where}: the mask is {prompt.mask.shape[1]}x{prompt.mask.shape[0]}, "
                        f"the frames {width}x{height}")
    alive.add(prompt.object)
