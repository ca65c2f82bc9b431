#!/usr/bin/env bash
# The GPU check, from the project root, no install needed:
#   bash benchmarks/gpu.sh                       # runtime, sampling, training (~12 min on an H200)
#   bash benchmarks/gpu.sh runtime sampling      # parts by name, e.g. to fit a 10-minute limit:
#   bash benchmarks/gpu.sh training serve        #   (runtime + sampling ~8 min, training ~4 min,
#                                                #   serve ~4 min)
#   GPU=0 bash benchmarks/gpu.sh                 # the same steps on the CPU, tiny budgets (a dry run)
# Parts:
#   runtime   the runtime's CUDA tests (parity with TF32 off, CUDA graphs over a batch sequence,
#             StyleGAN's stable shapes, bench rows against the CPU reference)
#   sampling  the side-by-side sampling table (python -m benchmarks.gpu): torch eager fp32/fp16,
#             torch.compile, plain ORT, ganedge fp32/fp16/uint8/sample/CUDA graph; DCGAN-64 and
#             the digits-stylegan2 preset; batch 1/64/256
#   training  the trainer's CUDA tests (precision × loss × regularizer, resume, no host sync) and
#             steps/s per preset: CPU fp32 (2 threads) vs CUDA fp32 / fp16 / bf16
#   serve     `ganedge serve` on one GPU replica, batching off vs on (benchmarks/serve_load.py):
#             a StyleGAN2 at 256² through a DeploymentHandle and over HTTP, DCGAN-64 through a
#             handle. Needs Ray Serve: on a machine without it and without network, stage it
#             first with benchmarks/gpu_ray.sh (it lands in $RAY_SITE, default /tmp/raysite).
# Results go to $OUT when set, else benchmarks/results/gpu/: runtime-tests.txt, gpu.md, gpu.json,
# training-tests.txt, train_speed.json/.md, serve_load-*.json/.md and summary.txt (each step's
# exit status and time).
# A failing or timed-out step is recorded and the check goes on; it exits 0 with what finished.
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
out=${OUT:-benchmarks/results/gpu}
mkdir -p "$out"
summary="$out/summary.txt"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(runtime sampling training)
for part in "${parts[@]}"; do
  case $part in runtime|sampling|training|serve) ;; *) echo "gpu.sh: unknown part '$part' (runtime, sampling, training, serve)" >&2; exit 2;; esac
done

dry=()
device=cuda
if [ "${GPU:-1}" = 0 ] || ! "$python" -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" 2>/dev/null; then
  echo "gpu.sh: no CUDA provider (or GPU=0): CPU dry run, tiny budgets; the figures are not GPU figures" | tee -a "$summary"
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

tests() {  # tests NAME LIMIT FILE...: pytest on the files that exist, output to NAME-tests.txt
  local name=$1 limit=$2 present=()
  shift 2
  for t in "$@"; do
    if [ -f "$t" ]; then present+=("$t"); else echo "missing (not run): $t" | tee -a "$summary"; fi
  done
  [ ${#present[@]} -gt 0 ] || return 0
  step "$name tests" "$limit" bash -c \
    "'$python' -m pytest -q -p no:cacheprovider ${present[*]} 2>&1 | tee '$out/$name-tests.txt'; exit \${PIPESTATUS[0]}"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu-name.txt" 2>/dev/null \
  || echo "no GPU" > "$out/gpu-name.txt"
echo "GPU: $(cat "$out/gpu-name.txt") · parts: ${parts[*]} · $(date -u +%FT%TZ)" | tee -a "$summary"

for part in "${parts[@]}"; do
  case $part in
    runtime)
      tests runtime "${RUNTIME_LIMIT:-150}" tests/ganedge/test_cuda_runtime.py \
        tests/ganedge/test_providers.py tests/ganedge/test_bench_gpu.py ;;
    sampling)
      step "sampling table" "${TABLE_LIMIT:-330}" "$python" -m benchmarks.gpu --out "$out" "${dry[@]}" ;;
    training)
      tests training "${TRAINING_LIMIT:-120}" tests/trainer/test_cuda.py
      if [ "$device" = cuda ]; then
        speed=(--device cuda --precision fp32 fp16 bf16 --cpu-baseline --threads 2 --steps 300)
      else
        speed=(--device cpu --precision fp32 --steps 10 --warmup 2)
      fi
      step "training speed" "${SPEED_LIMIT:-180}" bash -c \
        "'$python' -m benchmarks.train_speed ${speed[*]} --out '$out/train_speed.json' 2>&1 | tee '$out/train_speed.md'; exit \${PIPESTATUS[0]}" ;;
    serve)
      raysite=${RAY_SITE:-/tmp/raysite}
      with_ray=(env "PYTHONPATH=$raysite${PYTHONPATH:+:$PYTHONPATH}:$PWD")
      if ! "${with_ray[@]}" "$python" -c "import ray.serve" 2>/dev/null; then
        echo "serve: not run: ray.serve does not import (stage it with benchmarks/gpu_ray.sh)" | tee -a "$summary"
        continue
      fi
      models="$out/serve-models"
      if [ "$device" = cuda ]; then
        load=(--provider cuda --cpus-per-replica 8 --gpus-per-replica 1 --clients 32 --requests 2000)
        runs=("stylegan2-256 handle 2" "stylegan2-256 http 1" "dcgan-64-rgb handle 1")
      else  # the same path on the CPU with a small model and few requests
        load=(--provider cpu --requests 200)
        runs=("dcgan-64-rgb handle 1" "dcgan-64-rgb http 1")
      fi
      names=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
      step "serving models" "${SERVE_EXPORT_LIMIT:-240}" "${with_ray[@]}" "$python" -m benchmarks.gpu \
        --export-only "$models" --models $names
      for run in "${runs[@]}"; do
        read -r name via repeats <<< "$run"
        step "serving $name via $via" "${SERVE_LIMIT:-240}" "${with_ray[@]}" "$python" -m benchmarks.serve_load \
          "$models/$name.onnx" --via "$via" --repeats "$repeats" "${load[@]}" --out "$out"
      done
      rm -rf "$models" ;;
  esac
done

echo "== done: $summary"
cat "$summary"
exit 0
