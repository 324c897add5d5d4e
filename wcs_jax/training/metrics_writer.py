"""Where the training metrics go: `DIR/metrics.jsonl`, TensorBoard and the console.

Every `log_every` steps (and at the last step) the per-step metrics of the interval are
averaged and written as one JSON object per line to `DIR/metrics.jsonl` (`step`,
`loss`, the loss terms, `learning_rate`, `grad_norm`, `param_norm`, `examples_per_sec`,
`steps_per_sec`; anyone can `tail -f` it), as scalars to TensorBoard event files in
`DIR/tensorboard`, and as a progress line with the ETA to the log.

Throughput is measured from the end of the first step of a (re)start, so compilation
is not counted in it; the time to that first step is logged once as
`first_step_seconds` (compilation plus input start-up).

On a resume from step k the lines of steps after k (logged before the interruption,
then recomputed) are dropped, so the file reads as if the run had not stopped.
"""
from __future__ import annotations

import json
import pathlib
import time

from absl import logging

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


class MetricsWriter:
  """Averages per-step metrics over logging intervals and writes them out.

  Args:
    workdir: the run directory.
    total_steps: the run's last step (for the ETA).
    batch_size: global examples per step.
    log_every: steps per logged line.
    start_step: the step the run (re)starts from.
    enabled: write files (process 0 only); other hosts only keep `last`.
  """

  def __init__(self, workdir: pathlib.Path, *, total_steps: int, batch_size: int, log_every: int,
               start_step: int, enabled: bool):
    if log_every < 1:
      raise ValueError(f"--config.log_every={log_every}: expected >= 1")
    self._path = pathlib.Path(workdir) / METRICS_FILE
    self._total, self._batch, self._every = total_steps, batch_size, log_every
    self._enabled = enabled
    self._sums: dict[str, float] = {}
    self._count = 0
    self._created = time.perf_counter()
    self._t_first: float | None = None
    self._steps_timed = 0
    self._t_interval: float | None = None
    self._extra: dict[str, float] = {}  # once-only fields of the next row
    self.last: dict[str, float] = {}
    self._tb = None
    if enabled:
      self.last = _truncate(self._path, start_step)
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      self._tb = tf.summary.create_file_writer(str(pathlib.Path(workdir) / TENSORBOARD_DIR))

  def add(self, step: int, metrics: dict[str, float]) -> None:
    """Adds the host metrics of `step`; writes a line when an interval ends."""
    now = time.perf_counter()
    if self._t_first is None:
      self._t_first = self._t_interval = now
      logging.info("first step done after %.1f s (compilation and input start-up)", now - self._created)
      self._extra["first_step_seconds"] = now - self._created
    else:
      self._steps_timed += 1
    for k, v in metrics.items():
      self._sums[k] = self._sums.get(k, 0.0) + v
    self._count += 1
    if step % self._every == 0 or step == self._total:
      self._write(step, now)

  def _write(self, step: int, now: float) -> None:
    row = {"step": step, **{k: v / self._count for k, v in self._sums.items()}, **self._extra}
    self._extra = {}
    if self._steps_timed:
      elapsed = now - self._t_interval
      row["steps_per_sec"] = self._steps_timed / elapsed
      row["examples_per_sec"] = self._steps_timed * self._batch / elapsed
    self._sums, self._count, self._steps_timed, self._t_interval = {}, 0, 0, now
    self.last = row
    if not self._enabled:
      return
    with self._path.open("a") as f:
      f.write(json.dumps(row) + "\n")
    self._write_tensorboard(step, row)
    eta = ""
    if "steps_per_sec" in row:
      eta = f", {row['examples_per_sec']:.1f} ex/s, ETA {_duration((self._total - step) / row['steps_per_sec'])}"
    terms = " ".join(f"{k} {row[k]:.4f}" for k in sorted(row) if k.startswith("loss_"))
    logging.info("step %d/%d  loss %.4f  %s  grad_norm %.3g  lr %.3g%s", step, self._total, row["loss"],
                 terms, row.get("grad_norm", float("nan")), row.get("learning_rate", float("nan")), eta)

  def _write_tensorboard(self, step: int, row: dict[str, float]) -> None:
    # tf.summary.scalar lives in the tensorboard package, which is not a dependency;
    # the low-level op with the scalar plugin's metadata writes the same event.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from tensorflow.core.framework import summary_pb2  # pylint: disable=g-import-not-at-top
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR).SerializeToString()
    with self._tb.as_default(step=step):
      for k, v in row.items():
        if k != "step":
          tf.summary.write(k, tf.constant(v, tf.float32), metadata=metadata)
    self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def read_metrics(workdir: str | pathlib.Path) -> list[dict[str, float]]:
  """The rows of a run's metrics.jsonl, in step order."""
  path = pathlib.Path(workdir) / METRICS_FILE
  if not path.is_file():
    raise FileNotFoundError(f"{path} not found: expected a workdir written by `python -m wcs_jax.train`")
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _truncate(path: pathlib.Path, start_step: int) -> dict[str, float]:
  """Drops the rows after `start_step` (atomically); returns the last row kept."""
  if not path.is_file():
    return {}
  rows = [line for line in path.read_text().splitlines() if line.strip()]
  # A kill -9 can cut the last line short: such a line is dropped with the rest.
  kept = []
  for line in rows:
    try:
      row = json.loads(line)
    except json.JSONDecodeError:
      continue
    if row["step"] <= start_step:
      kept.append(line)
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text("".join(line + "\n" for line in kept))
  tmp.replace(path)
  return json.loads(kept[-1]) if kept else {}


def _duration(seconds: float) -> str:
  seconds = int(seconds)
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
