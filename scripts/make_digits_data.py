"""Write ganedge/data/digits.npz: the 1,797 UCI handwritten digits as (1797, 8, 8) uint8 pixels
0..16 and (1797,) uint8 labels, read once from scikit-learn's copy, so that the runtime
(``ganedge eval``) has its default data without scikit-learn or torch.

The data: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
Learning Repository (1998), https://doi.org/10.24432/C50P49, licensed CC BY 4.0.

    python scripts/make_digits_data.py   # needs scikit-learn
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "ganedge" / "data" / "digits.npz"


def main() -> None:
    digits = load_digits()
    pixels = digits.data.reshape(-1, 8, 8)
    assert pixels.shape == (1797, 8, 8) and pixels.min() >= 0 and pixels.max() <= 16
    buffer = io.BytesIO()
    np.savez_compressed(buffer, pixels=pixels.astype(np.uint8),
                        labels=digits.target.astype(np.uint8))
    OUT.write_bytes(buffer.getvalue())
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
