"""The training streams: shapes, loss weights per source, mixing proportions, exact
restart at step k, and disjoint per-host shards; on tiny hand-made in-memory sources
(and, end to end, on synthetic data built into TFDS)."""
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import math

import numpy as np
import pytest
import tensorflow as tf

from input_pipeline import augment
from input_pipeline import pairs
from input_pipeline import sampling
from input_pipeline import streams

H, W = 40, 56
S = 32


def _png(array: np.ndarray) -> bytes:
  return tf.io.encode_png(array).numpy()


def _disc(cy: float, cx: float, r: float, shape=(H, W)) -> np.ndarray:
  yy, xx = np.mgrid[:shape[0], :shape[1]]
  return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)[..., None]


def salicon_like(n: int, channel: int = 0) -> tf.data.Dataset:
  """Images with a bright `channel`; a Gaussian gaze blob (max 255) at a known place."""
  images, gazes = [], []
  yy, xx = np.mgrid[:H, :W]
  for i in range(n):
    image = np.full([H, W, 3], 30, np.uint8)
    image[..., channel] = 100 + i  # an id, for the shard test
    cy, cx = 12 + i % 15, 15 + (3 * i) % 25
    gaze = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 5.0**2))
    images.append(_png(image))
    gazes.append(_png(np.round(255 * gaze / gaze.max()).astype(np.uint8)[..., None]))
  return tf.data.Dataset.from_tensor_slices({"image": images, "gaze": gazes, "image_id": [str(i) for i in range(n)]})


def duts_like(n: int, channel: int = 2) -> tf.data.Dataset:
  images, masks = [], []
  for i in range(n):
    image = np.full([H, W, 3], 30, np.uint8)
    image[..., channel] = 200
    images.append(_png(image))
    masks.append(_png(_disc(15 + i % 10, 20 + i % 17, 6 + i % 5)))
  return tf.data.Dataset.from_tensor_slices({"image": images, "mask": masks})


def davis_like(num_sequences: int, length: int = 12) -> tf.data.Dataset:
  """Each sequence: a disc moving right; frame t annotated unless t % 4 == 3."""
  def sequence(i):
    frames = [_png(np.full([H, W, 3], 10 * t, np.uint8)) for t in range(length)]
    masks = [_png(_disc(20, 10 + 2 * t + i, 5) if t % 4 != 3 else np.zeros([H, W, 1], np.uint8))
             for t in range(length)]
    return {"frames": frames, "masks": masks, "has_mask": [t % 4 != 3 for t in range(length)]}

  seqs = [sequence(i) for i in range(num_sequences)]
  return tf.data.Dataset.from_tensor_slices({k: [s[k] for s in seqs] for k in seqs[0]})


def sbd_like(n: int, with_gaze: bool = False) -> tf.data.Dataset:
  """Square H x H images: two instances (ids 1, 2) with a void (255) ring around instance 1;
  optionally a precomputed `gaze` map (a horizontal ramp)."""
  images, instances = [], []
  for i in range(n):
    inst = np.zeros([H, H, 1], np.uint8)
    inst[_disc(15, 15, 9, (H, H))[..., 0] > 0] = 255
    inst[_disc(15, 15, 7, (H, H))[..., 0] > 0] = 1
    inst[25:35, 20 + i % 10:35 + i % 10] = 2
    images.append(_png(np.full([H, H, 3], 128, np.uint8)))
    instances.append(_png(inst))
  features = {"image": images, "instances": instances}
  if with_gaze:
    ramp = np.broadcast_to(np.linspace(0, 255, H).round().astype(np.uint8)[None, :, None], [H, H, 1])
    features["gaze"] = [_png(np.ascontiguousarray(ramp))] * n
  return tf.data.Dataset.from_tensor_slices(features)


def _take(dataset: tf.data.Dataset, num: int) -> list[dict[str, np.ndarray]]:
  return list(dataset.take(num).as_numpy_iterator())


