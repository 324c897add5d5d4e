"""Reframes videos to other aspect ratios around a tracked object and its hotspot.

The auto-zoom / retargeting application of WCS-Net: a virtual camera follows the
object's hotspot (the mask's centroid where no hotspot map is given) with a window
of the requested aspect, keeps the object's mask in view where it fits, moves
smoothly (temporal smoothing, dead zone, bounded pan speed and zoom rate) and never
leaves the frame (`wcs_jax/reframing/camera_path.py`). The video is cut into shots
(`wcs_jax/reframing/shots.py`) and each shot is planned on its own with a strategy
chosen for it (follow, steady, or letterbox over a blurred background where the
object cannot fit; `wcs_jax/reframing/strategies.py`).

Tracks come from one of two sources:
  --masks-dir DIR [--hotspots-dir DIR]   per-frame masks (palette or binary PNG, e.g.
      `tools/track.py`'s OUT/masks or DAVIS ground truth) and optional 8-bit hotspot
      maps (OUT/hotspots), one file per frame in sorted name order;
  --workdir RUN [--click X,Y | --box X0,Y0,X1,Y1]   run the tracker of a trained
      run on the input (automatic initialisation without --click/--box).

Input: a video file (anything FFmpeg decodes), a folder of frames, or a folder of
video files (a batch: with --masks-dir, the masks of VIDEO.mp4 are in DIR/VIDEO/).

Writes, for each video and aspect, OUT.mp4 (H.264, the source's audio, frame rate
and timestamps) and beside it OUT.debug.mp4 (the original with the window drawn and
the outside dimmed), OUT.path.json (per frame the window x, y (top-left), w, h in
source pixels and the zoom; the shots and their strategies), OUT.path.png (x, y and
zoom over time), OUT.keyframes.csv and OUT.ae.txt (the path as keyframes for an
editor: `wcs_jax/reframing/keyframes.py`). --output is OUT.mp4 for one video and one
aspect, else a folder that receives NAME_WxH.mp4 per video and aspect (clip_9x16.mp4).

Examples:
  python tools/reframe.py --input ../shared/data/davis2016/JPEGImages/480p/blackswan \\
      --masks-dir ../shared/data/davis2016/Annotations/480p/blackswan \\
      --aspect 9:16 --output runs/reframe/blackswan_9x16.mp4
  python tools/reframe.py --input clips/ --workdir runs/smoke --aspect 9:16,1:1 \\
      --output reframed/
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import sys
import time

import cv2
import numpy as np
from tqdm import tqdm

from wcs_jax import cli
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import DEFAULT_QUALITY, FrameReader, IMAGE_EXTENSIONS, list_image_files
from wcs_jax.reframing import keyframes
from wcs_jax.reframing.camera_path import CameraConfig, native_output_size
from wcs_jax.reframing.render import plot_camera_path, render_videos
from wcs_jax.reframing.shots import ShotConfig, ShotDetector
from wcs_jax.reframing.strategies import STRATEGIES, plan_video
from wcs_jax.reframing.subjects import (SubjectRule, check_ids_present, frame_subjects,
                                        parse_rule)
from wcs_jax.reframing.targets import Observation, observe

# Frame rate written where the input does not give one (image folders): DAVIS's.
DEFAULT_FPS = 24.0
# Files of a batch folder that are videos.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts")


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


def _aspects(text: str) -> list[tuple[float, float]]:
  aspects = []
  for part in text.split(","):
    aspect = _pair(part, ":", float, "--aspect")
    if not all(math.isfinite(v) for v in aspect) or min(aspect) <= 0:
      raise argparse.ArgumentTypeError(f"--aspect: expected positive W:H, got {part!r}")
    aspects.append(aspect)
  return aspects


def _size(text: str) -> tuple[int, int]:
  size = _pair(text.lower(), "x", int, "--size")
  if min(size) <= 0 or size[0] % 2 or size[1] % 2:
    raise argparse.ArgumentTypeError(
        f"--size: expected positive even WxH (H.264 needs even sizes), got {text!r}")
  return size


def _subject(text: str) -> SubjectRule:
  try:
    return parse_rule(text)
  except ValueError as error:
    raise argparse.ArgumentTypeError(str(error)) from None


def _shot_strategy(text: str) -> tuple[int, str]:
  shot, _, strategy = text.partition("=")
  if not shot.isdigit() or strategy not in STRATEGIES:
    raise argparse.ArgumentTypeError(
        f"--shot-strategy: expected K=STRATEGY with K a shot number (from 0) and STRATEGY "
        f"one of {', '.join(STRATEGIES)}, got {text!r}")
  return int(shot), strategy


def build_parser() -> argparse.ArgumentParser:
  defaults = CameraConfig()
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n\n")[0],
      epilog="Outputs beside OUT.mp4: OUT.debug.mp4, OUT.path.json, OUT.path.png, "
             "OUT.keyframes.csv, OUT.ae.txt.")
  parser.add_argument("--input", required=True,
                      help="video file (anything FFmpeg decodes), folder of frames "
                           "(jpg/png/bmp, sorted by name), or folder of video files (batch)")
  source = parser.add_argument_group("track source (one of --workdir, --masks-dir)")
  exclusive = source.add_mutually_exclusive_group(required=True)
  exclusive.add_argument("--workdir",
                         help="trained run whose tracker (wcs_jax.inference) tracks the "
                              "input")
  exclusive.add_argument("--masks-dir",
                         help="folder of per-frame masks, one per frame in sorted name "
                              "order: palette PNG (object ids) or binary PNG; for a batch, "
                              "one such folder per video, named as the video's file stem")
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
  source.add_argument("--object-id", type=_subject, action="append", default=[],
                      metavar="ID[+ID][@shotK|@A-B]",
                      help="follow this object (palette masks, or the tracker's objects), "
                           "the union of several (1+2), in one shot (@shot1) or a time "
                           "range in seconds (@4.5-9, @12-); repeatable, the last rule "
                           "that applies wins; default: every object")
  parser.add_argument("--aspect", type=_aspects, default=[(9.0, 16.0)], metavar="W:H[,W:H]",
                      help="aspect ratio(s) of the output, e.g. 9:16, 1:1, 4:5, 16:9, or "
                           "several at once: 9:16,1:1 (default 9:16)")
  parser.add_argument("--output", required=True, metavar="OUT.mp4|FOLDER",
                      help="reframed video (one input video, one aspect; the other files "
                           "are written beside it), else a folder for NAME_WxH.mp4 files")
  parser.add_argument("--size", type=_size, metavar="WxH",
                      help="output size, of the --aspect ratio (one aspect only); default: "
                           "the largest window of that aspect in the frame (zoom 1), "
                           "rounded to even")
  parser.add_argument("--fps", type=float,
                      help=f"output frame rate for frame folders (default {DEFAULT_FPS:g}); "
                           "a video file keeps its own rate and timestamps")
  parser.add_argument("--quality", type=int, default=DEFAULT_QUALITY, metavar="CRF",
                      help="H.264 constant rate factor, 0 (lossless) .. 51 (worst); 23 is "
                           "libx264's default (default %(default)s)")
  parser.add_argument("--no-debug", action="store_true",
                      help="skip the debug video")
  shots = parser.add_argument_group("shots (wcs_jax.reframing.shots, strategies)")
  shots.add_argument("--strategy", choices=("auto",) + STRATEGIES, default="auto",
                     help="camera of every shot: auto (per shot: letterbox where the object "
                          "does not fit at --min-zoom, steady where one window holds it, "
                          "else follow), follow, steady, letterbox (default auto)")
  shots.add_argument("--shot-strategy", type=_shot_strategy, action="append", default=[],
                     metavar="K=STRATEGY",
                     help="override the strategy of shot K (from 0, as in OUT.path.json); "
                          "repeatable")
  shots.add_argument("--no-shots", action="store_true",
                     help="treat the video as one shot (no cut detection)")
  shots.add_argument("--shot-threshold", type=float, default=ShotConfig().threshold,
                     help="smallest colour-histogram change (Bhattacharyya distance, 0..1) "
                          "that is a cut (default %(default)s)")
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


def _mask_of(label_map: np.ndarray, ids: tuple[int, ...] | None) -> np.ndarray:
  return label_map > 0 if ids is None else np.isin(label_map, ids)


def _ids_in(label_map: np.ndarray) -> set[int]:
  """The non-zero object ids of an integer label map (a histogram: no sort per frame)."""
  return {int(i) for i in np.flatnonzero(np.bincount(label_map.ravel()))} - {0}


def _observations_from_files(masks_dir: pathlib.Path, hotspots_dir: pathlib.Path | None,
                             subjects: list[tuple[int, ...] | None],
                             reader: FrameReader) -> tuple[list[Observation | None], set[int]]:
  """Observes each frame's mask file (and hotspot map); returns them and the ids present."""
  info = reader.info
  mask_files = list_image_files(masks_dir)
  if len(mask_files) != len(subjects):
    raise ValueError(f"{masks_dir}: {len(mask_files)} masks for {len(subjects)} frames "
                     f"in {reader.path}; expected one mask per frame")
  hotspot_files = {}
  if hotspots_dir is not None:
    hotspot_files = {p.stem: p for p in list_image_files(hotspots_dir)}
  observations, present = [], set()
  for mask_file, ids in tqdm(zip(mask_files, subjects), total=len(subjects),
                             desc="reading tracks", unit="frame", leave=False):
    label_map = mask_io.read_label_map(mask_file)
    present |= _ids_in(label_map)
    mask = _mask_of(label_map, ids)
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
  return observations, present


