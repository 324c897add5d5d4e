"""Orbax checkpoints of a training run: `Checkpointer` saves and restores `TrainState`s
in `DIR/checkpoints/<step>/` (the rest of the run directory's format, and reading its
latest checkpoint for inference: `wcs_jax.io.workdir`).

Orbax writes a checkpoint into a temporary folder and renames it when complete, so a
`kill -9` at any moment leaves only whole checkpoints (a half-written one is an
unfinalised temporary folder that `latest_step` ignores).
"""
from __future__ import annotations

import os
import pathlib
from typing import Any

from flax import serialization
import jax
import orbax.checkpoint as ocp

from wcs_jax.io import workdir as workdir_lib


class Checkpointer:
  """Saves and restores `TrainState`s in `workdir/checkpoints` (Orbax CheckpointManager).

  Args:
    workdir: the run directory.
    every: save every `every` steps (`save` is a no-op on other steps unless forced).
    keep: how many of the latest checkpoints to keep.
    asynchronous: write in a background thread while training continues.
  """

  def __init__(self, workdir: str | os.PathLike, *, every: int, keep: int,
               asynchronous: bool = True):
    if every < 1 or keep < 1:
      raise ValueError(f"checkpoint_every ({every}) and keep_checkpoints ({keep}) must be >= 1")
    options = ocp.CheckpointManagerOptions(save_interval_steps=every, max_to_keep=keep,
                                           enable_async_checkpointing=asynchronous, create=True)
    self.directory = pathlib.Path(workdir).absolute() / workdir_lib.CHECKPOINT_DIR
    self._saving: int | None = None
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state: Any, *, force: bool = False) -> bool:
    """Starts saving `state` at `step` if due (or `force`); returns whether it saves.

    Raises:
      CheckpointWriteError: the write failed (a full disk, say); the checkpoints
        already complete are untouched (Orbax writes into a temporary folder and
        renames it when complete).
    """
    try:
      saving = self._manager.save(step, args=ocp.args.StandardSave(serialization.to_state_dict(state)),
                                  force=force)
    except OSError as error:
      raise self._write_error(step, error) from None
    if saving:
      self._saving = step
    return saving

  def restore(self, step: int, target: Any) -> Any:
    """The state saved at `step`, with the structure, dtypes and shardings of `target`."""
    target_dict = serialization.to_state_dict(target)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
                            target_dict)
    try:
      restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as error:  # Orbax and TensorStore raise many types for a damaged checkpoint
      raise workdir_lib.DamagedCheckpointError(self.directory / str(step), error, self._manager.all_steps()) \
          from None
    return serialization.from_state_dict(target, restored)

  def wait(self) -> None:
    """Blocks until a background save has been committed (`CheckpointWriteError` if it failed)."""
    try:
      self._manager.wait_until_finished()
    except OSError as error:
      raise self._write_error(self._saving, error) from None

  def _write_error(self, step: int | None, error: OSError) -> CheckpointWriteError:
    complete = [s for s in self._manager.all_steps() if s != step]
    where = self.directory / str(step) if step is not None else self.directory
    advice = (f"the last complete checkpoint is step {max(complete)}: free space, then rerun the same command to "
              "resume from it" if complete else "no checkpoint is complete yet: free space and rerun the same command")
    return CheckpointWriteError(f"{where}: writing the checkpoint failed ({error}); {advice}")

  def close(self) -> None:
    self._manager.close()


class CheckpointWriteError(OSError):
  """A checkpoint could not be written; the message names it and the last complete one."""
