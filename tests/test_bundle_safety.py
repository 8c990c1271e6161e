"""Issue 12, items 3, 6, 9 and 11 (part): a finished bundle is never lost, only complete
files are trusted, a damaged file is one clear error, one process writes a bundle at a
time, and a rerun says what it replaces. All on the real sample video."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import posestack
from posestack.cli import main
from posestack.io.bundle import bundle_lock, damaged, file_record

ARGS = dict(end=0.2, video=False, progress=False)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def finished(tmp_path_factory, p2s_videos) -> Path:
    """A finished bundle (cam01, first 0.2 s), copied by each test that changes it."""
    out = tmp_path_factory.mktemp("finished")
    posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)
    return out


def _copy(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    return out


def test_manifest_records_each_file(finished):
    m = json.loads((finished / "cam01" / "manifest.json").read_text())
    assert set(m["files"]) == set(m["outputs"].values())
    for name, rec in m["files"].items():
        assert rec == file_record(finished / "cam01" / name)
    assert m["files"]["openpose"]["files"] == 12  # one json per frame, 0.2 s at 60 frames/s
    assert damaged(finished / "cam01", m["files"]) == []
    assert _hidden(finished) == []  # no lock file, no stage left behind


def test_failed_rerun_keeps_the_finished_bundle(tmp_path, finished, p2s_videos, monkeypatch):
    from posestack.estimate import blazepose

    out = _copy(finished, tmp_path)
    before = {f: (out / "cam01" / f).read_bytes() for f in _files(out / "cam01")}
    calls = []
    real = blazepose.BlazePose.__call__

    def flaky(self, image, time=None):
        calls.append(1)
        if len(calls) > 8:
            raise RuntimeError("boom")
        return real(self, image, time)

    monkeypatch.setattr(blazepose.BlazePose, "__call__", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        posestack.run(p2s_videos / "cam01.mp4", out, end=0.3, progress=False)
    after = {f: (out / "cam01" / f).read_bytes() for f in _files(out / "cam01")}
    assert after == before and _hidden(out) == []
    monkeypatch.undo()
    [r] = posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)  # the old command still skips
    assert r.skipped


def test_killed_run_keeps_the_old_bundle_and_its_stage_is_cleaned(tmp_path, finished,
                                                                   p2s_videos):
    """kill -9 in the middle of a rerun: the old bundle is untouched; the next run of that
    bundle removes the leftover stage."""
    out = _copy(finished, tmp_path)
    before = {f: (out / "cam01" / f).read_bytes() for f in _files(out / "cam01")}
    cmd = [sys.executable, "-m", "posestack", "run", str(p2s_videos / "cam01.mp4"), "-o",
           str(out), "--no-video", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".cam01.part-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # in the middle of the work
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert list(out.glob(".cam01.part-*"))  # a killed process cannot clean up...
    after = {f: (out / "cam01" / f).read_bytes() for f in _files(out / "cam01")}
    assert after == before
    [r] = posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)
    assert r.skipped and _hidden(out) == []  # ...the next run of the bundle does


def test_interrupted_swap_is_finished_by_the_next_run(tmp_path, finished, p2s_videos):
    out = _copy(finished, tmp_path)
    # killed between "old bundle aside" and "new bundle in place": only the old one exists
    os.replace(out / "cam01", out / ".cam01.old-x1")
    [r] = posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)
    assert r.skipped and (out / "cam01" / "manifest.json").is_file() and _hidden(out) == []
    # killed after the swap, before the body fit made earlier was moved across
    shutil.copytree(out / "cam01", out / ".cam01.old-x2")
    (out / ".cam01.old-x2" / "body").mkdir()
    (out / ".cam01.old-x2" / "body" / "fit.txt").write_text("made earlier")
    [r] = posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)
    assert r.skipped and (out / "cam01" / "body" / "fit.txt").read_text() == "made earlier"
    assert _hidden(out) == []


def test_rerun_with_new_options_says_what_it_replaces_and_keeps_other_results(
        tmp_path, finished, p2s_videos, capsys):
    out = _copy(finished, tmp_path)
    (out / "cam01" / "render").mkdir()
    (out / "cam01" / "render" / "frame.png").write_bytes(b"png")
    (out / "cam01" / "overlay.mp4").write_bytes(b"an overlay this run does not make")
    args = ["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "--start", "0.1", "--end",
            "0.2", "--no-video"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "replaced the finished results" in err and "start=None" in err, err
    assert "kept render" in err and "rerun the commands" in err
    assert (out / "cam01" / "render" / "frame.png").read_bytes() == b"png"
    assert not (out / "cam01" / "overlay.mp4").exists()  # the run's own: not carried over
    m = json.loads((out / "cam01" / "manifest.json").read_text())
    assert m["parameters"]["start"] == 0.1 and any("replaced" in w for w in m["warnings"])


@pytest.mark.parametrize("damage", ["truncate", "delete", "same_size"])
def test_damaged_output_is_made_again_not_skipped(tmp_path, finished, p2s_videos, damage,
                                                  caplog):
    out = _copy(finished, tmp_path)
    table = out / "cam01" / "keypoints2d.parquet"
    data = table.read_bytes()
    if damage == "truncate":
        table.write_bytes(data[: len(data) // 2])
    elif damage == "delete":
        shutil.rmtree(out / "cam01" / "openpose")
    else:  # a flipped byte, same size
        table.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    with caplog.at_level("WARNING", logger="posestack"):
        [r] = posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)
    assert not r.skipped
    assert "is not complete" in caplog.text
    assert table.read_bytes() == data or damage == "delete"
    m = json.loads((out / "cam01" / "manifest.json").read_text())
    assert damaged(out / "cam01", m["files"]) == []


def test_a_second_process_on_the_same_bundle_is_refused(tmp_path, finished, p2s_videos):
    out = _copy(finished, tmp_path)
    with bundle_lock(out / "cam01"):
        with pytest.raises(posestack.OutputError, match=r"another posestack process is "
                           r"writing .*cam01"):
            posestack.run(p2s_videos / "cam01.mp4", out, end=0.3, video=False, progress=False)
        # another bundle in the same folder is not blocked
        [r] = posestack.run(p2s_videos / "cam02.mp4", out, **ARGS)
        assert not r.skipped
    assert _hidden(out) == []
    [r] = posestack.run(p2s_videos / "cam01.mp4", out, **ARGS)
    assert r.skipped


def test_lock_is_held_by_a_running_process(tmp_path, p2s_videos):
    """Two real processes: the second fails at once with a clear message, while the first
    finishes its bundle."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "posestack", "run", str(p2s_videos / "cam01.mp4"), "-o",
           str(out), "--no-video", "-q", "--end", "1.0"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / ".cam01.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run(cmd, capture_output=True, text=True)
    assert first.wait() == 0, first.stderr.read()
    assert second.returncode != 0
    assert "another posestack process is writing" in second.stderr
    assert second.stderr.count("error:") == 1 and "Traceback" not in second.stderr
    assert (out / "cam01" / "manifest.json").is_file()


