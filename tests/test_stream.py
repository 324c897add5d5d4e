"""The streaming tracker (`wcs_jax.inference.stream`) and prompts on any frame
(`wcs_jax.inference.prompts`): re-prompting, adding and removing objects, batching, and
the prompt file's checks."""
import json

import numpy as np
import pytest

import tracking_testing
from test_tracker import ColourBackend
from test_tracker import disc_video
from wcs_jax.inference import prompts as prompts_lib
from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.inference.prompts import Prompt
from wcs_jax.inference.prompts import PromptError
from wcs_jax.inference.tracker import Tracker
from wcs_jax.inference.tracker import TrackerConfig
from wcs_jax.io import masks as mask_io


def two_disc_video(num=8, width=160, height=120):
  """Two red discs far apart: one moving right on the left, one moving down on the right."""
  left, left_masks = disc_video([(30 + 3 * t, 40) for t in range(num)], [9] * num, width, height)
  right, right_masks = disc_video([(120, 30 + 3 * t) for t in range(num)], [7] * num, width, height)
  frames = [np.where(m[..., None], f, g) for f, g, m in zip(left, right, left_masks)]
  return frames, left_masks, right_masks


def tracker():
  return Tracker(ColourBackend(), TrackerConfig(image_size=48))


def test_reprompt_from_frame_t_equals_a_new_tracker_started_there():
  frames, left, right = two_disc_video()
  t = 4
  first = [Prompt(0, 1, "mask", mask=left[0]), Prompt(0, 2, "mask", mask=right[0])]
  fix = Prompt(t, 2, "mask", mask=right[t])
  with_fix = list(tracker().track(frames, "none", prompts=[*first, fix]))
  without = list(tracker().track(frames, "none", prompts=first))
  fresh = list(tracker().track(frames[t:], "none", prompts=[Prompt(0, 2, "mask", mask=right[t])]))
  for k in range(len(frames)):
    assert np.count_nonzero(with_fix[k].mask == 1) > 0 and np.count_nonzero(with_fix[k].mask == 2) > 0
    np.testing.assert_array_equal(with_fix[k].mask == 1, without[k].mask == 1)  # object 1 unchanged
    if k < t:
      np.testing.assert_array_equal(with_fix[k].mask, without[k].mask)  # earlier frames unchanged
    else:
      np.testing.assert_array_equal(with_fix[k].mask == 2, fresh[k - t].mask == 2)
  assert with_fix[t].prompts == [{"frame": t, "object": 2, "prompt": ["mask"], "fallback": False}]
  assert [r.prompts for r in with_fix[t + 1:]] == [[]] * (len(frames) - t - 1)


def test_objects_added_later_and_removed_leave_the_others_unchanged():
  frames, left, right = two_disc_video()
  alone = list(tracker().track(frames, "none", prompts=[Prompt(0, 1, "mask", mask=left[0])]))
  both = list(tracker().track(frames, "none", prompts=[
      Prompt(0, 1, "mask", mask=left[0]), Prompt(3, 7, "mask", mask=right[3]), Prompt(6, 7, "remove")]))
  for k, (a, b) in enumerate(zip(alone, both)):
    np.testing.assert_array_equal(a.mask == 1, b.mask == 1)
    assert [o.id for o in b.objects] == ([1, 7] if 3 <= k < 6 else [1])
    assert (np.count_nonzero(b.mask == 7) > 0) == (3 <= k < 6)
  assert both[6].prompts == [{"frame": 6, "object": 7, "prompt": ["remove"]}]


def test_a_failing_prompt_leaves_the_stream_as_it_was():
  frames, left, right = two_disc_video()
  first = [Prompt(0, 1, "mask", mask=left[0]), Prompt(0, 2, "mask", mask=right[0])]
  reference, failed = (tracker().start(frames[0], first) for _ in range(2))
  reference.step(frames[1])
  failed.step(frames[1])
  # The colour stand-in has no EG-Net / Gaze2Mask-Net: the click fails after the remove was checked.
  with pytest.raises(BackendUnavailableError, match="needs EG-Net and Gaze2Mask-Net"):
    failed.step(frames[2], [Prompt(2, 1, "remove"), Prompt(2, 3, "click", values=(100, 60))])
  for k in (2, 3):
    a, b = reference.step(frames[k]), failed.step(frames[k])
    assert (a.index, [o.id for o in a.objects]) == (b.index, [1, 2]) == (k, [1, 2])
    np.testing.assert_array_equal(a.mask, b.mask)


