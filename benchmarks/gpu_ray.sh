#!/usr/bin/env bash
# Ray Serve for a GPU machine without network access, so that `bash benchmarks/gpu.sh serve` can
# load-test `ganedge serve` on a GPU replica there. Transfers to such a machine are limited
# (64 MiB each, the working tree included), so the packed install travels in parts.
#   here:  bash benchmarks/gpu_ray.sh pack         # → .gpu/ray1 … .gpu/rayN (N printed)
#   there: bash benchmarks/gpu_ray.sh stage K      # after part K arrived, for K = 1 … N in order
# Pack installs ray[serve] (the version of this environment's ray, else 2.60.0) for CPython
# $PY_VERSION (default 3.12) on x86-64 Linux into one folder with pip (binary wheels only), leaves
# out what serving never loads (numpy, which the target has; Ray's Java jars, RLlib, Tune, Train,
# Data, LLM), and cuts an xz archive of it into parts. The last stage unpacks it to
# $RAY_SITE (default /tmp/raysite) and imports ray.serve from it; gpu.sh puts that folder on
# PYTHONPATH. PY_VERSION=3.11 packs for this machine's Python, to try the whole path here.
set -euo pipefail
cd "$(dirname "$0")/.."
site=${RAY_SITE:-/tmp/raysite}
python=${PYTHON:-python3}
case ${1:-} in
  pack)
    py=${PY_VERSION:-3.12}
    version=$($python -c "import ray; print(ray.__version__)" 2>/dev/null || echo 2.60.0)
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
    tags=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
          --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
    $python -m pip install -q --no-compile --target "$work/site" --only-binary=:all: \
      --ignore-requires-python --python-version "$py" --implementation cp \
      --abi "cp${py/./}" "${tags[@]}" "ray[serve]==$version" 2>&1 \
      | grep -v -e "^WARNING" -e "dependency resolver" -e "requires pydantic" || true
    (cd "$work/site" && rm -rf numpy numpy.libs numpy-*.dist-info bin ray/jars ray/rllib \
      ray/tune ray/train ray/data ray/llm)
    if [[ $py == "$($python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ]]; then
      PYTHONPATH=$work/site $python -c "import ray.serve" \
        || { echo "gpu_ray.sh: the packed ray does not import here"; exit 1; }
    fi
    tar -C "$work/site" -cf - . | xz -9 -T2 > "$work/ray.tar.xz"
    tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
    chunk=$(( (62 << 20) - tree ))
    (( chunk > (4 << 20) )) || { echo "gpu_ray.sh: the working tree leaves no room to carry a part"; exit 2; }
    rm -rf .gpu/ray[0-9]* && mkdir -p .gpu
    split -b "$chunk" -d -a 2 "$work/ray.tar.xz" "$work/chunk."
    n=0; for c in "$work"/chunk.*; do n=$((n + 1)); mkdir -p ".gpu/ray$n"; mv "$c" ".gpu/ray$n/chunk"; done
    echo "$n" > .gpu/ray.N; sha256sum "$work/ray.tar.xz" | cut -c1-64 > .gpu/ray.sha256
    echo "ray $version for Python $py: $(du -sh "$work/ray.tar.xz" | cut -f1) in $n parts (.gpu/ray1 … .gpu/ray$n)" ;;
  stage)
    k=${2:?part number}; n=$(cat .gpu/ray.N); store=/tmp/raystage
    mkdir -p "$store" && cp ".gpu/ray$k/chunk" "$store/chunk.$(printf %02d "$k")"
    echo "ray part $k of $n staged"
    [[ $k == "$n" ]] || exit 0
    have=$(ls "$store"/chunk.* | wc -l)
    [[ $have == "$n" ]] || { echo "only $have of $n ray parts here: send all $n again"; exit 3; }
    cat "$store"/chunk.* > "$store/ray.tar.xz"
    [[ $(sha256sum "$store/ray.tar.xz" | cut -c1-64) == $(cat .gpu/ray.sha256) ]] \
      || { echo "the ray parts do not match what was packed"; exit 3; }
    rm -rf "$site" && mkdir -p "$site" && xz -dc "$store/ray.tar.xz" | tar -C "$site" -xf -
    rm -rf "$store"
    PYTHONPATH=$site $python -c "import ray, ray.serve; print('ray', ray.__version__, 'in $site')" ;;
  *)
    echo "usage: bash benchmarks/gpu_ray.sh pack | stage K" >&2; exit 2 ;;
esac
