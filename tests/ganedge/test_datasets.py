from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganedge.errors import InputError
from ganedge.io.datasets import load_dataset, load_stacked_digits


def _png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _gray(value: int, size: int = 8) -> np.ndarray:
    return np.full((size, size), value, np.uint8)


def test_digits_are_labeled_grayscale_in_range() -> None:
    data = load_dataset("digits", 16)
    assert data.images.shape == (1797, 1, 16, 16) and data.images.dtype == np.float32
    assert data.images.min() == -1.0 and data.images.max() <= 1.0
    assert data.num_classes == 10 and sorted(set(data.labels.tolist())) == list(range(10))


def test_digits_convert_to_three_channels_by_repeating_gray() -> None:
    data = load_dataset("digits", 8, channels=3)
    assert data.images.shape == (1797, 3, 8, 8)
    np.testing.assert_array_equal(data.images[:, 0], data.images[:, 2])


def test_class_subfolders_become_labels(tmp_path: Path) -> None:
    _png(tmp_path / "cat" / "a.png", _gray(0))
    _png(tmp_path / "cat" / "b.jpg", _gray(10))
    _png(tmp_path / "dog" / "c.PNG", _gray(255))
    data = load_dataset(tmp_path, 8)
    assert data.class_names == ("cat", "dog")
    assert data.labels.tolist() == [0, 0, 1]
    assert data.images.shape == (3, 1, 8, 8) and data.images[2].min() == 1.0


@pytest.mark.parametrize("layout", [["a.png", "b.png"], ["a.png", "x/b.png"],
                                    ["x/a.png", "x/b.png"], ["x/y/a.png", "z/b.png"]])
def test_without_two_class_subfolders_the_folder_is_unlabeled(tmp_path: Path,
                                                              layout: list[str]) -> None:
    for name in layout:
        _png(tmp_path / name, _gray(0))
    data = load_dataset(tmp_path, 8)
    assert data.labels is None and data.num_classes == 0 and len(data.images) == 2


def test_shorter_side_resized_then_center_cropped(tmp_path: Path) -> None:
    # 40 wide × 20 high: only the middle 20 columns (white) survive the crop to 20×20
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, 10:30] = 255
    _png(tmp_path / "wide.png", pixels)
    data = load_dataset(tmp_path, 20)
    assert data.images.shape == (1, 3, 20, 20) and (data.images == 1.0).all()
    downsized = load_dataset(tmp_path, 10)
    assert downsized.images.shape == (1, 3, 10, 10) and downsized.resize_filter == "lanczos"
    assert downsized.images[:, :, :, 3:7].min() > 0.9


def test_unreadable_images_are_skipped_and_counted(tmp_path: Path) -> None:
    _png(tmp_path / "good.png", _gray(0))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    data = load_dataset(tmp_path, 8)
    assert len(data.images) == 1 and data.skipped == 1


@pytest.mark.parametrize("content", [[], ["notes.txt"]])
def test_folder_without_images_is_an_input_error(tmp_path: Path, content: list[str]) -> None:
    for name in content:
        (tmp_path / name).write_text("x")
    with pytest.raises(InputError, match=r"^data: folder .* holds no png/jpg/jpeg/webp/bmp images"):
        load_dataset(tmp_path, 8)


def test_mixed_channels_error_names_the_counts_or_convert(tmp_path: Path) -> None:
    _png(tmp_path / "g1.png", _gray(0))
    _png(tmp_path / "g2.png", _gray(0))
    _png(tmp_path / "c.png", np.full((8, 8, 3), (255, 0, 0), np.uint8))
    with pytest.raises(InputError,
                       match=r"mixes 2 grayscale and 1 RGB images: pass `channels` 1 or 3"):
        load_dataset(tmp_path, 8)
    assert load_dataset(tmp_path, 8, channels=3).images.shape == (3, 3, 8, 8)
    gray = load_dataset(tmp_path, 8, channels=1)
    # red at 255 → luminance round(0.299 * 255) = 76
    assert gray.images.shape == (3, 1, 8, 8) and np.isclose(gray.images[0].mean(), 76 / 127.5 - 1)


