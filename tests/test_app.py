"""The browser app (tools/app.py): its workspace without a browser, then the whole loop in
headless Chromium (Debian's chromium and chromium-driver, installed by ./setup.sh) on a
DAVIS clip of ../shared/data, checked against tools/track.py with the same prompts."""
import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import numpy as np
import pytest
from PIL import Image

import tracking_testing
from wcs_jax.app.workspace import Workspace
from wcs_jax.app.workspace import WorkspaceError
from wcs_jax.app.workspace import resolve_source
from wcs_jax.inference.tracker import Tracker
from wcs_jax.io.video import FrameReader
from wcs_jax.io.video import VideoWriter

REPO = pathlib.Path(__file__).resolve().parents[1]
CLIP_FRAMES = 8
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  return tracking_testing.write_random_workdir(tmp_path_factory.mktemp("app") / "run")


@pytest.fixture(scope="module")
def videos(tmp_path_factory, shared_data):
  """An allowed root holding the first frames of DAVIS blackswan, as frames and as an
  mp4, and a bad upload."""
  root = tmp_path_factory.mktemp("videos")
  source = shared_data / "davis2016" / "JPEGImages" / "480p" / "blackswan"
  (root / "blackswan").mkdir()
  for path in sorted(source.glob("*.jpg"))[:CLIP_FRAMES]:
    shutil.copy(path, root / "blackswan" / path.name)
  with VideoWriter(root / "clip.mp4", fps=24.0) as writer:
    for path in sorted((root / "blackswan").glob("*.jpg")):
      writer.write(np.asarray(Image.open(path).convert("RGB")))
  (root / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
  return root


def _masks(folder: pathlib.Path) -> dict[str, np.ndarray]:
  return {p.name: np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))}


# The workspace, without a browser.


def test_paths_outside_the_allowed_roots_are_refused(videos, tmp_path):
  assert resolve_source("blackswan", [videos]) == (videos / "blackswan").resolve()
  with pytest.raises(WorkspaceError, match="outside the allowed roots"):
    resolve_source(str(REPO / "README.md"), [videos])
  with pytest.raises(WorkspaceError, match="outside the allowed roots"):
    resolve_source("../" + tmp_path.name, [videos])
  (videos / "link").symlink_to(REPO)  # a link inside the root that leads out
  try:
    with pytest.raises(WorkspaceError, match="outside the allowed roots"):
      resolve_source("link/README.md", [videos])
  finally:
    (videos / "link").unlink()
  with pytest.raises(WorkspaceError, match="needs --allowed-root"):
    resolve_source("blackswan", [])
  # A playlist could name videos anywhere; a frame folder's images must lie under the root.
  (videos / "list.m3u8").write_text("#EXTM3U\n/elsewhere/clip.ts\n")
  linked = videos / "linked"
  linked.mkdir()
  (linked / "00000.jpg").symlink_to(next((videos / "blackswan").glob("*.jpg")))
  (linked / "00001.jpg").symlink_to(tmp_path / "outside.jpg")
  (tmp_path / "outside.jpg").write_bytes((videos / "blackswan" / "00000.jpg").read_bytes())
  try:
    with pytest.raises(WorkspaceError, match="expected a video file"):
      resolve_source("list.m3u8", [videos])
    with pytest.raises(WorkspaceError, match="00001.jpg links outside the allowed roots"):
      resolve_source("linked", [videos])
  finally:
    (videos / "list.m3u8").unlink()
    shutil.rmtree(linked)


