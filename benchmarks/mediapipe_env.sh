#!/usr/bin/env bash
# Create (or reuse) a throwaway virtual environment holding MediaPipe's legacy Pose solution.
#
# mediapipe==0.10.21 requires numpy<2, which conflicts with posestack's own environment, so the
# reference scripts (benchmarks/make_mediapipe_reference.py, benchmarks/mediapipe_throughput.py)
# run in a separate venv created here. The script is idempotent: an existing venv that already has
# the pinned packages is left as it is.
#
# Usage:
#   bash benchmarks/mediapipe_env.sh            # venv at <repo>/.mpref-venv (gitignored)
#   MPREF_VENV=/tmp/mp bash benchmarks/mediapipe_env.sh
#   PY=$(bash benchmarks/mediapipe_env.sh | tail -n 1)   # the venv's python, printed last
#
# Environment:
#   MPREF_VENV        venv location; a relative path is taken from the repository root.
#   MPREF_PYTHON      interpreter used to create the venv (default: python3, must be 3.9-3.12).
#   MPREF_FIND_LINKS  optional directory of local wheels passed to pip as --find-links.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MPREF_VENV:-.mpref-venv}"
case "$venv" in
    /*) ;;
    *) venv="$repo_root/$venv" ;;
esac
base_python="${MPREF_PYTHON:-python3}"
requirements=("mediapipe==0.10.21" "numpy<2" "av")

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv" >&2
    "$base_python" -m venv "$venv"
fi
py="$venv/bin/python"

if "$py" - >/dev/null 2>&1 <<'PYCHECK'
import importlib.metadata as md
import sys

assert md.version("mediapipe") == "0.10.21"
assert int(md.version("numpy").split(".")[0]) < 2
md.version("av")
import av  # noqa: F401
import mediapipe  # noqa: F401
sys.exit(0)
PYCHECK
then
    echo "venv at $venv already has the pinned packages" >&2
else
    pip_args=(--disable-pip-version-check --quiet)
    if [ -n "${MPREF_FIND_LINKS:-}" ]; then
        pip_args+=(--find-links "$MPREF_FIND_LINKS")
    fi
    echo "installing ${requirements[*]} into $venv" >&2
    "$py" -m pip install "${pip_args[@]}" --upgrade pip >&2
    "$py" -m pip install "${pip_args[@]}" "${requirements[@]}" >&2
fi

"$py" -c 'import av, mediapipe, numpy; print("mediapipe", mediapipe.__version__,
"numpy", numpy.__version__, "av", av.__version__)' >&2
echo "$py"
