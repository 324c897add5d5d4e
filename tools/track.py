"""Tracks objects through a video with a trained WCS-Net: masks, hotspots, tracklets, overlay.

Examples:
  python tools/track.py --input clip.mp4 --workdir runs/stage2 --output out/clip
  python tools/track.py --input frames/ --workdir runs/stage2 --output out/two \\
      --click 300,200 --click 620,240
  python tools/track.py --input frames/ --workdir runs/stage2 --output out/box \\
      --box 120,60,420,380
  python tools/track.py --input DAVIS/JPEGImages/480p/blackswan --workdir runs/stage2 \\
      --output out/blackswan --mask DAVIS/Annotations/480p/blackswan/00000.png
  python tools/track.py --input clip.mp4 --workdir runs/stage2 --output out/fix \\
      --prompts prompts.json      # add, re-initialise or remove objects on any frame
  python tools/track.py --input clip.mp4 --backend onnx --weights export/ --output out/onnx
  python tools/track.py --input camera:0 --workdir runs/stage2 --output out/live --realtime
  python tools/track.py --input http://10.0.0.5:8080/video.mjpg --workdir runs/stage2 \\
      --output out/stream --click 320,240

--prompts FILE.json is a list of {"frame": F, "object": ID, "click": [X, Y]},
{"frame": F, "object": ID, "box": [X0, Y0, X1, Y1]}, {"frame": F, "object": ID,
"mask": "PATH.png"} or {"frame": F, "object": ID, "remove": true} (frames from 0 in
input order, ids 1..255; wcs_jax/inference/prompts.py). --click/--box/--mask are
shorthand for frame-0 prompts of objects 1..N. Without any prompt the first frame
starts automatically (--init auto); with --prompts alone, the objects are the
prompts' (tracking may start with none).

Ctrl-C (SIGINT) stops after the current frame: every output is complete and the exit
code is 130 ("interrupted": true in tracklets.json); the end of a live stream exits 0.

Writes OUT/masks/%05d.png (palette, ids 1..N), OUT/hotspots/%05d.png (8-bit),
OUT/tracklets.json and OUT/overlay.mp4 (see wcs_jax/inference/outputs.py); the policy
when an object is lost is in wcs_jax/inference/tracker.py.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from wcs_jax import cli
from wcs_jax.inference import first_frame
from wcs_jax.inference import prompts as prompts_lib
from wcs_jax.inference import session
from wcs_jax.inference.backend import BACKENDS
from wcs_jax.inference.backend import pipeline_threads
from wcs_jax.inference.outputs import OutputWriter
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io import live as live_io
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader
from wcs_jax.io.video import X264_PRESETS


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--input", required=True, metavar="SOURCE",
                      help="video file (anything FFmpeg decodes), folder of frames (jpg/png/bmp, "
                           "sorted by name), camera:N (a camera) or a stream URL (rtsp://, http:// "
                           "MJPEG, ...: anything OpenCV opens)")
  parser.add_argument("--workdir", metavar="RUN",
                      help="trained run (python -m wcs_jax.train); its last stage's latest "
                           "checkpoint gives EG-Net, Gaze2Mask-Net and WCS-Net, its config the "
                           "crop geometry (required with --backend jax)")
  parser.add_argument("--output", required=True, metavar="OUT", help="output folder (created)")
  parser.add_argument("--init", choices=(*first_frame.INITS, "none"),
                      help="how the first frame's objects are found: auto (EG-Net then "
                           "Gaze2Mask-Net: the most salient object), click, box, mask, or none "
                           "(objects only from --prompts); default: the kind of prompt given, "
                           "else none with --prompts, else auto")
  parser.add_argument("--click", type=cli.numbers(2, "--click"), nargs="+", action="extend",
                      metavar="X,Y", help="pixel (column, row) on an object of the first frame; "
                                          "one object per click, repeatable")
  parser.add_argument("--box", type=cli.numbers(4, "--box"), nargs="+", action="extend",
                      metavar="X0,Y0,X1,Y1", help="box around an object of the first frame "
                                                  "(pixel edges, X1/Y1 exclusive); one object "
                                                  "per box, repeatable")
  parser.add_argument("--mask", metavar="PNG",
                      help="first-frame mask: palette PNG (ids; they become objects 1..N in "
                           "increasing order) or binary PNG (one object)")
  parser.add_argument("--prompts", metavar="FILE.json",
                      help="prompts on any frame: add, re-initialise or remove objects (schema above)")
  parser.add_argument("--realtime", action="store_true",
                      help="live input: when the tracker is slower than the source, track the newest "
                           "frame and record the skipped ones in tracklets.json (default: every frame)")
  parser.add_argument("--backend", choices=BACKENDS, default="jax",
                      help="network runtime: jax (default, needs --workdir), torch (the "
                           "tools/convert_to_torch.py export, needs --weights) or onnx (its --onnx "
                           "graphs on ONNX Runtime, needs --weights)")
  parser.add_argument("--weights", metavar="DIR", help="exported weights for --backend torch or onnx")
  parser.add_argument("--torch-precision", choices=("float32", "bfloat16"), default="float32",
                      help="--backend torch: float32 (default; logits within 1e-4 of JAX) or "
                           "bfloat16 autocast (for CPUs with AMX; logits move by up to ~0.7, beyond the parity "
                           "tolerance)")
  parser.add_argument("--torch-graph", choices=("trace", "eager", "compile"), default="trace",
                      help="--backend torch: run WCS-Net's per-frame call as a torch.jit.trace graph "
                           "(default; same numbers as eager, less Python overhead), eagerly, or through "
                           "torch.compile (minutes to compile)")
  parser.add_argument("--torch-threads", type=int, default=0, metavar="N",
                      help="--backend torch: PyTorch intra-op threads (default 0: one per core but one, "
                           "which decodes frames and writes the outputs)")
  parser.add_argument("--onnx-provider", choices=("cpu", "openvino", "cuda", "tensorrt"), default="cpu",
                      help="--backend onnx: ONNX Runtime execution provider (default cpu); one this "
                           "onnxruntime lacks falls back to the next (tensorrt, cuda, cpu) with a note")
  parser.add_argument("--onnx-threads", type=int, default=0, metavar="N",
                      help="--backend onnx: ONNX Runtime intra-op threads (default 0: one per core but "
                           "one, as --torch-threads)")
  parser.add_argument("--max-frames", type=int, metavar="N",
                      help="track only the first N frames (default: all)")
  parser.add_argument("--no-overlay", action="store_true", help="do not write OUT/overlay.mp4")
  parser.add_argument("--overlay-preset", choices=X264_PRESETS, default=OutputWriter.OVERLAY_PRESET,
                      help=f"libx264 preset of OUT/overlay.mp4 (default {OutputWriter.OVERLAY_PRESET}: fast "
                           "enough to share 2 cores with the tracker; medium: about the same size on real "
                           "video, 3.5x slower to encode)")
  return parser


def _prompt_kind(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
  given = [name for name in ("click", "box", "mask") if getattr(args, name)]
  if len(given) > 1:
    parser.error(f"give one kind of prompt, got {' and '.join('--' + g for g in given)}")
  init = args.init or (given[0] if given else "none" if args.prompts else "auto")
  if init not in ("auto", "none") and not given:
    parser.error(f"--init {init} needs --{init}")
  if given and given[0] != init:
    parser.error(f"--{given[0]} given with --init {init}")
  return init


def run(args: argparse.Namespace, init: str, stop: threading.Event | None = None) -> session.Summary:
  """Tracks `args.input` into `args.output`; `stop` ends it after the current frame."""
  live = live_io.is_live(args.input)
  if args.realtime and not live:
    raise ValueError(f"--realtime is for a camera or a stream; --input {args.input} is a file or folder "
                     "(every frame of it is tracked)")
  later = prompts_lib.load(args.prompts) if args.prompts else []
  mask = mask_io.read_label_map(args.mask) if args.mask else None
  options = {"torch": {"precision": args.torch_precision, "graph": args.torch_graph,
                       "num_threads": args.torch_threads or pipeline_threads()},
             "onnx": {"provider": args.onnx_provider,
                      "num_threads": args.onnx_threads or pipeline_threads()}}.get(args.backend)
  tracker = Tracker.from_workdir(args.workdir, backend=args.backend, weights=args.weights,
                                 backend_options=options)
  if getattr(tracker.backend, "note", None):
    print(f"track.py: note: {tracker.backend.note}", file=sys.stderr)
  source = live_io.LiveSource(args.input, realtime=args.realtime) if live else FrameReader(args.input)
  with source:
    width, height = (source.width, source.height) if live else (source.info.width, source.info.height)
    num_frames = None if live else source.info.num_frames
    first = tracker.first_frame_prompts(width, height, init, clicks=args.click, boxes=args.box, mask=mask)
    prompts_lib.check([*first, *later], width, height, num_frames)
    return session.track_to_folder(
        tracker, source, args.output, init=init, clicks=args.click, boxes=args.box, mask=mask,
        prompts=later, indexed=live, skipped=source.skipped if live else None, stop=stop,
        fps=source.fps if live else source.info.fps, total=num_frames, max_frames=args.max_frames,
        overlay_video=not args.no_overlay, overlay_preset=args.overlay_preset,
        audio_from=None if live or source.path.is_dir() else source.path)


def main(argv: list[str] | None = None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  init = _prompt_kind(args, parser)
  cli.check_backend(parser, args)
  if args.max_frames is not None and args.max_frames < 1:
    parser.error(f"--max-frames must be >= 1, got {args.max_frames}")
  stop = threading.Event()
  interrupted = []

  def on_sigint(signum, frame):  # pylint: disable=unused-argument
    if stop.is_set():  # a second Ctrl-C: stop at once
      raise KeyboardInterrupt
    print("\ntrack.py: stopping after this frame (Ctrl-C again to abort)", file=sys.stderr)
    interrupted.append(True)
    stop.set()

  previous = signal.signal(signal.SIGINT, on_sigint) if threading.current_thread() is threading.main_thread() else None
  try:
    summary = run(args, init, stop)
  except (ValueError, OSError) as error:
    print(f"track.py: error: {error}", file=sys.stderr)
    return 1
  finally:
    if previous is not None:
      signal.signal(signal.SIGINT, previous)
  print(f"{summary.line()}; outputs in {args.output}{' (interrupted)' if interrupted else ''}")
  return 130 if interrupted else 0


if __name__ == "__main__":
  sys.exit(main())
