"""Regenerate the bundled default model, ganedge/models/digits.onnx, reproducibly.

Trains the ``digits-dcgan`` preset with a fixed seed and step count through the real CLI, exports
the EMA generator to ONNX (parity checked by export), copies it into the package and writes a
64-image preview grid beside the run so a person can look at it.

Usage (needs the train extra, ~5 minutes on two CPU cores):
    python scripts/make_default_model.py [--steps N] [--seed 0] [--work runs/default-model]
                                         [--reuse]   # export the run's existing ckpt.pt
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "ganedge" / "models" / "digits.onnx"
PRESET = "digits-dcgan"
MAX_BYTES = 2_000_000  # keep the wheel small


def ganedge(*args: str) -> None:
    """Run one ``ganedge`` command in this interpreter, echoing it; stop on failure."""
    print("+ ganedge", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "ganedge", *args], check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="generator updates (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "default-model",
                        help="folder for the training run")
    parser.add_argument("--reuse", action="store_true",
                        help="skip training when the work folder already holds ckpt.pt")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not (args.reuse and (work / "ckpt.pt").exists()):
        steps = () if args.steps is None else ("--steps", str(args.steps))
        ganedge("train", "--out", str(work), "--preset", PRESET, *steps, "--seed", str(args.seed))
    ganedge("export", str(work / "ckpt.pt"), "-o", str(work / "model.onnx"))
    size = (work / "model.onnx").stat().st_size
    if size > MAX_BYTES:
        sys.exit(f"error: model is {size / 1e6:.2f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit")
    shutil.copyfile(work / "model.onnx", TARGET)
    ganedge("sample", str(TARGET), "-n", "64", "-o", str(work / "preview.png"))
    print(f"wrote {TARGET} ({size / 1e6:.2f} MB); look at {work / 'preview.png'}")


if __name__ == "__main__":
    main()
