"""A local browser app for the whole loop: open a video, prompt, track, correct, reframe, export.

Examples:
  python tools/app.py --workdir runs/stage2            # then open http://127.0.0.1:7860
  python tools/app.py --backend torch --weights export/ --allowed-root ~/videos --port 8080

Open a video by uploading it or by a path under --allowed-root (a video file or a folder
of frames). Frame 0 shows the automatic proposal (EG-Net, then Gaze2Mask-Net) to accept
or discard. Click on an object (or draw a box with two clicks, or load a mask) to add it
or, with its id chosen, to correct it on any frame; then track (progress, cancel), scrub
through the result, reframe it to another aspect and export everything as a zip.

The app is a view of `wcs_jax/app/workspace.py`: tracking runs what `tools/track.py
--prompts` runs, and the page shows that command. It serves on 127.0.0.1 unless --host
says otherwise, and reads only uploads, its --data-dir and what lies under --allowed-root.
"""
from __future__ import annotations

import argparse
import itertools
import os
import pathlib
import shutil
import sys
import threading
import time

# Before Gradio is imported: nothing leaves the machine (no usage statistics, no hub).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gradio as gr  # noqa: E402  pylint: disable=wrong-import-position
import numpy as np  # noqa: E402  pylint: disable=wrong-import-position
import pandas as pd  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from wcs_jax.app.workspace import Workspace  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.app.workspace import WorkspaceError  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.app.workspace import resolve_source  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.inference.backend import BACKENDS  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.inference.tracker import Tracker  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.reframing.camera_path import CameraConfig  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.io import masks as mask_io  # noqa: E402  pylint: disable=wrong-import-position

NEW = "new object"
TOOLS = ("click", "box", "remove")
ASPECTS = ("9:16", "1:1", "4:5", "16:9", "4:3")
_COUNTER = itertools.count(1)


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", metavar="RUN", help="trained run (required with --backend jax)")
  parser.add_argument("--backend", choices=BACKENDS, default="jax",
                      help="network runtime: jax (default, needs --workdir) or torch (needs --weights)")
  parser.add_argument("--weights", metavar="DIR", help="exported weights for --backend torch")
  parser.add_argument("--host", default="127.0.0.1",
                      help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0 "
                           "serves every network the machine is on)")
  parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
  parser.add_argument("--allowed-root", action="append", default=[], metavar="DIR", type=pathlib.Path,
                      help="a folder whose videos and frame folders can be opened by path "
                           "(repeatable; default: none, uploads only)")
  parser.add_argument("--data-dir", type=pathlib.Path, default=pathlib.Path("app_data"), metavar="DIR",
                      help="where uploads, frames, outputs and exports go (default ./app_data)")
  parser.add_argument("--max-upload", default="4gb", metavar="SIZE",
                      help="largest upload, e.g. 500mb or 4gb (default 4gb)")
  return parser