def test_egnet_stream_shapes_and_ranges():
  batch = _take(streams.egnet_stream(salicon_like(5), global_batch_size=4, image_size=S, process_index=0,
                                     process_count=1), 1)[0]
  assert batch["image"].shape == (4, S, S, 3) and batch["image"].dtype == np.float32
  assert batch["gaze"].shape == (4, S, S, 1) and batch["gaze"].dtype == np.float32
  for v in batch.values():
    assert 0.0 <= v.min() and v.max() <= 1.0
  assert np.all(batch["gaze"].max(axis=(1, 2, 3)) > 0.9)


def test_gaze2mask_stream_one_instance_without_void():
  batches = _take(streams.gaze2mask_stream(sbd_like(4), global_batch_size=8, image_size=H, flip=0.0,
                                           process_index=0, process_count=1), 2)
  masks = np.concatenate([b["mask"] for b in batches])
  gazes = np.concatenate([b["gaze"] for b in batches])
  # Instance 1 (disc, 7 px radius) or instance 2 (10 x 15 box) -- never both, never the void ring.
  picked_disc = masks[:, 15, 15, 0] == 1
  picked_box = masks[:, 30, 30, 0] == 1
  assert np.all(picked_disc ^ picked_box)
  assert picked_disc.any() and picked_box.any()
  assert np.all(masks[picked_disc][:, 15, 24, 0] == 0)  # void ring (radius 8..9) is not in the mask
  assert np.all(gazes[masks == 0] == 0)
  assert np.all(gazes.max(axis=(1, 2, 3)) > 0.8)
  np.testing.assert_array_equal(np.concatenate([b["window"] for b in batches]), masks)  # the paper's E * M


def test_gaze2mask_stream_prompts_are_the_trackers_click_and_box_maps():
  """input.prompts = (0.25, 0.25): about half the examples carry a click's map (an
  unrestricted Gaussian of sigma 0.05 * sqrt(H * W) peaking on the instance) or a box's
  (zero outside the instance's bounding box, non-zero over all of it), from_egnet 0;
  the rest the mask's gaze, from_egnet 1."""
  batches = _take(streams.gaze2mask_stream(sbd_like(4), global_batch_size=16, image_size=H, flip=0.0,
                                           prompts=(0.25, 0.25), process_index=0, process_count=1), 4)
  kinds = {"click": 0, "box": 0, "egnet": 0}
  for batch in batches:
    for gaze, mask, from_egnet in zip(batch["gaze"][..., 0], batch["mask"][..., 0], batch["from_egnet"]):
      ys, xs = np.nonzero(mask)
      outside = gaze[mask == 0]
      peak = np.unravel_index(np.argmax(gaze), gaze.shape)
      assert mask[peak] == 1
      if from_egnet == 1:
        kinds["egnet"] += 1
        assert np.all(outside == 0)
      elif np.all(gaze[ys.min():ys.max() + 1, xs.min():xs.max() + 1] > 0) and outside.max() > 0 and (
          gaze[:ys.min()].max(initial=0) == 0 and gaze[ys.max() + 1:].max(initial=0) == 0):
        kinds["box"] += 1
      else:
        kinds["click"] += 1
        # Not restricted: the Gaussian of sigma 0.05 * 40 = 2 px is 0.6 at 1 sigma from its peak.
        ring = gaze[max(peak[0] - 2, 0):peak[0] + 3, max(peak[1] - 2, 0):peak[1] + 3]
        assert gaze[peak] > 0.99 and ring.min() > 0.1
  assert kinds["click"] >= 6 and kinds["box"] >= 6 and kinds["egnet"] >= 16, kinds
  with pytest.raises(ValueError, match=r"prompts=\(0.8, 0.5\): expected"):
    streams.gaze2mask_stream(sbd_like(2), prompts=(0.8, 0.5), process_index=0, process_count=1)


