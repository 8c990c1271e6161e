#!/usr/bin/env bash
# Create (or reuse) a throwaway virtual environment holding Pose2Sim 0.10.49 for the reference
# triangulation run (benchmarks/pose2sim_triangulate.py).
#
# `pip install pose2sim==0.10.49` does resolve from PyPI (about 1 minute, ~1.7 GB: opensim,
# openvino, onnxruntime, rtmlib, caliscope, PySide6, statsmodels, ipython, and BOTH
# opencv-python and opencv-contrib-python, which overwrite each other's cv2). Pose2Sim does not
# depend on torch. Its triangulation step (and the Qualisys .qca.txt calibration conversion) only
# needs the small subset below, so by default pose2sim is installed with --no-deps plus that
# subset, pinned to the versions pip's full resolve picked. Set P2S_FULL_DEPS=1 to install
# pose2sim with all its declared dependencies instead.
#
# The script is idempotent: an existing venv that already imports Pose2Sim's triangulation at the
# pinned version is left as it is.
#
# Usage:
#   bash benchmarks/pose2sim_env.sh              # venv at <repo>/.p2s-venv (gitignored)
#   P2S_VENV=/tmp/p2s bash benchmarks/pose2sim_env.sh
#   PY=$(bash benchmarks/pose2sim_env.sh | tail -n 1)    # the venv's python, printed last
#
# Environment:
#   P2S_VENV        venv location; a relative path is taken from the repository root.
#   P2S_PYTHON      interpreter used to create the venv (default: python3; pose2sim needs >=3.11).
#   P2S_FULL_DEPS   1: `pip install pose2sim==0.10.49` with every declared dependency.
#   P2S_FIND_LINKS  optional directory of local wheels passed to pip as --find-links.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${P2S_VENV:-.p2s-venv}"
case "$venv" in
    /*) ;;
    *) venv="$repo_root/$venv" ;;
esac
base_python="${P2S_PYTHON:-python3}"
pose2sim_req="pose2sim==0.10.49"
# What Pose2Sim.triangulation (Pose2Sim.py, triangulation.py, common.py, skeletons.py) and
# Pose2Sim.calibration's qualisys conversion import at module level.
triangulation_deps=(
    "numpy==2.4.6"
    "pandas==3.1.1"
    "scipy==1.17.1"
    "opencv-python-headless==5.0.0.93"
    "rtoml==0.14.0"
    "anytree==2.13.0"
    "tqdm==4.70.1"
    "matplotlib==3.11.2"
    "c3d==0.6.0"
    "lxml==6.1.3"
)

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv" >&2
    "$base_python" -m venv "$venv"
fi
py="$venv/bin/python"

if MPLBACKEND=Agg "$py" - >/dev/null 2>&1 <<'PYCHECK'
import importlib.metadata as md
import sys

assert md.version("pose2sim") == "0.10.49"
import Pose2Sim.calibration  # noqa: F401
import Pose2Sim.triangulation  # noqa: F401
from Pose2Sim import Pose2Sim as _p2s  # noqa: F401
sys.exit(0)
PYCHECK
then
    echo "venv at $venv already has $pose2sim_req" >&2
else
    pip_args=(--disable-pip-version-check --quiet)
    if [ -n "${P2S_FIND_LINKS:-}" ]; then
        pip_args+=(--find-links "$P2S_FIND_LINKS")
    fi
    "$py" -m pip install "${pip_args[@]}" --upgrade pip >&2
    if [ "${P2S_FULL_DEPS:-0}" = "1" ]; then
        echo "installing $pose2sim_req with all its dependencies into $venv" >&2
        "$py" -m pip install "${pip_args[@]}" "$pose2sim_req" >&2
    else
        echo "installing ${triangulation_deps[*]} into $venv" >&2
        "$py" -m pip install "${pip_args[@]}" "${triangulation_deps[@]}" >&2
        echo "installing $pose2sim_req (--no-deps) into $venv" >&2
        "$py" -m pip install "${pip_args[@]}" --no-deps "$pose2sim_req" >&2
    fi
fi

MPLBACKEND=Agg "$py" -c 'import importlib.metadata as md, cv2, numpy, pandas
import Pose2Sim.triangulation
print("pose2sim", md.version("pose2sim"), "numpy", numpy.__version__, "pandas",
      pandas.__version__, "opencv", cv2.__version__)' >&2
echo "$py"
