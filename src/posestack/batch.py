"""Many inputs at once: a local process pool by default, Ray when asked.

:func:`batch` turns each input into one task — a video or image, a folder of
images (one bundle per image, under the folder's name), or a multi-camera trial
(a folder whose calibration is beside its videos or in ``calibration/``, as
Pose2Sim's session folders) — and runs :func:`posestack.run` or
:func:`posestack.run_multiview` on it in a worker:

- **Nothing lost.** Every bundle is written beside its old version and swapped in
  when whole (:mod:`posestack.io.bundle`), so a worker killed mid-task leaves no
  bundle that looks complete, and rerunning the same batch finishes exactly the
  missing inputs: finished bundles are recognised by their manifest's run key and
  skipped. A task whose worker dies is given to a new worker (up to
  ``retries`` times, as Ray does); an input that fails is recorded (input, error,
  seconds) and the others go on.
- **No oversubscription.** Each task gets ``cores // workers`` inference threads
  (at least 1), and the numerical libraries' thread pools are capped to match.
- **Progress** is one bar over the batch: inputs done, frames/s, ETA.
- **Summary**: ``OUT/batch.parquet``, one row per input (input, bundle, kind,
  status ``done``/``skipped``/``failed``/``not run`` (the batch was stopped first),
  frames, people, seconds, error, attempts: None on Ray, which retries by itself),
  written atomically when the batch ends (also after a failure or Ctrl-C).

Ray (the ``scale`` extra) runs the same tasks on a local Ray started on the spot
(``ray=True``) or on an existing cluster (``ray="ADDRESS"``, e.g. ``"auto"`` or
``"ray://head:10001"``); the input and output paths must then be on a file system
that every node sees, and posestack installed on every node.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, PosestackError
from .io.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, media_files
from .progress import progress_bar

log = logging.getLogger(__name__)

SUMMARY = "batch.parquet"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# run_multiview's options for the 3D of a trial (each trial has its own calibration)
MULTIVIEW_OPTIONS = frozenset({"min_views", "max_error", "ik", "opensim", "augment", "height",
                               "mass", "keypoints_from"})


@dataclass(frozen=True)
class Task:
    """One unit of work: ``source`` (a file or folder), what it is (``kind``: ``video``,
    ``image``, ``images`` for a folder of images, ``trial`` for a multi-camera folder),
    and ``name``, the folder it writes under the batch's output."""

    source: Path
    kind: str
    name: str
    videos: tuple[Path, ...] = ()        # a trial's camera videos (found when planning)
    calibration: Path | None = None      # and its calibration


