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
import json
import os
import pathlib
import shutil
import sys
import tempfile
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
from wcs_jax import cli  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.app.workspace import Workspace  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.app.workspace import WorkspaceError  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.app.workspace import resolve_source  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.inference.backend import BACKENDS  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.inference.backend import pipeline_threads  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.inference.tracker import Tracker  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.reframing.camera_path import CameraConfig  # noqa: E402  pylint: disable=wrong-import-position
from wcs_jax.io import masks as mask_io  # noqa: E402  pylint: disable=wrong-import-position

NEW = "new object"
TOOLS = ("click", "box", "remove")
ASPECTS = ("9:16", "1:1", "4:5", "16:9", "4:3")
CLEARED = 8  # outputs a newly opened video clears (`build`)
_COUNTER = itertools.count(1)


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", metavar="RUN", help="trained run (required with --backend jax)")
  parser.add_argument("--backend", choices=BACKENDS, default="jax",
                      help="network runtime: jax (default, needs --workdir), torch or onnx (need --weights)")
  parser.add_argument("--weights", metavar="DIR", help="exported weights for --backend torch or onnx")
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
  """The page's handlers over one shared tracker; each browser session has its workspace.

  Every handler that redraws the page returns `_refresh`'s values for the outputs
  `[workspace, view, status, object, prompts, accept, discard, corner]`.
  """

  def __init__(self, tracker: Tracker, data_dir: pathlib.Path, allowed_roots: list[pathlib.Path],
               model_flags: list[str]):
    self.tracker = tracker
    self.data_dir = data_dir
    self.allowed_roots = allowed_roots
    self.model_flags = model_flags
    self.lock = threading.Lock()

  # Opening: outputs + [slider] + CLEARED (+ [upload]).

  def _open(self, source: pathlib.Path, folder: pathlib.Path, name: str):
    try:
      workspace = Workspace(self.tracker, folder, source, self.lock)
    except WorkspaceError:
      shutil.rmtree(folder, ignore_errors=True)
      raise
    try:
      workspace.proposal()
      note = ("The automatic proposal (EG-Net, then Gaze2Mask-Net) is drawn on frame 0: accept it as "
              "object 1, or discard it and click on the object.")
    except WorkspaceError as error:
      note = f"{_text(str(error))}; only a mask prompt can add an object."
    status = (f"Opened {_text(name)}: {workspace.num_frames} frames, {workspace.width}x{workspace.height}. "
              + note)
    slider = gr.Slider(minimum=0, maximum=max(workspace.num_frames - 1, 1), value=0, step=1,
                       interactive=workspace.num_frames > 1)
    return self._refresh(workspace, 0, status, NEW, selected=NEW) + [slider] + [None] * CLEARED

  def _open_failed(self, error) -> list:
    """The page as it was (the open workspace stays), the error in the status line."""
    return [gr.skip(), gr.skip(), f"**Error:** {_text(str(error))}"] + [gr.skip()] * (5 + 1 + CLEARED)

  def open_path(self, text: str):
    try:
      source = resolve_source(text or "", self.allowed_roots)
      return self._open(source, self._new_folder(source.name), source.name)
    except WorkspaceError as error:
      return self._open_failed(error)

  def open_upload(self, path: str | None):
    """Opens an upload; the upload box is cleared for the next one."""
    if not path:
      return self._open_failed("no file was uploaded") + [None]
    upload = pathlib.Path(path)
    folder = self._new_folder(upload.stem)
    try:
      if upload.stat().st_size == 0:
        raise WorkspaceError(f"{upload.name}: the file is empty")
      source = folder / "upload" / upload.name
      source.parent.mkdir(parents=True)
      shutil.copyfile(upload, source)
      return self._open(source, folder, upload.name) + [None]
    except WorkspaceError as error:
      shutil.rmtree(folder, ignore_errors=True)
      return self._open_failed(error) + [None]

  def _new_folder(self, name: str) -> pathlib.Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60] or "video"
    return self.data_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(_COUNTER)}-{safe}"

  # Prompts.

  def decide_proposal(self, accept: bool, workspace, index, choice):
    if workspace is None:
      return self._no_video()
    try:
      workspace.accept_proposal(accept)
    except WorkspaceError as error:
      return self._error(workspace, error, index, choice)
    status = "Proposal accepted as object 1." if accept else "Proposal discarded: click on the object."
    return self._refresh(workspace, index, status, choice, selected="1" if accept else NEW)

  def select(self, event: gr.SelectData, workspace, index, choice, tool, corner):
    """A click on the frame: a click prompt, a box corner, or a remove."""
    if workspace is None:
      return self._no_video()
    x, y = (float(v) for v in event.index)
    object_id = workspace.new_object_id() if choice == NEW else int(choice)
    entry = {"frame": int(index), "object": object_id}
    if tool == "box":
      if corner is None or corner[0] != int(index):
        return self._refresh(workspace, index, f"Box for object {object_id}: click the opposite corner.",
                             choice, pending=(int(index), x, y))
      (_, x0, y0), (x1, y1) = corner, (x, y)
      entry["box"] = [min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1]
    elif tool == "remove":
      if choice == NEW:
        return self._error(workspace, "choose the object to remove", index, choice)
      entry["remove"] = True
    else:
      entry["click"] = [x, y]
    try:
      workspace.add_prompt(entry)
    except WorkspaceError as error:
      return self._error(workspace, error, index, choice)
    verb = "removed from" if tool == "remove" else "prompted on"
    return self._refresh(workspace, index, f"Object {object_id} {verb} frame {int(index)}. Track to see it.",
                         choice, selected=str(object_id))

  def load_mask(self, path, id_in_file, workspace, index, choice):
    if workspace is None:
      return self._no_video()
    try:
      if not path:
        raise WorkspaceError("choose a mask PNG first")
      name = pathlib.Path(path).name
      try:
        labels = mask_io.read_label_map(path)
      except (ValueError, OSError) as error:
        raise WorkspaceError(f"{name}: {error}") from None
      ids = [int(i) for i in np.unique(labels) if i]
      wanted = int(id_in_file) if id_in_file else (ids[0] if len(ids) == 1 else None)
      if wanted is None or wanted not in ids:
        raise WorkspaceError(f"{name} holds ids {ids}: give the id to use")
      object_id = workspace.new_object_id() if choice == NEW else int(choice)
      workspace.add_prompt({"frame": int(index), "object": object_id}, mask=labels == wanted)
    except WorkspaceError as error:
      return self._error(workspace, error, index, choice)
    return self._refresh(workspace, index, f"Object {object_id}: mask on frame {int(index)}.", choice,
                         selected=str(object_id))

  def undo(self, workspace, index, choice):
    if workspace is None:
      return self._no_video()
    undone = workspace.undo()
    status = f"Undone: {_text(json.dumps(undone))}." if undone else "Nothing to undo."
    return self._refresh(workspace, index, status, choice)

  # Tracking: outputs + [timeline, lost].

  def track(self, workspace, index, choice, progress=gr.Progress()):
    """Tracks in a thread; yields the progress line twice a second. A closed page stops
    the run after the current frame."""
    if workspace is None:
      yield self._no_video() + [gr.skip(), gr.skip()]
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
    try:
      while thread.is_alive():
        thread.join(0.5)
        elapsed = time.perf_counter() - start
        fps = done[0] / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {(total - done[0]) / fps:.0f} s" if fps > 0 else ""
        progress((done[0], total), desc="tracking", unit="frames")
        yield [gr.skip(), gr.skip(), f"Tracking: frame {done[0]} of {total}, {fps:.1f} frames/s{eta}."] + \
            [gr.skip()] * 7
    finally:
      if thread.is_alive():  # the page went away (the generator was closed)
        workspace.stop.set()
    if failure:
      yield self._error(workspace, failure[0], index, choice, keep_state=True) + [gr.skip(), gr.skip()]
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
    refreshed = self._refresh(workspace, index, status, choice)
    yield [gr.skip()] + refreshed[1:] + [plot, "\n\n".join(lines) or "No object was lost."]

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
      return None, None, None, f"**Error:** {_text(str(error))}"
    return (str(paths["video"]), str(paths["debug"]), str(paths["path_png"]),
            f"Reframed to {aspect}: {paths['video'].name} (camera path drawn over the video beside it).")

  def export(self, workspace):
    if workspace is None:
      return None, "**Error:** open a video first"
    try:
      path = workspace.export()
    except WorkspaceError as error:
      return None, f"**Error:** {_text(str(error))}"
    data = workspace.tracklets() or {}
    files = [str(path), *(str(workspace.output / n) for n in ("tracklets.json", "overlay.mp4")
                          if (workspace.output / n).exists()),
             *(str(p) for p in sorted(workspace.output.glob("reframed_*.mp4")) if ".debug" not in p.name)]
    return files, (f"{data.get('num_frames', 0)} frames. The same masks from a terminal (the prompts are "
                   f"in the zip):\n\n```\n{workspace.command(self.model_flags)}\n```")

  # Views.

  def show(self, workspace, index, corner):
    if workspace is None:
      return gr.skip()
    pending = corner[1:] if corner is not None and corner[0] == int(index) else None
    return workspace.view(int(index), pending=pending)

  def _refresh(self, workspace, index, status, choice, selected=None, pending=None):
    """`pending` is a box's first corner `(frame, x, y)` (kept in the corner state)."""
    ids = [str(i) for i in workspace.object_ids()]
    wanted = selected if selected is not None else choice
    dropdown = gr.Dropdown(choices=[NEW, *ids], value=wanted if wanted in ids else NEW)
    return [workspace, workspace.view(int(index), pending=pending[1:] if pending else None), status, dropdown,
            workspace.prompts, gr.Button(interactive=workspace.proposal_pending),
            gr.Button(interactive=workspace.proposal_pending), pending]

  def _error(self, workspace, error, index, choice, keep_state=False):
    refreshed = self._refresh(workspace, index, f"**Error:** {_text(str(error))}", choice)
    return [gr.skip()] + refreshed[1:] if keep_state else refreshed

  def _no_video(self):
    return [gr.skip(), gr.skip(), "**Error:** open a video first"] + [gr.skip()] * 5