def _read_hotspot(path: pathlib.Path, shape: tuple[int, int]) -> np.ndarray:
  hotspot = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
  if hotspot is None:
    raise ValueError(f"{path}: not a readable hotspot map image")
  if hotspot.shape != shape:
    raise ValueError(f"{path}: hotspot map is {hotspot.shape[1]}x{hotspot.shape[0]}, the "
                     f"frames are {shape[1]}x{shape[0]}")
  return hotspot


def _observations_from_tracker(args: argparse.Namespace, tracker, reader: FrameReader,
                               subjects: list[tuple[int, ...] | None]
                               ) -> tuple[list[Observation | None], set[int]]:
  """Tracks the input with the run's tracker and observes each frame's mask and
  hotspot map (the hotspot outside the followed objects is ignored); returns them and
  the ids present."""
  init = "click" if args.click else "box" if args.box else "auto"
  results = tracker.track(reader, init=init, clicks=[args.click] if args.click else None,
                          boxes=[args.box] if args.box else None)
  observations, present = [], set()
  for result, ids in tqdm(zip(results, subjects), total=len(subjects), desc="tracking",
                          unit="frame", leave=False):
    label_map = np.asarray(result.mask)
    present |= _ids_in(label_map)
    mask = _mask_of(label_map, ids)
    hotspot = np.asarray(result.hotspot)
    observations.append(observe(mask, hotspot if ids is None else hotspot * mask))
  return observations, present