def test_gaze2mask_stream_precomputed_gaze_restricted_to_the_instance():
  batch = _take(streams.gaze2mask_stream(sbd_like(4, with_gaze=True), gaze="source", global_batch_size=4,
                                         image_size=H, flip=0.0, process_index=0, process_count=1), 1)[0]
  ramp = np.linspace(0, 255, H).round()[None, :] / 255
  inside = batch["mask"][..., 0] == 1
  np.testing.assert_allclose(batch["gaze"][..., 0][inside], np.broadcast_to(ramp, inside.shape)[inside], atol=1e-5)
  assert np.all(batch["gaze"][~inside] == 0)
  with pytest.raises(ValueError, match=r"lack feature\(s\) \['gaze'\]"):
    streams.gaze2mask_stream(sbd_like(2), gaze="source", global_batch_size=2, process_index=0, process_count=1)


def test_first_frame_streams_learn_from_annotated_video_frames():
  """EG-Net and Gaze2Mask-Net on video frames (configs/real_cpu.py): an annotated frame
  (never one without ground truth), its object as the instance, a gaze made from it."""
  # davis_like frame t is uniformly 10 t; frames t % 4 == 3 have no mask.
  annotated = {round(10 * t / 255, 4) for t in range(12) if t % 4 != 3}
  eg = _take(streams.egnet_stream(salicon_like(4), davis_like(3), weights=(0.0, 1.0), global_batch_size=8,
                                  image_size=H, flip=0.0, process_index=0, process_count=1), 2)
  g2m = _take(streams.gaze2mask_stream(sbd_like(2), davis_like(3), weights=(0.0, 1.0), global_batch_size=8,
                                       image_size=H, flip=0.0, process_index=0, process_count=1), 2)
  for batch in eg + g2m:
    for image in batch["image"]:
      assert round(float(image.mean()), 4) in annotated
    assert np.all(batch["gaze"].max(axis=(1, 2, 3)) > 0.8)  # a Gaussian peak on the object
  for batch in g2m:
    areas = batch["mask"].sum(axis=(1, 2, 3))
    # The disc of radius 5 (~81 px at 40 x 56), resized to 40 x 40: ~58 px.
    assert np.all((areas > 40) & (areas < 80)), areas
    assert np.all(batch["gaze"][batch["mask"] == 0] == 0)
    np.testing.assert_array_equal(batch["window"], batch["mask"])  # video_window="mask": as SBD
  frame = _take(streams.gaze2mask_stream(sbd_like(2), davis_like(3), weights=(0.0, 1.0), global_batch_size=8,
                                         image_size=H, flip=0.0, video_window="frame", process_index=0,
                                         process_count=1), 1)[0]
  assert np.all(frame["window"] == 1) and np.all(frame["gaze"][frame["mask"] == 0] == 0)
  with pytest.raises(ValueError, match="video_window='box': expected one of"):
    streams.gaze2mask_stream(sbd_like(2), davis_like(3), video_window="box", process_index=0, process_count=1)
  # Mixed with the images' own source at the given weights; a weight-0 source may be absent.
  mixed = _take(streams.egnet_stream(salicon_like(4, channel=0), davis_like(3), weights=(1.0, 1.0),
                                     global_batch_size=16, image_size=S, flip=0.0, process_index=0,
                                     process_count=1), 2)
  from_salicon = [float(image[..., 0].mean() - image[..., 1].mean()) > 0.1
                  for batch in mixed for image in batch["image"]]
  assert 8 <= sum(from_salicon) <= 24, sum(from_salicon)
  _take(streams.gaze2mask_stream(sbd_like(2), None, global_batch_size=2, process_index=0, process_count=1), 1)
  with pytest.raises(ValueError, match="source 'davis2016' has weight 1.0 but was not given"):
    streams.egnet_stream(salicon_like(2), weights=(1.0, 1.0), global_batch_size=2, process_index=0,
                         process_count=1)
  with pytest.raises(ValueError, match="not all 0"):
    streams.egnet_stream(salicon_like(2), davis_like(1), weights=(0.0, 0.0), global_batch_size=2,
                         process_index=0, process_count=1)