def test_workspace_prompts_undo_cancel_and_export(workdir, videos, tmp_path):
  tracker = Tracker.from_workdir(workdir)
  with pytest.raises(WorkspaceError, match="corrupt.mp4: not a video"):
    Workspace(tracker, tmp_path / "bad", videos / "corrupt.mp4")
  space = Workspace(tracker, tmp_path / "ws", videos / "blackswan")
  assert (space.num_frames, space.width, space.height) == (CLIP_FRAMES, 854, 480)
  assert space.proposal().shape == (480, 854)
  with pytest.raises(WorkspaceError, match="no object to track"):
    space.track()
  space.accept_proposal(False)
  first = space.add_prompt({"frame": 0, "object": 1, "click": [430, 250]})
  with pytest.raises(WorkspaceError, match="outside the 854x480 frame"):
    space.add_prompt({"frame": 2, "object": 1, "click": [900, 10]})
  with pytest.raises(WorkspaceError, match="does not exist then"):
    space.add_prompt({"frame": 1, "object": 4, "remove": True})
  space.add_prompt({"frame": 0, "object": 1, "click": [100, 100]})  # replaces the first
  assert space.prompts == [{"frame": 0, "object": 1, "click": [100, 100]}]
  space.undo()  # restores it
  assert space.prompts == [first]
  square = np.pad(np.ones((40, 40), bool), ((200, 240), (400, 414)))
  space.add_prompt({"frame": 3, "object": 2}, mask=square)
  space.add_prompt({"frame": 3, "object": 2}, mask=np.roll(square, 50, axis=1))  # replaces it
  space.undo()  # the first mask is back, in its own file
  assert json.loads((space.folder / "prompts.json").read_text()) == space.prompts
  (entry,) = [e for e in space.prompts if "mask" in e]
  np.testing.assert_array_equal(np.asarray(Image.open(space.folder / entry["mask"])) == 2, square)

  frames = []

  def stop_after_three(index):
    frames.append(index)
    if len(frames) == 3:
      space.stop.set()

  summary = space.track(on_frame=stop_after_three)  # the writer runs a frame or two behind
  assert 3 <= summary.frames < CLIP_FRAMES
  data = space.tracklets()
  assert data["interrupted"] is True and data["num_frames"] == summary.frames == space.tracked_frames()
  with FrameReader(space.output / "overlay.mp4") as overlay:
    assert sum(1 for _ in overlay) == summary.frames
  summary = space.track()  # stop is cleared: the whole clip
  assert summary.frames == CLIP_FRAMES and not space.tracklets()["interrupted"]
  rows, _ = space.timeline()
  assert {r["object"] for r in rows} == {"object 1", "object 2"}
  with zipfile.ZipFile(space.export()) as archive:
    names = set(archive.namelist())
  assert {"tracklets.json", "overlay.mp4", "prompts.json", "init.txt", "masks/00007.png", "hotspots/00000.png",
          entry["mask"]} <= names
  assert len([n for n in names if n.startswith("prompt_masks/")]) == 1  # only the masks the run used
  assert space.command(["--workdir", "RUN"]).endswith(
      f"--workdir RUN --output OUT --init none --prompts {space.folder / 'tracked' / 'prompts.json'}")


# The whole loop in a real browser.


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture
def app_url(workdir, videos, tmp_path):
  port = _free_port()
  log = open(tmp_path / "app.log", "w")  # pylint: disable=consider-using-with
  process = subprocess.Popen(
      [sys.executable, str(REPO / "tools" / "app.py"), "--workdir", str(workdir), "--allowed-root", str(videos),
       "--data-dir", str(tmp_path / "data"), "--port", str(port)],
      stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  url = f"http://127.0.0.1:{port}/"
  deadline = time.monotonic() + 240
  while True:
    if process.poll() is not None:
      pytest.fail(f"tools/app.py exited with {process.returncode}: {(tmp_path / 'app.log').read_text()[-2000:]}")
    try:
      with urllib.request.urlopen(url, timeout=5):
        break
    except OSError:
      if time.monotonic() > deadline:
        pytest.fail("tools/app.py did not serve within 240 s")
      time.sleep(1)
  yield url
  process.terminate()
  process.wait(30)
  log.close()


@pytest.fixture
def browser():
  if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.fail(f"the browser test needs {CHROMIUM} and {CHROMEDRIVER}: ./setup.sh installs Debian's chromium "
                "and chromium-driver")
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel
  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1700"):
    options.add_argument(flag)
  options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request the page makes
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  yield driver
  driver.quit()


class _Page:
  """The app's page, by its elements' ids (tools/app.py `build`)."""

  def __init__(self, driver, url):
    from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel
    self.driver, self.by = driver, By
    driver.get(url)
    self.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#video-path textarea"), "the page", 60)

  def find(self, css):
    return self.driver.find_element(self.by.CSS_SELECTOR, css)

  def wait_for(self, condition, what, seconds=180):
    deadline = time.monotonic() + seconds
    while not condition():
      if time.monotonic() > deadline:
        raise AssertionError(f"timed out waiting for {what}; status: {self.status()!r}")
      time.sleep(0.25)

  def status(self, element="#status"):
    found = self.driver.find_elements(self.by.CSS_SELECTOR, element)
    return found[0].text if found else ""

  def click_and_wait(self, button, text, element="#status", seconds=180):
    """Clicks `button`, then waits until `element` shows `text`, or an error once the
    click has been seen processing (the status before the click may itself be an error,
    and its text can change while it is still the old answer)."""
    self.find(button).click()
    seen_processing = False

    def answered():
      nonlocal seen_processing
      now = self.status(element)
      if "processing" in now:
        seen_processing = True
        return False
      return text in now or (seen_processing and "Error:" in now)

    self.wait_for(answered, repr(text), seconds)
    assert text in self.status(element), self.status(element)

  def click_frame(self, x, y):
    from selenium.webdriver.common.action_chains import ActionChains  # pylint: disable=import-outside-toplevel
    image = self.find("#frame-view img")
    natural = self.driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", image)
    shown = image.size["width"], image.size["height"]
    ActionChains(self.driver).move_to_element_with_offset(
        image, (x + 0.5) * shown[0] / natural[0] - shown[0] / 2,
        (y + 0.5) * shown[1] / natural[1] - shown[1] / 2).click().perform()

  def go_to_frame(self, index):
    from selenium.webdriver.common.keys import Keys  # pylint: disable=import-outside-toplevel
    box = self.find("#frame-slider input[type=number]")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(index), Keys.ENTER)