@dataclass
class BatchResult:
    """What :func:`batch` did: one row per task (see :data:`SUMMARY`'s columns) and
    where the summary was written (None when the batch wrote nothing)."""

    rows: list[dict[str, Any]]
    summary: Path | None
    seconds: float

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The rows of the inputs that failed."""
        return [r for r in self.rows if r["status"] == "failed"]


def read_list(path: Path) -> list[Path]:
    """The inputs named in a list file: one path per line; blank lines and ``#``
    comments are ignored; relative paths are relative to the list file's folder.

    Raises:
        InputError: the file names nothing.
    """
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            p = Path(line).expanduser()
            out.append(p if p.is_absolute() else path.parent / p)
    if not out:
        raise InputError(f"list file {path} names no input (one video, image or folder per "
                         "line)")
    return out


def _is_list_file(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in (".txt", ".list", ".lst")


def _trial(folder: Path) -> tuple[list[Path], Path] | None:
    """The camera videos and calibration of a multi-camera trial folder (two or more
    videos, here or in ``videos/``, with a calibration found for them), or None if it
    is not one."""
    from .pipeline_multiview import find_calibration

    for d in (folder, folder / "videos"):
        vids = [p for p in media_files(d) if p.suffix.lower() in VIDEO_EXTENSIONS] \
            if d.is_dir() else []
        if len(vids) >= 2:
            calib = find_calibration(folder) or find_calibration(d)
            return (vids, calib) if calib is not None else None
    return None


def plan(inputs: Iterable[str | os.PathLike]) -> list[Task]:
    """The batch's tasks, in order, from videos, images, folders and list files.

    A folder is a multi-camera trial when it holds (or its ``videos/`` holds) two
    videos or more and a calibration is found beside them (``Calib.toml``,
    ``.qca.txt``… here or in ``calibration/``); a folder of videos without one gives
    one task per video; a folder of images only is one task; a folder of folders (a
    cohort: participants, then trials) gives the tasks of the folders below it, up
    to three levels down. A task is named by its path below the folder given
    (``P01/walk.mp4`` → ``P01_walk``), or by its stem when given itself; where two
    inputs give the same name, their parent folders go in front.

    Raises:
        InputError: a missing path, a folder with nothing to read, an empty list file,
            or the same input twice.
    """
    from .pipeline import _bundle_names

    sources: list[tuple[Path, str, tuple[list[Path], Path] | None]] = []
    names: list[str] = []
    pending = [Path(p).expanduser() for p in inputs]
    if not pending:
        raise InputError("no input given: name videos, images, folders or a list file")
    for p in pending:
        if not p.exists():
            raise InputError(f"input not found: {p} (check the path; give a video, an image, "
                             "a folder or a list file with one per line)")
        for q in read_list(p) if _is_list_file(p) else [p]:
            if not q.exists():
                raise InputError(f"{p} names {q}, which does not exist")
            found = _classify(q)
            sources.extend(found)
            names.extend(_name_below(q, src) for src, _, _ in found)
    seen: dict[Path, Path] = {}
    for src, _, _ in sources:
        key = src.resolve()
        if key in seen:
            raise InputError(f"{src} is given twice (also as {seen[key]}): each input once")
        seen[key] = src
    clash = [i for i, n in enumerate(names) if names.count(n) > 1]
    if clash:  # the same name from two inputs: their parent folders in front
        for i, n in zip(clash, _bundle_names([sources[i][0] for i in clash]), strict=True):
            names[i] = n
    return [Task(s, k, n, *((tuple(trial[0]), trial[1]) if trial else ()))
            for (s, k, trial), n in zip(sources, names, strict=True)]


def _name_below(given: Path, source: Path) -> str:
    """A task's name: its path below the folder the user gave (``P01/walk.mp4`` →
    ``P01_walk``), so that a name does not change when other inputs are added; the
    stem (or folder name) for what was given itself."""
    if source == given or not given.is_dir():
        return source.stem if source.is_file() else source.name
    rel = source.relative_to(given)
    return "_".join([*rel.parent.parts, rel.stem if source.is_file() else rel.name])


def _classify(p: Path, depth: int = 0
              ) -> list[tuple[Path, str, tuple[list[Path], Path] | None]]:
    """``(source, kind, (videos, calibration) of a trial or None)`` for what ``p`` holds."""
    if p.is_file():
        ext = p.suffix.lower()
        if ext in VIDEO_EXTENSIONS:
            return [(p, "video", None)]
        if ext in IMAGE_EXTENSIONS:
            return [(p, "image", None)]
        raise InputError(f"{p} is not a video or an image this batch can read (videos: "
                         f"{', '.join(sorted(VIDEO_EXTENSIONS))}; images: "
                         f"{', '.join(sorted(IMAGE_EXTENSIONS))}; a list file ends in .txt)")
    trial = _trial(p)
    if trial is not None:
        return [(p, "trial", trial)]
    kids = media_files(p)
    vids = [k for k in kids if k.suffix.lower() in VIDEO_EXTENSIONS]
    if not kids and (p / "videos").is_dir():
        kids = media_files(p / "videos")
        vids = [k for k in kids if k.suffix.lower() in VIDEO_EXTENSIONS]
    if not kids:  # a cohort's folder: its participants' and trials' folders, in order
        found: list[tuple[Path, str, tuple[list[Path], Path] | None]] = []
        if depth < 3:
            for d in sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith(
                    ".") and d.name.lower() != "calibration"):
                with contextlib.suppress(InputError):
                    found.extend(_classify(d, depth + 1))
        if not found:
            raise InputError(f"folder {p} has no videos or images, nor any folder below it "
                             "that has (a videos/ folder or a camera trial counts)")
        return found
    if vids:
        return [(k, "video" if k in vids else "image", None) for k in kids]
    return [(p, "images", None)]


def default_workers() -> int:
    """Workers of a local pool when none is asked for: one per usable core."""
    from .cores import _usable_cpus

    return max(1, len(_usable_cpus()))


def _limit_threads(threads: int) -> None:
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    import cv2

    cv2.setNumThreads(threads)


def _frames(manifest: dict[str, Any]) -> int:
    return int(manifest.get("frames", {}).get("processed") or 0)


def run_task(task: Task, output: str, options: dict[str, Any], threads: int) -> dict[str, Any]:
    """Run one task in this process and return its summary row.

    A failure of the input itself (unreadable, wrong calibration…) does not raise:
    the row says ``failed`` and why. ``options`` are :func:`posestack.run`'s keyword
    arguments (and, for a trial, :func:`posestack.run_multiview`'s)."""
    _limit_threads(threads)
    from .pipeline import run, run_multiview

    out = Path(output)
    t0 = time.perf_counter()
    row = _row(task, "failed", None, None)
    try:
        if task.kind == "trial":
            mv = run_multiview(list(task.videos), task.calibration, out / task.name,
                               num_threads=threads, progress=False, **options)
            skipped = mv.skipped and all(r.skipped for r in mv.views or ())
            row["frames"] = max((_frames(r.manifest) for r in mv.views or ()), default=0)
            row["people"] = int(mv.poses3d.n_people)
        else:
            single = {k: v for k, v in options.items() if k in _run_options()}
            if task.kind == "images":
                results = run(task.source, out / task.name, num_threads=threads,
                              progress=False, **single)
            else:
                results = run(task.source, out, num_threads=threads, progress=False,
                              names=[task.name], **single)
            skipped = all(r.skipped for r in results)
            row["frames"] = sum(_frames(r.manifest) for r in results)
            row["people"] = max((int(r.manifest.get("people") or 0) for r in results),
                                default=0)
        row["status"] = "skipped" if skipped else "done"
    except Exception as e:  # the row records it; the batch goes on with the others
        log.debug("task %s failed", task.source, exc_info=True)
        row["error"] = f"{type(e).__name__}: {e}"
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


@functools.cache
def _run_options() -> frozenset[str]:
    """The keyword arguments of :func:`posestack.run` a batch passes through."""
    import inspect

    from .pipeline import run

    return frozenset(inspect.signature(run).parameters) - {"inputs", "output", "num_threads",
                                                            "progress", "names"}



class _Bar:
    """One progress bar over the batch: inputs done, with frames/s and failures."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = progress_bar(total, "batch", unit="input", enabled=enabled)
        self.frames = 0
        self.failed = 0
        self.t0 = time.perf_counter()

    def done(self, row: dict[str, Any]) -> None:
        self.frames += int(row.get("frames") or 0) if row["status"] == "done" else 0
        self.failed += row["status"] == "failed"
        dt = time.perf_counter() - self.t0
        self.bar.set_postfix(frames_per_s=f"{self.frames / dt:.1f}" if dt > 0 else "-",
                             failed=self.failed)
        self.bar.update(1)
        if row["status"] == "failed":
            print(f"batch: {row['input']} failed: {row['error']}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def _check_options(options: dict[str, Any], tasks: Sequence[Task]) -> None:
    """Refuse unknown options and ``run``'s own checks before any work (a bad option
    would otherwise fail every task, one after another)."""
    from .pipeline import RunParameters

    unknown = sorted(set(options) - _run_options() - MULTIVIEW_OPTIONS)
    if unknown:
        raise InputError(f"batch has no option {', '.join(unknown)} (it takes run's options, "
                         f"and {', '.join(sorted(MULTIVIEW_OPTIONS))} for trials)")
    single = {k: v for k, v in options.items() if k in _run_options()}
    fields = {f.name for f in dataclasses.fields(RunParameters)}
    RunParameters(**{k: v for k, v in single.items() if k in fields})  # raises InputError
    multi = sorted(set(options) - set(_run_options()))
    if multi and not any(t.kind == "trial" for t in tasks):
        opts = ", ".join("--" + m.replace("_", "-") for m in multi)
        raise InputError(f"{opts} {'is' if len(multi) == 1 else 'are'} for multi-camera "
                         "trials, and no input is one (a trial is a folder of camera videos "
                         "with its calibration)")


def batch(inputs: str | os.PathLike | Iterable[str | os.PathLike], output: str | os.PathLike,
          *, workers: int | None = None, ray: bool | str = False, threads: int | None = None,
          retries: int = 2, progress: bool = True, **options: Any) -> BatchResult:
    """Run many inputs, each as one task, on a local process pool or on Ray.

    Args:
        inputs: videos, images, folders (a multi-camera trial, a folder of images, or
            a folder of videos: one task per video) and list files (``.txt``, one
            path per line, relative to the list file).
        output: the batch's folder: one bundle (or trial folder) per task, named
            as :func:`plan` says, and ``batch.parquet``.
        workers: tasks run at once (default: one per core for a local pool; the
            cluster's CPUs for Ray). Each gets ``max(1, cores // workers)`` threads.
        ray: False: a local process pool; True: a local Ray started here; a string:
            the address of an existing Ray cluster (``"auto"``, ``"ray://host:10001"``).
        threads: inference threads per task (default: the cores shared out among the
            workers). Results are byte-identical between runs with the same threads per
            task; another count changes the last float bits of the estimators' sums,
            which the overlay's anti-aliased drawing can show.
        retries: times a task whose worker died (killed, out of memory) is given to
            another worker before it is recorded as failed.
        progress: one bar over the batch (inputs done, frames/s, ETA) on stderr.
        **options: :func:`posestack.run`'s keyword arguments (``estimator``,
            ``max_people``, ``filter``, ``force``…), and :func:`run_multiview`'s for
            trials (``ik``, ``opensim``, ``height``…).

    Returns:
        a :class:`BatchResult`; its rows are also written to ``output/batch.parquet``.

    Raises:
        InputError: a missing input, an unknown option or value (before any work).
        OutputError: the output folder cannot be written.
        PosestackError: Ray was asked for and is not installed, or cannot be reached.
    """
    from .pipeline import _check_writable

    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    tasks = plan(inputs)
    _check_options(options, tasks)
    if workers is not None and not 1 <= int(workers) <= 4096:
        raise InputError(f"--workers must be at least 1; got {workers}")
    if threads is not None and not 1 <= int(threads) <= 1024:
        raise InputError(f"--threads must be at least 1; got {threads}")
    if retries < 0:
        raise InputError(f"retries must be 0 or more; got {retries}")
    if ray is not False and ray is not None:
        try:
            import ray as _ray  # noqa: F401
        except ImportError:
            raise PosestackError("--ray needs Ray: pip install 'posestack[scale]'") from None
        if isinstance(ray, str) and ray not in ("auto", "local"):
            _check_reachable(ray)
    out = Path(output).expanduser()
    _check_writable(out)
    t0 = time.perf_counter()
    bar = _Bar(len(tasks), progress)
    rows: dict[int, dict[str, Any]] = {}
    finished = False
    try:
        if ray is False or ray is None:
            _local(tasks, out, options, workers or default_workers(), threads, retries, bar,
                   rows)
        else:
            _on_ray(tasks, out, options, workers, None if ray is True else str(ray),
                    threads, retries, bar, rows)
        finished = True
    finally:
        bar.close()
        ordered = [rows.get(i) or _row(t, "not run", 0, "the batch stopped first")
                   for i, t in enumerate(tasks)]
        # a batch that stopped before any task ended (Ray unreachable, workers that
        # cannot start) leaves the previous summary as it was
        summary = write_summary(out, ordered) if finished or rows else None
    return BatchResult(ordered, summary, round(time.perf_counter() - t0, 3))


def write_summary(out: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write ``out/batch.parquet`` (atomically) from the batch's rows."""
    import pyarrow as pa

    from .io.tables import write_parquet

    cols = ("input", "bundle", "kind", "status", "frames", "people", "seconds", "error",
            "attempts")
    types = (pa.string(), pa.string(), pa.string(), pa.string(), pa.int64(), pa.int64(),
             pa.float64(), pa.string(), pa.int64())
    table = pa.table({c: pa.array([r.get(c) for r in rows], type=t)
                      for c, t in zip(cols, types, strict=True)})
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(out / SUMMARY, table)
    return out / SUMMARY


