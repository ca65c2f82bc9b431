#!/usr/bin/env bash
# The GPU check in one go (~8-10 min on an H200), from the project root, no install needed:
#   bash benchmarks/gpu.sh                 # on a machine with onnxruntime-gpu and CUDA torch
#   GPU=0 bash benchmarks/gpu.sh           # the same steps on the CPU, tiny budgets (a dry run)
# 1. the CUDA tests (those present; a failure is recorded, the check goes on),
# 2. the side-by-side sampling table (python -m benchmarks.gpu),
# 3. training speed on the device (benchmarks/train_speed.py, when present).
# Results go to $OUT when set, else benchmarks/results/gpu/: tests.txt, gpu.md, gpu.json,
# train_speed.txt and summary.txt (each step's exit status). Exits 0 with whatever finished.
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
out=${OUT:-benchmarks/results/gpu}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"

dry=()
device=cuda
if [ "${GPU:-1}" = 0 ] || ! "$python" -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" 2>/dev/null; then
  echo "gpu.sh: no CUDA provider (or GPU=0): CPU dry run, tiny budgets; the figures are not GPU figures"
  dry=(--cpu-dry-run)
  device=cpu
fi

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log its status, never stop
  local name=$1 limit=$2 start=$SECONDS rc
  shift 2
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  echo "$name: exit $rc after $((SECONDS - start)) s$([ $rc = 124 ] && echo ' (timed out)')" | tee -a "$summary"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu-name.txt" 2>/dev/null \
  || echo "no GPU" > "$out/gpu-name.txt"
echo "GPU: $(cat "$out/gpu-name.txt")" | tee -a "$summary"

tests=()
for t in tests/ganedge/test_cuda_runtime.py tests/ganedge/test_providers.py \
         tests/ganedge/test_bench_gpu.py tests/trainer/test_cuda.py; do
  if [ -f "$t" ]; then tests+=("$t"); else echo "missing (not run): $t" | tee -a "$summary"; fi
done
if [ ${#tests[@]} -gt 0 ]; then
  step "CUDA tests" "${TESTS_LIMIT:-150}" bash -c \
    "'$python' -m pytest -q -p no:cacheprovider ${tests[*]} 2>&1 | tee '$out/tests.txt'; exit \${PIPESTATUS[0]}"
fi

step "sampling table" "${TABLE_LIMIT:-400}" "$python" -m benchmarks.gpu --out "$out" "${dry[@]}"

if [ -f benchmarks/train_speed.py ]; then
  step "training speed" "${TRAIN_LIMIT:-90}" bash -c \
    "'$python' benchmarks/train_speed.py --device $device 2>&1 | tee '$out/train_speed.txt'; exit \${PIPESTATUS[0]}"
else
  echo "missing (not run): benchmarks/train_speed.py" | tee -a "$summary"
fi

echo "== done: $summary"
cat "$summary"
exit 0
