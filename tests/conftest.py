"""Test environment: quiet TensorFlow kept off any GPU, Keras writing to a temp dir,
four simulated CPU devices for the data-parallel tests, fast compiles; under pytest-xdist
each worker on its own cores, the longest test files first."""
import os
import tempfile

# Under pytest-xdist (`-n N`), worker i runs on its own share of the cores, set before
# JAX or TensorFlow size their thread pools (from the cores a process may run on): N
# workers each with every core's threads would oversubscribe them (tried at 3529cf1: 51
# CPU-minutes against 32 for one process). Subprocesses of a test inherit the share.
if "PYTEST_XDIST_WORKER" in os.environ:
  _cores = sorted(os.sched_getaffinity(0))
  _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
  _worker = int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
  os.sched_setaffinity(0, _cores[_worker::_workers] if _workers <= len(_cores)
                       else [_cores[_worker % len(_cores)]])

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


# The longest test files first: under `pytest -n N --dist loadfile` (files kept whole on
# one worker, module fixtures built once) none of them starts last and runs alone at the end.
SLOWEST_FIRST = ("test_learning.py", "test_real_data.py", "test_train_faults.py", "test_train.py",
                 "test_app.py", "test_convert_to_torch.py", "test_networks.py", "test_onnx.py")


def pytest_collection_modifyitems(session, config, items):
  del session, config

  def rank(item):
    name = item.path.name
    return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)

  items.sort(key=rank)  # stable: the order within a file and among the rest is kept
