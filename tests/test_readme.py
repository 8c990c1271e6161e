"""Every command and snippet of README.md, run exactly as written.

The README's fenced ``sh`` and ``python`` blocks are read at collection time and
run one by one, in the README's order, in one working folder, as a user following
the README in one shell would: relative paths, shell variables set by earlier
commands (``D=$(posestack assets path ...)``) and files written by earlier commands
carry over. The folder holds what the README calls the user's own files:
``clip.mp4`` (two seconds of the Sports2D sample, two people) and stand-ins for the
ONNX models one downloads (``rtmw.onnx``, ``yolox.onnx``, ``yolox_m.onnx``: graphs
with constant outputs, ``tests/onnx_graphs.py``). The sample data are the cached
assets (``POSESTACK_OFFLINE=1``: nothing is downloaded).

Set-up commands (``make ...``, ``pip install ...``) are not run (they build the
environment these tests run in); their targets, extras and pins are checked
against the Makefile and pyproject.toml instead. Inline ``posestack ...`` commands
in the prose must be among the commands run.

Steps on the four-camera sample, the body fits and the renders take most of the
time (minutes on 2 cores) and are marked ``slow``; ``make test`` runs them all.
``pytest -m "not slow" tests/test_readme.py`` runs the rest, which needs none of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import posestack
from posestack import assets

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

pytestmark = pytest.mark.assets

# A step is slow when it needs the four-camera sample or the body model.
_SLOW = re.compile(r"\$D\b|out/multiview|posestack query out\b|out/cam0|out3d|out2d/|"
                   r"posestack (body|render)\b")
_SETUP = re.compile(r"^(make|pip)\b")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Step:
    """One shell command (continuation lines joined, comments dropped) or one Python
    block of the README, and the README line it starts on."""

    kind: str  # "sh" or "python"
    line: int
    text: str

    @property
    def slow(self) -> bool:
        return bool(_SLOW.search(self.text))

    @property
    def id(self) -> str:
        words = re.sub(r"[^\w./=-]+", " ", self.text.split("\n")[0]).split()
        return f"L{self.line}-{self.kind}-" + "-".join(words[:6])[:60]


def blocks(text: str) -> list[tuple[str, int, str]]:
    """Fenced code blocks as ``(language, line of their first line, body)``."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            out.append((m.group(1), i + 2, "\n".join(lines[i + 1:j])))
            i = j
        i += 1
    return out


