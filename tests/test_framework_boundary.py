"""The framework boundary: the specs import no framework, and the deployment path (the
PyTorch runtime behind tools/track.py) runs with JAX, Flax, Orbax and TensorFlow
impossible to import."""
import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image

from wcs_jax.inference import jax_backend
from wcs_jax.models import build
from wcs_jax.spec import networks
from wcs_jax.torch_runtime import convert

REPO = pathlib.Path(__file__).resolve().parents[1]
FRAMEWORKS = ("jax", "jaxlib", "flax", "optax", "orbax", "tensorflow", "tensorflow_datasets", "keras", "torch")

# A meta-path finder that makes the training stack's frameworks unimportable, as on a
# machine with only `pip install '.[deploy]'`.
BLOCK_TRAINING_STACK = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = ("jax", "jaxlib", "flax", "optax", "orbax", "tensorflow", "tensorflow_datasets", "keras")
    class Blocker(importlib.abc.MetaPathFinder):
      def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
          raise ImportError(f"{name} is not installed (blocked by the test)")
        return None
    sys.meta_path.insert(0, Blocker())
""")


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                        **kwargs)


def test_spec_imports_no_framework():
  modules = [p.stem for p in (REPO / "wcs_jax" / "spec").glob("*.py") if p.stem != "__init__"]
  assert {"backbones", "networks", "geometry"} <= set(modules)
  result = _python(
      "import json, sys\n"
      + "".join(f"import wcs_jax.spec.{m}\n" for m in modules)
      + f"print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))")
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_blocker_blocks():
  result = _python(BLOCK_TRAINING_STACK + "import jax.numpy\n")
  assert result.returncode != 0 and "jax is not installed (blocked by the test)" in result.stderr


def _tiny_export(directory: pathlib.Path, image_size: int) -> pathlib.Path:
  """`tools/convert_to_torch.py`'s export of all three networks with random weights."""
  config = networks.resolve_model_config({"backbone": "efficientnet-b0", "decoder_channels": 8})
  variables = {name: jax_backend.random_variables(build.from_config(config, name), image_size, seed)
               for seed, name in enumerate(networks.NETWORKS)}
  training_config = {"input": {"image_size": image_size,
                               "pairs": {"template_context": 1.5, "search_context": 2.0, "guidance_sigma": 0.25}}}
  convert.export_flax_variables(directory, variables, {name: config for name in variables},
                                {"training_config": training_config})
  return directory


def test_track_with_the_torch_backend_needs_no_jax_or_tensorflow(shared_data, tmp_path):
  weights = _tiny_export(tmp_path / "export", image_size=64)
  frames = shared_data / "davis2016" / "JPEGImages" / "480p" / "blackswan"
  out = tmp_path / "out"
  argv = ["tools/track.py", "--input", str(frames), "--backend", "torch", "--weights", str(weights),
          "--output", str(out), "--click", "430,230", "--max-frames", "5", "--torch-threads", "1"]
  result = _python(BLOCK_TRAINING_STACK + textwrap.dedent(f"""
      import json, runpy
      sys.argv = {argv!r}
      try:
        runpy.run_path("tools/track.py", run_name="__main__")
      finally:
        print("LOADED", json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
  """))
  assert result.returncode == 0, result.stderr[-3000:]
  loaded = json.loads(result.stdout.split("LOADED", 1)[1])
  assert "torch" in loaded and not set(loaded) & {"jax", "flax", "orbax", "tensorflow", "optax"}
  names = [f"{i:05d}.png" for i in range(5)]
  assert sorted(p.name for p in (out / "masks").iterdir()) == names
  assert sorted(p.name for p in (out / "hotspots").iterdir()) == names
  mask = Image.open(out / "masks" / names[0])
  assert mask.mode == "P" and mask.size == (854, 480)
  assert np.count_nonzero(np.asarray(mask)) > 0  # the click's object on the first frame
  tracklets = json.loads((out / "tracklets.json").read_text())
  assert tracklets["num_frames"] == 5 and [o["prompt"] for o in tracklets["objects"]] == [["click", 430.0, 230.0]]
  assert (out / "overlay.mp4").stat().st_size > 0
