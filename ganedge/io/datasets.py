"""Image datasets as numpy arrays, torch-free so that both training and evaluation read them.

Images come back as (N, C, S, S) float32 in [-1, 1]; labels as (N,) int64 or None. A spec is one of:

- ``digits``: the 1,797 UCI handwritten 8×8 digits bundled with ganedge (grayscale, labels 0-9).
- ``stacked-digits``: 20,000 RGB images whose R, G and B channels are three independently and
  uniformly drawn digits: 1,000 modes, labelled 0-999 (100·R + 10·G + B), seeded (seed 0); the
  offline analogue of Stacked MNIST. Other sizes and seeds: :func:`load_stacked_digits`.
- an image folder: every png/jpg/jpeg/webp/bmp below it, read recursively. When every image sits
  in a direct subfolder and there are at least two of them, the subfolder names are the classes.
  Each image is resized so its shorter side is S (Lanczos) and center-cropped to S×S.
- a ``.npz`` file: ``images`` (or the file's only array) shaped (N, H, W) grayscale,
  (N, H, W, C) or (N, C, H, W) with C in {1, 3, 4} (alpha dropped); uint8 in [0, 255] or float in
  [0, 1] or [-1, 1]; optional ``labels`` (N,) non-negative ints and ``class_names`` (K,) str.
  Images that are not S×S are resized and cropped like folder images.

``channels`` (1 or 3) converts every image to that many channels (luminance or repeated gray);
without it a folder that mixes grayscale and colour images is an error.

Example:
    >>> data = load_dataset("digits", image_size=32)      # doctest: +SKIP
    >>> data.images.shape, data.labels.shape              # doctest: +SKIP
    ((1797, 1, 32, 32), (1797,))
"""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from ganedge.budgets import MAX_SIDE, check_int
from ganedge.errors import InputError

STACKED = "stacked-digits"
STACKED_SIZE = 20_000  # images in the built-in stacked-digits set (20 per mode on average)
STACKED_DIGITS = 3  # one digit per RGB channel: 10³ modes
BUILTIN = ("digits", STACKED)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # PIL modes read as one channel
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601-2, as PIL's convert("L")
SPEC_HINT = "give digits, stacked-digits, an image folder or a .npz file"


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, C, S, S) float32 in [-1, 1], optional labels (N,) int64, and their names."""

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    skipped: int = 0  # unreadable files left out
    resize_filter: str = "none"  # PIL filter that brought images to S×S ("none": already S×S)
    stacked: bool = False  # stacked digits: each channel is one digit, labels are 100·R + 10·G + B

    @property
    def num_classes(self) -> int:
        """Number of classes, 0 when unlabeled."""
        return len(self.class_names) if self.labels is not None else 0


def load_dataset(spec: str | Path, image_size: int, channels: int | None = None) -> ImageDataset:
    """A dataset by name (``digits``, ``stacked-digits``), image folder or ``.npz`` file, as S×S
    images.

    ``channels`` (1 or 3), when given, converts every image to that many channels.
    """
    check_int(image_size, "image_size", 1, MAX_SIDE)
    if channels not in (None, 1, 3):
        raise InputError(f"must be 1 or 3 (got {channels})", param="channels")
    check_spec(spec)
    path = Path(spec)
    if str(spec) == "digits":
        data = load_digits(image_size)
    elif str(spec) == STACKED:
        if channels == 1:
            raise InputError(f"{STACKED} is RGB, one digit per channel (got channels=1): "
                             "use channels=3 or leave it unset", param="channels")
        return load_stacked_digits(image_size)
    elif path.is_dir():
        data = load_folder(path, image_size, channels)
    else:
        data = load_npz(path, image_size)
    return _with_channels(data, channels)


def check_spec(spec: str | Path, param: str = "data") -> None:
    """Raise InputError unless ``spec`` names a built-in dataset, a folder or a .npz file.

    Reads nothing, so a command can reject a mistyped path before it starts long work.
    """
    path = Path(spec)
    if str(spec) in BUILTIN or path.is_dir() or (path.suffix.lower() == ".npz" and path.is_file()):
        return
    raise InputError(f"no dataset, folder or .npz file named {str(spec)!r}: {SPEC_HINT}",
                     param=param)


def load_digits(image_size: int = 32) -> ImageDataset:
    """The 1,797 UCI 8×8 handwritten digits (white on black), resized bilinearly."""
    pixels, target = _digits_arrays()
    # pixel values are 0..16
    small = (pixels.reshape(-1, 8, 8) / 16.0).astype(np.float32)
    images = np.stack([_resize(img, image_size) for img in small])[:, None]
    return ImageDataset(images * 2 - 1, target.astype(np.int64),
                        tuple(str(d) for d in range(10)), resize_filter="bilinear")


def load_stacked_digits(image_size: int = 32, n: int = STACKED_SIZE,
                        seed: int = 0) -> ImageDataset:
    """``n`` images (n, 3, S, S) whose channels are independent, uniformly drawn digits.

    Each channel draws its digit d uniformly from 0-9, then one of the digits images of class d
    uniformly; the label is the mode 100·R + 10·G + B. The same (n, seed) gives the same images.

    Example:
        >>> data = load_stacked_digits(32, n=100, seed=1)    # doctest: +SKIP
        >>> data.images.shape, data.num_classes              # doctest: +SKIP
        ((100, 3, 32, 32), 1000)
    """
    if n < 1:
        raise InputError(f"must be at least 1 (got {n})", param="n")
    digits = load_digits(image_size)
    images, modes = stack_digits(digits.images[:, 0], digits.labels, n, seed)
    names = tuple(f"{m:03d}" for m in range(10**STACKED_DIGITS))
    return ImageDataset(images, modes, names, resize_filter=digits.resize_filter, stacked=True)


def stack_digits(images: np.ndarray, labels: np.ndarray, n: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3, H, W) stacks of one-channel digit ``images`` (M, H, W) of any dtype, and their
    modes (n,) = 100·R + 10·G + B; digits uniform per channel, then images uniform per digit."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, size=(n, STACKED_DIGITS))
    order = np.argsort(labels, kind="stable")  # image ids grouped by digit
    counts = np.bincount(labels, minlength=10)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = (rng.random((n, STACKED_DIGITS)) * counts[digits]).astype(np.int64)
    stacks = images[order[starts[digits] + pick]]  # (n, 3, H, W)
    modes = digits @ (10 ** np.arange(STACKED_DIGITS - 1, -1, -1))
    return stacks, modes.astype(np.int64)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) pixels 0..16 and (1797,) targets of the UCI digits bundled with ganedge
    (CC BY 4.0, see ganedge/data/README.md), so the runtime needs no scikit-learn."""
    with resources.as_file(resources.files("ganedge") / "data" / "digits.npz") as path, \
            np.load(path) as arrays:
        return arrays["pixels"].reshape(-1, 64), arrays["labels"]


