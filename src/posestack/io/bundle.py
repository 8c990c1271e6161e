"""Bundle folders that are never lost or half-written: a lock per bundle, the new
bundle built aside and swapped in only when complete, leftovers of killed runs
cleaned, and each output file's size and hash recorded and checked.

A bundle ``OUT/<name>/`` is written by one process at a time. The run writes
into a staging folder beside it (``OUT/.<name>.part-XXXX/``); when every file is
written, the old bundle is renamed aside (``OUT/.<name>.old-XXXX/``), the stage
takes its name, whatever other commands had added to the old bundle (``body/``,
``render/``, ``plots/``…) is moved across, and the old folder is deleted. A run
killed at any point leaves either the old bundle or the new one under the
bundle's name; the next run of that bundle (under its lock) removes stale
stages and finishes an interrupted swap.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..assets import sha256_file
from ..errors import InputError, OutputError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, runs are not guarded
    fcntl = None  # type: ignore[assignment]


def lock_path(bundle: Path) -> Path:
    """The lock file of a bundle: ``OUT/.<name>.lock`` (removed when released)."""
    return bundle.parent / f".{bundle.name}.lock"


@contextlib.contextmanager
def bundle_lock(bundle: str | os.PathLike) -> Iterator[None]:
    """Hold the bundle's lock for the block, or fail at once if another process holds it.

    The lock is an advisory ``flock`` on ``OUT/.<name>.lock``, released (and the
    file removed) when the block ends or the process dies.

    Raises:
        OutputError: another process is writing this bundle.
    """
    bundle = Path(bundle)
    path = lock_path(bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(
                    f"another posestack process is writing {bundle} (it holds {path}); wait "
                    "for it to finish, or write elsewhere with -o") from None
            raise
        try:  # the holder before us may have removed the file: lock the one on disk
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def check_bundle_folder(bundle: Path) -> None:
    """Refuse, before any work, a bundle path that exists and is not a folder.

    Raises:
        OutputError: ``bundle`` is a file (or another non-folder).
    """
    if bundle.exists() and not bundle.is_dir():
        raise OutputError(f"{bundle} exists and is not a folder, so the results for this "
                          "input cannot be written there; move or delete it, or choose "
                          "another output folder with -o")


def recover(bundle: Path) -> list[str]:
    """Clean up after killed runs of ``bundle`` (call it holding the bundle's lock).

    Removes stale staging folders (``.<name>.part-*``); finishes an interrupted
    swap: if the bundle is missing its previous version is put back, otherwise
    what other commands had added to the previous version is moved into it.

    Returns:
        one line per thing done, for the log.
    """
    done = []
    parent = bundle.parent
    if not parent.is_dir():
        return done
    for stale in sorted(parent.glob(f".{bundle.name}.part-*")):
        _remove(stale)
        done.append(f"removed {stale.name}, left by a run that did not finish")
    for old in sorted(parent.glob(f".{bundle.name}.old-*")):
        if not bundle.exists():
            os.replace(old, bundle)
            done.append(f"restored {bundle.name} from {old.name} (a swap was interrupted)")
        else:
            _carry(old, bundle, ())
            _remove(old)
            done.append(f"finished replacing {bundle.name} (removed {old.name})")
    return done


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _carry(src: Path, dst: Path, own: Iterable[str]) -> list[str]:
    """Move the entries of ``src`` that ``dst`` lacks and that are not in ``own``."""
    own = set(own)
    moved = []
    for entry in sorted(src.iterdir()):
        if entry.name in own or (dst / entry.name).exists():
            continue
        os.replace(entry, dst / entry.name)
        moved.append(entry.name)
    return moved


def new_stage(bundle: Path) -> Path:
    """Make an empty staging folder beside ``bundle`` (``.<name>.part-XXXX``)."""
    bundle.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{bundle.name}.part-", dir=bundle.parent.resolve()))
    mask = os.umask(0)
    os.umask(mask)
    stage.chmod(0o777 & ~mask)
    return stage


def commit(stage: Path, bundle: Path, own: Iterable[str]) -> list[str]:
    """Put the complete ``stage`` in the place of ``bundle``.

    Entries of the old bundle that the stage does not have and that are not
    among ``own`` (the names this writer makes: a file it no longer writes is
    dropped, not carried) are moved across.

    Returns:
        the names carried over from the old bundle.
    """
    if not bundle.exists():
        os.replace(stage, bundle)
        return []
    old = Path(tempfile.mkdtemp(prefix=f".{bundle.name}.old-", dir=bundle.parent))
    os.replace(bundle, old)  # replaces the empty folder made by mkdtemp
    os.replace(stage, bundle)
    moved = _carry(old, bundle, own)
    _remove(old)
    return moved


@contextlib.contextmanager
def staged(bundle: Path) -> Iterator[Path]:
    """A staging folder for the block, removed if the block fails (the bundle untouched)."""
    stage = new_stage(bundle)
    try:
        yield stage
    except BaseException:
        _remove(stage)
        raise
    finally:
        if stage.exists() and not any(True for _ in stage.iterdir()):
            with contextlib.suppress(OSError):
                stage.rmdir()


# --- what a finished bundle holds ----------------------------------------------------------

def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """Size (bytes) and SHA-256 of a file, or of a folder's files (``files``: their count;
    the hash covers each file's relative name and hash, in sorted order)."""
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        size = n = 0
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = f.relative_to(path).as_posix()
            h.update(f"{rel}\0{sha256_file(f)}\n".encode())
            size += f.stat().st_size
            n += 1
        return {"size": size, "files": n, "sha256": h.hexdigest()}
    return {"size": path.stat().st_size, "sha256": sha256_file(path)}


def record_files(folder: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{name: file_record(folder/name)}`` for the names (relative paths)."""
    return {n: file_record(folder / n) for n in names}


def damaged(folder: Path, records: dict[str, dict[str, Any]]) -> list[str]:
    """The recorded files under ``folder`` that are missing or differ from their record.

    Sizes are compared first (cheap); hashes only where sizes agree.
    """
    bad = []
    for name, rec in records.items():
        path = folder / name
        if not path.exists():
            bad.append(f"{name} (missing)")
            continue
        if path.is_file() and path.stat().st_size != rec.get("size"):
            bad.append(f"{name} (size {path.stat().st_size} bytes, expected {rec.get('size')})")
            continue
        now = file_record(path)
        if now != {k: rec.get(k) for k in now}:
            bad.append(f"{name} (changed since it was written)")
    return bad


def damaged_file_error(path: Path, error: BaseException, what: str = "file") -> InputError:
    """One clear error for a table or array file that cannot be read."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    article = "an" if what[:1].lower() in "aeiou" else "a"
    return InputError(f"{path} is damaged or incomplete and cannot be read as {article} {what} "
                      f"({reason}); rerun the command that wrote it with --force to "
                      "rewrite it")
