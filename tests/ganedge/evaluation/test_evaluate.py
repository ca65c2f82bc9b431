from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganedge.errors import InputError
from ganedge.evaluation import EvalConfig, Evaluator, evaluate_images
from ganedge.evaluation.images import feature_input
from ganedge.io.datasets import load_dataset
from ganedge.io.imaging import to_uint8_nhwc

FIGURES = ["FD", "KID", "precision", "recall", "density", "coverage", "modes covered",
           "KL(gen||real)", "mean confidence"]


def test_identical_sets_score_perfectly(digits_evaluator: Evaluator) -> None:
    result = digits_evaluator.evaluate(digits_evaluator.real_ref)
    assert [f.name for f in result.figures] == FIGURES
    assert result["FD"].value == pytest.approx(0.0, abs=1e-6)
    assert (result["precision"].value, result["recall"].value,
            result["coverage"].value) == (1, 1, 1)
    assert result["KL(gen||real)"].value < 0.01 and result["modes covered"].value == 10
    assert result["mean confidence"].value > 0.9
    assert not result.collapse


def test_held_out_floor_is_close_and_classifier_is_accurate(digits_evaluator: Evaluator) -> None:
    floor = digits_evaluator.floor
    assert 0 < floor["FD"] < 2 and floor["precision"] > 0.9 and floor["recall"] > 0.9
    assert floor["modes covered"] == 10
    accuracy = digits_evaluator.protocol(1)["feature_network"]["heldout_accuracy"]
    assert accuracy >= 0.97


def test_noise_is_far_and_imprecise(digits_evaluator: Evaluator) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (400, 32, 32, 1), dtype=np.uint8)
    result = digits_evaluator.evaluate(noise)
    assert result["FD"].value > 50 * result["FD"].floor
    assert result["precision"].value < 0.05 and result["coverage"].value < 0.05


def test_a_one_digit_generator_is_flagged_as_collapsed(digits_evaluator: Evaluator) -> None:
    ref = digits_evaluator
    threes = ref.real_heldout[ref.labels_heldout == 3]
    result = ref.evaluate(threes)
    assert result["modes covered"].value == 1 and result["modes covered"].floor == 10
    assert result.collapse and result.missing_modes == ("0", "1", "2", "4", "5", "6", "7", "8", "9")
    # all mass on one of ten near-uniform classes: KL ≈ log 10
    assert result["KL(gen||real)"].value > 1.5 and result["recall"].value < 0.3
    assert "mode collapse: classes 0, 1, 2, 4, 5, 6, 7, 8, 9 not covered" in result.format()


def test_float_nchw_and_uint8_nhwc_give_the_same_result(digits_evaluator: Evaluator) -> None:
    data = load_dataset("digits", 32)
    floats = data.images[:300]
    a = digits_evaluator.evaluate(floats).to_dict()
    b = digits_evaluator.evaluate(to_uint8_nhwc(floats)).to_dict()
    assert a == b


def test_label_accuracy_of_a_conditional_generator(digits_evaluator: Evaluator) -> None:
    ref = digits_evaluator
    right = ref.evaluate(ref.real_heldout, fake_labels=ref.labels_heldout)
    wrong = ref.evaluate(ref.real_heldout, fake_labels=(ref.labels_heldout + 1) % 10)
    assert right["label accuracy"].value == right["label accuracy"].floor >= 0.97
    assert wrong["label accuracy"].value < 0.05


def test_protocol_is_stamped_into_every_result(digits_evaluator: Evaluator) -> None:
    result = digits_evaluator.evaluate(digits_evaluator.real_heldout[:100])
    p = result.protocol
    assert (p["n_real"], p["n_fake"], p["n_floor"]) == (899, 100, 898)
    assert p["splits"] == "seed 0 shuffle of 1797 real images: reference 899, held-out floor 898"
    assert p["feature_network"]["kind"] == "mlp" and len(p["feature_network"]["hash"]) == 16
    assert p["resize"] == {"data": "bilinear", "features": "bilinear",
                           "quantize": "uint8 both sides"}
    assert p["seeds"] == {"split_init_kid": 0} and p["config"]["seed"] == 0
    assert set(p["versions"]) == {"ganedge", "numpy", "onnxruntime", "pillow", "python"}
    assert "protocol:\n  data: digits\n" in result.format()


