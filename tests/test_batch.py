"""posestack batch: tasks from inputs, a local pool and Ray, nothing lost when workers die.

The clips are real: 20 short clips cut from the Sports2D and Pose2Sim samples
(tests/clips.py). Results are compared byte for byte with a serial ``posestack run``
at the same inference threads: manifests without their timings, and the overlays by
their decoded frames (libx264 encodes the same frames into different bytes from one
process to the next once an estimator has run in it, measured on identical frames;
the mean difference stays at compression-noise level).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from posestack import assets
from posestack.batch import plan
from posestack.cli import main
from posestack.errors import InputError

from .clips import cut_clips
from .conftest import decode

pytestmark = pytest.mark.assets
POSESTACK = [sys.executable, "-m", "posestack"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    return cut_clips(tmp_path_factory.mktemp("clips"), n=20)


@pytest.fixture(scope="module")
def serial(tmp_path_factory, clips) -> Path:
    """The reference: one serial ``posestack run`` over the clips, one thread."""
    out = tmp_path_factory.mktemp("serial")
    assert main(["run", *map(str, clips), "-o", str(out), "--threads", "1", "-q"]) == 0
    return out


def _contents(root: Path) -> dict[str, bytes | np.ndarray]:
    """Every file of every bundle under ``root``: bytes; manifests without timings, dates
    and the overlay's record; overlays as their decoded frames."""
    out: dict[str, bytes | np.ndarray] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name in ("batch.parquet",) or p.name.startswith("."):
            continue
        if p.suffix == ".mp4":
            out[str(p.relative_to(root))] = np.stack(list(decode(p).values()))
            continue
        data = p.read_bytes()
        if p.name == "manifest.json":
            m = json.loads(data)
            for k in ("timings", "created"):
                m.pop(k, None)
            m["files"].pop("overlay.mp4", None)
            data = json.dumps(m, sort_keys=True).encode()
        out[str(p.relative_to(root))] = data
    return out


def _same(got: dict, ref: dict) -> None:
    assert sorted(got) == sorted(ref)
    for k, v in got.items():
        if isinstance(v, np.ndarray):
            assert v.shape == ref[k].shape, k
            assert np.abs(v.astype(np.int16) - ref[k]).mean() < 1.0, k
        else:
            assert v == ref[k], k


def _summary(out: Path) -> dict[str, dict]:
    return {r["bundle"]: r for r in pq.read_table(out / "batch.parquet").to_pylist()}


def _complete(bundle: Path) -> bool:
    return (bundle / "manifest.json").is_file()


# --- what becomes a task ------------------------------------------------------------------


def test_plan_reads_list_files_trials_and_image_folders(tmp_path, clips):
    trial = assets.path("pose2sim_demo_singleperson")
    images = tmp_path / "shots"
    images.mkdir()
    (images / "a.png").write_bytes(assets.path("astronaut_image").read_bytes())
    lst = tmp_path / "inputs.txt"
    lst.write_text(f"# my cohort\n{clips[0]}\n\n{clips[1]}  # second\n{trial}\nshots\n")
    tasks = plan([lst])
    assert [(t.kind, t.name) for t in tasks] == [
        ("video", "clip_00"), ("video", "clip_01"), ("trial", trial.name), ("images", "shots")]
    assert tasks[3].source == images  # relative to the list file
    # a folder of videos with a calibration beside them (Pose2Sim's layout) is a trial too
    (videos,) = plan([trial / "videos"])
    assert (videos.source, videos.kind, videos.name) == (trial / "videos", "trial", "videos")
    assert [v.name for v in videos.videos] == ["cam01.mp4", "cam02.mp4", "cam03.mp4",
                                               "cam04.mp4"]
    assert videos.calibration.name == "Calib.qca.txt"
    # a folder of videos without one: one task per video
    assert [t.name for t in plan([clips[0].parent])][:2] == ["clip_00", "clip_01"]
    # a cohort's folder: participants, then trials (a camera trial among them)
    cohort = tmp_path / "cohort"
    for who in ("P01", "P02"):
        (cohort / who / "walk").mkdir(parents=True)
        (cohort / who / "walk" / "front.mp4").write_bytes(clips[0].read_bytes())
    (cohort / "P02" / "run").symlink_to(trial)
    assert [(t.kind, t.name) for t in plan([cohort])] == [
        ("video", "P01_walk_front"), ("trial", "P02_run"), ("video", "P02_walk_front")]
    # a participant added later changes no one else's name
    (cohort / "P03" / "walk").mkdir(parents=True)
    (cohort / "P03" / "walk" / "front.mp4").write_bytes(clips[0].read_bytes())
    assert [t.name for t in plan([cohort])] == ["P01_walk_front", "P02_run",
                                               "P02_walk_front", "P03_walk_front"]


