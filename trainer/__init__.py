"""trainer: PyTorch GAN training that writes self-describing ganedge checkpoints."""

from trainer.callbacks import CALLBACKS, Callback, EvalCallback
from trainer.checkpoint import (
    generator_from_checkpoint,
    load_checkpoint,
    save_checkpoint,
    save_generator,
)
from trainer.config import PRESETS, ArchConfig, TrainConfig, preset
from trainer.loop import Trainer, TrainResult, train
from trainer.models import ARCHITECTURES, Architecture, build_generator, register_architecture

__all__ = [
    "ARCHITECTURES", "CALLBACKS", "PRESETS", "ArchConfig", "Architecture", "Callback",
    "EvalCallback", "TrainConfig", "TrainResult", "Trainer", "build_generator",
    "generator_from_checkpoint", "load_checkpoint", "preset", "register_architecture",
    "save_checkpoint", "save_generator", "train",
]