def test_npz_uint8_nhwc_with_labels_and_names(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", images=images, labels=np.array([0, 1, 1, 0, 2]),
             class_names=np.array(["a", "b", "c"]))
    data = load_dataset(tmp_path / "d.npz", 8)
    np.testing.assert_allclose(data.images, images.transpose(0, 3, 1, 2) / 127.5 - 1, atol=1e-6)
    assert data.labels.tolist() == [0, 1, 1, 0, 2] and data.class_names == ("a", "b", "c")


@pytest.mark.parametrize("raw, expected", [
    (np.full((2, 1, 8, 8), 0.5, np.float32), 0.0),  # float [0, 1], NCHW
    (np.full((2, 8, 8), -0.5, np.float64), -0.5),  # float [-1, 1], (N, H, W)
    (np.full((2, 8, 8, 4), 255, np.uint8), 1.0),  # RGBA: alpha dropped
])
def test_npz_layouts_and_ranges(tmp_path: Path, raw: np.ndarray, expected: float) -> None:
    np.savez(tmp_path / "d.npz", raw)
    data = load_dataset(tmp_path / "d.npz", 8)
    assert data.images.shape[::2] == (2, 8) and data.labels is None
    assert np.allclose(data.images, expected)


def test_npz_of_another_size_is_resized(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", images=np.zeros((3, 16, 16), np.uint8))
    data = load_dataset(tmp_path / "d.npz", 8)
    assert data.images.shape == (3, 1, 8, 8) and data.resize_filter == "lanczos"


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.full((2, 8, 8), 3.0, np.float32)},
     "must lie in \\[0, 1\\] or \\[-1, 1\\] \\(got 3..3\\)"),
    ({"images": np.zeros((2, 8, 8), np.uint8), "labels": np.array([0])},
     "must be 2 non-negative ints"),
    ({"a": np.zeros((2, 8, 8)), "b": np.zeros(2)},
     "has no 'images' array \\(got \\['a', 'b'\\]\\)"),
    ({"images": np.zeros((2, 5, 8, 8), np.uint8)}, "must be \\(N, H, W\\), \\(N, H, W, C\\)"),
])
def test_bad_npz_is_an_input_error(tmp_path: Path, arrays: dict, message: str) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(InputError, match=message):
        load_dataset(tmp_path / "d.npz", 8)


def test_unknown_spec_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(InputError,
                       match=r"^data: no dataset, folder or .npz file named 'mnist': give"):
        load_dataset("mnist", 8)
    with pytest.raises(InputError, match=r"^channels: must be 1 or 3 \(got 2\)"):
        load_dataset("digits", 8, channels=2)


def _chi_square_limit(df: int, z: float = 3.09) -> float:
    """Upper 0.1% point of χ²(df) (Wilson–Hilferty), so a fair draw fails 1 time in 1,000."""
    a = 2 / (9 * df)
    return df * (1 - a + z * np.sqrt(a)) ** 3


def test_stacked_digits_are_uniform_over_1000_modes_and_channels() -> None:
    data = load_dataset("stacked-digits", 16)
    n = len(data.images)
    assert data.images.shape == (n, 3, 16, 16) and data.stacked and data.num_classes == 1000
    counts = np.bincount(data.labels, minlength=1000)
    expected = n / 1000
    assert ((counts - expected) ** 2 / expected).sum() < _chi_square_limit(999)
    for digits in (data.labels // 100, data.labels // 10 % 10, data.labels % 10):
        per_digit = np.bincount(digits, minlength=10)
        assert ((per_digit - n / 10) ** 2 / (n / 10)).sum() < _chi_square_limit(9)


def test_stacked_digits_channels_are_the_labelled_digits() -> None:
    digits = load_dataset("digits", 16)
    stacked = load_stacked_digits(16, n=50, seed=3)
    by_image = {img.tobytes(): int(label) for img, label in zip(digits.images[:, 0], digits.labels)}
    for image, mode in zip(stacked.images, stacked.labels):
        assert [by_image[channel.tobytes()] for channel in image] == [mode // 100, mode // 10 % 10,
                                                                      mode % 10]


def test_stacked_digits_are_deterministic_from_the_seed() -> None:
    a, b = load_stacked_digits(16, n=200, seed=7), load_stacked_digits(16, n=200, seed=7)
    c = load_stacked_digits(16, n=200, seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def test_stacked_digits_refuse_one_channel() -> None:
    with pytest.raises(InputError, match="channels: stacked-digits is RGB"):
        load_dataset("stacked-digits", 16, channels=1)
