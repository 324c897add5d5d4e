"""Which objects the reframing camera follows, per shot or per time range.

A rule is `IDS[@WHEN]`:
  IDS   one object id (`2`) or the union of several (`1+3`): the camera keeps their
        combined box in view and centres on their hotspot.
  WHEN  `shotK` (the K-th shot, counted from 0 as in OUT.path.json) or a time range
        `A-B` in seconds of the video (`4.5-9`, `12-` to the end); without it the
        rule is the default for every frame.
The last rule that applies to a frame wins; frames no rule applies to follow every
object (all non-zero pixels of the masks).

Example: `--object-id 1 --object-id 2@shot1 --object-id 1+2@30-`.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class SubjectRule:
  """One `IDS[@WHEN]` rule (module docstring).

  Attributes:
    ids: the object ids followed together.
    shot: the shot it applies to, or None.
    start_s, end_s: the time range it applies to, `[start_s, end_s)`, or None.
  """
  ids: tuple[int, ...]
  shot: int | None = None
  start_s: float | None = None
  end_s: float | None = None

  def applies(self, shot: int, seconds: float) -> bool:
    if self.shot is not None:
      return shot == self.shot
    if self.start_s is not None:
      return self.start_s <= seconds < self.end_s
    return True


def parse_rule(text: str) -> SubjectRule:
  """Parses `IDS[@WHEN]`.

  Raises:
    ValueError: naming the rule and the form expected.
  """
  expected = (f"--object-id: expected ID[+ID...][@shotK | @A-B] (e.g. 2, 1+3, 2@shot1, "
              f"1@4.5-9, 1@12-), got {text!r}")
  ids_text, _, when = text.partition("@")
  try:
    ids = tuple(int(v) for v in ids_text.split("+"))
  except ValueError:
    raise ValueError(expected) from None
  if not ids or min(ids) < 1:
    raise ValueError(expected + "; object ids are >= 1")
  if not when:
    return SubjectRule(ids)
  if when.startswith("shot"):
    try:
      shot = int(when[4:])
    except ValueError:
      raise ValueError(expected) from None
    if shot < 0:
      raise ValueError(expected)
    return SubjectRule(ids, shot=shot)
  start, dash, end = when.partition("-")
  try:
    start_s = float(start)
    end_s = float(end) if end else math.inf
  except ValueError:
    raise ValueError(expected) from None
  if not dash or start_s < 0 or end_s <= start_s:
    raise ValueError(expected)
  return SubjectRule(ids, start_s=start_s, end_s=end_s)


def frame_subjects(rules: Sequence[SubjectRule], shots: Sequence[tuple[int, int]],
                   fps: float) -> list[tuple[int, ...] | None]:
  """Per frame the ids followed (None: every object), frame t at `t / fps` seconds.

  Raises:
    ValueError: a rule names a shot the video does not have.
  """
  for rule in rules:
    if rule.shot is not None and rule.shot >= len(shots):
      raise ValueError(f"--object-id {'+'.join(map(str, rule.ids))}@shot{rule.shot}: "
                       f"the video has {len(shots)} shot(s) (shot0..shot{len(shots) - 1})")
  subjects = []
  for shot, (start, end) in enumerate(shots):
    for t in range(start, end):
      chosen = None
      for rule in rules:
        if rule.applies(shot, t / fps):
          chosen = rule.ids
      subjects.append(chosen)
  return subjects


def check_ids_present(rules: Sequence[SubjectRule], present: set[int], source: str) -> None:
  """Refuses a rule that names an object no frame has.

  An object absent from some frames (occluded, out of view) is normal; one absent from
  every frame is a wrong id, and following it would leave the camera at the centre.

  Args:
    rules: the `--object-id` rules.
    present: the non-zero ids found in the masks of any frame.
    source: where the masks come from, for the message.

  Raises:
    ValueError: a rule names an id in no frame (the message lists the ids present).
  """
  for rule in rules:
    absent = [i for i in rule.ids if i not in present]
    if absent:
      have = ", ".join(map(str, sorted(present))) or "none (every mask is empty)"
      raise ValueError(f"--object-id {'+'.join(map(str, rule.ids))}: no frame of {source} "
                       f"has object {', '.join(map(str, absent))}; the ids present are {have}")