def test_batching_does_not_change_an_objects_numbers():
  """The JAX backend: one object's probabilities are bit for bit the same tracked alone
  or in a batch of three (what keeps the other objects unchanged when one is added)."""
  from wcs_jax.inference.jax_backend import JaxBackend
  backend = JaxBackend.random(tracking_testing.TINY, tracking_testing.SIZE, seed=3)
  rng = np.random.default_rng(0)
  size = tracking_testing.SIZE
  codes = [backend.encode_template(rng.random((1, size, size, 3), np.float32),
                                   (rng.random((1, size, size, 1)) > 0.5).astype(np.float32),
                                   rng.random((1, size, size, 1), np.float32)) for _ in range(3)]
  search = rng.random((3, size, size, 3), np.float32)
  mask3, hot3 = backend.track(backend.join_codes(codes), search)
  for k in range(3):
    mask1, hot1 = backend.track(codes[k], search[k:k + 1])
    np.testing.assert_array_equal(mask1[0], mask3[k])
    np.testing.assert_array_equal(hot1[0], hot3[k])


def test_prompt_file_schema_and_checks(tmp_path):
  labels = np.zeros((12, 16), np.uint8)
  labels[2:5, 2:6], labels[7:10, 9:14] = 3, 7
  mask_io.write_palette_png(tmp_path / "two.png", labels)
  entries = [{"frame": 0, "object": 1, "click": [4, 3]}, {"frame": 2, "object": 2, "box": [1, 1, 8, 6]},
             {"frame": 3, "object": 5, "mask": "two.png"}, {"frame": 3, "object": 7, "mask": "two.png"},
             {"frame": 5, "object": 1, "remove": True}]
  (tmp_path / "p.json").write_text(json.dumps(entries))
  with pytest.raises(PromptError, match=r"entry 2: .*holds ids \[3, 7\]; \"object\": 5 picks none"):
    prompts_lib.load(tmp_path / "p.json")
  loaded = prompts_lib.from_json(entries[:2], tmp_path)
  assert [(p.frame, p.object, p.kind, p.values) for p in loaded][:2] == [(0, 1, "click", (4.0, 3.0)),
                                                                         (2, 2, "box", (1.0, 1.0, 8.0, 6.0))]
  # A palette PNG of two objects: "object" picks its id; 5 (entry 2) is none of them.
  del entries[2]
  loaded = prompts_lib.from_json(entries, tmp_path)
  np.testing.assert_array_equal(loaded[2].mask, labels == 7)
  prompts_lib.check(loaded, 16, 12, 10)
  bad = {
      r"the video has 4 frames": (loaded, 4),
      r"click \(20, 3\) lies outside the 16x12 frame": ([Prompt(0, 1, "click", (20, 3))], None),
      r"remove of an object that does not exist then \(objects: none\)": ([Prompt(1, 4, "remove")], None),
      r"a second prompt for this object": ([Prompt(1, 1, "click", (1, 1)), Prompt(1, 1, "box", (0, 0, 4, 4))],
                                           None),
      r"box \[5.0, 5.0, 5.0, 9.0\] has no area": ([Prompt(0, 1, "box", (5, 5, 5, 9))], None),
  }
  for message, (prompts, num_frames) in bad.items():
    with pytest.raises(PromptError, match=message):
      prompts_lib.check(prompts, 16, 12, num_frames)
  for entry, message in [({"frame": 0, "object": 300, "click": [1, 1]}, r"id in 1..255"),
                         ({"frame": -1, "object": 1, "click": [1, 1]}, r"integer >= 0"),
                         ({"frame": 0, "object": 1, "click": [1]}, r"list of 2 numbers"),
                         ({"frame": 0, "object": 1, "tap": [1, 1]}, r"unknown keys \['tap'\]"),
                         ({"frame": 0, "object": 1, "remove": False}, r"must be true")]:
    with pytest.raises(PromptError, match=message):
      prompts_lib.from_json([entry])
  (tmp_path / "broken.json").write_text("[{")
  with pytest.raises(PromptError, match=r"--prompts .*broken.json: not a JSON file"):
    prompts_lib.load(tmp_path / "broken.json")
