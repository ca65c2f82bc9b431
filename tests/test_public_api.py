"""The public API that docs/api.md promises: every name here must stay importable from where the
documentation says, so removing or moving one fails here first."""

from __future__ import annotations

import importlib
import inspect

import pytest

import ganedge

PUBLIC = {
    "ganedge": ["load", "GeneratorModel", "ModelContract", "GanEdgeError", "FORMAT_VERSION",
                "__version__"],
    "ganedge.errors": ["GanEdgeError", "InputError", "ConfigError", "OutputError",
                       "ContractError", "CheckpointError", "NonFiniteOutputError",
                       "ProviderError", "ParityError", "MissingExtraError"],
    "ganedge.evaluation": ["EvalConfig", "EvalResult", "Evaluator", "Figure", "evaluate_images",
                           "evaluate_model"],
    "ganedge.io.datasets": ["load_dataset"],
    "ganedge.runtime.session": ["SessionSettings"],
    "ganedge.ray": ["BulkReport", "Limits", "ServeConfig", "build_app", "generate"],
    "ganedge.triton": ["TritonRepository", "TritonSettings", "write_repository"],
    "exports": ["ExportResult", "ParityReport", "check_parity", "export_checkpoint",
                "export_generator"],
    "trainer": ["ARCHITECTURES", "CALLBACKS", "PRESETS", "ArchConfig", "Architecture",
                "Callback", "EvalCallback", "TrainConfig", "TrainResult", "Trainer",
                "build_generator", "generator_from_checkpoint", "load_checkpoint", "preset",
                "register_architecture", "save_checkpoint", "save_generator", "train"],
}
# what a loaded model offers (docs/api.md, docs/embedding.md, docs/stylegan2.md)
MODEL_METHODS = ["sample", "iter_samples", "latents", "generate", "images", "walk", "mapping",
                 "synthesis", "mix"]
MODEL_ATTRIBUTES = ["contract", "provenance", "parity", "providers", "image_shape", "path",
                    "static_batch", "threads"]
LOAD_PARAMETERS = ["path", "provider", "threads", "strict_provider", "latent_dim",
                   "allow_nonfinite", "settings", "cuda_graph"]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_there(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(loaded, name)]
    assert missing == [], f"{module} lost {missing}"
    listed = getattr(loaded, "__all__", None)
    if listed is not None:
        assert set(PUBLIC[module]) - {"__version__"} <= set(listed) | {"__version__"}, module


def test_the_runtime_names_are_what_they_say() -> None:
    assert ganedge.load is ganedge.runtime.model.load
    assert ganedge.GeneratorModel is ganedge.runtime.model.GeneratorModel
    assert issubclass(ganedge.errors.InputError, ganedge.GanEdgeError)
    assert isinstance(ganedge.FORMAT_VERSION, int) and isinstance(ganedge.__version__, str)
    assert list(inspect.signature(ganedge.load).parameters) == LOAD_PARAMETERS


def test_a_loaded_model_offers_the_documented_calls() -> None:
    gen = ganedge.load()
    assert [m for m in MODEL_METHODS if not callable(getattr(gen, m, None))] == []
    assert [a for a in MODEL_ATTRIBUTES if not hasattr(gen, a)] == []


def test_the_lightning_callback_is_where_the_docs_say() -> None:
    pytest.importorskip("lightning")
    from exports.lightning import OnnxExport

    assert inspect.isclass(OnnxExport)
