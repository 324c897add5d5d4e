"""One video in the browser app: its frames, the prompts, the tracking run, reframing, export.

The app (`tools/app.py`) is a view of a `Workspace`; nothing here imports Gradio, so the
loop can be driven and tested without a browser. A workspace lives in its own folder:

    DIR/frames/%05d.jpg        the video's frames, for display only (tracking reads the
                               source itself, as tools/track.py does)
    DIR/prompts.json           the prompts (the schema of ../shared/CONTRACTS.md, the file
                               `tools/track.py --prompts` takes); mask prompts point to
    DIR/prompt_masks/*.png     palette PNGs, one per mask prompt added
    DIR/tracked/               the prompts the last run tracked with: prompts.json, the
                               masks it names and init.txt (what export and `command` use)
    DIR/out/                   tools/track.py's outputs (`wcs_jax.inference.outputs`)
    DIR/out/reframed_WxH.mp4   tools/reframe.py's outputs, beside their .debug.mp4 and
                               .path.json / .path.png
    DIR/export.zip             everything of out/ and tracked/, for download

Tracking runs `session.track_to_folder` on the source with `init` ("auto" when the
automatic proposal was accepted, else "none") and the prompts, which is what
`tools/track.py --input SOURCE --init INIT --prompts DIR/prompts.json` runs (`command`), so
the masks are the same bit for bit. Tracking again after a correction on frame t tracks
the whole video again: frames before t come out as before (a prompt changes nothing
before its frame, `stream` module docstring).

Paths: a workspace reads only its own folder, uploads copied into it, and sources under
the allowed roots (`resolve_source`): a video file with a video file's extension (not a
playlist, which could name files elsewhere) or a folder whose images all lie under the
root; a path from the browser outside them is refused.
"""
from __future__ import annotations

import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from wcs_jax.inference import first_frame
from wcs_jax.inference import outputs
from wcs_jax.inference import prompts as prompts_lib
from wcs_jax.inference import session
from wcs_jax.inference.backend import BackendUnavailableError
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io import maps as map_io
from wcs_jax.io import masks as mask_io
from wcs_jax.io.video import FrameReader
from wcs_jax.io.video import list_image_files

_REPO = pathlib.Path(__file__).resolve().parents[2]
# Video files a path may name (a playlist such as .m3u8 or an FFmpeg concat list could
# lead FFmpeg to files outside the allowed roots).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv",
                    ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".y4m")
# Marker drawn on the frame view for a prompt (pixels).
_MARK_RADIUS = 6


class WorkspaceError(ValueError):
  """A user error in the app (one line, shown in the page)."""


def resolve_source(text: str, allowed_roots: Sequence[pathlib.Path]) -> pathlib.Path:
  """The video file or frame folder `text` names, if it lies under an allowed root.

  `text` is absolute or relative to the first root; symbolic links are resolved before
  the check, so a link cannot lead outside.

  Raises:
    WorkspaceError: no allowed root, a path outside them, or no such file or folder.
  """
  if not allowed_roots:
    raise WorkspaceError("opening a path needs --allowed-root DIR (or upload the video)")
  path = pathlib.Path(text.strip()).expanduser()
  if not path.is_absolute():
    path = allowed_roots[0] / path
  path = path.resolve()
  if not any(path.is_relative_to(root.resolve()) for root in allowed_roots):
    raise WorkspaceError(f"{text.strip()}: outside the allowed roots "
                         f"({', '.join(str(r) for r in allowed_roots)})")
  if not path.exists():
    raise WorkspaceError(f"{text.strip()}: no such video file or frame folder")
  root = next(r for r in allowed_roots if path.is_relative_to(r.resolve())).resolve()
  if path.is_dir():
    try:
      images = list_image_files(path)
    except ValueError as error:
      raise WorkspaceError(str(error)) from None
    outside = [p.name for p in images if not p.resolve().is_relative_to(root)]
    if outside:
      raise WorkspaceError(f"{text.strip()}: {outside[0]} links outside the allowed roots")
  elif path.suffix.lower() not in VIDEO_EXTENSIONS:
    raise WorkspaceError(f"{text.strip()}: expected a video file ({', '.join(VIDEO_EXTENSIONS)}) "
                         "or a folder of frames")
  return path