def _text(text: str) -> str:
  """`text` shown literally in Markdown (a file name cannot add a link or an image)."""
  return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~" else c for c in text)


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

    refreshed = [workspace, view, status, choice, prompts, accept, discard, corner]
    # What a newly opened video clears (CLEARED of them).
    cleared = [timeline, lost, reframed, debug, path_plot, reframe_status, export_files, export_status]
    assert len(cleared) == CLEARED
    open_button.click(app.open_path, [path], refreshed + [slider] + cleared)
    path.submit(app.open_path, [path], refreshed + [slider] + cleared)
    upload.upload(app.open_upload, [upload], refreshed + [slider] + cleared + [upload])
    accept.click(lambda w, i, c: app.decide_proposal(True, w, i, c), [workspace, slider, choice], refreshed)
    discard.click(lambda w, i, c: app.decide_proposal(False, w, i, c), [workspace, slider, choice], refreshed)
    view.select(app.select, [workspace, slider, choice, tool, corner], refreshed)
    mask_button.click(app.load_mask, [mask_file, id_in_file, workspace, slider, choice], refreshed)
    undo.click(app.undo, [workspace, slider, choice], refreshed)
    slider.change(app.show, [workspace, slider, corner], view)
    track.click(app.track, [workspace, slider, choice], refreshed + [timeline, lost])
    cancel.click(app.cancel, [workspace], status)
    reframe.click(app.reframe, [workspace, aspect, zoom, smoothing], [reframed, debug, path_plot, reframe_status])
    export.click(app.export, [workspace], [export_files, export_status])
  return page


