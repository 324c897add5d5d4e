"""Test environment: quiet TensorFlow kept off any GPU, Keras writing to a temp dir,
four simulated CPU devices for the data-parallel tests, fast compiles."""
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# Keras writes its config under KERAS_HOME: a folder of the session's own, removed at
# its end (subprocess tests inherit it), unless the caller chose one.
_KERAS_HOME = None if "KERAS_HOME" in os.environ else tempfile.mkdtemp(prefix="keras_home_")
if _KERAS_HOME:
  os.environ["KERAS_HOME"] = _KERAS_HOME
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()

import pathlib
import shutil

import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
  """The real dataset samples in ../shared/data (see its README)."""
  if not SHARED_DATA.is_dir():
    pytest.fail(f"expected the shared sample data at {SHARED_DATA}")
  return SHARED_DATA


def pytest_sessionfinish(session, exitstatus):
  del session, exitstatus
  if _KERAS_HOME:
    shutil.rmtree(_KERAS_HOME, ignore_errors=True)