def test_results_are_reproducible_for_a_seed_without_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = EvalConfig(seed=3, epochs=2, kid_subsets=5, real_per_split=300)
    fakes = load_dataset("digits", 32).images[::3]
    results = []
    for run in ("a", "b"):
        monkeypatch.setenv("GANEDGE_CACHE", str(tmp_path / run))
        results.append(evaluate_images(fakes, "digits", config=config).to_dict())
        assert results[-1]["protocol"]["feature_network"]["cached"] is False
    assert results[0] == results[1]
    assert results[0]["protocol"]["splits"].startswith("seed 3 shuffle")


def test_feature_network_is_cached_as_npz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANEDGE_CACHE", str(tmp_path))
    config = EvalConfig(epochs=1, kid_subsets=2, real_per_split=300)
    first = Evaluator("digits", 32, 1, config)
    (entry,) = (tmp_path / "featnet").glob("*.npz")
    assert entry.stem == first.net.digest
    with np.load(entry, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["b0", "b1", "b2", "w0", "w1", "w2"]
    second = Evaluator("digits", 32, 1, config)
    assert (first.net.cached, second.net.cached) == (False, True)
    np.testing.assert_array_equal(first.ref_features, second.ref_features)


def test_unlabeled_data_uses_pca_and_skips_mode_figures(tmp_path: Path) -> None:
    data = load_dataset("digits", 16)
    np.savez(tmp_path / "u.npz", images=to_uint8_nhwc(data.images[:400]))
    result = evaluate_images(data.images[400:600], tmp_path / "u.npz",
                             config=EvalConfig(pca_dims=16, kid_subsets=5))
    assert [f.name for f in result.figures] == FIGURES[:6]
    assert result.protocol["feature_network"]["kind"] == "pca"
    assert result.protocol["feature_network"]["dims"] == 16
    assert result["FD"].value < 5 * result["FD"].floor + 1


def test_wrong_image_shape_is_an_input_error(digits_evaluator: Evaluator) -> None:
    with pytest.raises(InputError, match=r"fake images: shape \(16, 16, 1\) \(H, W, C\) differs"):
        digits_evaluator.evaluate(np.zeros((20, 16, 16, 1), np.uint8))
    with pytest.raises(InputError, match=r"fake images: expected uint8 NHWC or float NCHW"):
        digits_evaluator.evaluate(np.zeros((20, 32, 32, 1), np.int32))



def test_labeled_image_folder_trains_a_classifier_over_its_classes(tmp_path: Path) -> None:
    data = load_dataset("digits", 16)
    pixels = to_uint8_nhwc(data.images)[..., 0]  # (N, 16, 16)
    for label in (0, 1, 7):
        folder = tmp_path / f"class{label}"
        folder.mkdir()
        for i in np.flatnonzero(data.labels == label)[:40]:
            Image.fromarray(pixels[i]).save(folder / f"{i}.png")
    sevens = pixels[data.labels == 7][40:70, :, :, None]
    result = evaluate_images(sevens, tmp_path, config=EvalConfig(kid_subsets=3, epochs=10))
    assert result["modes covered"].floor == 3 and result["modes covered"].value == 1
    assert result.missing_modes == ("class0", "class1")
    assert result.protocol["n_real"] + result.protocol["n_floor"] == 120
    assert result.protocol["resize"]["data"] == "none"


def test_mode_grid_has_one_row_per_class_and_empty_rows_for_missing_modes(
        digits_evaluator: Evaluator) -> None:
    ref = digits_evaluator
    x = feature_input(ref.real_heldout, ref.config.feature_size)
    # held-out images the classifier calls 3, so only row 3 can fill
    threes = ref.real_heldout[ref.net.probabilities(x).argmax(axis=1) == 3]
    grid = ref.mode_grid(threes, per_class=4)
    # 10 rows × 4 columns of 32-px cells with 2-px padding
    assert grid.shape == (10 * 34 + 2, 4 * 34 + 2, 1)
    rows = [grid[2 + r * 34 : 34 + r * 34] for r in range(10)]
    assert [int(row.max() > 0) for row in rows] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