def output_paths(output: pathlib.Path) -> dict[str, pathlib.Path]:
  """OUT.mp4 and the files written beside it."""
  def beside(suffix):
    return output.with_name(output.stem + suffix)
  return {"video": output, "debug": beside(".debug.mp4"), "json": beside(".path.json"),
          "plot": beside(".path.png"), "csv": beside(".keyframes.csv"), "ae": beside(".ae.txt")}


def aspect_name(aspect: tuple[float, float]) -> str:
  """9:16 -> "9x16" (file names)."""
  return "x".join(f"{v:g}" for v in aspect)


@dataclasses.dataclass
class Job:
  """One input video and where its outputs go (per aspect: OUT.mp4)."""
  input: pathlib.Path
  outputs: dict[tuple[float, float], pathlib.Path]
  masks_dir: pathlib.Path | None


def plan_jobs(args: argparse.Namespace) -> list[Job]:
  """The videos to reframe and their outputs (module docstring: --input, --output)."""
  source, output = pathlib.Path(args.input), pathlib.Path(args.output)
  masks = pathlib.Path(args.masks_dir) if args.masks_dir else None
  videos = []
  if source.is_dir() and not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in source.iterdir()):
    videos = sorted(p for p in source.iterdir()
                    if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    if not videos:
      raise ValueError(f"{source}: expected frames ({', '.join(IMAGE_EXTENSIONS)}) or video "
                       f"files ({', '.join(VIDEO_EXTENSIONS)}), found neither")
  if not videos and len(args.aspect) == 1 and output.suffix.lower() == ".mp4":
    return [Job(source, {args.aspect[0]: output}, masks)]
  if output.suffix.lower() == ".mp4":
    raise ValueError(f"--output {output}: with several videos or aspects, expected a folder "
                     "(NAME_WxH.mp4 files are written into it)")
  if output.suffix.lower() in VIDEO_EXTENSIONS or output.suffix.lower() in IMAGE_EXTENSIONS:
    raise ValueError(f"--output {output}: expected OUT.mp4 (H.264 in MP4 is what is written) or a folder, "
                     f"got a {output.suffix} name")
  jobs = []
  for video in videos or [source]:
    name = video.stem if videos or source.is_file() else source.name
    jobs.append(Job(video, {a: output / f"{name}_{aspect_name(a)}.mp4" for a in args.aspect},
                    masks / video.stem if videos and masks else masks))
  return jobs


def reframe_video(args: argparse.Namespace, job: Job, tracker=None) -> list[str]:
  """Reframes one video to every aspect; returns one summary line per output."""
  config_args = dict(zoom=args.zoom, min_zoom=args.min_zoom, margin=args.margin,
                     smoothing_sigma=args.smoothing_sigma, dead_zone=args.dead_zone,
                     easing_sigma=args.easing_sigma, max_pan_speed=args.max_pan_speed,
                     max_zoom_rate=args.max_zoom_rate)
  lines = []
  with FrameReader(job.input) as reader:
    start = time.perf_counter()
    frame_size = (reader.info.width, reader.info.height)
    is_video = not reader.path.is_dir()
    fps = reader.info.fps if is_video and reader.info.fps else args.fps or DEFAULT_FPS
    detector = ShotDetector(ShotConfig(threshold=args.shot_threshold))
    for frame in tqdm(reader, total=reader.info.num_frames, desc="finding shots",
                      unit="frame", leave=False):
      detector.update(frame)
    shots = [(0, len(detector.changes))] if args.no_shots else detector.shots()
    for shot, _ in args.shot_strategy:
      if shot >= len(shots):
        raise ValueError(f"--shot-strategy {shot}=...: {job.input} has {len(shots)} shot(s) "
                         f"(0..{len(shots) - 1})")
    strategies = [args.strategy] * len(shots)
    for shot, strategy in args.shot_strategy:
      strategies[shot] = strategy
    subjects = frame_subjects(args.object_id, shots, fps)
    if tracker is not None:
      observations, present = _observations_from_tracker(args, tracker, reader, subjects)
      source = f"the tracked {job.input}"
    else:
      observations, present = _observations_from_files(
          job.masks_dir, pathlib.Path(args.hotspots_dir) if args.hotspots_dir else None,
          subjects, reader)
      source = str(job.masks_dir)
    check_ids_present(args.object_id, present, source)
    if len(observations) != len(subjects):
      raise ValueError(f"{job.input}: the tracker gave {len(observations)} frames of "
                       f"{len(subjects)}")
    if not any(o is not None for o in observations):
      print(f"warning: {job.input}: the object is in no frame; the window stays at the "
            "frame's centre", file=sys.stderr)
    for aspect, output in job.outputs.items():
      config = CameraConfig(aspect=aspect, **config_args)
      path, chosen = plan_video(observations, frame_size, config, shots, strategies)
      paths = output_paths(output)
      output.parent.mkdir(parents=True, exist_ok=True)
      description = path.to_dict(config)
      description["fps"] = fps
      description["shots"] = [{"shot": k, "start": a, "end": b, "strategy": s}
                              for k, ((a, b), s) in enumerate(zip(shots, chosen))]
      paths["json"].write_text(json.dumps(description, indent=1))
      plot_camera_path(path, paths["plot"])
      size = args.size or native_output_size(frame_size, aspect)
      keyframes.write_csv(paths["csv"], path, shots, chosen, fps)
      keyframes.write_after_effects(paths["ae"], path, size, fps)
      frames = tqdm(reader.timed() if is_video else reader, total=len(observations),
                    desc=f"rendering {aspect_name(aspect)}", unit="frame", leave=False)
      count = render_videos(frames, path, observations, output, size, fps,
                            None if args.no_debug else paths["debug"], quality=args.quality,
                            audio_from=job.input if is_video else None)
      seconds = time.perf_counter() - start
      start = time.perf_counter()
      counts = {s: chosen.count(s) for s in STRATEGIES if s in chosen}
      lines.append(
          f"{count} frames {frame_size[0]}x{frame_size[1]} -> {size[0]}x{size[1]}, "
          f"{len(shots)} shot(s) (" + ", ".join(f"{n} {s}" for s, n in counts.items())
          + f") in {seconds:.1f} s ({count / seconds:.1f} frames/s); wrote {output}")
  return lines


def main(argv: list[str] | None = None) -> None:
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.workdir is None and (args.click or args.box):
    parser.error("--click and --box need --workdir (they initialise the tracker)")
  if args.masks_dir is None and args.hotspots_dir:
    parser.error("--hotspots-dir needs --masks-dir (the tracker makes its own hotspots)")
  if args.click and args.box:
    parser.error("give --click or --box, not both")
  if not 0 <= args.quality <= 51:
    parser.error(f"--quality: expected a CRF in 0..51, got {args.quality}")
  if not 0 < args.shot_threshold <= 1:
    parser.error(f"--shot-threshold: expected a distance in (0, 1], got {args.shot_threshold}")
  try:
    CameraConfig(aspect=args.aspect[0], zoom=args.zoom, min_zoom=args.min_zoom,
                 margin=args.margin, smoothing_sigma=args.smoothing_sigma,
                 dead_zone=args.dead_zone, easing_sigma=args.easing_sigma,
                 max_pan_speed=args.max_pan_speed, max_zoom_rate=args.max_zoom_rate)
  except ValueError as error:
    parser.error(str(error))
  if args.size is not None:
    if len(args.aspect) > 1:
      parser.error("--size needs a single --aspect")
    width, height = args.size
    aspect = args.aspect[0]
    if abs(width / height - aspect[0] / aspect[1]) > 2 / height:
      parser.error(f"--size {width}x{height} is not of --aspect {aspect[0]:g}:{aspect[1]:g}")
  try:
    jobs = plan_jobs(args)
  except (OSError, ValueError) as error:
    sys.exit(f"reframe.py: error: {error}")
  tracker = None
  if args.workdir is not None:
    # Imported here so that --help and --masks-dir stay free of JAX.
    from wcs_jax import inference  # pylint: disable=import-outside-toplevel
    try:
      tracker = inference.Tracker.from_workdir(args.workdir)
    except (OSError, ValueError) as error:
      sys.exit(f"reframe.py: error: {error}")
  failures = []
  batch = len(jobs) > 1
  for job in tqdm(jobs, desc="videos", unit="video", disable=not batch):
    try:
      for line in reframe_video(args, job, tracker):
        print(line)
    except (OSError, ValueError) as error:
      if not batch:
        sys.exit(f"reframe.py: error: {error}")
      print(f"reframe.py: error: {job.input}: {error}", file=sys.stderr)
      failures.append((job.input, str(error)))
  if failures:
    print(f"reframe.py: {len(jobs) - len(failures)} of {len(jobs)} videos reframed; failed:",
          file=sys.stderr)
    for video, error in failures:
      print(f"  {video}: {error}", file=sys.stderr)
    sys.exit(1)
  if batch:
    print(f"{len(jobs)} videos reframed into {args.output}")


if __name__ == "__main__":
  main()
