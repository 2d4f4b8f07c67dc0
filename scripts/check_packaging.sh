#!/usr/bin/env bash
# Release check: build the sdist and wheel, `twine check` them, inspect the wheel, then install
# the wheel into four fresh virtual environments with ONE framework each (torch, tensorflow,
# jax, mlx) and run the conformance suite there with that backend required. Each venv proves that
# its backend works from the wheel alone and that grl imports no other framework: the other
# two are not even installed, and their tests must skip cleanly.
#
# Needs `build` and `twine` in the calling environment (the `release` extra). Knobs:
#   GRL_TORCH_SPEC / GRL_TF_SPEC / GRL_JAX_SPEC  framework requirement per venv
#   GRL_MLX_SPEC                                 mlx for the mlx venv (mlx[cpu] on Linux)
#   GRL_FLAX_SPEC                                flax for the jax venv (the JAX layer is
#                                                the Flax NNX module)
#   GRL_TORCH_PIP_ARGS                           extra pip args for torch (e.g. a CPU index)
#   GRL_PACKAGING_DIR                            work directory (kept); default: a temp dir
#   GRL_PACKAGING_SERIAL=1                       run the four venvs one after another
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)

# torch is pinned to the CPU build that lies on the CI disk: any other torch request may pull
# a multi-GB CUDA build. tensorflow-cpu provides the same `tensorflow` module as the
# `tensorflow` distribution named by the tf extra, so that venv installs the wheel without
# the extra.
torch_spec="${GRL_TORCH_SPEC:-torch==2.13.0}"
tf_spec="${GRL_TF_SPEC:-tensorflow-cpu==2.21.0}"
jax_spec="${GRL_JAX_SPEC:-jax==0.10.2}"
flax_spec="${GRL_FLAX_SPEC:-flax==0.12.8}"
mlx_spec="${GRL_MLX_SPEC:-mlx[cpu]==0.32.4}"
read -r -a torch_pip_args <<<"${GRL_TORCH_PIP_ARGS:-}"
test_requirements=(pytest hypothesis)

if [[ -n "${GRL_PACKAGING_DIR:-}" ]]; then
    work="$GRL_PACKAGING_DIR"
    rm -rf "$work" && mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

elapsed() { echo "$(($(date +%s) - start)) s"; }

# -- build and inspect -------------------------------------------------------------------
python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
    cat "$work/build.log"
    exit 1
}
twine check --strict "$work"/dist/*
wheel=$(echo "$work"/dist/*.whl)
python - "$wheel" "$work"/dist/*.tar.gz <<'PY'
"""The wheel carries the golden vectors, py.typed and the LICENSE, and no tests."""
import sys
import tarfile
import zipfile

wheel, sdist = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
problems = [f"wheel lacks {need}" for need in ("grl/core/golden.json", "grl/py.typed")
            if need not in names]
problems += [f"wheel contains a test file: {n}" for n in names
             if n.startswith("tests/") or "/tests/" in n or n.split("/")[-1].startswith("test_")]
if not any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
           for n in names):
    problems.append("wheel lacks the LICENSE file")
members = tarfile.open(sdist).getnames()
if not any(m.endswith("/grl/core/golden.json") for m in members):
    problems.append("sdist lacks grl/core/golden.json")
if problems:
    sys.exit("packaging check failed:\n  " + "\n  ".join(problems))
print(f"wheel: {len(names)} files, golden.json and py.typed present, no tests")
PY
echo "built and inspected in $(elapsed)"

# The suite runs from a copy outside the source tree, so `import grl` can only find the
# installed wheel (tests are not part of the wheel).
suite="$work/suite"
mkdir -p "$suite/tests"
cp tests/__init__.py tests/backends.py tests/conftest.py "$suite/tests/"
cp -r tests/conformance "$suite/tests/"
printf '[pytest]\naddopts = -rfE -p no:cacheprovider\n' >"$suite/pytest.ini"
export TF_CPP_MIN_LOG_LEVEL=3 JAX_PLATFORMS=cpu

# One venv: install, prove the isolation, run the conformance suite with the backend required.
check_backend() (
    local backend=$1 module=$2 log="$work/$1.log"
    local venv="$work/venv-$backend" others
    others=$(python -c "print(' '.join(m for m in ('torch', 'tensorflow', 'jax', 'mlx') if m != '$module'))")
    {
        echo "== $backend: venv"
        python -m venv --without-pip "$venv"
        # The calling environment's pip installs into the venv (no pip bootstrap per venv);
        # --no-compile skips byte-compiling every framework file up front.
        local pip=(python -m pip --python "$venv/bin/python" install --quiet --no-compile)
        case $backend in
        torch) "${pip[@]}" "${torch_pip_args[@]}" "$torch_spec" && "${pip[@]}" "$wheel[torch]" ;;
        tf) "${pip[@]}" "$tf_spec" "$wheel" ;;
        jax) "${pip[@]}" "$jax_spec" "$flax_spec" "$wheel[jax]" ;;
        mlx) "${pip[@]}" "$mlx_spec" "$wheel[mlx]" ;;
        esac
        "${pip[@]}" "${test_requirements[@]}"
        echo "== $backend: installed at $(elapsed)"
        cd "$suite"
        "$venv/bin/python" - "$backend" "$module" $others <<'PY'
"""Only this framework is installed; grl comes from the wheel; other entry points say why."""
import importlib
import importlib.util
import sys

backend, module, *others = sys.argv[1:]
import grl

assert "site-packages" in grl.__file__, f"grl imported from the source tree: {grl.__file__}"
present = [m for m in others if importlib.util.find_spec(m) is not None]
assert not present, f"the {backend} venv also has {present}"
importlib.import_module(f"grl.{backend}")
for name, extra in (("torch", "torch"), ("tf", "tf"), ("jax", "jax"), ("mlx", "mlx")):
    if name == backend:
        continue
    try:
        importlib.import_module(f"grl.{name}")
    except ImportError as error:
        assert f"pip install 'grl[{extra}]'" in str(error), error
    else:
        raise AssertionError(f"grl.{name} imported without its framework")
print(f"{backend}: grl {grl.__version__} from the wheel; {module} only; isolation holds")
PY
        GRL_REQUIRE_BACKENDS=$backend "$venv/bin/python" -m pytest tests/conformance -q
        echo "== $backend: passed at $(elapsed)"
    } >"$log" 2>&1
)

backends=(torch:torch tf:tensorflow jax:jax mlx:mlx)
status=0
if [[ "${GRL_PACKAGING_SERIAL:-0}" == 1 ]]; then
    for entry in "${backends[@]}"; do
        check_backend "${entry%%:*}" "${entry#*:}" || status=1
    done
else
    # Installs are mostly I/O and unpacking, the suites mostly single-threaded: overlapping
    # the venvs roughly halves the wall time on two cores.
    pids=()
    for entry in "${backends[@]}"; do
        check_backend "${entry%%:*}" "${entry#*:}" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
fi
for entry in "${backends[@]}"; do
    backend=${entry%%:*}
    echo "---- $backend ($work/$backend.log)"
    grep -E "^== |isolation holds|[0-9]+ passed|[0-9]+ failed" "$work/$backend.log" | tail -6 || true
done
if [[ $status != 0 ]]; then
    for entry in "${backends[@]}"; do
        echo "======== full log: ${entry%%:*}"
        tail -60 "$work/${entry%%:*}.log"
    done
    echo "packaging check FAILED after $(elapsed)"
    exit 1
fi
echo "packaging check passed in $(elapsed)"
