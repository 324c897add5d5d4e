"""Speed figures on this machine, printed as markdown tables.

    python tools/benchmark.py --pipeline                      # synthetic data, S = 320
    python tools/benchmark.py --pipeline --pipeline-data-dir ~/tensorflow_datasets

Each section is one function taking the parsed flags and returning a markdown table;
a `--<section>` flag selects it (several may be given; none means all). To add a
section: write `<name>_section(args) -> str`, add its flags in `add_<name>_flags`, and
list it in `SECTIONS`.

Sections
- `--pipeline`: examples per second of every training stream (input_pipeline/streams.py)
  at the paper's batch sizes, on TFDS datasets from `--pipeline-data-dir`, or, by default, on
  synthetic data written at the real datasets' image sizes and built into a temporary
  folder; plus the time to the first batch when resuming at a late step.
- `--encoder`: forward and forward+backward time of encoders (`--encoder-arch`, comma-
  separated; default EfficientNet-B2, 320x320, batch 1) in JAX with each depth-wise
  formulation and in the PyTorch runtime, beside the reference in the other framework
  (`keras.applications` on TensorFlow, or `efficientnet_lite_pytorch` for Lite) in the
  same run.
- `--track`: the tracker's time per frame split into network, crop/paste and I/O on an
  854x480 video (default a synthetic one), at the default model (EfficientNet-B2,
  S = 320) with random weights, for 1 and 2 objects, with the JAX and the PyTorch
  backend taking turns, beside `keras.applications`
  EfficientNetB2 (weights=None) on TensorFlow at 320x320 in the same run; with
  `--track-live-frames N`, the end-to-end latency (capture to label map written) and
  throughput on a live MJPEG stream served on 127.0.0.1, with and without `--realtime`;
  with `--track-memory-frames N`, the RSS after 100 and after N frames of a long stream.
- `--train`: compile time, step time and examples/s of every training stage's update
  step (EG-Net, Gaze2Mask-Net with its frozen EG-Net, WCS-Net stage 1 and 2), built by
  the trainer from `configs/<stage>.py` (the paper's batch sizes and optimizers) at
  320x320, on random batches, data parallel over every local device.
- `--torch`: WCS-Net's per-frame `track` on JAX and on the PyTorch runtime
  (`wcs_jax.torch_runtime`: float32 / bfloat16 autocast, eager / traced graph /
  torch.compile, PyTorch thread counts) with the same random weights, interleaved in one run, with each variant's
  difference from JAX.
- `--metrics`: time per 480p frame of J and F (`wcs_jax.evaluation.segmentation`) on a
  DAVIS mask and its OSVOS prediction from `../shared/data`, and on a large object.
"""
import argparse
import contextlib
import functools
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# The repo root first: the editable install may expose `input_pipeline` only as a namespace
# package, whose builder modules TFDS then cannot locate.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def _markdown(header: list[str], rows: list[list]) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
  return "\n".join(lines)


# ---------------------------------------------------------------------------- pipeline

# Image sizes (W, H) of the real datasets, so decoding and cropping cost what they will.
_SYNTHETIC_SIZES = {"salicon": (640, 480), "duts": (400, 300), "sbd": (500, 375), "davis2016": (854, 480)}
_STAGES = ("egnet", "gaze2mask", "stage1", "stage2")


def add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("--pipeline")
  group.add_argument("--pipeline-data-dir", default=None,
                     help="TFDS data dir holding built salicon, duts, sbd and davis2016 (train splits); "
                          "default: synthetic data built into a temporary folder")
  group.add_argument("--pipeline-size", type=int, default=320, help="crop side S (default 320, the paper's)")
  group.add_argument("--pipeline-batches", type=int, default=10, help="timed batches per stream (default 10)")
  group.add_argument("--pipeline-warmup", type=int, default=2,
                     help="untimed batches first, while tf.data's AUTOTUNE settles (default 2)")
  group.add_argument("--pipeline-num", type=int, default=48,
                     help="synthetic images per image dataset; videos get a quarter (default 48)")
  group.add_argument("--pipeline-resume-step", type=int, default=100_000,
                     help="step of the resume-time measurement (default 100000)")