def main(argv: list[str] | None = None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  cli.check_backend(parser, args)
  try:
    gr.utils._parse_file_size(args.max_upload)  # pylint: disable=protected-access
  except ValueError:
    parser.error(f"--max-upload {args.max_upload}: expected a whole number and a unit, e.g. 500mb or 4gb")
  for root in args.allowed_root:
    if not root.is_dir():
      parser.error(f"--allowed-root {root}: not a folder")
  try:
    options = {"num_threads": pipeline_threads()} if args.backend in ("torch", "onnx") else None
    tracker = Tracker.from_workdir(args.workdir, backend=args.backend, weights=args.weights,
                                   backend_options=options)
  except (ValueError, OSError) as error:
    print(f"app.py: error: {error}", file=sys.stderr)
    return 1
  args.data_dir.mkdir(parents=True, exist_ok=True)
  model_flags = (["--workdir", args.workdir] if args.backend == "jax"
                 else ["--backend", args.backend, "--weights", args.weights])
  app = App(tracker, args.data_dir.resolve(), [r.resolve() for r in args.allowed_root], model_flags)
  page = build(app)
  page.queue(default_concurrency_limit=4)
  print(f"app.py: serving on http://{args.host}:{args.port}", flush=True)
  # Gradio serves the files a handler returns from its own cache; it takes them from the
  # working directory and the temporary folder, and from --data-dir elsewhere only if
  # allowed (then every file under it can be fetched by anyone who reaches the port).
  inside = any(app.data_dir.is_relative_to(pathlib.Path(d).resolve()) for d in (os.getcwd(), tempfile.gettempdir()))
  page.launch(server_name=args.host, server_port=args.port, max_file_size=args.max_upload,
              allowed_paths=None if inside else [str(app.data_dir)], show_error=True, quiet=True,
              theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