def shell_commands(body: str, first_line: int) -> list[tuple[int, str]]:
    """One ``(line, command)`` per command: ``\\`` continuations joined, ``# comments``
    (a ``#`` after a space, outside quotes; the README has no ``#`` in its arguments)
    dropped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for k, raw in enumerate(body.splitlines()):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = first_line + k
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        cmd = " ".join((pending + line).split())
        pending = ""
        if cmd:
            out.append((start, cmd))
    return out


def readme_steps(text: str) -> tuple[list[Step], list[Step]]:
    """The steps to run, and the set-up commands (checked, not run)."""
    run, setup = [], []
    for lang, line, body in blocks(text):
        if lang == "sh":
            for ln, cmd in shell_commands(body, line):
                parts = [p.strip() for p in cmd.split("&&")]
                if all(_SETUP.match(p) for p in parts):
                    setup.append(Step("sh", ln, cmd))
                else:
                    assert not any(_SETUP.match(p) for p in parts), cmd
                    run.append(Step("sh", ln, cmd))
        elif lang == "python":
            run.append(Step("python", line, body))
        else:
            assert lang == "", f"README line {line}: a ```{lang} block no test runs"
    return run, setup


STEPS, SETUP = readme_steps(README.read_text())


# --- the working folder: the user's own files -----------------------------------------------


def _clip(path: Path) -> None:
    """Two seconds (2-4 s) of the Sports2D sample: the walker and the jumper."""
    import av

    from posestack.io.media import VideoWriter

    with av.open(str(assets.path("sports2d_demo"))) as c:
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0))
                  if 60 <= i < 120]
    h, w = frames[0].shape[:2]
    with VideoWriter(path, w, h, 30.0) as out:
        for f in frames:
            out.write(f)


def _onnx_stand_ins(folder: Path) -> None:
    """RTMW (133 keypoints, SimCC) and YOLOX (end2end) stand-ins with constant outputs."""
    from .onnx_graphs import constant_simcc, peaked, yolox_end2end

    k = 133
    constant_simcc(folder / "rtmw.onnx", peaked(k, 192 * 2, [192] * k, 0.9),
                   peaked(k, 256 * 2, [256] * k, 0.9))
    box = np.array([[200.0, 100.0, 420.0, 560.0, 0.95]])  # in the 640x640 letterbox
    for name in ("yolox.onnx", "yolox_m.onnx"):
        yolox_end2end(folder / name, box, labels=np.array([0]))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    _clip(folder / "clip.mp4")
    _onnx_stand_ins(folder)
    return folder


def _env() -> dict[str, str]:
    src = str(Path(posestack.__file__).resolve().parent.parent)  # the code under test
    return {**os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])]),
            "POSESTACK_OFFLINE": "1", "MPLBACKEND": "Agg"}


def _prelude(before: int) -> str:
    """The shell variables the README set before line ``before`` (a user's one shell)."""
    return "\n".join(s.text for s in STEPS
                     if s.kind == "sh" and s.line < before and _ASSIGNMENT.match(s.text))


# What some steps are said to write (checked after the step ran): regex on the command.
_WRITES = {
    r"^posestack run clip\.mp4 -o out$": ["out/clip/angles.parquet", "out/clip/overlay.mp4"],
    r"^posestack plot out/clip$": ["out/clip/plots/angles_person0.png"],
    r"^posestack demo$": ["posestack-demo/demo/overlay.mp4"],
    r"--ik --opensim --augment": ["out/multiview/angles_ik.parquet",
                                  "out/multiview/angles_ik.mot",
                                  "out/multiview/angles_opensim.parquet",
                                  "out/multiview/opensim/multiview_p0.mot",
                                  "out/multiview/multiview_p0_LSTM.trc"],
    r"^posestack triangulate out/cam01 ": ["out3d/keypoints3d.parquet"],
    r"^posestack triangulate out/cam0\*/openpose ": ["out3d_json/keypoints3d.parquet"],
    r"^posestack body out/multiview --glb": ["out/multiview/body/body_p0.npz",
                                            "out/multiview/body/body_p0.glb"],
    r"--crop --size 512": ["out/multiview/render/cam01_crop/depth.mp4",
                           "out/multiview/render/cam01/overlay.mp4"],
    r"--phenotype": ["out/multiview/render/cam01_transfer/semantic.mp4"],
    r"^posestack render out/clip --person 1": ["out/clip/render/p1_estimated/overlay.mp4"],
}


@pytest.mark.parametrize("step", [pytest.param(s, id=s.id, marks=[pytest.mark.slow] * s.slow)
                                  for s in STEPS])
def test_readme_step(step: Step, work: Path):
    """One README command or Python block, as written, in the README's working folder."""
    t0 = time.perf_counter()
    if step.kind == "sh":
        script = f"{_prelude(step.line)}\nset -e\n{step.text}"
        proc = subprocess.run(["bash", "-c", script], cwd=work, env=_env(), text=True,
                              capture_output=True, timeout=1800)
    else:
        proc = subprocess.run([sys.executable, "-c", step.text], cwd=work, env=_env(),
                              text=True, capture_output=True, timeout=1800)
    took = time.perf_counter() - t0
    print(f"README line {step.line}: {took:.1f} s")
    assert proc.returncode == 0, (f"README line {step.line} failed ({proc.returncode}):\n"
                                  f"{step.text}\n--- stderr ---\n{proc.stderr[-3000:]}")
    for pattern, paths in _WRITES.items():
        if re.search(pattern, step.text):
            missing = [p for p in paths if not (work / p).is_file()]
            assert not missing, f"README line {step.line} did not write {missing}"
    if step.text.startswith('posestack run "$(posestack assets path sports2d_demo)"'):
        _several_people(step, work)


def _several_people(step: Step, work: Path) -> None:
    """The README's 'Several people': two people, two identities, as the comments say."""
    import json

    out = re.search(r" -o (\S+)", step.text).group(1)
    manifest = json.loads((work / out / "demo" / "manifest.json").read_text())
    if "--person-detector blazepose" not in step.text:
        assert manifest["people"] == 2, manifest["detection"]
    assert manifest["parameters"]["person_detector"] in ("auto", "blazepose")


# --- what is checked, not run ---------------------------------------------------------------


def test_readme_is_parsed():
    """The parser finds the README's commands: a guard against a silent zero."""
    kinds = {s.kind for s in STEPS}
    assert kinds == {"sh", "python"} and len(STEPS) > 30
    assert any(s.text.startswith("posestack run $D/videos") for s in STEPS)
    assert [s.text for s in SETUP if s.text.startswith("make")] == [
        "make demo", "make test", "make lint", "make bench"]


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.-]*):", text, re.M)}