def _build_synthetic(root: pathlib.Path, num: int) -> pathlib.Path:
  from input_pipeline import build
  from input_pipeline import synthetic
  data_dir = root / "tfds"
  for name, size in _SYNTHETIC_SIZES.items():
    count = max(num // 4, 2) if name == "davis2016" else num
    start = time.perf_counter()
    synthetic.write(name, root / "src" / name, count, seed=0, size=size)
    with contextlib.redirect_stdout(sys.stderr):  # TFDS prints its progress; stdout is for the tables.
      build.build(name, root / "src" / name, data_dir)
    print(f"  synthetic {name}: {count} at {size[0]}x{size[1]}, written and built in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
  return data_dir


def _time_stream(make_dataset, batches: int, warmup: int) -> tuple[float, float, float]:
  """Seconds to build the stream and get its first batch, then wall and CPU (all the
  process's threads) seconds per batch after `warmup`. CPU time is the figure that
  holds on a machine shared with other jobs: examples/s per core = 1 / CPU s per example."""
  start = time.perf_counter()
  iterator = make_dataset().as_numpy_iterator()
  next(iterator)
  first = time.perf_counter() - start
  for _ in range(max(warmup - 1, 0)):
    next(iterator)
  if not batches:
    return first, float("nan"), float("nan")
  start, cpu_start = time.perf_counter(), time.process_time()
  for _ in range(batches):
    next(iterator)
  return first, (time.perf_counter() - start) / batches, (time.process_time() - cpu_start) / batches


def pipeline_section(args: argparse.Namespace) -> str:
  """Examples/s of each stage's stream, one host, at the paper's batch sizes."""
  import tensorflow as tf
  tf.config.set_visible_devices([], "GPU")
  from input_pipeline import streams

  size, resume_step = args.pipeline_size, args.pipeline_resume_step
  with tempfile.TemporaryDirectory(prefix="benchmark_pipeline_") as tmp:
    data_dir = args.pipeline_data_dir or _build_synthetic(pathlib.Path(tmp), args.pipeline_num)
    load_before = os.getloadavg()[0]
    rows = []
    for stage in _STAGES:
      batch = _stage_config(stage).batch_size  # the paper's (Sec. 3.3)
      kwargs = dict(global_batch_size=batch, image_size=size, process_index=0, process_count=1)
      first, per_batch, cpu_per_batch = _time_stream(lambda: streams.stage_stream(stage, data_dir, **kwargs),
                                                     args.pipeline_batches, args.pipeline_warmup)
      resumed, _, _ = _time_stream(lambda: streams.stage_stream(stage, data_dir, start_step=resume_step, **kwargs),
                                   0, 0)
      rows.append([stage, batch, size, f"{batch / per_batch:.1f}", f"{1000 * cpu_per_batch / batch:.1f}",
                   f"{first:.1f}", f"{resumed:.1f}"])
  source = (f"TFDS in {args.pipeline_data_dir}" if args.pipeline_data_dir
            else "synthetic data at the real datasets' sizes")
  title = (f"Input pipeline, one host, {os.cpu_count()} CPU cores (1-min load average "
           f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after), {source}, "
           f"{args.pipeline_batches} batches after {args.pipeline_warmup} warm-up:")
  return title + "\n\n" + _markdown(
      ["stream", "batch", "S", "examples/s", "CPU ms/example", "first batch (s)",
       f"first batch resuming at step {resume_step} (s)"], rows)


# ----------------------------------------------------------------------------- encoder

def add_encoder_flags(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("--encoder")
  group.add_argument("--encoder-arch", default="efficientnet-b2",
                     help="comma-separated encoders timed in one run, e.g. "
                          "efficientnet-lite0,efficientnet-b0 (default efficientnet-b2)")
  group.add_argument("--encoder-size", type=int, default=320, help="input side (default 320)")
  group.add_argument("--encoder-batch", type=int, default=1, help="batch size (default 1)")
  group.add_argument("--encoder-repeats", type=int, default=20, help="timed calls, median reported (default 20)")
  group.add_argument("--encoder-depthwise", default="shifted,grouped",
                     help="comma-separated depth-wise formulations of the JAX EfficientNets "
                          "(default shifted,grouped)")


def _median_ms(fn, repeats: int) -> float:
  fn()
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  times.sort()
  return 1000 * times[len(times) // 2]


def encoder_section(args: argparse.Namespace) -> str:
  """Forward (and JAX's forward+backward) time of each encoder in `--encoder-arch`: JAX with
  each depth-wise formulation, the PyTorch runtime's twin (BN folded, channels_last,
  traced, as `tools/track.py --backend torch` runs it), and the reference in the other
  framework where one exists (`keras.applications` on TensorFlow for B-series/ResNet,
  `efficientnet_lite_pytorch` for Lite), all in one run."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import encoders  # pylint: disable=g-import-not-at-top
  from wcs_jax.spec import backbones  # pylint: disable=g-import-not-at-top
  from wcs_jax.torch_runtime import layers as torch_layers  # pylint: disable=g-import-not-at-top
  from wcs_jax.torch_runtime import networks as torch_networks  # pylint: disable=g-import-not-at-top

  archs = args.encoder_arch.split(",")
  for arch in archs:
    if arch not in backbones.ARCHS:
      raise SystemExit(f"--encoder-arch: unknown backbone {arch!r}; expected some of {list(backbones.ARCHS)}")
  size, batch, repeats = args.encoder_size, args.encoder_batch, args.encoder_repeats
  x = np.random.default_rng(0).uniform(0, 1, (batch, size, size, 3)).astype(np.float32)
  x_torch = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
  rows = []
  for arch in archs:
    reference = _reference_encoder(arch, x)
    if reference is not None:
      name, forward = reference
      rows.append([arch, name, "-", f"{_median_ms(forward, repeats):.1f}", "-", "-"])
    twin = torch_layers.fold_batch_norms(torch_networks.build_encoder(arch).eval())
    twin = twin.to(memory_format=torch.channels_last)
    with torch.no_grad():
      start = time.perf_counter()
      traced = torch.jit.freeze(torch.jit.trace(twin, x_torch))
      traced(x_torch)
      trace_s = time.perf_counter() - start
      fwd = _median_ms(lambda: traced(x_torch), repeats)
    rows.append([arch, f"PyTorch runtime, {torch.get_num_threads()} threads", "-", f"{fwd:.1f}", "-",
                 f"{trace_s:.1f}"])
    impls = args.encoder_depthwise.split(",") if arch in backbones.EFFICIENTNET_ARCHS else ["auto"]
    for impl in impls:
      encoder = encoders.build_encoder(arch, depthwise_impl=impl)
      variables = jax.jit(encoder.init)(jax.random.key(0), x)
      forward = jax.jit(lambda v, x, e=encoder: e.apply(v, x))

      def loss(params, x, e=encoder, stats=variables["batch_stats"]):
        levels, _ = e.apply({"params": params, "batch_stats": stats}, x, train=True, mutable=["batch_stats"],
                            rngs={"dropout": jax.random.key(0)})
        return sum(jnp.mean(jnp.square(level)) for level in levels)

      backward = jax.jit(jax.value_and_grad(loss))
      start = time.perf_counter()
      jax.block_until_ready(forward(variables, x))
      compile_s = time.perf_counter() - start
      fwd = _median_ms(lambda: jax.block_until_ready(forward(variables, x)), repeats)
      bwd = _median_ms(lambda: jax.block_until_ready(backward(variables["params"], x)), max(3, repeats // 4))
      rows.append([arch, f"JAX ({jax.default_backend()})", impl if arch in backbones.EFFICIENTNET_ARCHS else "-",
                   f"{fwd:.1f}", f"{bwd:.1f}", f"{compile_s:.1f}"])
  title = (f"Encoders, {batch}x{size}x{size}, random weights, median of {repeats} calls after warm-up, "
           f"{os.cpu_count()} CPU cores:")
  return title + "\n\n" + _markdown(["encoder", "backend", "depth-wise conv", "forward (ms)",
                                      "JAX forward+backward (ms)", "compile / trace (s)"], rows)


def _reference_encoder(arch: str, x):
  """(name, forward) of `arch`'s reference in the other framework, or None if none is installed."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from wcs_jax.spec import backbones  # pylint: disable=g-import-not-at-top
  if arch in backbones.LITE_ARCHS:
    try:
      import torch  # pylint: disable=g-import-not-at-top
      from efficientnet_lite_pytorch import EfficientNet  # pylint: disable=g-import-not-at-top
    except ImportError:
      return None
    model = EfficientNet.from_name(arch, image_size=x.shape[1]).eval()  # static TF "SAME" padding
    inputs = torch.from_numpy((255 * x - 127) / 128).permute(0, 3, 1, 2).contiguous()
    return "efficientnet_lite_pytorch, eager", lambda: torch.no_grad()(model.extract_features)(inputs)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.set_visible_devices([], "GPU")
  import keras  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import keras_import  # pylint: disable=g-import-not-at-top
  model = keras_import.build_keras_model(arch)
  inputs = tf.constant(255 * x if arch in backbones.EFFICIENTNET_ARCHS else
                       keras.applications.resnet.preprocess_input(255 * np.asarray(x)))
  forward = tf.function(lambda t: model(t, training=False))
  return "Keras on TensorFlow", lambda: forward(inputs).numpy()


# ------------------------------------------------------------------------------- track

def add_track_flags(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("--track")
  group.add_argument("--track-input", default=None,
                     help="video or frame folder to track (default: a synthetic 854x480 video "
                          "written as JPEG frames into a temporary folder)")
  group.add_argument("--track-frames", type=int, default=40, help="frames tracked per run (default 40)")
  group.add_argument("--track-objects", default="1,2",
                     help="comma-separated object counts, one run each (default 1,2)")
  group.add_argument("--track-backends", default="jax,torch,onnx",
                     help="comma-separated backends: jax, torch (the PyTorch runtime, float32 traced "
                          "graph, of an export of the same random weights), onnx (that export's ONNX "
                          "graphs on ONNX Runtime's CPU provider); default jax,torch,onnx")
  group.add_argument("--track-rounds", type=int, default=3,
                     help="runs per backend and object count, the backends taking turns so that a "
                          "drifting machine slows all alike; the median run is reported (default 3)")
  group.add_argument("--track-no-overlay", action="store_true",
                     help="do not write overlay.mp4 (as tools/track.py --no-overlay); the other "
                          "outputs are written either way")
  group.add_argument("--track-threads", type=int, default=0,
                     help="intra-op threads of the torch and onnx backends (default 0: tools/track.py's, "
                          "one per core but one)")
  group.add_argument("--track-overlay-preset", default=None,
                     help="libx264 preset of overlay.mp4 (default: tools/track.py's)")
  group.add_argument("--track-backbone", default="efficientnet-b2", help="backbone (default efficientnet-b2)")
  group.add_argument("--track-size", type=int, default=320, help="crop side S (default 320)")
  group.add_argument("--track-decoder-channels", type=int, default=0,
                     help="decoder width (default 0: the model default, 32; configs/real_cpu.py's "
                          "Lite0 tracker uses 24 at S = 160)")
  group.add_argument("--track-repeats", type=int, default=20,
                     help="timed Keras EfficientNetB2 forward passes, median reported (default 20)")
  group.add_argument("--track-live-frames", type=int, default=0,
                     help="also track a live source: this many synthetic 854x480 frames served as an "
                          "MJPEG stream on 127.0.0.1 at --track-live-fps, one object, each backend "
                          "with and without --realtime; reports the latency from each frame's capture "
                          "to its outputs written, beside throughput (0: skip; docs/tracking.md uses 150)")
  group.add_argument("--track-live-fps", type=float, default=30.0,
                     help="capture rate of the live source (default 30, the paper's real time)")
  group.add_argument("--track-memory-frames", type=int, default=0,
                     help="also measure the RSS after 100 and after this many frames of a repeated "
                          "854x480 frame stream, with all outputs written (0: skip; docs/tracking.md uses 2000)")
  group.add_argument("--track-memory-backbone", default="efficientnet-b0",
                     help="backbone of the memory run (default efficientnet-b0 at S = 64, decoder "
                          "width 8: memory is about streaming, not the model)")


def _random_networks(backbone: str, size: int, decoder_channels: int = 0):
  """(models, variables, model config) of all three networks with untrained weights."""
  from wcs_jax.inference import jax_backend  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import build  # pylint: disable=g-import-not-at-top
  from wcs_jax.spec import networks  # pylint: disable=g-import-not-at-top
  config = networks.resolve_model_config({"backbone": backbone,
                                          **({"decoder_channels": decoder_channels} if decoder_channels else {})})
  models = {name: build.from_config(config, name) for name in networks.NETWORKS}
  variables = {name: jax_backend.random_variables(model, size, seed)
               for seed, (name, model) in enumerate(models.items())}
  return models, variables, config


def _export_for_torch(directory: pathlib.Path, variables: dict, config, size: int) -> pathlib.Path:
  """`tools/convert_to_torch.py`'s export of random Flax variables; returns its folder."""
  from wcs_jax.torch_runtime import convert  # pylint: disable=g-import-not-at-top
  convert.export_flax_variables(directory, variables, {name: dict(config) for name in variables},
                                {"training_config": {"input": {"image_size": size}}})
  return directory


def _synthetic_track_video(root: pathlib.Path, num_frames: int):
  """A synthetic 854x480 video written as JPEG frames; returns (folder, first-frame mask)."""
  import cv2  # pylint: disable=g-import-not-at-top
  from input_pipeline import synthetic  # pylint: disable=g-import-not-at-top
  video = synthetic.render_video(0, num_frames, size=(854, 480), num_objects=2)
  folder = root / "frames"
  folder.mkdir()
  for t, frame in enumerate(video.frames):
    cv2.imwrite(str(folder / f"{t:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  return folder, video.masks[0]


def track_section(args: argparse.Namespace) -> str:
  """Per-frame time of the tracker split into network, crop/paste and I/O, random weights,
  with each backend (JAX; the PyTorch runtime on an export of the same weights), beside
  `keras.applications.EfficientNetB2` (weights=None) on TensorFlow in the same run."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.set_visible_devices([], "GPU")
  import jax  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import backend as backend_lib  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import outputs  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import session  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference.jax_backend import JaxBackend  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference.tracker import Tracker, TrackerConfig  # pylint: disable=g-import-not-at-top
  from wcs_jax.io.video import FrameReader  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import keras_import  # pylint: disable=g-import-not-at-top

  names = args.track_backends.split(",")
  if not names or set(names) - {"jax", "torch", "onnx"} or len(set(names)) != len(names):
    raise SystemExit(f"--track-backends: expected some of jax, torch and onnx, got {args.track_backends!r}")
  if args.track_rounds < 1:
    raise SystemExit(f"--track-rounds: expected a positive count, got {args.track_rounds}")
  size = args.track_size
  keras_model = keras_import.build_keras_model("efficientnet-b2")
  keras_input = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32))
  keras_forward = tf.function(lambda t: keras_model(t, training=False))
  # Keras is timed before and after each object count's runs (a shared machine's speed
  # drifts), and each ratio uses the mean of the two medians around them.
  keras_ms = [_median_ms(lambda: keras_forward(keras_input).numpy(), args.track_repeats)]

  models, variables, config = _random_networks(args.track_backbone, size, args.track_decoder_channels)
  rows = []
  with tempfile.TemporaryDirectory(prefix="benchmark_track_") as tmp:
    tmp = pathlib.Path(tmp)
    trackers = {}
    threads = args.track_threads or backend_lib.pipeline_threads()
    for name in names:
      if name == "jax":
        backend = JaxBackend(models, variables, size)
      else:
        if not (tmp / "export").is_dir():
          _export_for_torch(tmp / "export", variables, config, size)
        if name == "torch":
          from wcs_jax.torch_runtime.backend import TorchBackend  # pylint: disable=g-import-not-at-top
          backend = TorchBackend(tmp / "export", num_threads=threads)
        else:
          from wcs_jax.inference.onnx_backend import OnnxBackend  # pylint: disable=g-import-not-at-top
          from wcs_jax.torch_runtime import onnx_graphs  # pylint: disable=g-import-not-at-top
          onnx_graphs.write_onnx(tmp / "export", size)
          backend = OnnxBackend(tmp / "export", num_threads=threads)
      trackers[name] = Tracker(backend, TrackerConfig(image_size=size))
    if args.track_input:
      source, mask = args.track_input, None
    else:
      source, masks = _synthetic_track_video(tmp, args.track_frames)
      mask = masks.astype(np.uint8) * np.arange(1, len(masks) + 1, dtype=np.uint8)[:, None, None]
      mask = mask.max(axis=0)
    reader = FrameReader(source)
    width, height = reader.info.width, reader.info.height
    for count in (int(c) for c in args.track_objects.split(",")):
      if mask is not None and count <= int(mask.max()):
        init = dict(init="mask", mask=np.where(mask <= count, mask, 0).astype(np.uint8))
      else:  # clicks spread over the frame's centre row
        init = dict(init="click", clicks=[((k + 1) * width / (count + 1), height / 2) for k in range(count)])
      runs = {name: [] for name in names}
      for name, tracker in trackers.items():  # a short run compiles / traces for this object count
        session.track_to_folder(tracker, reader, tmp / f"warm_{name}{count}", max_frames=3, progress=False, **init)
      for round_index in range(args.track_rounds):
        for name, tracker in trackers.items():
          runs[name].append(session.track_to_folder(tracker, reader, tmp / f"out_{name}{count}_{round_index}",
                                                    max_frames=args.track_frames, progress=False,
                                                    overlay_video=not args.track_no_overlay,
                                                    overlay_preset=args.track_overlay_preset, **init))
      keras_ms.append(_median_ms(lambda: keras_forward(keras_input).numpy(), args.track_repeats))
      keras_run_ms = (keras_ms[-2] + keras_ms[-1]) / 2
      medians = {name: {part: float(np.median([getattr(s, part) for s in summaries]))
                        for part in ("network", "crop_paste", "io", "decode")} for name, summaries in runs.items()}
      # Throughput of the whole run after the first frame, closing the outputs included
      # (the encoder's buffered frames are encoded then).
      rates = {name: float(np.median([(r.frames - 1) / (r.seconds - r.first_frame) for r in summaries]))
               for name, summaries in runs.items()}
      for name, m in medians.items():
        speed_up = f"{medians['jax']['network'] / m['network']:.2f}" if "jax" in medians else "-"
        rows.append([count, name, f"{m['decode'] * 1e3:.1f}", f"{m['network'] * 1e3:.1f}",
                     f"{m['crop_paste'] * 1e3:.1f}", f"{(m['io'] - m['decode']) * 1e3:.1f}",
                     f"{m['network'] * 1e3 / keras_run_ms:.2f}", speed_up,
                     f"{1 / (m['network'] + m['crop_paste'] + m['io']):.1f}", f"{rates[name]:.1f}"])
    live = _track_live(args, trackers, tmp) if args.track_live_frames else ""
  title = (f"Tracker, {width}x{height} video, {args.track_backbone}, S = {size}, decoder width "
           f"{config['decoder_channels']}, random weights, "
           f"JAX on {jax.default_backend()}, {os.cpu_count()} CPU cores ({threads} intra-op thread(s) for torch "
           f"and onnx), overlay.mp4 preset {args.track_overlay_preset or outputs.OutputWriter.OVERLAY_PRESET}; mean per tracked frame over "
           f"{args.track_frames - 1} frames, median of {args.track_rounds} runs per backend (the backends "
           f"taking turns); outputs written{' except overlay.mp4' * args.track_no_overlay}. Decode: taking "
           f"the frame from the source (JPEG decode); writing: the rest of the main thread's I/O (handing "
           f"the outputs to the writer thread, which encodes them beside the next frame's work, and "
           f"waiting when its queue is full). Frames/s (main thread): 1 / the sum of those four; "
           f"frames/s (run): the frames after the first / the run's time after the first frame, "
           f"closing the outputs included. Keras "
           f"EfficientNetB2 (include_top=False, weights=None) forward on TensorFlow, 1x{size}x{size}, "
           f"same run, median before and after each object count's runs: "
           f"{', '.join(f'{ms:.1f}' for ms in keras_ms)} ms.")
  table = title + "\n\n" + _markdown(
      ["objects", "backend", "decode (ms)", "network (ms)", "crop/paste (ms)", "writing (ms)",
       "network / Keras B2", "network speed-up vs JAX", "frames/s (main thread)",
       "frames/s (run)"], rows)
  if live:
    table += "\n\n" + live
  if args.track_memory_frames:
    table += "\n\n" + _track_memory(args)
  return table


def _record_time(times: dict[int, float], index: int) -> None:
  times[index] = time.monotonic()


def _track_live(args: argparse.Namespace, trackers: dict, tmp: pathlib.Path) -> str:
  """End-to-end latency on a live source: a synthetic 854x480 video served by
  `wcs_jax.io.mjpeg.MJPEGServer` at `--track-live-fps` (frame i captured at i / fps),
  read by `LiveSource` as `tools/track.py --input http://...` reads it, every output
  written; latency = the frame's outputs written (mask and hotspot PNGs, tracklet entry,
  overlay frame handed to the encoder; the writer's thread) - its capture time."""
  import json  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from input_pipeline import synthetic  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import session  # pylint: disable=g-import-not-at-top
  from wcs_jax.io import live as live_io  # pylint: disable=g-import-not-at-top
  from wcs_jax.io import mjpeg  # pylint: disable=g-import-not-at-top

  total, fps = args.track_live_frames, args.track_live_fps
  if total < 3 or fps <= 0:
    raise SystemExit(f"--track-live-frames / --track-live-fps: expected >= 3 frames and a positive rate, "
                     f"got {total} and {fps}")
  video = synthetic.render_video(2, total, size=(854, 480), num_objects=1)
  mask = video.masks[0, 0].astype(np.uint8)
  rows = []
  for name, tracker in trackers.items():
    # The one-object graphs are compiled / traced before the clock starts.
    session.track_to_folder(tracker, video.frames[:3], tmp / f"live_warm_{name}", init="mask", mask=mask,
                            progress=False)
    for realtime in (False, True):
      written: dict[int, float] = {}
      out = tmp / f"live_{name}_{realtime}"
      with mjpeg.MJPEGServer(video.frames, fps=fps) as server:
        with live_io.LiveSource(server.url, realtime=realtime) as source:
          session.track_to_folder(tracker, source, out, init="mask", mask=mask, indexed=True,
                                  skipped=source.skipped, fps=fps, progress=False,
                                  overlay_video=not args.track_no_overlay,
                                  on_frame=functools.partial(_record_time, written))
        captured, served = server.captured, server.sent
      skipped = len(json.loads((out / "tracklets.json").read_text())["skipped"])
      if served != len(written) + skipped or served != total:
        raise SystemExit(f"live run ({name}, realtime {realtime}): {total} frames served as {served}, "
                         f"{len(written)} tracked + {skipped} skipped")
      later = sorted(i for i in written if i > 0)  # frame 0 also encodes the template
      if len(later) < 2:
        raise SystemExit(f"live run ({name}, realtime {realtime}): {len(later)} frame(s) tracked after the "
                         f"first; raise --track-live-frames")
      latency = np.array([written[i] - captured[i] for i in later]) * 1e3
      rate = (len(later) - 1) / (written[later[-1]] - written[later[0]])
      rows.append([name, "--realtime" if realtime else "every frame", served, len(written), skipped,
                   f"{rate:.1f}", f"{(written[0] - captured[0]) * 1e3:.0f}", f"{np.median(latency):.0f}",
                   f"{np.percentile(latency, 90):.0f}", f"{latency.max():.0f}"])
  title = (f"Live source: {total} synthetic 854x480 frames served as MJPEG over HTTP on 127.0.0.1 at "
           f"{fps:g} frames/s, one object (mask prompt), {args.track_backbone}, S = {args.track_size}, every "
           f"output written{' except overlay.mp4' * args.track_no_overlay}; latency from each frame's "
           f"capture to its outputs written (mask and hotspot PNGs, tracklet entry, overlay frame), over the frames after the first (the first also encodes "
           f"the template).")
  return title + "\n\n" + _markdown(
      ["backend", "mode", "frames served", "tracked", "skipped", "tracked frames/s", "first frame (ms)",
       "latency median (ms)", "latency p90 (ms)", "latency max (ms)"], rows)


def _track_memory(args: argparse.Namespace) -> str:
  """RSS of the process after 100 and after `track_memory_frames` frames of a repeated
  854x480 frame stream tracked into a temporary folder (every output written)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import psutil  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import session  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference.jax_backend import JaxBackend  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference.tracker import Tracker, TrackerConfig  # pylint: disable=g-import-not-at-top
  from input_pipeline import synthetic  # pylint: disable=g-import-not-at-top

  total = args.track_memory_frames
  video = synthetic.render_video(1, 8, size=(854, 480))
  frames = (video.frames[t % 8] for t in range(total))
  backend = JaxBackend.random({"backbone": args.track_memory_backbone, "decoder_channels": 8}, 64)
  process = psutil.Process()
  rss = {}

  def sample(index):
    if index + 1 in (100, total):
      rss[index + 1] = process.memory_info().rss / 2**20

  with tempfile.TemporaryDirectory(prefix="benchmark_track_memory_") as tmp:
    summary = session.track_to_folder(Tracker(backend, TrackerConfig(image_size=64)), frames, tmp, init="mask",
                                      mask=video.masks[0, 0], total=total, progress=False, on_frame=sample)
  return (f"Memory, {summary.frames} frames of 854x480 tracked and written (masks, hotspots, tracklets, "
          f"overlay.mp4), {args.track_memory_backbone} at S = 64: RSS after 100 frames "
          f"{rss[100]:.0f} MiB, after {total} frames {rss[total]:.0f} MiB "
          f"(difference {rss[total] - rss[100]:+.0f} MiB); {summary.seconds:.0f} s in all.")


# ------------------------------------------------------------------------------- train

def add_train_flags(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("--train")
  group.add_argument("--train-stages", default="egnet,gaze2mask,stage1,stage2",
                     help="comma-separated stages to time (default all four)")
  group.add_argument("--train-size", type=int, default=320, help="input side S (default 320, the paper's)")
  group.add_argument("--train-backbone", default="efficientnet-b2", help="backbone (default efficientnet-b2)")
  group.add_argument("--train-batch", type=int, default=0,
                     help="global batch of every stage (default 0: the config's, i.e. the paper's)")
  group.add_argument("--train-dtype", default="float32", help="compute dtype, float32 or bfloat16 (default float32)")
  group.add_argument("--train-repeats", type=int, default=3, help="timed steps per stage, median reported (default 3)")


def _stage_config(stage: str):
  """`configs/<stage>.py`'s get_config(): the paper's batch size, optimizer and model."""
  import importlib  # pylint: disable=g-import-not-at-top
  from wcs_jax.spec import networks  # pylint: disable=g-import-not-at-top
  if stage not in networks.STAGE_NETWORKS:
    raise SystemExit(f"--train-stages: unknown stage {stage!r}; expected some of {sorted(networks.STAGE_NETWORKS)}")
  return importlib.import_module(f"configs.{stage}").get_config()


def train_section(args: argparse.Namespace) -> str:
  """Compile time, step time and examples/s of each stage's jitted update step, built by
  the trainer itself (`wcs_jax.training.trainer.build_training` on `configs/<stage>.py`,
  data parallel over every local device) on random batches: the network and optimiser
  cost alone (the input streams: `--pipeline`)."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import jax_backend  # pylint: disable=g-import-not-at-top
  from wcs_jax.models import build  # pylint: disable=g-import-not-at-top
  from wcs_jax.training import steps, trainer  # pylint: disable=g-import-not-at-top

  rows = []
  for stage in args.train_stages.split(","):
    config = _stage_config(stage)
    config.input.image_size = args.train_size
    config.model.backbone, config.model.dtype = args.train_backbone, args.train_dtype
    config.batch_size = args.train_batch or config.batch_size
    network, batch = config.network, config.batch_size
    # The predecessor a stage would start from (`init_from`), with random weights:
    # Gaze2Mask-Net's input gaze comes from a frozen EG-Net inside the step.
    frozen = ({"egnet": jax_backend.random_variables(build.from_config(config.model, "egnet"), args.train_size)}
              if network == "gaze2mask" else {})
    predecessor = {"own": None, "frozen": frozen, "model_configs": {name: config.model for name in frozen}}
    training = trainer.build_training(config, predecessor=predecessor)
    rng = np.random.default_rng(0)
    data = {k: jax.device_put((rng.random(shape) > 0.5).astype(np.float32) if len(shape) > 1
                              else np.ones(shape, np.float32), training.data_sharding)
            for k, shape in steps.batch_shapes(network, batch, args.train_size).items()}
    state = training.state
    start = time.perf_counter()
    compiled = training.train_step.lower(state, data).compile()
    compile_s = time.perf_counter() - start
    need_gb = _step_memory_gb(compiled)
    free_gb = _free_memory_gb()
    if need_gb is not None and free_gb is not None and jax.default_backend() == "cpu" and need_gb > free_gb:
      # Running it would only get the process killed by the kernel's OOM killer.
      rows.append([stage, network, batch, f"does not fit: needs {need_gb:.1f} GB, {free_gb:.1f} GB free", "",
                   f"{compile_s:.0f}", f"{need_gb:.1f}"])
      del state, data, compiled, training
      continue
    state, _ = compiled(state, data)  # warm-up
    times = []
    for _ in range(args.train_repeats):
      start = time.perf_counter()
      state, metrics = compiled(state, data)
      jax.block_until_ready(metrics)
      times.append(time.perf_counter() - start)
    step_s = sorted(times)[len(times) // 2]
    rows.append([stage, network, batch, f"{step_s:.2f}", f"{batch / step_s:.1f}", f"{compile_s:.0f}",
                 "?" if need_gb is None else f"{need_gb:.1f}"])
    del state, data, compiled, training
  devices = f"{jax.device_count()} x {jax.devices()[0].device_kind}"
  title = (f"Training step, {args.train_backbone}, {args.train_size}x{args.train_size}, {args.train_dtype}, "
           f"{devices}, load average {os.getloadavg()[0]:.1f}, median of {args.train_repeats}:")
  return title + "\n\n" + _markdown(["stage", "network", "global batch", "step (s)", "examples/s", "compile (s)",
                                       "step memory (GB)"], rows)


def _step_memory_gb(compiled) -> float | None:
  """What XLA allocates for one call of a compiled step (arguments, outputs, temporaries;
  donated arguments counted once), in GB; None where the backend does not say."""
  try:
    stats = compiled.memory_analysis()
  except (NotImplementedError, RuntimeError, AttributeError):
    return None
  if stats is None:
    return None
  total = (stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
           - stats.alias_size_in_bytes)
  return total / 2**30


def _free_memory_gb() -> float | None:
  """Memory available to a new allocation on this host (psutil), in GB."""
  try:
    import psutil  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return psutil.virtual_memory().available / 2**30


# ------------------------------------------------------------------------------- torch

# Variants of the PyTorch runtime: (precision, graph), see `wcs_jax.torch_runtime.runtime`.
_TORCH_VARIANTS = {"torch": ("float32", "trace"), "torch-bf16": ("bfloat16", "trace"),
                   "torch-eager": ("float32", "eager"), "torch-bf16-eager": ("bfloat16", "eager"),
                   "torch-compile": ("float32", "compile"), "torch-bf16-compile": ("bfloat16", "compile")}


def add_torch_flags(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("--torch")
  group.add_argument("--torch-variants", default="torch-eager,torch,torch-bf16",
                     help="comma-separated PyTorch variants timed beside JAX: "
                          f"{', '.join(_TORCH_VARIANTS)} (torch = float32 traced graph, the runtime's "
                          "default; -bf16 = bfloat16 autocast; -eager = no graph; -compile = "
                          "torch.compile, minutes to compile on 2 cores; default "
                          "torch-eager,torch,torch-bf16)")
  group.add_argument("--torch-threads", default="0",
                     help="comma-separated PyTorch intra-op thread counts, one row per variant and "
                          "count (default 0: PyTorch's default, one per core)")
  group.add_argument("--torch-backbone", default="efficientnet-b2", help="backbone (default efficientnet-b2)")
  group.add_argument("--torch-size", type=int, default=320, help="crop side S (default 320)")
  group.add_argument("--torch-rounds", type=int, default=30,
                     help="timed rounds; each round calls every backend once in turn, so a busy "
                          "machine slows all alike; median and minimum reported (default 30)")


def torch_section(args: argparse.Namespace) -> str:
  """WCS-Net's per-frame call (`track`, batch 1) on JAX and on the PyTorch runtime (the
  `tools/convert_to_torch.py` export of the same random weights), interleaved in one
  run, with each variant's largest mask-probability difference from JAX. (The whole
  tracker with each backend: `--track`.)"""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from wcs_jax.inference import jax_backend  # pylint: disable=g-import-not-at-top
  from wcs_jax.torch_runtime.backend import TorchBackend  # pylint: disable=g-import-not-at-top

  size = args.torch_size
  for name in args.torch_variants.split(","):
    if name not in _TORCH_VARIANTS:
      raise SystemExit(f"--torch-variants: unknown variant {name!r}; expected some of {list(_TORCH_VARIANTS)}")
  default_threads = torch.get_num_threads()
  models, variables, config = _random_networks(args.torch_backbone, size)
  # (row name, backend, PyTorch threads or None).
  backends = [("jax", jax_backend.JaxBackend(models, variables, size), None)]
  rng = np.random.default_rng(0)
  image = rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32)
  search = np.roll(image, size // 10, axis=(1, 2))
  mask = np.zeros((1, size, size, 1), np.float32)
  mask[:, size // 4:3 * size // 4, size // 3:2 * size // 3] = 1
  with tempfile.TemporaryDirectory(prefix="benchmark_torch_") as tmp:
    export = _export_for_torch(pathlib.Path(tmp) / "export", variables, config, size)
    for name in args.torch_variants.split(","):
      precision, graph = _TORCH_VARIANTS[name]
      for count in (int(c) or default_threads for c in args.torch_threads.split(",")):
        backends.append((f"{name}, {count} thread{'s' * (count > 1)}",
                         TorchBackend(export, precision=precision, graph=graph), count))
    codes, first_call, outputs = [], [], []
    for _, backend, count in backends:
      torch.set_num_threads(count or default_threads)
      start = time.perf_counter()
      codes.append(backend.encode_template(image, mask, mask))
      backend.track(codes[-1], search)
      first_call.append(time.perf_counter() - start)
      outputs.append(None)
    times = [[] for _ in backends]
    for _ in range(args.torch_rounds):
      for i, (_, backend, count) in enumerate(backends):
        torch.set_num_threads(count or default_threads)
        start = time.perf_counter()
        outputs[i] = backend.track(codes[i], search)
        times[i].append(time.perf_counter() - start)
    jax_median, jax_min = float(np.median(times[0])), float(np.min(times[0]))
    rows = [[name, f"{np.median(t) * 1e3:.1f}", f"{np.min(t) * 1e3:.1f}", f"{jax_median / np.median(t):.2f}",
             f"{jax_min / np.min(t):.2f}", f"{np.abs(out[0] - outputs[0][0]).max():.1g}", f"{first:.1f}"]
            for (name, _, _), t, out, first in zip(backends, times, outputs, first_call)]
    table = (f"WCS-Net `track` per frame (search encoder, correlations, both decoders), "
             f"{args.torch_backbone}, 1x{size}x{size}, the same random weights on every backend, "
             f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the end; "
             f"{args.torch_rounds} interleaved rounds.\n\n" + _markdown(
                 ["backend", "median (ms)", "min (ms)", "speed-up vs JAX (median)", "speed-up vs JAX (min)",
                  "max abs mask-probability diff vs JAX", "first call (s)"], rows))
  torch.set_num_threads(default_threads)
  return table


# ---------------------------------------------------------------------------- metrics

def add_metrics_flags(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("--metrics")
  shared = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
  group.add_argument("--metrics-annotation", default=str(shared / "davis2016/Annotations/480p/blackswan/00010.png"),
                     help="a ground-truth mask (default: DAVIS blackswan 00010 of ../shared/data, 854x480)")
  group.add_argument("--metrics-prediction", default=str(shared / "davis2016_osvos/blackswan/00010.png"),
                     help="a prediction of the same size (default: OSVOS on the same frame)")
  group.add_argument("--metrics-repeats", type=int, default=50, help="timed calls, median reported (default 50)")


def metrics_section(args: argparse.Namespace) -> str:
  """Time per frame of J (region similarity) and F (contour accuracy), the official
  davis2017-evaluation definitions, on a small object (the given masks) and on a large one
  (a box over most of the frame, so F's object window is nearly the frame)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from wcs_jax.evaluation import segmentation  # pylint: disable=g-import-not-at-top
  from wcs_jax.io import masks as mask_io  # pylint: disable=g-import-not-at-top
  truth = mask_io.read_binary_mask(args.metrics_annotation)
  prediction = mask_io.read_binary_mask(args.metrics_prediction)
  if truth.shape != prediction.shape:
    raise SystemExit(f"benchmark.py: error: --metrics-prediction {args.metrics_prediction} is "
                     f"{prediction.shape[1]}x{prediction.shape[0]}, the annotation "
                     f"{truth.shape[1]}x{truth.shape[0]}")
  height, width = truth.shape
  large = np.zeros_like(truth)
  large[height // 12:height - height // 12, width // 14:width - width // 14] = True
  rows = []
  for name, annotation in (("given masks", truth), ("large object", large)):
    for metric, function in (("J", segmentation.region_similarity), ("F", segmentation.contour_accuracy)):
      function(annotation, prediction)
      times = []
      for _ in range(args.metrics_repeats):
        start = time.perf_counter()
        function(annotation, prediction)
        times.append(time.perf_counter() - start)
      rows.append([name, metric, f"{np.median(times) * 1e3:.2f}", f"{np.min(times) * 1e3:.2f}"])
  return (f"J and F per frame at {width}x{height} ({args.metrics_annotation} against "
          f"{args.metrics_prediction}), {os.cpu_count()} CPU cores, {args.metrics_repeats} calls.\n\n"
          + _markdown(["object", "metric", "median (ms)", "min (ms)"], rows))


SECTIONS = {"pipeline": (add_pipeline_flags, pipeline_section),
            "encoder": (add_encoder_flags, encoder_section),
            "track": (add_track_flags, track_section),
            "train": (add_train_flags, train_section),
            "torch": (add_torch_flags, torch_section),
            "metrics": (add_metrics_flags, metrics_section)}


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      description="Speed figures of this project on this machine, as markdown tables. "
                  "Select sections with their flags; none selects all.")
  for name, (add_flags, _) in SECTIONS.items():
    parser.add_argument(f"--{name}", action="store_true", help=f"run the {name} section")
    add_flags(parser)
  args = parser.parse_args(argv)
  chosen = [name for name in SECTIONS if getattr(args, name)] or list(SECTIONS)
  for name in chosen:
    print(SECTIONS[name][1](args))
    print()
  return 0


if __name__ == "__main__":
  sys.exit(main())