def load_folder(root: Path, image_size: int, channels: int | None = None) -> ImageDataset:
    """Every image below ``root``; subfolder names become labels when all images sit in one."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"folder {str(root)!r} holds no {'/'.join(s[1:] for s in IMAGE_SUFFIXES)} "
                         "images: point it at a folder of images", param="data")
    read = [(path, _read_image(path)) for path in files]
    good = [(path, image) for path, image in read if image is not None]
    if not good:
        raise InputError(f"none of the {len(files)} images in {str(root)!r} could be read",
                         param="data")
    pictures = _uniform_channels([image for _, image in good], root, channels)
    images = np.stack([_to_float_chw(_fit(p, image_size)) for p in pictures])
    labels, names = _folder_labels(root, [path for path, _ in good])
    resized = any(p.size != (image_size, image_size) for p in pictures)
    return ImageDataset(images, labels, names, skipped=len(files) - len(good),
                        resize_filter="lanczos" if resized else "none")


def load_npz(path: Path, image_size: int) -> ImageDataset:
    """Images (and optional labels / class names) from a ``.npz`` file; see the module docs."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {str(path)!r} as .npz ({exc}): save it with "
                         "numpy.savez(path, images=..., labels=...)", param="data") from None
    images = _npz_images(arrays, path)
    labels = _npz_labels(arrays, len(images), path)
    names = _npz_class_names(arrays, labels, path)
    if images.shape[-2:] == (image_size, image_size):
        return ImageDataset(images, labels, names)
    pictures = [_to_pil(image) for image in images]
    resized = np.stack([_to_float_chw(_fit(p, image_size)) for p in pictures])
    return ImageDataset(resized, labels, names, resize_filter="lanczos")


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of one (H, W) float image in [0, 1] to (size, size)."""
    resized = Image.fromarray(image, mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _read_image(path: Path) -> Image.Image | None:
    """The decoded image as "L" or "RGB", or None when it cannot be read."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("L" if image.mode in GRAY_MODES else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _uniform_channels(pictures: list[Image.Image], root: Path,
                      channels: int | None) -> list[Image.Image]:
    """All pictures in one mode: the one of ``channels`` if given, else the only one present."""
    counts = Counter(p.mode for p in pictures)
    if channels is not None:
        mode = "L" if channels == 1 else "RGB"
        return [p if p.mode == mode else p.convert(mode) for p in pictures]
    if len(counts) > 1:
        raise InputError(f"folder {str(root)!r} mixes {counts['L']} grayscale and "
                         f"{counts['RGB']} RGB images: pass `channels` 1 or 3",
                         param="data")
    return pictures


