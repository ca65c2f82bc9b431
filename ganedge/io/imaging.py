"""Image conversion and writing: model output to uint8 pixels, grids, PNG files, animations.

Example:
    >>> import numpy as np
    >>> to_uint8_nhwc(np.zeros((2, 1, 4, 4), np.float32)).shape
    (2, 4, 4, 1)
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import math
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ganedge.budgets import MAX_FPS, MIN_FPS, check_float
from ganedge.errors import InputError, MissingExtraError
from ganedge.io.files import atomic_path, check_writable

GRID_PADDING = 2  # pixels of black between and around grid cells
# suffix → Pillow format, or MP4 through imageio-ffmpeg's bundled ffmpeg (the video extra)
ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG", ".mp4": "MP4"}
VIDEO_EXTRA_HINT = "pip install 'ganedge[video]'"
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}  # PNG is lossless anyway


def to_uint8_nhwc(images: np.ndarray,
                  value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Map (B, C, H, W) float in ``value_range`` to (B, H, W, C) uint8 in [0, 255], rounding to
    nearest; NaN becomes the low end, ±Inf the ends."""
    low, high = value_range
    pixels = images.astype(np.float32, copy=True)
    # in place: one float temporary per batch instead of three
    pixels -= np.float32(low)
    pixels *= np.float32(255.0 / (high - low))
    np.nan_to_num(pixels, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.rint(pixels, out=pixels)
    np.clip(pixels, 0, 255, out=pixels)
    return pixels.astype(np.uint8).transpose(0, 2, 3, 1)


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of the most square grid that holds n images, wider than tall."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def make_grid(images: np.ndarray, cols: int | None = None) -> np.ndarray:
    """Tile (N, H, W, C) uint8 images into one (rows*(H+p)+p, cols*(W+p)+p, C) image."""
    n, h, w, c = images.shape
    cols = cols or grid_shape(n)[1]
    rows = math.ceil(n / cols)
    p = GRID_PADDING
    grid = np.zeros((rows * (h + p) + p, cols * (w + p) + p, c), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = p + r * (h + p), p + col * (w + p)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def to_pil(image: np.ndarray) -> Image.Image:
    """A PIL image from one (H, W, C) uint8 array, C in {1, 3}."""
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


HASH_CHARS = 12  # of the model file's SHA-256, written into each per-seed PNG


def seed_png_name(seed: int) -> str:
    """The file name of one seed's image in an output folder (``seed0042.png``)."""
    return f"seed{seed:04d}.png"


def provenance_text(model: Path, truncation: float) -> dict[str, str]:
    """PNG text chunks that say what made a per-seed image: ψ, the model file's name and content
    hash (the seed is added per image as ``ganedge.seed``)."""
    digest = hashlib.sha256()
    with model.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"ganedge.truncation": f"{truncation:g}", "ganedge.model": model.name,
            "ganedge.model_sha256": digest.hexdigest()[:HASH_CHARS]}


def png_bytes(image: np.ndarray, text: Mapping[str, str] | None = None) -> bytes:
    """One (H, W, C) uint8 image encoded as PNG in memory: the bytes :func:`save_png` writes.

    ``text`` goes into PNG tEXt chunks (e.g. the seed and ψ that made the image).
    """
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", pnginfo=_png_info(text))
    return buffer.getvalue()


def save_png(image: np.ndarray, path: str | Path, text: Mapping[str, str] | None = None) -> Path:
    """Write one (H, W, C) uint8 image as PNG atomically (temp name in the same folder + rename).

    ``text`` goes into PNG tEXt chunks (e.g. the seed and ψ that made the image).
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        to_pil(image).save(tmp, format="PNG", pnginfo=_png_info(text))
    return path


def _png_info(text: Mapping[str, str] | None) -> PngInfo:
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    return info


class PngWriter:
    """Writes PNGs with :func:`save_png` on worker threads while the caller goes on (PNG's zlib
    encoding releases the GIL, so it overlaps inference); the files are byte for byte what
    ``save_png`` writes in line. At most ``max_pending`` images wait, so memory stays bounded; the
    first failed write is raised by the next :meth:`submit` or on leaving the ``with`` block,
    which waits for every write.

    Example:
        >>> with PngWriter() as writer:                                       # doctest: +SKIP
        ...     writer.submit(image, "seed0001.png", {"ganedge.seed": "1"})
    """

    def __init__(self, workers: int = 2, max_pending: int = 256) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ganedge-png")
        self._pending: deque[Future[Path]] = deque()
        self._max_pending = max_pending

    def submit(self, image: np.ndarray, path: str | Path,
               text: Mapping[str, str] | None = None) -> None:
        """Queue one (H, W, C) uint8 image (the caller must not change it afterwards)."""
        while len(self._pending) >= self._max_pending:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(save_png, image, path, text))

    def __enter__(self) -> PngWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            while self._pending:
                future = self._pending.popleft()
                if kind is None:
                    future.result()
                else:  # already failing: let the writes in flight finish, raise the first error
                    future.exception()
        finally:
            self._pool.shutdown(wait=True)


def check_image_path(path: str | Path, param: str = "output") -> Path:
    """Return ``path`` if its suffix names an image format we write, else raise InputError."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_FORMATS:
        raise InputError(f"{path.name!r} is not .png, .jpg, .jpeg or .webp: pick one of those "
                         "suffixes", param=param)
    return check_writable(path, param)


def save_image(image: np.ndarray, path: str | Path, text: Mapping[str, str] | None = None
               ) -> Path:
    """Write one (H, W, C) uint8 image atomically in the format its suffix names (see
    IMAGE_FORMATS); ``text`` goes into a PNG's tEXt chunks."""
    path = check_image_path(path)
    fmt = IMAGE_FORMATS[path.suffix.lower()]
    if fmt == "PNG":
        return save_png(image, path, text)
    with atomic_path(path) as tmp:
        to_pil(image).save(tmp, format=fmt, **_SAVE_OPTIONS[fmt])
    return path


def upscale(images: np.ndarray, scale: int) -> np.ndarray:
    """Enlarge (..., H, W, C) uint8 images ``scale`` times with nearest neighbour (crisp pixels)."""
    if scale == 1:
        return images
    return images.repeat(scale, axis=-3).repeat(scale, axis=-2)


def check_animation_path(path: str | Path) -> Path:
    """Return ``path`` if its suffix names an animation format we write, else raise InputError."""
    path = Path(path)
    if path.suffix.lower() not in ANIMATION_FORMATS:
        raise InputError(f"{path.name!r} is not .gif, .webp, .png (animated) or .mp4: pick one "
                         "of those suffixes, or write the frames as files", param="output")
    if ANIMATION_FORMATS[path.suffix.lower()] == "MP4" and not video_available():
        raise _missing_video()
    return check_writable(path, "output")


def video_available() -> bool:
    """Whether the video extra (imageio-ffmpeg) is installed, without importing it."""
    try:
        return importlib.util.find_spec("imageio_ffmpeg") is not None
    except ValueError:  # a module object without a spec in sys.modules: as good as absent
        return False


def _missing_video() -> MissingExtraError:
    return MissingExtraError("writing .mp4 needs the imageio-ffmpeg package, which is not "
                             f"installed: {VIDEO_EXTRA_HINT} brings it (or write .gif)",
                             param="output")


def save_animation(frames: np.ndarray, path: str | Path, fps: float) -> Path:
    """Write (F, H, W, C) uint8 frames as a looping GIF, animated WebP or animated PNG, or an
    H.264 MP4 (needs the video extra), atomically.

    GIF stores frame times in 10 ms steps, so its frame rate is rounded to that grid.
    """
    path = check_animation_path(path)
    if ANIMATION_FORMATS[path.suffix.lower()] == "MP4":
        return _save_mp4(frames, path, fps)
    fps = check_float(fps, "fps", MIN_FPS, MAX_FPS)
    pictures = [to_pil(frame) for frame in frames]
    options = {"save_all": True, "append_images": pictures[1:], "loop": 0,
               "duration": max(10, round(1000 / fps))}
    fmt = ANIMATION_FORMATS[path.suffix.lower()]
    if fmt == "WEBP":
        options["lossless"] = True
    with atomic_path(path) as tmp:
        pictures[0].save(tmp, format=fmt, **options)
    return path


def _save_mp4(frames: np.ndarray, path: Path, fps: float) -> Path:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise _missing_video() from None
    f, h, w, c = frames.shape
    # H.264 in yuv420p (what players expect) needs even sides: pad with black, never resample
    rgb = np.zeros((f, h + h % 2, w + w % 2, 3), np.uint8)
    rgb[:, :h, :w] = frames if c == 3 else frames.repeat(3, axis=-1)
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (rgb.shape[2], rgb.shape[1]), fps=fps, codec="libx264",
            pix_fmt_out="yuv420p", macro_block_size=2, output_params=["-f", "mp4"])
        writer.send(None)
        for frame in rgb:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    return path