def _threads(workers: int, cores: int) -> int:
    return max(1, cores // max(1, workers))


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (a batch killed with -9 must
    not leave workers running on, holding bundles' locks); elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _worker(conn, threads: int) -> None:
    """A local worker: says it is ready, then runs the tasks it is sent until ``None``."""
    _die_with_parent()
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        i, task, out, options = msg
        conn.send((i, run_task(task, out, options, threads)))


class _Worker:
    """One worker process, the pipe to it, and the task it runs (None: idle)."""

    def __init__(self, ctx, threads: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, threads), daemon=True)
        self.proc.start()
        child.close()
        self.ready = False
        self.task: int | None = None

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.proc.join(timeout=None if kill else 10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def _row(task: Task, status: str, attempts: int | None, error: str | None
         ) -> dict[str, Any]:
    """A summary row of a task that produced nothing (yet): failed, or not run."""
    return {"input": str(task.source), "bundle": task.name, "kind": task.kind,
            "status": status, "frames": 0, "people": 0, "seconds": 0.0,
            "attempts": attempts, "error": error}


def _local(tasks: Sequence[Task], out: Path, options: dict[str, Any], workers: int,
           threads: int | None, retries: int, bar: _Bar,
           rows: dict[int, dict[str, Any]]) -> None:
    """Worker processes that the batch follows one by one, each a fresh interpreter
    (``spawn``: a fork would inherit the caller's OpenCV or torch thread pools and can
    hang, so a script calling :func:`batch` needs the usual ``if __name__ ==
    "__main__":`` guard). A worker that dies takes down only the task it was running:
    that task goes to a new worker, up to ``retries`` more times; workers die with the
    batch (Linux)."""
    import multiprocessing as mp
    from collections import deque
    from multiprocessing.connection import wait

    threads = threads or _threads(workers, default_workers())
    ctx = mp.get_context("spawn")
    attempts = dict.fromkeys(range(len(tasks)), 0)
    queue = deque(range(len(tasks)))
    pool = [_Worker(ctx, threads) for _ in range(min(workers, len(tasks)))]
    try:
        while queue or any(w.task is not None for w in pool):
            for w in pool:
                if w.ready and w.task is None and queue:
                    w.task = queue.popleft()
                    attempts[w.task] += 1
                    w.conn.send((w.task, tasks[w.task], str(out), options))
            waiting = {w.conn: w for w in pool} | {w.proc.sentinel: w for w in pool}
            for obj in wait(list(waiting)):
                w = waiting[obj]
                if w not in pool:  # its pipe and its end both woke us: replaced already
                    continue
                if obj is w.conn or w.conn.poll():
                    try:
                        msg = w.conn.recv()
                    except (EOFError, OSError):
                        msg = None
                    if msg == "ready":
                        w.ready = True
                        continue
                    if msg is not None:
                        i, row = msg
                        row["attempts"] = attempts[i]
                        rows[i] = row
                        w.task = None
                        bar.done(row)
                        continue
                if w.proc.is_alive() and obj is w.conn:
                    continue
                w.proc.join()
                if not w.ready:
                    raise PosestackError(
                        f"a worker process could not start (exit code {w.proc.exitcode}). A "
                        "script that calls posestack.batch must call it under `if __name__ "
                        "== \"__main__\":` (the workers are fresh interpreters that import the "
                        "script); see the errors above")
                i = w.task
                pool[pool.index(w)] = _Worker(ctx, threads)
                if i is None:
                    continue
                if attempts[i] > retries:
                    rows[i] = _row(tasks[i], "failed", attempts[i], "its worker died (killed, or "
                                          f"out of memory), {attempts[i]} time(s)")
                    bar.done(rows[i])
                else:
                    log.warning("the worker running %s died; it goes to a new worker",
                                tasks[i].source)
                    queue.appendleft(i)
    except BaseException:
        for w in pool:
            w.stop(kill=True)
        raise
    for w in pool:
        w.stop()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse, within seconds, a Ray address nothing answers at (Ray itself retries for
    minutes)."""
    import socket

    hostport = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise PosestackError(f"--ray {address}: give HOST:PORT (the head's GCS, e.g. "
                             "head:6379), ray://HOST:PORT (Ray Client, e.g. head:10001) or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise PosestackError(f"no Ray cluster answers at {address} ({e}); start one with "
                             "`ray start --head` on the head node, or leave out the address "
                             "for a local Ray") from None


def _on_ray(tasks: Sequence[Task], out: Path, options: dict[str, Any], workers: int | None,
            address: str | None, threads: int | None, retries: int, bar: _Bar,
            rows: dict[int, dict[str, Any]]) -> None:
    """The same tasks as Ray remote functions. Ray gives a task whose worker died to
    another worker itself (``max_retries``); its other failures are in the rows."""
    try:
        import ray
    except ImportError:
        raise PosestackError("--ray needs Ray: pip install 'posestack[scale]'") from None
    started = not ray.is_initialized()
    if started:
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": False}
        if address is None:  # all the cores; --workers limits the tasks at once
            kw["num_cpus"] = default_workers()
        try:
            ray.init(address=address, **kw)
        except Exception as e:
            raise PosestackError(f"cannot start or reach Ray ({address or 'local'}): "
                                 f"{type(e).__name__}: {e}") from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = min(workers or cpus, cpus)
        threads = threads or _threads(n, cpus)
        remote = ray.remote(num_cpus=max(1, cpus // n), max_retries=retries)(run_task)
        refs = {remote.remote(t, str(out), options, threads): i for i, t in enumerate(tasks)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                i = refs[ref]
                try:
                    row = ray.get(ref)
                    row["attempts"] = None
                except Exception as e:  # the worker died more often than retries allow
                    row = _row(tasks[i], "failed", retries + 1,
                                      f"{type(e).__name__}: {str(e).splitlines()[0]}")
                rows[i] = row
                bar.done(row)
    finally:
        if started:
            ray.shutdown()