def _fit(picture: Image.Image, size: int) -> Image.Image:
    """Resize so the shorter side is ``size`` (Lanczos), then center-crop to size×size."""
    w, h = picture.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    if (new_w, new_h) != (w, h):
        picture = picture.resize((new_w, new_h), Image.Resampling.LANCZOS)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return picture.crop((left, top, left + size, top + size))


def _to_float_chw(picture: Image.Image) -> np.ndarray:
    """(C, S, S) float32 in [-1, 1] from an "L" or "RGB" picture."""
    pixels = np.asarray(picture, dtype=np.float32)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return pixels / 127.5 - 1.0


def _to_pil(image: np.ndarray) -> Image.Image:
    """A picture from one (C, H, W) float image in [-1, 1]."""
    pixels = np.clip(np.rint((image + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels[0] if len(pixels) == 1 else pixels.transpose(1, 2, 0))


def _folder_labels(root: Path, files: list[Path]) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Labels from class subfolders when every file sits directly in one of ≥2 subfolders."""
    parents = [path.parent for path in files]
    if any(parent.parent != root for parent in parents):
        return None, ()
    names = tuple(sorted({parent.name for parent in parents}))
    if len(names) < 2:
        return None, ()
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[parent.name] for parent in parents], np.int64), names


def _npz_images(arrays: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """(N, C, H, W) float32 in [-1, 1] from the file's image array."""
    if "images" in arrays:
        raw = arrays["images"]
    elif len(arrays) == 1:
        raw = next(iter(arrays.values()))
    else:
        raise InputError(f"{str(path)!r} has no 'images' array (got {sorted(arrays)}): "
                         "save images under the key 'images'", param="data")
    return _scale(_to_nchw(raw, path), path)


def _to_nchw(raw: np.ndarray, path: Path) -> np.ndarray:
    if raw.ndim == 3:
        return raw[:, None]
    if raw.ndim == 4 and raw.shape[-1] in (1, 3, 4):
        raw = raw.transpose(0, 3, 1, 2)
    if raw.ndim == 4 and raw.shape[1] in (1, 3, 4):
        return raw[:, :3]
    raise InputError(f"images in {str(path)!r} must be (N, H, W), (N, H, W, C) or "
                     f"(N, C, H, W) with C in 1, 3, 4 (got {raw.shape})", param="data")


def _scale(raw: np.ndarray, path: Path) -> np.ndarray:
    """Map uint8 [0, 255], float [0, 1] or float [-1, 1] to float32 [-1, 1]."""
    if len(raw) == 0:
        raise InputError(f"{str(path)!r} holds no images: save at least one", param="data")
    if raw.dtype == np.uint8:
        return raw.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(raw.dtype, np.floating):
        raise InputError(f"images in {str(path)!r} must be uint8 or float (got {raw.dtype})",
                         param="data")
    low, high = float(raw.min()), float(raw.max())
    if low < -1.0 or high > 1.0 or not np.isfinite(raw).all():
        raise InputError(f"float images in {str(path)!r} must lie in [0, 1] or [-1, 1] "
                         f"(got {low:g}..{high:g}): rescale them or save uint8", param="data")
    raw = raw.astype(np.float32)
    return raw if low < 0 else raw * 2.0 - 1.0


def _npz_labels(arrays: dict[str, np.ndarray], n: int, path: Path) -> np.ndarray | None:
    if "labels" not in arrays:
        return None
    labels = arrays["labels"]
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise InputError(f"'labels' in {str(path)!r} must be {n} non-negative ints "
                         f"(got {labels.dtype} {labels.shape})", param="data")
    return labels.astype(np.int64)


def _npz_class_names(arrays: dict[str, np.ndarray], labels: np.ndarray | None,
                     path: Path) -> tuple[str, ...]:
    if labels is None:
        return ()
    count = int(labels.max()) + 1
    if "class_names" not in arrays:
        return tuple(str(i) for i in range(count))
    names = tuple(str(name) for name in arrays["class_names"])
    if len(names) < count:
        raise InputError(f"'class_names' in {str(path)!r} names {len(names)} classes but "
                         f"labels go up to {count - 1}: name every class", param="data")
    return names


def _with_channels(data: ImageDataset, channels: int | None) -> ImageDataset:
    """The dataset converted to ``channels`` (1: luminance, 3: repeated gray) when given."""
    have = data.images.shape[1]
    if channels is None or channels == have:
        return data
    if channels == 3:
        images = np.repeat(data.images, 3, axis=1)
    else:
        images = np.einsum("nchw,c->nhw", data.images, LUMA)[:, None]
    return ImageDataset(images.astype(np.float32), data.labels, data.class_names, data.skipped,
                        data.resize_filter)