def _check_setup(cmd: str) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for part in (p.strip() for p in cmd.split("&&")):
        words = part.split()
        if words[0] == "make":
            assert words[1] in _make_targets(), f"{part}: no such Makefile target"
            assert all("=" in w for w in words[2:]), part
        elif words[:2] == ["pip", "install"]:
            for w in words[2:]:
                w = w.strip("\"'")
                if w.startswith(".["):
                    for extra in w[2:-1].split(","):
                        assert extra in extras, f"{part}: no extra {extra!r} in pyproject.toml"
                elif "==" in w:
                    pins = [d for deps in extras.values() for d in deps]
                    assert w in pins, f"{part}: {w} is not the pin in pyproject.toml"
                else:
                    assert w == "-e", part
        else:  # pragma: no cover - readme_steps sorts only make/pip here
            raise AssertionError(part)


@pytest.mark.parametrize("cmd", [s.text for s in SETUP])
def test_readme_setup_commands_exist(cmd):
    _check_setup(cmd)


def test_readme_inline_commands():
    """Inline commands in the prose: a full ``posestack`` command is one the tests run
    (templates with upper-case placeholders such as ``posestack compare A B`` aside);
    ``make``/``pip`` ones name real targets and extras."""
    text = README.read_text()
    run = {s.text for s in STEPS}
    for span in re.findall(r"`([^`\n]+)`", text):
        words = span.split()
        if words[0] == "posestack" and len(words) >= 3:
            if any(re.fullmatch(r"[A-Z][A-Z_.]*", w) for w in words):
                continue
            assert span in run, f"inline command `{span}` is not run by a README step"
        elif words[0] in ("make", "pip") and len(words) >= 2 and words[1] != "download":
            _check_setup(span)


def test_readme_lists_every_asset():
    text = README.read_text()
    table = text.split("## Models and sample data", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in assets.ASSETS if f"`{n}`" not in table]
    assert not missing, f"assets not in the README's table: {missing}"


def test_readme_mentions_every_option():
    """Each subcommand's options appear in the README (its table, commands or prose)."""
    import argparse

    from posestack.cli import build_parser

    text = README.read_text()
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sp in sub.choices.items():
        for a in sp._actions:
            opts = [o for o in a.option_strings if o not in ("-h", "--help")]
            if opts and not any(re.search(re.escape(o) + r"(?![\w-])", text) for o in opts):
                missing.append(f"{name} {opts[-1]}")
    assert not missing, f"options the README does not mention: {missing}"