class App:
  """The page's handlers over one shared tracker; each browser session has its workspace."""

  def __init__(self, tracker: Tracker, data_dir: pathlib.Path, allowed_roots: list[pathlib.Path],
               workdir: str | None):
    self.tracker = tracker
    self.data_dir = data_dir
    self.allowed_roots = allowed_roots
    self.workdir = workdir or "RUN"
    self.lock = threading.Lock()

  # Opening.

  def _open(self, source: pathlib.Path, folder: pathlib.Path):
    workspace = Workspace(self.tracker, folder, source, self.lock)
    try:
      workspace.proposal()
      note = ("The automatic proposal (EG-Net, then Gaze2Mask-Net) is drawn on frame 0: accept it as "
              "object 1, or discard it and click on the object.")
    except WorkspaceError as error:
      note = f"{error}; click on the object."
    status = (f"Opened **{source.name}**: {workspace.num_frames} frames, {workspace.width}x{workspace.height}. "
              + note)
    return self._refresh(workspace, 0, status) + [gr.Slider(minimum=0, maximum=max(workspace.num_frames - 1, 1),
                                                            value=0, step=1, interactive=workspace.num_frames > 1)]

  def open_path(self, text: str, workspace):
    try:
      source = resolve_source(text or "", self.allowed_roots)
      return self._open(source, self._new_folder(source.name))
    except WorkspaceError as error:
      return self._error(workspace, error) + [gr.Slider()]

  def open_upload(self, path: str | None, workspace):
    if not path:
      return self._error(workspace, "no file was uploaded") + [gr.Slider()]
    upload = pathlib.Path(path)
    folder = self._new_folder(upload.stem)
    try:
      if upload.stat().st_size == 0:
        raise WorkspaceError(f"{upload.name}: the file is empty")
      source = folder / "upload" / upload.name
      source.parent.mkdir(parents=True)
      shutil.copyfile(upload, source)
      return self._open(source, folder)
    except WorkspaceError as error:
      shutil.rmtree(folder, ignore_errors=True)
      return self._error(workspace, error) + [gr.Slider()]

  def _new_folder(self, name: str) -> pathlib.Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60] or "video"
    return self.data_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(_COUNTER)}-{safe}"

  # Prompts.

  def decide_proposal(self, accept: bool, workspace, index):
    if workspace is None:
      return self._error(workspace, "open a video first")
    try:
      workspace.accept_proposal(accept)
    except WorkspaceError as error:
      return self._error(workspace, error, index)
    status = "Proposal accepted as object 1." if accept else "Proposal discarded: click on the object."
    return self._refresh(workspace, index, status, selected="1" if accept else NEW)

  def select(self, event: gr.SelectData, workspace, index, choice, tool, corner):
    """A click on the frame: a click prompt, a box corner, or a remove."""
    if workspace is None:
      return self._error(workspace, "open a video first") + [None]
    x, y = (float(v) for v in event.index)
    object_id = workspace.new_object_id() if choice == NEW else int(choice)
    entry = {"frame": int(index), "object": object_id}
    if tool == "box":
      if corner is None:
        return self._refresh(workspace, index, f"Box for object {object_id}: click the opposite corner.",
                             selected=choice, pending=(x, y)) + [(x, y)]
      (x0, y0), (x1, y1) = corner, (x, y)
      entry["box"] = [min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1]
    elif tool == "remove":
      if choice == NEW:
        return self._error(workspace, "choose the object to remove", index) + [None]
      entry["remove"] = True
    else:
      entry["click"] = [x, y]
    try:
      workspace.add_prompt(entry)
    except WorkspaceError as error:
      return self._error(workspace, error, index) + [None]
    verb = "removed from" if tool == "remove" else "prompted on"
    return self._refresh(workspace, index, f"Object {object_id} {verb} frame {int(index)}. Track to see it.",
                         selected=str(object_id)) + [None]

  def load_mask(self, path, id_in_file, workspace, index, choice):
    if workspace is None:
      return self._error(workspace, "open a video first")
    try:
      if not path:
        raise WorkspaceError("choose a mask PNG first")
      try:
        labels = mask_io.read_label_map(path)
      except (ValueError, OSError) as error:
        raise WorkspaceError(f"{pathlib.Path(path).name}: {error}") from None
      ids = [int(i) for i in np.unique(labels) if i]
      wanted = int(id_in_file) if id_in_file else (ids[0] if len(ids) == 1 else None)
      if wanted is None or wanted not in ids:
        raise WorkspaceError(f"{pathlib.Path(path).name} holds ids {ids}: give the id to use")
      object_id = workspace.new_object_id() if choice == NEW else int(choice)
      workspace.add_prompt({"frame": int(index), "object": object_id}, mask=labels == wanted)
    except WorkspaceError as error:
      return self._error(workspace, error, index)
    return self._refresh(workspace, index, f"Object {object_id}: mask on frame {int(index)}.",
                         selected=str(object_id))

  def undo(self, workspace, index):
    if workspace is None:
      return self._error(workspace, "open a video first")
    undone = workspace.undo()
    return self._refresh(workspace, index, f"Undone: {undone}." if undone else "Nothing to undo.")

  # Tracking.

  def track(self, workspace, index, progress=gr.Progress()):
    """Tracks in a thread; yields the progress line twice a second."""
    if workspace is None:
      yield self._error(workspace, "open a video first") + [gr.LinePlot(), ""]
      return
    done, result, failure = [0], [], []
    start = time.perf_counter()

    def run():
      try:
        result.append(workspace.track(on_frame=lambda i: done.__setitem__(0, done[0] + 1)))
      except (WorkspaceError, ValueError, OSError) as error:
        failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    total = workspace.num_frames
    while thread.is_alive():
      thread.join(0.5)
      elapsed = time.perf_counter() - start
      fps = done[0] / elapsed if elapsed > 0 else 0.0
      eta = f", ETA {(total - done[0]) / fps:.0f} s" if fps > 0 else ""
      progress((done[0], total), desc="tracking", unit="frames")
      yield [workspace, gr.skip(), f"Tracking: frame {done[0]} of {total}, {fps:.1f} frames/s{eta}.",
             gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()]
    if failure:
      yield self._error(workspace, failure[0], index) + [gr.LinePlot(), ""]
      return
    summary = result[0]
    data = workspace.tracklets() or {}
    stopped = " (cancelled: the outputs so far are complete)" if data.get("interrupted") else ""
    status = (f"Tracked {summary.frames} frames in {summary.seconds:.1f} s "
              f"({summary.frames / max(summary.seconds, 1e-9):.1f} frames/s){stopped}. Scrub through the result; "
              "click on any frame to correct an object, then track again.")
    rows, lost = workspace.timeline()
    plot = gr.LinePlot(value=pd.DataFrame(rows) if rows else None, x="frame", y="area", color="object")
    lines = [f"object {k}: lost on {len(v)} frames ({_ranges(v)})" for k, v in sorted(lost.items())]
    yield self._refresh(workspace, index, status) + [plot, "\n\n".join(lines) or "No object was lost."]

  def cancel(self, workspace):
    if workspace is not None:
      workspace.stop.set()
    return "Cancelling after the current frame..."

  # Reframing and export.

  def reframe(self, workspace, aspect, zoom, smoothing):
    if workspace is None:
      return None, None, None, "**Error:** open a video first"
    try:
      paths = workspace.reframe(aspect, zoom, smoothing)
    except WorkspaceError as error:
      return None, None, None, f"**Error:** {error}"
    return (str(paths["video"]), str(paths["debug"]), str(paths["path_png"]),
            f"Reframed to {aspect}: {paths['video'].name} (camera path drawn over the video beside it).")

  def export(self, workspace):
    if workspace is None:
      return None, "**Error:** open a video first"
    try:
      path = workspace.export()
    except WorkspaceError as error:
      return None, f"**Error:** {error}"
    data = workspace.tracklets() or {}
    files = [str(path), *(str(workspace.output / n) for n in ("tracklets.json", "overlay.mp4")
                          if (workspace.output / n).exists()),
             *(str(p) for p in sorted(workspace.output.glob("reframed_*.mp4")) if ".debug" not in p.name)]
    return files, (f"{data.get('num_frames', 0)} frames, objects {workspace.object_ids()}. The same masks "
                   f"from a terminal:\n\n```\n{workspace.command(self.workdir)}\n```")

  # Views.

  def show(self, workspace, index, corner):
    if workspace is None:
      return gr.skip()
    return workspace.view(int(index), pending=corner)

  def _refresh(self, workspace, index, status, selected=None, pending=None):
    ids = [str(i) for i in workspace.object_ids()]
    if selected is None:  # keep the user's choice where it still exists
      dropdown = gr.Dropdown(choices=[NEW, *ids])
    else:
      dropdown = gr.Dropdown(choices=[NEW, *ids], value=selected if selected in ids else NEW)
    return [workspace, workspace.view(int(index), pending=pending), status, dropdown, workspace.prompts,
            gr.Button(interactive=workspace.proposal_pending), gr.Button(interactive=workspace.proposal_pending)]

  def _error(self, workspace, error, index=0):
    message = f"**Error:** {error}"
    if workspace is None:
      return [None, gr.skip(), message, gr.skip(), gr.skip(), gr.skip(), gr.skip()]
    return self._refresh(workspace, index, message)