def test_browser_loop_matches_track_cli(app_url, browser, videos, workdir, tmp_path):
  page = _Page(browser, app_url)
  # Bad input first: the page says what is wrong and the app keeps serving.
  page.find("#upload input[type=file]").send_keys(str(videos / "corrupt.mp4"))
  page.wait_for(lambda: "Error:" in page.status(), "the upload error")
  assert "corrupt.mp4: not a video" in page.status()
  page.find("#upload input[type=file]").send_keys(str(videos / "clip.mp4"))  # replaces the bad one
  page.wait_for(lambda: "Opened clip.mp4" in page.status(), "the uploaded video")
  assert f"{CLIP_FRAMES} frames, 854x480" in page.status()
  page.find("#video-path textarea").send_keys(str(REPO / "README.md"))
  page.click_and_wait("#open-path", "outside the allowed roots")

  # Open, discard the proposal, click on the swan, track.
  path_box = page.find("#video-path textarea")
  path_box.clear()
  path_box.send_keys("blackswan")
  page.click_and_wait("#open-path", f"{CLIP_FRAMES} frames, 854x480")
  page.click_and_wait("#discard-proposal", "Proposal discarded")
  page.click_frame(430, 250)
  page.wait_for(lambda: "Object 1 prompted on frame 0" in page.status(), "the click prompt")
  page.click_and_wait("#track", f"Tracked {CLIP_FRAMES} frames")
  # Correct object 1 on a later frame and track again.
  page.go_to_frame(5)
  time.sleep(1)
  page.click_frame(470, 240)
  page.wait_for(lambda: "Object 1 prompted on frame 5" in page.status(), "the correction")
  page.click_and_wait("#track", f"Tracked {CLIP_FRAMES} frames")
  page.click_and_wait("#reframe", "Reframed to 9:16", "#reframe-status")
  page.click_and_wait("#export", "The same masks", "#export-status")
  # The page asked nothing of another host (fonts, scripts, analytics), failed requests included.
  requested = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
  requested = [m["params"]["request"]["url"] for m in requested if m["method"] == "Network.requestWillBeSent"]
  assert requested and [u for u in requested if not u.startswith((app_url, "data:", "blob:"))] == []
  if os.environ.get("WCS_APP_SCREENSHOT"):  # the README's picture: the top of the page
    browser.set_window_size(1400, 1000)
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(1)
    browser.save_screenshot(os.environ["WCS_APP_SCREENSHOT"])
  links = [a.get_attribute("href") for a in browser.find_elements(page.by.CSS_SELECTOR, "#export-files a")]
  archive_url = next(link for link in links if link.endswith("export.zip"))
  with urllib.request.urlopen(archive_url, timeout=60) as response:
    exported = tmp_path / "exported"
    zipfile.ZipFile(io.BytesIO(response.read())).extractall(exported)

  # The prompts are the clicks made (to the pixel the browser's scaling gives) ...
  prompts = json.loads((exported / "prompts.json").read_text())
  assert [(p["frame"], p["object"]) for p in prompts] == [(0, 1), (5, 1)]
  assert np.abs(np.subtract([p["click"] for p in prompts], [[430, 250], [470, 240]])).max() <= 2
  # ... and tools/track.py with them gives the exported masks, bit for bit.
  expected = tmp_path / "cli"
  subprocess.run([sys.executable, str(REPO / "tools" / "track.py"), "--input", str(videos / "blackswan"),
                  "--workdir", str(workdir), "--output", str(expected), "--prompts", str(exported / "prompts.json")],
                 check=True, capture_output=True)
  got, want = _masks(exported / "masks"), _masks(expected / "masks")
  assert len(want) == CLIP_FRAMES and got.keys() == want.keys()
  for name, labels in want.items():
    np.testing.assert_array_equal(got[name], labels, err_msg=name)
  assert sum(labels.any() for labels in want.values()) > CLIP_FRAMES // 2
  tracklets = json.loads((exported / "tracklets.json").read_text())
  assert tracklets["prompts"] == json.loads((expected / "tracklets.json").read_text())["prompts"]
  with FrameReader(exported / "reframed_9x16.mp4") as reframed:
    assert (reframed.info.width, reframed.info.height) == (270, 480)
    assert sum(1 for _ in reframed) == CLIP_FRAMES