def test_stage_datasets_are_those_of_nonzero_weight():
  assert streams.stage_datasets("egnet") == ("salicon",)
  assert streams.stage_datasets("egnet", (1.0, 2.0)) == ("salicon", "davis2016")
  assert streams.stage_datasets("gaze2mask", (0.0, 1.0)) == ("davis2016",)
  assert streams.stage_datasets("stage2") == ("davis2016", "salicon")
  with pytest.raises(ValueError, match="one weight per source"):
    streams.stage_datasets("stage1", (1.0,))


def test_stage1_loss_weights_follow_the_source():
  config = pairs.PairConfig(image_size=S, augment=augment.NO_AUGMENT)
  batches = _take(streams.stage1_stream(salicon_like(6, channel=0), duts_like(6, channel=2), global_batch_size=6,
                                        config=config, process_index=0, process_count=1), 4)
  for batch in batches:
    red = batch["search_image"][..., 0].mean(axis=(1, 2)) > batch["search_image"][..., 2].mean(axis=(1, 2))
    np.testing.assert_array_equal(batch["l1"], red.astype(np.float32))  # SALICON images are red
    np.testing.assert_array_equal(batch["l2"], (~red).astype(np.float32))
    for key in ("template_image", "search_image"):
      assert batch[key].shape == (6, S, S, 3)
    for key in ("template_mask", "template_hotspot", "search_mask", "search_hotspot"):
      assert batch[key].shape == (6, S, S, 1)
      assert 0.0 <= batch[key].min() and batch[key].max() <= 1.0
    assert np.all(batch["search_hotspot"].sum(axis=(1, 2, 3)) > 0)