def _ranges(frames: list[int]) -> str:
  """[3, 4, 5, 9] -> "3-5, 9"."""
  spans, start = [], frames[0]
  for previous, current in zip(frames, frames[1:] + [None]):
    if current != previous + 1:
      spans.append(f"{start}-{previous}" if previous != start else f"{start}")
      start = current
  return ", ".join(spans)


def build(app: App) -> gr.Blocks:
  """The page."""
  with gr.Blocks(title="WCS-Net tracker") as page:
    workspace = gr.State(None)
    corner = gr.State(None)
    gr.Markdown("# WCS-Net: track, correct, reframe")
    with gr.Row():
      with gr.Column(scale=1, min_width=320):
        with gr.Group():
          path = gr.Textbox(label="Video path (under --allowed-root)", elem_id="video-path",
                            placeholder="file.mp4 or a folder of frames")
          open_button = gr.Button("Open", elem_id="open-path")
          upload = gr.File(label="or upload a video", file_types=["video"], type="filepath", elem_id="upload")
        status = gr.Markdown("Open a video.", elem_id="status")
        with gr.Row():
          accept = gr.Button("Accept proposal", elem_id="accept-proposal", interactive=False)
          discard = gr.Button("Discard proposal", elem_id="discard-proposal", interactive=False)
        choice = gr.Dropdown([NEW], value=NEW, label="Object", elem_id="object")
        tool = gr.Radio(list(TOOLS), value="click", label="A click on the frame", elem_id="tool")
        with gr.Accordion("Load a mask for this frame", open=False):
          mask_file = gr.File(label="mask PNG (binary or palette)", file_types=[".png"], type="filepath")
          id_in_file = gr.Number(label="id in a palette PNG (empty: its only id)", precision=0, value=None)
          mask_button = gr.Button("Use mask")
        undo = gr.Button("Undo last prompt", elem_id="undo")
        prompts = gr.JSON(label="Prompts (prompts.json)", elem_id="prompts")
        with gr.Row():
          track = gr.Button("Track", variant="primary", elem_id="track")
          cancel = gr.Button("Cancel", variant="stop", elem_id="cancel")
      with gr.Column(scale=3):
        view = gr.Image(label="Frame (click to prompt)", type="numpy", interactive=False, elem_id="frame-view",
                        format="png")
        slider = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="frame-slider", interactive=False)
        timeline = gr.LinePlot(label="Area per object (pixels)", x="frame", y="area", color="object")
        lost = gr.Markdown(elem_id="lost")
    with gr.Accordion("Reframe", open=True):
      with gr.Row():
        aspect = gr.Dropdown(list(ASPECTS), value="9:16", label="Aspect", elem_id="aspect")
        zoom = gr.Slider(1.0, 4.0, value=CameraConfig().zoom, step=0.1, label="Zoom")
        smoothing = gr.Slider(0.0, 60.0, value=CameraConfig().smoothing_sigma, step=1.0,
                              label="Smoothing (Gaussian sigma, frames)")
        reframe = gr.Button("Reframe", elem_id="reframe")
      reframe_status = gr.Markdown(elem_id="reframe-status")
      with gr.Row():
        reframed = gr.Video(label="Reframed", elem_id="reframed")
        debug = gr.Video(label="Camera path over the video")
        path_plot = gr.Image(label="Camera path", type="filepath", interactive=False)
    with gr.Accordion("Export", open=True):
      export = gr.Button("Export", elem_id="export")
      export_files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="export-files")
      export_status = gr.Markdown(elem_id="export-status")

    refreshed = [workspace, view, status, choice, prompts, accept, discard]
    open_button.click(app.open_path, [path, workspace], refreshed + [slider])
    path.submit(app.open_path, [path, workspace], refreshed + [slider])
    upload.upload(app.open_upload, [upload, workspace], refreshed + [slider])
    accept.click(lambda w, i: app.decide_proposal(True, w, i), [workspace, slider], refreshed)
    discard.click(lambda w, i: app.decide_proposal(False, w, i), [workspace, slider], refreshed)
    view.select(app.select, [workspace, slider, choice, tool, corner], refreshed + [corner])
    mask_button.click(app.load_mask, [mask_file, id_in_file, workspace, slider, choice], refreshed)
    undo.click(app.undo, [workspace, slider], refreshed)
    slider.change(app.show, [workspace, slider, corner], view)
    track.click(app.track, [workspace, slider], refreshed + [timeline, lost])
    cancel.click(app.cancel, [workspace], status)
    reframe.click(app.reframe, [workspace, aspect, zoom, smoothing], [reframed, debug, path_plot, reframe_status])
    export.click(app.export, [workspace], [export_files, export_status])
  return page


def main(argv: list[str] | None = None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  if args.backend == "jax" and not args.workdir:
    parser.error("--backend jax needs --workdir RUN")
  if args.backend == "torch" and not args.weights:
    parser.error("--backend torch needs --weights DIR")
  for root in args.allowed_root:
    if not root.is_dir():
      parser.error(f"--allowed-root {root}: not a folder")
  try:
    tracker = Tracker.from_workdir(args.workdir, backend=args.backend, weights=args.weights)
  except (ValueError, OSError) as error:
    print(f"app.py: error: {error}", file=sys.stderr)
    return 1
  args.data_dir.mkdir(parents=True, exist_ok=True)
  app = App(tracker, args.data_dir.resolve(), [r.resolve() for r in args.allowed_root], args.workdir)
  page = build(app)
  page.queue(default_concurrency_limit=4)
  print(f"app.py: serving on http://{args.host}:{args.port}", flush=True)
  page.launch(server_name=args.host, server_port=args.port, max_file_size=args.max_upload,
              allowed_paths=[str(app.data_dir)], show_error=True, quiet=True,
              theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