def test_a_file_where_the_bundle_folder_should_be(tmp_path, p2s_videos, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cam01").write_text("my notes")
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "-q"]) != 0
    err = capsys.readouterr().err
    assert "exists and is not a folder" in err and err.count("error:") == 1
    assert (out / "cam01").read_text() == "my notes"


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("command, damaged_file", [
    (["plot", "{b}"], "angles.parquet"),
    (["compare", "{b}/angles.parquet", "{b}/angles.parquet"], "angles.parquet"),
    (["body", "{b}", "--monocular", "--iterations", "5"], "keypoints2d.parquet"),
    (["triangulate", "{b}", "{b2}", "--calibration", "{calib}", "-o", "{b}/../mv"],
     "keypoints2d.parquet"),
    (["render", "{b}"], "body/body_p0.npz"),
])
def test_commands_on_a_damaged_file_give_one_clear_error(tmp_path, finished, p2s_videos,
                                                         capsys, command, damaged_file):
    out = _copy(finished, tmp_path)
    b = out / "cam01"
    shutil.copytree(b, out / "cam02")
    if damaged_file.endswith(".npz"):
        (b / "body").mkdir()
        np.savez(b / "body" / "body_p0.npz", **{k: np.zeros(1000) for k in "abcdef"})
    _truncate(b / damaged_file)
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    argv = [a.format(b=b, b2=out / "cam02", calib=calib) for a in command]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "Traceback" not in err, err
    assert damaged_file.split("/")[-1] in err and "damaged or incomplete" in err
    assert "--force" in err
