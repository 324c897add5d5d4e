"""Reframes a video to another aspect ratio around a tracked object and its hotspot.

The auto-zoom / retargeting application of WCS-Net: a virtual camera follows the
object's hotspot (the mask's centroid where no hotspot map is given) with a window
of the requested aspect, keeps the object's mask in view where it fits, moves
smoothly (temporal smoothing, dead zone, bounded pan speed and zoom rate) and never
leaves the frame. The method is in `wcs_jax/reframing/camera_path.py`.

Tracks come from one of two sources:
  --masks-dir DIR [--hotspots-dir DIR]   per-frame masks (palette or binary PNG, e.g.
      `tools/track.py`'s OUT/masks or DAVIS ground truth) and optional 8-bit hotspot
      maps (OUT/hotspots), one file per frame in sorted name order;
  --workdir RUN [--click X,Y | --box X0,Y0,X1,Y1]   run the tracker of a trained
      run on the input (automatic initialisation without --click/--box).

Writes, for --output OUT.mp4: OUT.mp4 (the reframed video), OUT.debug.mp4 (the
original with the window drawn and the outside dimmed), OUT.path.json (per frame the
window x, y (top-left), w, h in source pixels and the zoom) and OUT.path.png (x, y
and zoom over time).

Example:
  python tools/reframe.py --input ../shared/data/davis2016/JPEGImages/480p/blackswan \\
      --masks-dir ../shared/data/davis2016/Annotations/480p/blackswan \\
      --aspect 9:16 --output runs/reframe/blackswan_9x16.mp4
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import cv2
import numpy as np
from tqdm import tqdm

from wcs_jax import cli
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader, list_image_files
from wcs_jax.reframing.camera_path import (CameraConfig, native_output_size,
                                           plan_camera_path)
from wcs_jax.reframing.render import plot_camera_path, render_videos
from wcs_jax.reframing.targets import Observation, observe

# Frame rate written where the input does not give one (image folders): DAVIS's.
DEFAULT_FPS = 24.0


def _pair(text: str, separator: str, kind, flag: str) -> tuple:
  parts = text.split(separator)
  try:
    values = tuple(kind(p) for p in parts)
  except ValueError:
    values = ()
  if len(values) != 2:
    raise argparse.ArgumentTypeError(
        f"{flag}: expected two numbers as A{separator}B, got {text!r}")
  return values


def _aspect(text: str) -> tuple[float, float]:
  aspect = _pair(text, ":", float, "--aspect")
  if min(aspect) <= 0:
    raise argparse.ArgumentTypeError(f"--aspect: expected positive W:H, got {text!r}")
  return aspect


def _size(text: str) -> tuple[int, int]:
  size = _pair(text.lower(), "x", int, "--size")
  if min(size) <= 0 or size[0] % 2 or size[1] % 2:
    raise argparse.ArgumentTypeError(
        f"--size: expected positive even WxH (the mp4 encoder needs even sizes), got {text!r}")
  return size


def build_parser() -> argparse.ArgumentParser:
  defaults = CameraConfig()
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n\n")[0],
      epilog="Outputs beside OUT.mp4: OUT.debug.mp4, OUT.path.json, OUT.path.png.")
  parser.add_argument("--input", required=True,
                      help="video file (anything OpenCV decodes) or folder of frames "
                           "(jpg/png/bmp, sorted by name)")
  source = parser.add_argument_group("track source (one of --workdir, --masks-dir)")
  exclusive = source.add_mutually_exclusive_group(required=True)
  exclusive.add_argument("--workdir",
                         help="trained run whose tracker (wcs_jax.inference) tracks the "
                              "input")
  exclusive.add_argument("--masks-dir",
                         help="folder of per-frame masks, one per frame in sorted name "
                              "order: palette PNG (object ids) or binary PNG")
  source.add_argument("--click", type=cli.numbers(2, "--click"), metavar="X,Y",
                      help="with --workdir: initialise the tracker on the object at "
                           "this pixel of the first frame")
  source.add_argument("--box", type=cli.numbers(4, "--box"), metavar="X0,Y0,X1,Y1",
                      help="with --workdir: initialise the tracker on the object in "
                           "this box of the first frame")
  source.add_argument("--hotspots-dir",
                      help="with --masks-dir: folder of hotspot maps (8-bit PNG), same "
                           "file names as the masks; without it the mask's centroid is "
                           "the focus")
  source.add_argument("--object-id", type=int,
                      help="follow the object of this id (palette masks, or the tracker's "
                           "objects); default: every non-zero pixel is the object")
  parser.add_argument("--aspect", type=_aspect, default=(9.0, 16.0), metavar="W:H",
                      help="aspect ratio of the output, e.g. 9:16, 1:1, 4:5, 16:9 (default 9:16)")
  parser.add_argument("--output", required=True, metavar="OUT.mp4",
                      help="reframed video; the debug video, path JSON and plot are "
                           "written beside it")
  parser.add_argument("--size", type=_size, metavar="WxH",
                      help="output size, of the --aspect ratio; default: the largest "
                           "window of that aspect in the frame (zoom 1), rounded to even")
  parser.add_argument("--fps", type=float,
                      help=f"output frame rate; default: the input's, or {DEFAULT_FPS:g} "
                           "for a frame folder")
  parser.add_argument("--no-debug", action="store_true",
                      help="skip the debug video")
  camera = parser.add_argument_group("camera (wcs_jax.reframing.camera_path.CameraConfig)")
  camera.add_argument("--zoom", type=float, default=defaults.zoom,
                      help="magnification relative to the largest window of the aspect: "
                           "1 = that window, 2 = half its width and height "
                           "(default %(default)s)")
  camera.add_argument("--min-zoom", type=float, default=defaults.min_zoom,
                      help="zoom out at most to this to keep the object in view "
                           "(= --zoom fixes the zoom) (default %(default)s)")
  camera.add_argument("--margin", type=float, default=defaults.margin,
                      help="space kept between the object's box and the window edge, "
                           "fraction of the window size per side (default %(default)s)")
  camera.add_argument("--smoothing-sigma", type=float, default=defaults.smoothing_sigma,
                      help="zero-lag Gaussian smoothing of the targets, sigma in frames "
                           "(default %(default)s)")
  camera.add_argument("--dead-zone", type=float, default=defaults.dead_zone,
                      help="the camera holds while the target stays within this fraction "
                           "of the window size from its centre (default %(default)s)")
  camera.add_argument("--easing-sigma", type=float, default=defaults.easing_sigma,
                      help="Gaussian after the dead zone so pans start and stop "
                           "gradually, sigma in frames (default %(default)s)")
  camera.add_argument("--max-pan-speed", type=float, default=defaults.max_pan_speed,
                      help="largest movement of the window centre per frame and axis, "
                           "fraction of the frame's longer side (default %(default)s)")
  camera.add_argument("--max-zoom-rate", type=float, default=defaults.max_zoom_rate,
                      help="largest change of ln(zoom) per frame; at most "
                           "ln(1 + 2 max-pan-speed) (default %(default)s)")
  return parser


def load_observations(args: argparse.Namespace, reader: FrameReader) -> list[Observation | None]:
  """The track source: the target of every frame, from files or from the tracker."""
  if args.workdir is not None:
    return _observations_from_tracker(args, reader)
  return _observations_from_files(pathlib.Path(args.masks_dir),
                                  pathlib.Path(args.hotspots_dir) if args.hotspots_dir else None,
                                  args.object_id, reader)


def _observations_from_files(masks_dir: pathlib.Path, hotspots_dir: pathlib.Path | None,
                             object_id: int | None,
                             reader: FrameReader) -> list[Observation | None]:
  info = reader.info
  mask_files = list_image_files(masks_dir)
  # A folder's frame count is exact; a video container's may not be, so a video's
  # count is checked while rendering, against the frames actually decoded.
  if reader.path.is_dir() and len(mask_files) != info.num_frames:
    raise ValueError(f"{masks_dir}: {len(mask_files)} masks for {info.num_frames} frames "
                     f"in {reader.path}; expected one mask per frame")
  hotspot_files = {}
  if hotspots_dir is not None:
    hotspot_files = {p.stem: p for p in list_image_files(hotspots_dir)}
  observations = []
  for mask_file in tqdm(mask_files, desc="reading tracks", unit="frame", leave=False):
    if object_id is None:
      mask = mask_io.read_binary_mask(mask_file)
    else:
      mask = mask_io.read_label_map(mask_file) == object_id
    if mask.shape != (info.height, info.width):
      raise ValueError(f"{mask_file}: mask is {mask.shape[1]}x{mask.shape[0]}, the frames "
                       f"are {info.width}x{info.height}")
    hotspot = None
    if hotspots_dir is not None:
      if mask_file.stem not in hotspot_files:
        raise FileNotFoundError(f"{hotspots_dir}: no hotspot map named {mask_file.stem}.* "
                                f"for mask {mask_file}")
      hotspot = _read_hotspot(hotspot_files[mask_file.stem], mask.shape)
    observations.append(observe(mask, hotspot))
  return observations


def _read_hotspot(path: pathlib.Path, shape: tuple[int, int]) -> np.ndarray:
  hotspot = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
  if hotspot is None:
    raise ValueError(f"{path}: not a readable hotspot map image")
  if hotspot.shape != shape:
    raise ValueError(f"{path}: hotspot map is {hotspot.shape[1]}x{hotspot.shape[0]}, the "
                     f"frames are {shape[1]}x{shape[0]}")
  return hotspot


def _observations_from_tracker(args: argparse.Namespace,
                               reader: FrameReader) -> list[Observation | None]:
  """Tracks the input with the run's tracker (`wcs_jax.inference.Tracker`) and observes
  each frame's mask and hotspot map.

  The tracker is imported here, not at the top, so that `--help` and `--masks-dir`
  stay free of JAX.
  """
  from wcs_jax import inference  # pylint: disable=import-outside-toplevel
  tracker = inference.Tracker.from_workdir(args.workdir)
  init = "click" if args.click else "box" if args.box else "auto"
  results = tracker.track(reader, init=init, clicks=[args.click] if args.click else None,
                          boxes=[args.box] if args.box else None)
  observations = []
  for result in tqdm(results, desc="tracking", unit="frame", leave=False):
    label_map = np.asarray(result.mask)
    mask = label_map > 0 if args.object_id is None else label_map == args.object_id
    observations.append(observe(mask, np.asarray(result.hotspot)))
  return observations


def output_paths(output: pathlib.Path) -> dict[str, pathlib.Path]:
  """OUT.mp4 and the files written beside it."""
  def beside(suffix):
    return output.with_name(output.stem + suffix)
  return {"video": output, "debug": beside(".debug.mp4"), "json": beside(".path.json"),
          "plot": beside(".path.png")}


def main(argv: list[str] | None = None) -> None:
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.workdir is None and (args.click or args.box):
    parser.error("--click and --box need --workdir (they initialise the tracker)")
  if args.masks_dir is None and args.hotspots_dir:
    parser.error("--hotspots-dir needs --masks-dir (the tracker makes its own hotspots)")
  if args.click and args.box:
    parser.error("give --click or --box, not both")
  output = pathlib.Path(args.output)
  if output.suffix.lower() != ".mp4":
    parser.error(f"--output: expected a .mp4 file name, got {args.output}")
  try:
    config = CameraConfig(aspect=args.aspect, zoom=args.zoom, min_zoom=args.min_zoom,
                          margin=args.margin, smoothing_sigma=args.smoothing_sigma,
                          dead_zone=args.dead_zone, easing_sigma=args.easing_sigma,
                          max_pan_speed=args.max_pan_speed,
                          max_zoom_rate=args.max_zoom_rate)
  except ValueError as error:
    parser.error(str(error))
  if args.size is not None:
    width, height = args.size
    if abs(width / height - args.aspect[0] / args.aspect[1]) > 2 / height:
      parser.error(f"--size {width}x{height} is not of --aspect "
                   f"{args.aspect[0]:g}:{args.aspect[1]:g}")

  try:
    start = time.perf_counter()
    with FrameReader(args.input) as reader:
      frame_size = (reader.info.width, reader.info.height)
      observations = load_observations(args, reader)
      if not any(o is not None for o in observations):
        print("warning: the object is in no frame; the window stays at the frame's "
              "centre", file=sys.stderr)
      path = plan_camera_path(observations, frame_size, config)
      paths = output_paths(output)
      output.parent.mkdir(parents=True, exist_ok=True)
      paths["json"].write_text(json.dumps(path.to_dict(config), indent=1))
      plot_camera_path(path, paths["plot"])
      size = args.size or native_output_size(frame_size, args.aspect)
      fps = args.fps or reader.info.fps or DEFAULT_FPS
      frames = tqdm(reader, total=len(observations), desc="rendering", unit="frame")
      count = render_videos(frames, path, observations, output, size, fps,
                            None if args.no_debug else paths["debug"])
  except (OSError, ValueError) as error:
    sys.exit(f"reframe.py: error: {error}")
  seconds = time.perf_counter() - start
  written = [paths["video"]] + ([] if args.no_debug else [paths["debug"]])
  print(f"{count} frames {frame_size[0]}x{frame_size[1]} -> {size[0]}x{size[1]} in "
        f"{seconds:.1f} s ({count / seconds:.1f} frames/s); wrote "
        + ", ".join(str(p) for p in written + [paths["json"], paths["plot"]]))


if __name__ == "__main__":
  main()
