"""trainer: PyTorch GAN training that writes self-describing ganedge checkpoints."""

from trainer.checkpoint import generator_from_checkpoint, load_checkpoint, save_checkpoint
from trainer.config import PRESETS, ArchConfig, TrainConfig, preset
from trainer.loop import TrainResult, train

__all__ = [
    "PRESETS", "ArchConfig", "TrainConfig", "TrainResult", "generator_from_checkpoint",
    "load_checkpoint", "preset", "save_checkpoint", "train",
]
