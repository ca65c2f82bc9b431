"""The exporter's training callback: found through the trainer's registry (entry point), never
imported by trainer/."""

from __future__ import annotations

from pathlib import Path

from trainer import ArchConfig, TrainConfig, train
from trainer.callbacks import CALLBACKS


def test_export_callback_is_registered_and_writes_onnx(tmp_path: Path) -> None:
    export_callback = CALLBACKS.get("export")
    assert export_callback.__module__ == "exports.callbacks"
    cfg = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                      steps=2, sample_every=0, checkpoint_every=1, log_every=0)
    callback = export_callback(every=2)
    train(cfg, tmp_path, callbacks=(callback,))
    assert callback.exported == ["step000002.onnx"]
    assert (tmp_path / "exports" / "step000002.onnx").is_file()
