"""OnnxExport in a real Lightning Trainer: a tiny GAN with manual optimization, under both of
Lightning's import names; the file it writes is what the module computes, and the logger gets the
grid the file produces."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import ganedge
from ganedge.errors import ConfigError

LATENT, SIZE = 8, 8


def _framework(name: str):  # noqa: ANN202 - a module
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install "
                                            "'ganedge[lightning]')")


def _tiny_gan(framework):  # noqa: ANN001, ANN202 - classes built on the framework under test
    class TinyGan(framework.LightningModule):
        """The usual Lightning GAN: two optimizers stepped by hand in training_step."""

        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False
            self.z_dim = LATENT
            self.generator = nn.Sequential(nn.Linear(LATENT, SIZE * SIZE), nn.Tanh(),
                                           nn.Unflatten(1, (1, SIZE, SIZE)))
            self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(SIZE * SIZE, 1))

        def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
            opt_g, opt_d = self.optimizers()
            real = batch[0]
            fake = self.generator(torch.randn(len(real), LATENT))
            d_loss = (nn.functional.softplus(-self.discriminator(real)).mean()
                      + nn.functional.softplus(self.discriminator(fake.detach())).mean())
            opt_d.zero_grad()
            self.manual_backward(d_loss)
            opt_d.step()
            g_loss = nn.functional.softplus(-self.discriminator(fake)).mean()
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            opt_g.step()
            self.log("g_loss", g_loss)

        def configure_optimizers(self) -> list[torch.optim.Optimizer]:
            return [torch.optim.Adam(self.generator.parameters(), 1e-3),
                    torch.optim.Adam(self.discriminator.parameters(), 1e-3)]

    return TinyGan


def _loader() -> torch.utils.data.DataLoader:
    images = torch.rand(32, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=8)


def _trainer(framework, root: Path, callbacks: list, epochs: int = 2):  # noqa: ANN001, ANN202
    from torch.utils.tensorboard import SummaryWriter  # noqa: F401 - TensorBoardLogger needs it

    logger = framework.loggers.TensorBoardLogger(str(root), name="tb")
    return framework.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=logger,
                             callbacks=callbacks, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False)


@pytest.mark.parametrize("name", ["lightning.pytorch", "pytorch_lightning"])
def test_trainer_exports_what_the_module_computes(tmp_path: Path, name: str) -> None:
    framework = _framework(name)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from exports.lightning import OnnxExport

    module = _tiny_gan(framework)()
    callback = OnnxExport(tmp_path / "onnx")
    trainer = _trainer(framework, tmp_path, [callback])
    trainer.fit(module, _loader())

    gen = ganedge.load(tmp_path / "onnx" / "model.onnx", provider="cpu")
    assert gen.contract.latent_dim == LATENT  # inferred from the module's z_dim
    z = gen.latents(range(5))
    with torch.no_grad():
        expected = module.generator(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(gen.generate(z), expected, atol=1e-4)
    provenance = callback.last_result.provenance
    assert provenance["framework"] == name.split(".")[0]
    assert provenance["epochs"] == 2 and provenance["global_step"] == callback.exported_step
    assert provenance["lightning"] == importlib.import_module(name.split(".")[0]).__version__

    events = EventAccumulator(trainer.logger.log_dir, size_guidance={"images": 0}).Reload()
    assert "onnx/samples" in events.Tags()["images"]
    # one grid per epoch; the end of fit adds none, since no step came after the last epoch
    assert len(events.Images("onnx/samples")) == 2
    assert len(list((tmp_path / "onnx").glob("samples-step*.png"))) == 2


def test_every_n_epochs_zero_exports_once_at_the_end(tmp_path: Path) -> None:
    framework = _framework("lightning.pytorch")
    from exports.lightning import OnnxExport

    callback = OnnxExport(tmp_path / "onnx", every_n_epochs=0, latent_dim=LATENT)
    _trainer(framework, tmp_path, [callback], epochs=3).fit(_tiny_gan(framework)(), _loader())
    assert callback.last_result.provenance["epochs"] == 3
    assert len(list((tmp_path / "onnx").glob("samples-step*.png"))) == 1


def test_only_rank_zero_writes(tmp_path: Path) -> None:
    framework = _framework("lightning.pytorch")
    from exports.lightning import OnnxExport

    callback = OnnxExport(tmp_path / "onnx", latent_dim=LATENT)
    rank1 = SimpleNamespace(is_global_zero=False, current_epoch=0, global_step=4, logger=None)
    callback.on_train_epoch_end(rank1, _tiny_gan(framework)())
    assert not (tmp_path / "onnx").exists() and callback.exported_step is None


def test_a_latent_size_it_cannot_infer_fails_before_training(tmp_path: Path) -> None:
    framework = _framework("lightning.pytorch")
    from exports.lightning import OnnxExport

    module = _tiny_gan(framework)()
    del module.z_dim
    with pytest.raises(ConfigError, match=r"^latent_dim: cannot infer it.*OnnxExport\(latent_dim"):
        _trainer(framework, tmp_path, [OnnxExport(tmp_path / "onnx")]).fit(module, _loader())
    with pytest.raises(ConfigError, match=r"^generator: TinyGan has no attribute 'ema.module'"):
        _trainer(framework, tmp_path, [OnnxExport(tmp_path / "onnx", generator="ema.module",
                                                  latent_dim=LATENT)]).fit(module, _loader())
    assert not (tmp_path / "onnx" / "model.onnx").exists()


def test_bad_arguments_name_the_parameter() -> None:
    pytest.importorskip("lightning.pytorch")
    from exports.lightning import OnnxExport

    with pytest.raises(ConfigError, match=r"^precision: must be one of"):
        OnnxExport("x", precision="fp8")
    with pytest.raises(ConfigError, match=r"^grade: "):
        OnnxExport("x", grade="digits")
    with pytest.raises(ConfigError, match=r"^every_n_epochs: "):
        OnnxExport("x", every_n_epochs=-1)


def test_missing_lightning_is_one_line_naming_the_extra() -> None:
    code = ("import sys; sys.modules['lightning'] = sys.modules['pytorch_lightning'] = None\n"
            "from ganedge.errors import MissingExtraError\n"
            "try:\n    import exports.lightning\nexcept MissingExtraError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'ganedge[lightning]'" in out.stdout and len(out.stdout.splitlines()) == 1