@pytest.mark.parametrize("bad, message", [
    ("missing.mp4", "input not found"),
    ("empty.txt", "names no input"),
    ("twice", "given twice"),
    ("notes.csv", "not a video or an image"),
])
def test_plan_refuses_bad_inputs_before_any_work(tmp_path, clips, bad, message):
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    (tmp_path / "notes.csv").write_text("a,b\n")
    args = [clips[0], clips[0]] if bad == "twice" else [tmp_path / bad]
    with pytest.raises(InputError, match=message):
        plan(args)


def test_batch_refuses_an_option_that_makes_no_sense(tmp_path, clips, capsys):
    assert main(["batch", str(clips[0]), "-o", str(tmp_path / "o"), "--opensim"]) == 2
    assert "multi-camera trials" in capsys.readouterr().err
    assert main(["batch", str(clips[0]), "-o", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert main(["batch", str(clips[0]), "-o", str(tmp_path / "o"), "--filter",
                 "butterworth", "--cutoff", "-1"]) == 2
    # an address nothing answers at: refused in seconds (Ray itself retries for minutes)
    t0 = time.monotonic()
    assert main(["batch", str(clips[0]), "-o", str(tmp_path / "o"), "--ray",
                 "127.0.0.1:1"]) == 2
    assert "no Ray cluster answers at 127.0.0.1:1" in capsys.readouterr().err
    assert time.monotonic() - t0 < 10
    assert not (tmp_path / "o").exists()


# --- a local pool -------------------------------------------------------------------------


def test_a_failed_input_is_recorded_and_the_others_go_on(tmp_path, clips, serial, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clips[0].read_bytes()[:3000])  # a truncated download
    out = tmp_path / "out"
    rc = main(["batch", str(clips[0]), str(broken), str(clips[1]), "-o", str(out),
               "--workers", "2", "--threads", "1", "-q"])
    assert rc == 1
    rows = _summary(out)
    assert rows["broken"]["status"] == "failed" and "broken.mp4" in rows["broken"]["error"]
    assert rows["clip_00"]["status"] == rows["clip_01"]["status"] == "done"
    assert rows["clip_01"]["frames"] == 8 and rows["clip_01"]["people"] >= 1
    assert rows["clip_00"]["seconds"] > 0
    assert "broken.mp4" in capsys.readouterr().err
    ref = _contents(serial)
    got = _contents(out)
    _same(got, {k: v for k, v in ref.items() if k.split("/")[0] in ("clip_00", "clip_01")})


def test_killed_batch_resumes_exactly_the_missing_inputs(tmp_path, clips, serial):
    """kill -9 of the batch mid-run: its workers die with it (no orphan goes on holding a
    bundle's lock); the same command again finishes exactly what is missing, and the
    result is the serial run's."""
    out = tmp_path / "out"
    cmd = [*POSESTACK, "batch", *map(str, clips), "-o", str(out), "--workers", "2",
           "--threads", "1", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while sum(_complete(out / f"clip_{i:02d}") for i in range(20)) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, "batch ended too soon"
        time.sleep(0.05)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the batch alone: its workers must die with it
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "workers outlived the batch"
    finished = {c.stem for c in clips if _complete(out / c.stem)}
    assert 4 <= len(finished) < 20
    for c in clips:  # nothing that looks complete and is not
        b = out / c.stem
        if _complete(b):
            _same(_contents(b), _contents(serial / c.stem))
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    rows = _summary(out)
    assert {b for b, r in rows.items() if r["status"] == "skipped"} == finished
    assert {b for b, r in rows.items() if r["status"] == "done"} == \
        {c.stem for c in clips} - finished
    _same(_contents(out), _contents(serial))


def test_a_killed_worker_is_replaced_and_its_task_redone(tmp_path, clips, serial):
    out = tmp_path / "out"
    proc = subprocess.Popen([*POSESTACK, "batch", *map(str, clips[:8]), "-o", str(out),
                             "--workers", "2", "--threads", "1", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = _wait_for_worker(proc, lambda args: "spawn_main" in args
                              and "resource_tracker" not in args, parent=proc.pid)
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    rows = _summary(out)
    assert all(r["status"] == "done" for r in rows.values())
    # only the killed worker's task ran again; the other worker's work was kept
    assert sorted(r["attempts"] for r in rows.values()) == [1] * 7 + [2]
    _same(_contents(out), {k: v for k, v in _contents(serial).items()
                           if k.split("/")[0] in {c.stem for c in clips[:8]}})


def _children(pid: int) -> list[int]:
    ps = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True,
                        text=True).stdout
    return [int(a) for a, b, *_ in (ln.split(None, 2) for ln in ps.splitlines())
            if int(b) == pid]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_a_script_without_the_main_guard_gets_a_clear_error(tmp_path, clips):
    script = tmp_path / "cohort.py"
    script.write_text(f"import posestack.batch\nposestack.batch.batch([{str(clips[0])!r}], "
                      f"{str(tmp_path / 'out')!r}, workers=2, progress=False)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert 'if __name__ == "__main__":' in proc.stderr.splitlines()[-1]
    assert not (tmp_path / "out" / "batch.parquet").exists()


def _wait_for_worker(proc: subprocess.Popen, match, parent: int | None = None,
                     timeout: float = 300) -> int:
    """The pid of a worker process (by its command line) once it is busy with a task."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the batch ended before a worker could be killed"
        ps = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True,
                            text=True).stdout
        for line in ps.splitlines():
            pid, ppid, args = line.strip().split(None, 2)
            if match(args) and (parent is None or int(ppid) == parent):
                time.sleep(0.5)  # let it start its task
                return int(pid)
        time.sleep(0.05)
    raise AssertionError("no worker appeared")


# --- Ray ----------------------------------------------------------------------------------


def test_ray_batch_survives_a_killed_worker(tmp_path, clips, serial):
    """A local Ray with 2 CPUs and the 20 clips; a worker is killed mid-task (kill -9).
    With no retries its input is recorded as failed, and none of its files look
    complete; the same command again runs exactly that input."""
    pytest.importorskip("ray")
    lst = tmp_path / "clips.txt"
    lst.write_text("".join(f"{c}\n" for c in clips))
    out = tmp_path / "out"
    cmd = [*POSESTACK, "batch", str(lst), "-o", str(out), "--ray", "--workers", "2",
           "--threads", "1", "--retries", "0", "-q"]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    victim = _wait_for_worker(proc, lambda args: args.startswith("ray::run_task"),
                              timeout=600)
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err  # one input failed
    rows = _summary(out)
    failed = {b for b, r in rows.items() if r["status"] == "failed"}
    assert len(failed) == 1, rows
    assert all(r["status"] == "done" for b, r in rows.items() if b not in failed)
    assert not _complete(out / failed.pop())
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert rerun.returncode == 0, rerun.stderr
    rows = _summary(out)
    assert sum(r["status"] == "done" for r in rows.values()) == 1
    assert sum(r["status"] == "skipped" for r in rows.values()) == 19
    _same(_contents(out), _contents(serial))


def test_a_camera_trial_is_one_task_with_its_3d(tmp_path):
    """Pose2Sim's session folder (videos/ and calibration/) as one input: the 2D of every
    camera and the triangulated 3D under OUT/<trial>/, one summary row."""
    trial = assets.path("pose2sim_demo_singleperson")
    out = tmp_path / "out"
    assert main(["batch", str(trial), "-o", str(out), "--end", "0.25", "--no-video",
                 "--layout", "halpe26", "-q"]) == 0
    rows = _summary(out)
    (row,) = rows.values()
    assert (row["kind"], row["status"], row["people"]) == ("trial", "done", 1)
    assert row["frames"] == 15  # 0.25 s at 60 frames/s, per camera
    base = out / trial.name
    assert {p.name for p in base.iterdir() if p.is_dir()} >= {"cam01", "cam04", "multiview"}
    k3d = pq.read_table(base / "multiview" / "keypoints3d.parquet")
    assert k3d.num_rows > 0 and "reprojection_error" in k3d.column_names


def test_ray_batch_on_an_existing_cluster_by_address(tmp_path, clips, serial):
    """`ray start --head` first, as on a cluster's head node; the batch joins it by
    address and leaves it running."""
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray_cli = Path(sys.executable).parent / "ray"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--node-ip-address=127.0.0.1"],
                   check=True, capture_output=True, env=env, timeout=180)
    try:
        out = tmp_path / "out"
        proc = subprocess.run([*POSESTACK, "batch", *map(str, clips[:3]), "-o", str(out),
                               "--ray", f"127.0.0.1:{port}", "--threads", "1", "-q"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        rows = _summary(out)
        assert [r["status"] for r in rows.values()] == ["done"] * 3
        status = subprocess.run([str(ray_cli), "status", f"--address=127.0.0.1:{port}"],
                                capture_output=True, text=True, env=env, timeout=60)
        assert status.returncode == 0, "the batch must not stop a cluster it joined"
        _same(_contents(out), {k: v for k, v in _contents(serial).items()
                               if k.split("/")[0] in {c.stem for c in clips[:3]}})
    finally:
        subprocess.run([str(ray_cli), "stop", "--force"], capture_output=True, env=env,
                       timeout=120)
