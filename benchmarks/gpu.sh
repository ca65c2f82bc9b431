#!/usr/bin/env bash
# GPU check in one go (< 5 min): CUDA-vs-CPU parity (fp32, fp16; with and without CUDA graphs)
# and the CPU/CUDA/CUDA-graph latency table for the DCGAN-64 RGB generator.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
"$python" -c "import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers(), 'onnxruntime has no CUDA provider: pip install onnxruntime-gpu'"
timeout 290 "$python" benchmarks/gpu.py --budget "${BUDGET:-1.0}"