def test_stage2_video_pairs():
  config = pairs.PairConfig(image_size=S, max_gap=2, augment=augment.NO_AUGMENT)
  batches = _take(streams.stage2_stream(davis_like(3), salicon_like(4), weights=(1.0, 0.0), global_batch_size=4,
                                        config=config, process_index=0, process_count=1), 3)
  for batch in batches:
    np.testing.assert_array_equal(batch["l1"], 0.0)
    np.testing.assert_array_equal(batch["l2"], 1.0)
    assert np.all(batch["template_mask"].sum(axis=(1, 2, 3)) > 0)
    # Frames are uniform grey 10 * t: template and search differ by at most max_gap frames.
    t_template = batch["template_image"][:, S // 2, S // 2, 0] * 255 / 10
    t_search = batch["search_image"][:, S // 2, S // 2, 0] * 255 / 10
    gap = np.abs(t_template - t_search)
    assert np.all(gap <= 2 + 1e-3) and np.all(gap >= 1 - 1e-3)


def test_mixture_choices_match_the_weights():
  weights = [0.2, 0.5, 0.3]
  n = 20000
  choices = np.array(list(sampling.mixture_choices(weights, sampling.make_key(3), 0).take(n).as_numpy_iterator()))
  for s, p in enumerate(weights):
    assert abs(np.mean(choices == s) - p) < 4 * math.sqrt(p * (1 - p) / n)
  # mixture_counts replays the same draws.
  assert sampling.mixture_counts(weights, sampling.make_key(3), 5000) == [
      int(np.sum(choices[:5000] == s)) for s in range(3)]


def test_mixture_choices_resume_across_blocks():
  key = sampling.make_key(4)
  full = list(sampling.mixture_choices([1.0, 2.0], key, 0).take(3000).as_numpy_iterator())
  for start in (1000, 1024, 2049):
    resumed = list(sampling.mixture_choices([1.0, 2.0], key, start).take(3000 - start).as_numpy_iterator())
    assert resumed == full[start:]


def test_stage1_mixing_proportions():
  p, n = 0.3, 240
  batches = _take(streams.stage1_stream(salicon_like(5), duts_like(5), weights=(p, 1 - p), global_batch_size=24,
                                        config=pairs.PairConfig(image_size=16), seed=7, process_index=0,
                                        process_count=1), n // 24)
  fraction = np.mean(np.concatenate([b["l1"] for b in batches]))
  assert abs(fraction - p) < 4 * math.sqrt(p * (1 - p) / n)


def _assert_batches_equal(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for key in x:
      np.testing.assert_array_equal(x[key], y[key], err_msg=key)


@pytest.mark.parametrize("stage", ["gaze2mask", "stage1", "stage2"])
def test_restart_at_step_k_yields_the_same_batches(stage):
  """Small sources so the 3 + 4 steps cross epoch boundaries (mixing blocks: below)."""
  kwargs = dict(global_batch_size=6, image_size=16, seed=11, shuffle_buffer=4, process_index=0, process_count=1)
  if stage == "gaze2mask":
    make = lambda **kw: streams.gaze2mask_stream(sbd_like(5), **{**kwargs, **kw})
  elif stage == "stage1":
    make = lambda **kw: streams.stage1_stream(salicon_like(5), duts_like(4), **{**kwargs, **kw})
  else:
    make = lambda **kw: streams.stage2_stream(davis_like(3, length=6), salicon_like(4), **{**kwargs, **kw})
  k = 3
  full = _take(make(), k + 4)
  resumed = _take(make(start_step=k), 4)
  _assert_batches_equal(full[k:], resumed)
  # And a different seed gives different batches.
  other = _take(make(seed=12), 1)
  key = "mask" if stage == "gaze2mask" else "search_image"
  assert not np.array_equal(other[0][key], full[0][key])


def test_two_hosts_split_the_global_batch_without_overlap():
  data = salicon_like(40)

  def ids(index):
    ds = streams.egnet_stream(data, global_batch_size=8, image_size=S, flip=0.0, shuffle_buffer=40,
                              process_index=index, process_count=2)
    return [np.round(b["image"][:, S // 2, S // 2, 0] * 255).astype(int) - 100 for b in _take(ds, 2)]

  host0, host1 = ids(0), ids(1)
  for step in range(2):
    assert len(host0[step]) == len(host1[step]) == 4
  seen0, seen1 = set(np.concatenate(host0)), set(np.concatenate(host1))
  assert len(seen0) == len(seen1) == 8  # one epoch of each 20-example shard: no repeats
  assert not seen0 & seen1


def test_bad_arguments_are_named():
  with pytest.raises(ValueError, match="global_batch_size=15"):
    streams.stage1_stream(salicon_like(4), duts_like(4), process_index=0, process_count=2)
  with pytest.raises(ValueError, match="lack feature"):
    streams.egnet_stream(duts_like(2), global_batch_size=2, process_index=0, process_count=1)
  with pytest.raises(ValueError, match="pair source 'duts'"):
    streams.stage1_stream(salicon_like(4), sbd_like(2), global_batch_size=2, process_index=0, process_count=1)
  with pytest.raises(ValueError, match="no examples"):
    streams.egnet_stream(salicon_like(1), global_batch_size=2, process_index=1, process_count=2)
  with pytest.raises(ValueError, match="source 'salicon': examples lack"):  # a HostSource is checked too
    streams.egnet_stream(lambda index, count: duts_like(2), global_batch_size=2, process_index=0, process_count=1)


# ------------------------------------------------- end to end: synthetic -> TFDS -> stream

@pytest.fixture(scope="module")
def built_data_dir(tmp_path_factory) -> str:
  """The four training datasets, written by input_pipeline.synthetic in their official
  layouts and built with the TFDS builders (tiny: 64 x 48 images, 6-frame videos)."""
  from input_pipeline import build
  from input_pipeline import synthetic
  root = tmp_path_factory.mktemp("synthetic")
  for name, num in (("salicon", 6), ("duts", 6), ("sbd", 6), ("davis2016", 4)):
    extra = {"num_frames": 6} if name == "davis2016" else {}
    synthetic.write(name, root / "src" / name, num, seed=0, size=(64, 48), **extra)
    build.build(name, root / "src" / name, root / "tfds")
  return str(root / "tfds")


@pytest.mark.parametrize("stage", sorted(streams.STAGES))
def test_stage_streams_on_built_synthetic_data(built_data_dir, stage):
  batch = _take(streams.stage_stream(stage, built_data_dir, global_batch_size=4, image_size=S, process_index=1,
                                     process_count=2), 1)[0]
  expected = {"egnet": {"image", "gaze"}, "gaze2mask": {"image", "gaze", "mask", "window", "from_egnet"}}.get(
      stage, {"template_image", "template_mask", "template_hotspot", "search_image", "search_mask",
              "search_hotspot", "l1", "l2"})
  assert set(batch) == expected
  for key, value in batch.items():
    assert value.dtype == np.float32 and value.shape[0] == 2
    if key not in ("l1", "l2", "from_egnet"):
      assert value.shape[1:3] == (S, S) and 0.0 <= value.min() and value.max() <= 1.0
  if stage == "stage1":
    np.testing.assert_array_equal(batch["l1"] + batch["l2"], 1.0)  # every object found: one of the two
  if stage == "stage2":
    assert set(batch["l1"] * 2 + batch["l2"]) <= {1.0, 2.0}  # DAVIS (l2 only) or SALICON (l1 only)


def test_restart_on_built_tfds(built_data_dir):
  make = lambda start: streams.stage_stream("stage2", built_data_dir, global_batch_size=4, seed=5,
                                            start_step=start, shuffle_buffer=2, process_index=0, process_count=1,
                                            config=pairs.PairConfig(image_size=16))
  full = _take(make(0), 5)
  _assert_batches_equal(full[3:], _take(make(3), 2))


def test_unbuilt_dataset_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="'salicon' is not built"):
    streams.stage_stream("stage1", tmp_path, global_batch_size=2, process_index=0, process_count=1)


def test_two_hosts_read_disjoint_tfds_shards(built_data_dir):
  """Each host's EG-Net epoch: its own half of SALICON train, no image on both hosts."""
  import tensorflow_datasets as tfds
  num_train = tfds.builder("salicon", data_dir=built_data_dir).info.splits["train"].num_examples

  def epoch(index):
    per_host = (num_train + 1 - index) // 2  # even_splits: the first host takes the odd one
    ds = streams.stage_stream("egnet", built_data_dir, global_batch_size=2, image_size=S, flip=0.0,
                              process_index=index, process_count=2)
    return [image for batch in _take(ds, per_host) for image in batch["image"]]

  host0, host1 = epoch(0), epoch(1)
  assert len(host0) + len(host1) == num_train
  for i, a in enumerate(host0 + host1):
    for b in (host0 + host1)[i + 1:]:
      assert not np.array_equal(a, b)


def test_pairs_from_the_real_davis_sample(shared_data, tmp_path):
  """Real DAVIS-2016 masks (the 4 validation sequences of ../shared/data): the template
  object is centred with its longer side S / template_context, and l2 = 1."""
  from input_pipeline import build
  from input_pipeline import sources
  build.build("davis2016", shared_data / "davis2016", tmp_path)
  config = pairs.PairConfig(image_size=64, template_context=1.6, augment=augment.NO_AUGMENT)
  ds = streams.pair_stream({"davis2016": sources.from_tfds("davis2016", "validation", tmp_path)}, {"davis2016": 1.0},
                           global_batch_size=8, config=config, process_index=0, process_count=1)
  batch = _take(ds, 1)[0]
  np.testing.assert_array_equal(batch["l2"], 1.0)
  np.testing.assert_array_equal(batch["l1"], 0.0)
  for mask in batch["template_mask"]:
    # Tolerances of a few pixels: thin parts of real masks (legs, wheels) at the box's
    # edge vanish when the 854x480 mask is resampled to 64 px and re-binarised.
    ys, xs = np.nonzero(mask[..., 0])
    assert abs((xs.min() + xs.max() + 1) / 2 - 32) <= 2 and abs((ys.min() + ys.max() + 1) / 2 - 32) <= 2
    assert abs(max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()) - 40) <= 3