class Workspace:
  """The app's state for one video (module docstring).

  Args:
    tracker: the tracker (shared by every workspace of the app).
    folder: this workspace's folder (created).
    source: the video file or frame folder (already checked: `resolve_source`, or an
      upload copied into `folder`).
    lock: held while the tracker's networks run (one run at a time on the machine).

  Raises:
    WorkspaceError: a source that cannot be read as a video (named, with why).
  """

  def __init__(self, tracker: Tracker, folder: str | os.PathLike, source: str | os.PathLike,
               lock: threading.Lock | None = None):
    self.tracker = tracker
    self.folder = pathlib.Path(folder)
    self.source = pathlib.Path(source)
    self.lock = lock or threading.Lock()
    self.prompts: list[dict] = []
    self._history: list[tuple[dict, dict | None]] = []  # (added, the entry it replaced)
    self._masks_written = 0
    self.init = "none"
    self.decided = False  # accept_proposal was called
    self.stop = threading.Event()
    self._proposal: np.ndarray | None = None
    self.folder.mkdir(parents=True, exist_ok=True)
    frames_dir = self.folder / "frames"
    shutil.rmtree(frames_dir, ignore_errors=True)
    frames_dir.mkdir()
    try:
      with FrameReader(self.source) as reader:
        self.fps = reader.info.fps
        count = 0
        for count, frame in enumerate(reader, start=1):
          if frame.shape[:2] != (reader.info.height, reader.info.width):
            raise WorkspaceError(f"{self.source.name}: frame {count - 1} is {frame.shape[1]}x{frame.shape[0]}, "
                                 f"the first {reader.info.width}x{reader.info.height}")
          cv2.imwrite(str(frames_dir / f"{count - 1:05d}.jpg"), frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
        self.width, self.height = reader.info.width, reader.info.height
    except (ValueError, OSError) as error:  # FrameReader's errors name the file
      raise WorkspaceError(f"{self.source.name}: not a video this app can read ({error})") from None
    if count == 0:
      raise WorkspaceError(f"{self.source.name}: the video has no frames")
    self.num_frames = count

  # Frames and views.

  def frame(self, index: int) -> np.ndarray:
    """`[H, W, 3]` uint8 RGB frame `index` (the display copy)."""
    self._check_frame(index)
    return cv2.imread(str(self.folder / "frames" / f"{index:05d}.jpg"))[..., ::-1].copy()

  @property
  def output(self) -> pathlib.Path:
    return self.folder / "out"

  def tracked_frames(self) -> int:
    """Frames with masks in the last run (0 before any)."""
    masks = self.output / "masks"
    return len(list(masks.glob("*.png"))) if masks.is_dir() else 0

  def view(self, index: int, pending: Sequence[float] | None = None) -> np.ndarray:
    """Frame `index` as the page shows it: the last run's masks and hotspot tinted in
    (as in overlay.mp4), the automatic proposal on frame 0 while it awaits a decision,
    and a marker at each prompt of this frame (and at `pending`, a box's first corner)."""
    frame = self.frame(index)
    mask_path = self.output / "masks" / f"{index:05d}.png"
    labels = hotspot = None
    if mask_path.exists():
      hotspot_path = self.output / "hotspots" / f"{index:05d}.png"
      try:  # a run in progress may be writing them
        labels = mask_io.read_label_map(mask_path)
        hotspot = map_io.read_map(hotspot_path) if hotspot_path.exists() else np.zeros(frame.shape[:2], np.float32)
      except (ValueError, OSError):
        pass
    if labels is not None:
      image = outputs.overlay(frame, labels, hotspot)
    elif index == 0 and self._proposal is not None:
      image = outputs.overlay(frame, self._proposal.astype(np.uint8), np.zeros(frame.shape[:2], np.float32))
    else:
      image = frame
    image = np.ascontiguousarray(image)
    for entry in self.prompts:
      if entry["frame"] != index:
        continue
      colour = tuple(int(c) for c in mask_io.davis_palette()[entry["object"] % 256])
      if "click" in entry:
        x, y = (int(round(v)) for v in entry["click"])
        cv2.circle(image, (x, y), _MARK_RADIUS, colour, -1)
        cv2.circle(image, (x, y), _MARK_RADIUS, (255, 255, 255), 2)
      elif "box" in entry:
        x0, y0, x1, y1 = (int(round(v)) for v in entry["box"])
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, 3)
    if pending is not None:
      cv2.drawMarker(image, (int(round(pending[0])), int(round(pending[1]))), (255, 255, 255),
                     cv2.MARKER_CROSS, 4 * _MARK_RADIUS, 2)
    return image

  # The automatic proposal.

  def proposal(self) -> np.ndarray:
    """`[H, W]` bool: the first frame's most salient object (EG-Net, then Gaze2Mask-Net).

    Raises:
      WorkspaceError: the tracker has no first-frame networks (a run without them).
    """
    if self._proposal is None:
      try:
        with self.lock:
          initial = first_frame.automatic(self.frame0(), self.tracker.backend, self.tracker.config.click_sigma)
      except BackendUnavailableError as error:
        raise WorkspaceError(f"no automatic proposal: {error}") from None
      self._proposal = initial.probability >= 0.5
    return self._proposal

  def frame0(self) -> np.ndarray:
    """The source's first frame as tracking reads it (not the display copy)."""
    with FrameReader(self.source) as reader:
      return next(iter(reader))

  def accept_proposal(self, accept: bool) -> None:
    """Accepts the proposal as object 1 from frame 0 (`--init auto`) or discards it."""
    if accept and any(e["object"] == 1 and e["frame"] == 0 for e in self.prompts):
      raise WorkspaceError("object 1 already has a prompt on frame 0; remove it before accepting the proposal")
    if accept and self._proposal is None:
      raise WorkspaceError("there is no proposal to accept")
    self.init = "auto" if accept else "none"
    self._proposal = self._proposal if accept else None
    self.decided = True

  @property
  def proposal_pending(self) -> bool:
    """A proposal is drawn and awaits accept or discard."""
    return self._proposal is not None and not self.decided

  # Prompts.

  def object_ids(self) -> list[int]:
    """Every id that has a prompt (and 1 with the accepted proposal), increasing."""
    ids = {e["object"] for e in self.prompts if "remove" not in e}
    return sorted(ids | ({1} if self.init == "auto" else set()))

  def new_object_id(self) -> int:
    ids = self.object_ids()
    return max(ids, default=0) + 1

  def add_prompt(self, entry: dict, mask: np.ndarray | None = None) -> dict:
    """Adds one prompt of the file form (a mask prompt's mask given as `[H, W]` bool),
    replacing any earlier prompt of that object on that frame.

    Raises:
      WorkspaceError: the prompt or the prompts with it fail `prompts.check`.
    """
    entry = dict(entry)
    if mask is not None:
      if mask.shape != (self.height, self.width):
        raise WorkspaceError(f"the mask is {mask.shape[1]}x{mask.shape[0]}, the frames {self.width}x{self.height}")
      if not mask.any():
        raise WorkspaceError("the mask has no object pixels")
      self._masks_written += 1
      path = (self.folder / "prompt_masks"
              / f"{self._masks_written:04d}_frame{entry['frame']:05d}_object{entry['object']:03d}.png")
      path.parent.mkdir(exist_ok=True)
      mask_io.write_palette_png(path, mask.astype(np.uint8) * entry["object"])
      entry["mask"] = str(path.relative_to(self.folder))
    same = [e for e in self.prompts if (e["frame"], e["object"]) == (entry["frame"], entry["object"])]
    kept = [e for e in self.prompts if e not in same]
    try:
      self._check([*kept, entry])
    except WorkspaceError:
      if mask is not None:
        (self.folder / entry["mask"]).unlink()
      raise
    self._set_prompts([*kept, entry])
    self._history.append((entry, same[0] if same else None))
    return entry

  def undo(self) -> dict | None:
    """Takes back the prompt added last (restoring the one it replaced); returns it
    (None: nothing to undo)."""
    if not self._history:
      return None
    added, replaced = self._history.pop()
    self._set_prompts([e for e in self.prompts if e is not added] + ([replaced] if replaced else []))
    return added

  def _set_prompts(self, entries: list[dict]) -> None:
    self.prompts = sorted(entries, key=lambda e: (e["frame"], e["object"]))
    self._write_prompts()

  def _check(self, entries: list[dict]) -> None:
    try:
      parsed = prompts_lib.from_json(entries, self.folder, "prompt")
      first = self.tracker.first_frame_prompts(self.width, self.height, self.init)
      prompts_lib.check([*first, *parsed], self.width, self.height, self.num_frames)
    except (prompts_lib.PromptError, first_frame.InitialisationError) as error:
      raise WorkspaceError(str(error).replace("prompt entry ", "prompt ")) from None

  def _write_prompts(self, path: pathlib.Path | None = None) -> None:
    """Writes the prompts to `path` (default DIR/prompts.json) through a temporary file."""
    path = path or self.folder / "prompts.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(self.prompts, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)

  @property
  def tracked(self) -> pathlib.Path:
    return self.folder / "tracked"

  def command(self, model: Sequence[str] = ("--workdir", "RUN")) -> str:
    """The tools/track.py command that gives the last run's masks (its prompts as saved
    in DIR/tracked), `model` naming the networks (e.g. `--backend torch --weights DIR`)."""
    init = (self.tracked / "init.txt").read_text(encoding="utf-8").strip()
    parts = ["python", "tools/track.py", "--input", str(self.source), *model, "--output", "OUT", "--init", init]
    if json.loads((self.tracked / "prompts.json").read_text(encoding="utf-8")):
      parts += ["--prompts", str(self.tracked / "prompts.json")]
    return shlex.join(parts)

  def _save_tracked(self) -> None:
    """DIR/tracked: the prompts this run tracks with (and the masks they name)."""
    shutil.rmtree(self.tracked, ignore_errors=True)
    (self.tracked / "prompt_masks").mkdir(parents=True)
    for entry in self.prompts:
      if "mask" in entry:
        shutil.copyfile(self.folder / entry["mask"], self.tracked / entry["mask"])
    self._write_prompts(self.tracked / "prompts.json")
    (self.tracked / "init.txt").write_text(self.init + "\n", encoding="utf-8")

  # Tracking.

  def track(self, on_frame: Callable[[int], None] | None = None) -> session.Summary:
    """Tracks the whole video with the prompts into `output` (replacing the last run);
    `self.stop` ends it after the current frame, every output complete.

    Raises:
      WorkspaceError: no object to track, or prompts the tracker refuses.
    """
    if self.init == "none" and not self.prompts:
      raise WorkspaceError("no object to track: accept the proposal, or click, draw a box or load a mask")
    self._save_tracked()
    prompts = prompts_lib.load(self.tracked / "prompts.json")
    self.stop.clear()
    shutil.rmtree(self.output, ignore_errors=True)
    with self.lock, FrameReader(self.source) as reader:
      try:
        return session.track_to_folder(
            self.tracker, reader, self.output, init=self.init, prompts=prompts, stop=self.stop,
            fps=reader.info.fps, total=self.num_frames, progress=False, on_frame=on_frame,
            audio_from=None if self.source.is_dir() else self.source)
      except (prompts_lib.PromptError, first_frame.InitialisationError) as error:
        raise WorkspaceError(str(error)) from None

  def tracklets(self) -> dict | None:
    """The last run's tracklets.json (None before any run)."""
    path = self.output / "tracklets.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

  def timeline(self) -> tuple[list[dict], dict[int, list[int]]]:
    """Per frame and object of the last run: rows {"frame", "object", "area"}, and per
    object the frames on which it was lost."""
    rows, lost = [], {}
    data = self.tracklets() or {"frames": []}
    for entry in data["frames"]:
      for record in entry["objects"]:
        rows.append({"frame": entry["frame"], "object": f"object {record['id']}", "area": record["area"]})
        if record["lost"]:
          lost.setdefault(record["id"], []).append(entry["frame"])
    return rows, lost

  # Reframing and export.

  def reframe(self, aspect: str, zoom: float, smoothing: float) -> dict[str, pathlib.Path]:
    """Runs tools/reframe.py on the source with the last run's masks and hotspots.

    Returns:
      {"video", "debug", "path_png", "path_json"}.

    Raises:
      WorkspaceError: no tracking run yet, or reframe.py's error line.
    """
    if not self.tracked_frames():
      raise WorkspaceError("track first: reframing follows the tracked objects")
    name = "reframed_" + aspect.replace(":", "x") + ".mp4"
    video = self.output / name
    command = [sys.executable, str(_REPO / "tools" / "reframe.py"), "--input", str(self.source),
               "--masks-dir", str(self.output / "masks"), "--hotspots-dir", str(self.output / "hotspots"),
               "--aspect", aspect, "--zoom", str(zoom), "--smoothing-sigma", str(smoothing),
               "--output", str(video)]
    if self.source.is_dir() and self.fps is None:
      command += ["--fps", str(outputs.DEFAULT_FPS)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
      lines = [line for line in run.stderr.splitlines() if line.strip()]
      raise WorkspaceError(f"reframing failed: {lines[-1] if lines else f'exit code {run.returncode}'}")
    stem = video.with_suffix("")
    return {"video": video, "debug": stem.with_suffix(".debug.mp4"),
            "path_png": stem.with_suffix(".path.png"), "path_json": stem.with_suffix(".path.json")}

  def export(self) -> pathlib.Path:
    """DIR/export.zip: out/ (masks, hotspots, tracklets.json, overlay.mp4, reframed
    videos) and the last run's prompts (tracked/: prompts.json, prompt_masks/, init.txt)."""
    if not self.tracked_frames():
      raise WorkspaceError("track first: there is nothing to export")
    path = self.folder / "export.zip"
    temporary = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
      for file in sorted(self.output.rglob("*")):
        if file.is_file():
          archive.write(file, file.relative_to(self.output))
      for file in sorted(self.tracked.rglob("*")):
        if file.is_file():
          archive.write(file, file.relative_to(self.tracked))
    os.replace(temporary, path)
    return path

  def _check_frame(self, index: int) -> None:
    if not 0 <= index < self.num_frames:
      raise WorkspaceError(f"frame {index}: the video has frames 0..{self.num_frames - 1}")
