#!/usr/bin/env bash
# Oldest supported versions: the floors that pyproject.toml claims are installed and tested.
# For each framework, a fresh venv holds exactly that framework's floor (read from
# pyproject.toml, so a claim and its check cannot drift apart), grl from this source tree
# (editable), and the oldest numpy / ml_dtypes that grl and the framework both admit. There
# the backend's conformance suite and its integration tests run with the backend required:
#   torch  torch, numpy and ml_dtypes at their floors          tests/conformance tests/torch
#   tf     tensorflow-cpu and keras at their floors, numpy     tests/conformance tests/tf
#          and ml_dtypes at the oldest TensorFlow admits
#   jax    jax, jaxlib and flax at their floors, numpy and     tests/conformance tests/jax
#          ml_dtypes at the oldest JAX admits
# Integration tests of packages not installed here (lightning, onnx, ...) skip; flax's own
# dependencies bring optax and orbax, so the JAX integration tests all run.
#
# Usage: scripts/check_min_versions.sh [torch] [tf] [jax]   (default: all three)
# Knobs:
#   GRL_MIN_VERSIONS_DIR       work directory for the venvs and logs (kept); default: a temp dir
#   GRL_MIN_TORCH_PIP_ARGS     extra pip args for torch (e.g. a CPU index: PyPI's Linux wheel
#                              of an old torch pulls ~3 GB of CUDA libraries)
#   GRL_MIN_TF_DEPS            numpy / ml_dtypes for the tf venv (TensorFlow's oldest)
#   GRL_MIN_JAX_DEPS           numpy / ml_dtypes for the jax venv (JAX's oldest), and
#                              flatbuffers, which jax.export serialization needs
#   GRL_MIN_VERSIONS_PYTEST_ARGS  extra pytest arguments (e.g. -x, or -k to narrow a rerun)
#   GRL_MIN_VERSIONS_PARALLEL=1  run the venvs at the same time (default: one after another)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start)) s"; }

read -r -a torch_pip_args <<<"${GRL_MIN_TORCH_PIP_ARGS:-}"
read -r -a tf_deps <<<"${GRL_MIN_TF_DEPS:-numpy==1.26.0 ml_dtypes==0.5.1}"
read -r -a jax_deps <<<"${GRL_MIN_JAX_DEPS:-numpy==2.0.0 ml_dtypes==0.5.0 flatbuffers}"
read -r -a pytest_args <<<"${GRL_MIN_VERSIONS_PYTEST_ARGS:-}"
test_requirements=(pytest hypothesis)
backends=("$@")
[[ ${#backends[@]} == 0 ]] && backends=(torch tf jax)

if [[ -n "${GRL_MIN_VERSIONS_DIR:-}" ]]; then
    work="$GRL_MIN_VERSIONS_DIR"
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

# floor_<name>=<version> for every `name>=version` requirement of pyproject.toml.
floors=$(python - <<'PY'
import re
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
requirements = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
floors = {}
for requirement in requirements:
    match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)", requirement)
    if match:
        floors[match[1].lower().replace("-", "_").replace(".", "_")] = match[2]
assert floors["tensorflow"] == floors["tensorflow_cpu"], "tensorflow and -cpu floors differ"
for name in ("torch", "tensorflow_cpu", "keras", "jax", "flax", "numpy", "ml_dtypes"):
    print(f"floor_{name}={floors[name]}")
PY
)
eval "$floors"
export TF_CPP_MIN_LOG_LEVEL=3 JAX_PLATFORMS=cpu

# One venv: install the floors, check that pip installed exactly them, run the tests.
check_backend() (
    local backend=$1 venv="$work/venv-$1" log="$work/$1.log" pins tests
    case $backend in
    torch)
        # setuptools: torch.compile's inductor imports it, and a bare venv lacks it.
        pins=("torch==$floor_torch" "numpy==$floor_numpy" "ml_dtypes==$floor_ml_dtypes"
            setuptools)
        tests=(tests/conformance tests/torch) ;;
    tf)
        pins=("tensorflow-cpu==$floor_tensorflow_cpu" "keras==$floor_keras" "${tf_deps[@]}")
        tests=(tests/conformance tests/tf) ;;
    jax)
        pins=("jax==$floor_jax" "jaxlib==$floor_jax" "flax==$floor_flax" "${jax_deps[@]}")
        tests=(tests/conformance tests/jax) ;;
    *) echo "unknown backend: $backend (torch, tf or jax)" && return 2 ;;
    esac
    {
        echo "== $backend: ${pins[*]}"
        rm -rf "$venv"
        python -m venv --without-pip "$venv"
        # The calling environment's pip installs into the venv (no pip bootstrap per venv);
        # --no-compile skips byte-compiling every framework file up front.
        local pip=(python -m pip --python "$venv/bin/python")
        local extra=$backend
        [[ $backend == jax ]] && extra=flax
        if [[ $backend == torch ]]; then
            "${pip[@]}" install --quiet --no-compile "${torch_pip_args[@]}" "${pins[0]}"
        fi
        "${pip[@]}" install --quiet --no-compile "${pins[@]}" "${test_requirements[@]}" \
            -e "$root[$extra]"
        "${pip[@]}" check
        "$venv/bin/python" - "${pins[@]}" <<'PY'
"""Each pinned distribution is installed at exactly its pinned version."""
import sys
from importlib.metadata import version

from packaging.version import Version

pins = dict(arg.split("==") for arg in sys.argv[1:] if "==" in arg)
found = {name: version(name) for name in pins}
wrong = [f"{name} {found[name]} (wanted {pin})" for name, pin in pins.items()
         if Version(Version(found[name]).base_version) != Version(pin)]  # drops "+cpu"
assert not wrong, f"not the floor: {wrong}"
print("installed:", ", ".join(f"{name} {v}" for name, v in found.items()))
PY
        echo "== $backend: installed at $(elapsed)"
        GRL_REQUIRE_BACKENDS=$backend "$venv/bin/python" -m pytest -q -p no:cacheprovider \
            "${pytest_args[@]}" "${tests[@]}"
        echo "== $backend: passed at $(elapsed)"
    } >"$log" 2>&1
)

status=0
if [[ "${GRL_MIN_VERSIONS_PARALLEL:-0}" == 1 ]]; then
    pids=()
    for backend in "${backends[@]}"; do
        check_backend "$backend" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
else
    for backend in "${backends[@]}"; do
        # In the background and awaited: under `check_backend || ...` bash would ignore
        # `set -e` inside the function, and a failed step would not stop its venv.
        check_backend "$backend" &
        wait $! || status=1
    done
fi
for backend in "${backends[@]}"; do
    echo "---- $backend ($work/$backend.log)"
    grep -E "^== |^installed:|[0-9]+ (passed|failed)" "$work/$backend.log" | tail -6 || true
done
if [[ $status != 0 ]]; then
    for backend in "${backends[@]}"; do
        grep -q "== $backend: passed" "$work/$backend.log" && continue
        echo "======== $backend: end of log"
        tail -60 "$work/$backend.log"
    done
    echo "min-versions check FAILED after $(elapsed)"
    exit 1
fi
echo "min-versions check passed in $(elapsed)"
