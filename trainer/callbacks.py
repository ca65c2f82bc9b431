"""Callbacks: typed hooks into the training loop, with state saved in each checkpoint.

Example:
    >>> class PrintStep(Callback):
    ...     def on_step_end(self, trainer, step, logs):
    ...         if step % 100 == 0: print(step, logs["d_loss"])
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.registry import Registry

if TYPE_CHECKING:
    from trainer.loop import Trainer


class Callback:
    """Base class: every hook does nothing. Hooks run on every process; ``trainer.is_main`` tells
    rank 0, the only one that should write files. Report metrics with ``trainer.report``."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first step (after a resume, the restored state is in place)."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        """After generator update ``step``; ``logs`` holds this step's losses and D outputs."""

    def on_checkpoint(self, trainer: Trainer, step: int, path: Path) -> None:
        """After ``path`` (last.pt) was written at ``step``."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last step and the final checkpoint."""

    def state_dict(self) -> dict[str, Any]:
        """Plain data to store in checkpoints; restored by :meth:`load_state_dict` on resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


CALLBACKS: Registry[type[Callback]] = Registry("callback", "ganedge.callbacks")


@CALLBACKS.register("export")
class ExportCallback(Callback):
    """Export the checkpoint to ``exports/stepNNNNNN.onnx`` every ``every`` steps (on a
    checkpoint step), through exports.checkpoint.export_checkpoint."""

    def __init__(self, every: int = 1000) -> None:
        self.every = every
        self.exported: list[str] = []

    def on_checkpoint(self, trainer: Trainer, step: int, path: Path) -> None:
        if not trainer.is_main or step % self.every:
            return
        from exports.checkpoint import export_checkpoint

        out = trainer.out / "exports" / f"step{step:06d}.onnx"
        out.parent.mkdir(parents=True, exist_ok=True)
        export_checkpoint(path, out)
        self.exported.append(out.name)

    def state_dict(self) -> dict[str, Any]:
        return {"exported": list(self.exported)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.exported = list(state.get("exported", []))
