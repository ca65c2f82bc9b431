"""StyleGAN2's primitive operations as plain, ONNX-exportable PyTorch ops.

The semantics follow NVlabs' StyleGAN2-ADA (Karras et al. 2020) so that its networks can be
rebuilt here exactly: the [1, 3, 3, 1] resampling filter of upfirdn2d becomes a fixed depthwise
convolution (a transposed one for upsampling), bias + activation + gain + clamp is one function,
and the modulated convolution has three interchangeable forms that compute the same values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # keeps the activation's second moment, as He init does
MODCONV_IMPLS = ("activations", "grouped", "matmul")
"""Forms of the modulated convolution: ``activations`` scales x before and after one shared
convolution (any batch, symbolic in ONNX); ``grouped`` builds per-sample weights and runs one
grouped convolution (NVlabs' fused form; its group count fixes the batch); ``matmul`` builds
per-sample weights and multiplies them with shifted copies of x (symbolic batch)."""


def setup_filter(taps: tuple[float, ...] = (1, 3, 3, 1)) -> Tensor:
    """The separable low-pass filter as a normalised 2-D outer product, (K, K) summing to 1."""
    f = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def bias_act(x: Tensor, b: Tensor | None, act: str = "linear", gain: float = 1.0,
             clamp: float | None = None) -> Tensor:
    """x + b (on dim 1), then the activation, then × gain, then clamp to ±clamp."""
    if b is not None:
        x = x + b.reshape(1, -1, *([1] * (x.ndim - 2)))
    if act == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale each row of (B, N) to unit mean square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def _depthwise(f: Tensor, channels: int, gain: float, flip: bool = True) -> Tensor:
    # (C, 1, K, K); ``channels`` must be a Python int (a module's width), so a traced graph
    # gets a constant kernel; flipped because upfirdn2d convolves while conv2d correlates
    k = (f * gain).flip([0, 1]) if flip else f * gain
    return k[None, None].expand(channels, 1, *f.shape)


def filter2d(x: Tensor, f: Tensor, pad: int, channels: int, gain: float = 1.0) -> Tensor:
    """upfirdn2d with up = down = 1: pad every side by ``pad``, convolve each of the
    ``channels`` channels of x with f."""
    return F.conv2d(x, _depthwise(f, channels, gain), padding=pad, groups=channels)


def upsample2d(x: Tensor, f: Tensor, channels: int) -> Tensor:
    """(B, C, H, W) → (B, C, 2H, 2W): upfirdn2d's upsample2d (zero-stuff, pad [2, 1], filter ×4).

    Zero-stuffing then padding 2 before and 1 after is exactly a stride-2 transposed convolution
    with padding 1, which every ONNX runtime runs natively.
    """
    # a transposed convolution already convolves: no flip
    kernel = _depthwise(f, channels, 4.0, flip=False)
    return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=channels)


def downsample2d_skip(x: Tensor, f: Tensor, channels: int) -> Tensor:
    """(B, C, H, W) → (B, C, H/2, W/2): filter with padding 1, keep every other pixel."""
    return filter2d(x, f, 1, channels)[:, :, ::2, ::2]


def conv_down2(x: Tensor, weight: Tensor, f: Tensor) -> Tensor:
    """A 3×3 convolution with 2× downsampling: filter with padding 2, then a stride-2 convolution.
    ``weight`` (O, I, 3, 3) with I a Python int."""
    return F.conv2d(filter2d(x, f, 2, int(weight.shape[1])), weight, stride=2)


def conv_up2(x: Tensor, weight: Tensor, f: Tensor, groups: int = 1) -> Tensor:
    """A 3×3 convolution with 2× upsampling: stride-2 transposed convolution of the weight as
    given, then the filter (×4) with padding 1. ``weight`` (O, I/groups, 3, 3)."""
    o, i, kh, kw = (int(d) for d in weight.shape)
    if groups == 1:
        w = weight.transpose(0, 1)
    else:
        w = weight.reshape(groups, o // groups, i, kh, kw).transpose(1, 2).reshape(
            groups * i, o // groups, kh, kw)
    x = F.conv_transpose2d(x, w, stride=2, groups=groups)
    return filter2d(x, f, 1, o, gain=4.0)


def style_weights(weight: Tensor, styles: Tensor, demodulate: bool) -> tuple[Tensor, Tensor | None]:
    """Per-sample weights (B, O, I, k, k) = weight × styles, and the demodulation coefficients
    (B, O) = 1 / ‖w‖ (None without demodulation)."""
    w = weight[None] * styles[:, None, :, None, None]
    dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt() if demodulate else None
    return w, dcoefs


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, *, demodulate: bool = True,
                     up: bool = False, f: Tensor | None = None, impl: str = "activations"
                     ) -> Tensor:
    """StyleGAN2's modulated convolution: (B, I, H, W) with weight (O, I, k, k) and styles (B, I)
    → (B, O, H', W'), H' = 2H when ``up``. Padding keeps the size (k // 2); noise and bias are
    the caller's. ``impl`` picks one of :data:`MODCONV_IMPLS`; all give the same values."""
    if impl == "grouped":
        return _modconv_grouped(x, weight, styles, demodulate, up, f)
    if impl == "matmul" and not up:
        return _modconv_matmul(x, weight, styles, demodulate)
    return _modconv_activations(x, weight, styles, demodulate, up, f)


def _modconv_activations(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool, up: bool,
                         f: Tensor | None) -> Tensor:
    x = x * styles[:, :, None, None]
    x = conv_up2(x, weight, f) if up else F.conv2d(x, weight, padding=weight.shape[-1] // 2)
    if demodulate:
        _, dcoefs = style_weights(weight, styles, True)
        x = x * dcoefs[:, :, None, None]
    return x


def _modconv_grouped(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool, up: bool,
                     f: Tensor | None) -> Tensor:
    batch = x.shape[0]
    w, dcoefs = style_weights(weight, styles, demodulate)
    if dcoefs is not None:
        w = w * dcoefs[:, :, None, None, None]
    w = w.reshape(-1, *weight.shape[1:])  # (B·O, I, k, k)
    x = x.reshape(1, -1, *x.shape[2:])  # (1, B·I, H, W)
    if up:
        x = conv_up2(x, w, f, groups=batch)
    else:
        x = F.conv2d(x, w, padding=weight.shape[-1] // 2, groups=batch)
    return x.reshape(batch, -1, *x.shape[2:])


def _modconv_matmul(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool) -> Tensor:
    o, i, k = (int(d) for d in weight.shape[:3])
    w, dcoefs = style_weights(weight, styles, demodulate)
    if dcoefs is not None:
        w = w * dcoefs[:, :, None, None, None]
    b, h, wd = x.shape[0], x.shape[2], x.shape[3]
    p = k // 2
    xp = F.pad(x, [p, p, p, p]) if p else x
    # (B, I, k·k, H·W): the k×k shifted views, I-major to match w's (I, k, k) flattening; every
    # reshape names its sizes (no -1), so an empty batch stays valid in the exported graph
    shifts = [xp[:, :, dy:dy + h, dx:dx + wd] for dy in range(k) for dx in range(k)]
    cols = torch.stack(shifts, 2).reshape(b, i * k * k, h * wd)
    out = torch.matmul(w.reshape(b, o, i * k * k), cols)  # (B, O, H·W)
    return out.reshape(b, o, h, wd)
