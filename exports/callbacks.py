"""The exporter's training callback, registered as ``export`` in the trainer's callback registry
through the ``ganedge.callbacks`` entry point: the trainer finds it without importing exports.

Example:
    >>> from trainer.callbacks import CALLBACKS
    >>> CALLBACKS.get("export").__name__
    'ExportCallback'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from exports.checkpoint import export_checkpoint
from ganedge.io.files import make_folder
from trainer.callbacks import CALLBACKS, Callback

if TYPE_CHECKING:
    from trainer.loop import Trainer


@CALLBACKS.register("export")
class ExportCallback(Callback):
    """Export the checkpoint to ``exports/stepNNNNNN.onnx`` every ``every`` steps (on a
    checkpoint step), through :func:`exports.checkpoint.export_checkpoint`."""

    def __init__(self, every: int = 1000) -> None:
        self.every = every
        self.exported: list[str] = []

    def on_checkpoint(self, trainer: Trainer, step: int, path: Path) -> None:
        if not trainer.is_main or step % self.every:
            return
        out = trainer.out / "exports" / f"step{step:06d}.onnx"
        make_folder(out.parent)
        export_checkpoint(path, out)
        self.exported.append(out.name)

    def state_dict(self) -> dict[str, Any]:
        return {"exported": list(self.exported)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.exported = list(state.get("exported", []))
