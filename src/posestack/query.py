"""One SQL query over every bundle under a folder (DuckDB, the ``query`` extra).

:func:`connect` finds every bundle below a folder (a folder with a ``manifest.json``:
a camera's 2D bundle, a ``multiview`` folder, a batch's trial folders) and creates,
in an in-memory DuckDB database:

- ``bundles``: one row per bundle: ``bundle`` (its path below the folder, ``/``
  separated: ``clip``, ``P01_walk/multiview``), ``trial`` (the first part of that
  path), ``kind`` (``2d`` or ``multiview``), ``input``, ``estimator``, ``layout``,
  ``fps``, ``width``, ``height``, ``frames``, ``people`` (identities in a 2D bundle,
  most people in one frame in a multiview one), ``created``, ``posestack`` (version),
  ``seconds`` (the run's wall time), ``warnings`` (how many), ``path``;
- one view per table name found in any bundle (``keypoints2d``, ``keypoints3d``,
  ``keypoints3d_body``, ``angles``, ``angles_ik``, ``angles_opensim``, ``codes``…):
  every bundle's rows, with the ``bundles`` columns in front (``bundle``, ``trial``,
  ``kind``, ``input``, ``estimator``, ``fps``…; a column of the table itself wins
  where a name is in both); missing values (NaN in the files) are NULL, so that
  ``min``, ``max`` and ``avg`` skip them;
- ``batch``: the batch summaries (``batch.parquet``) found, with their folder.

The Parquet files are read where they lie (no copy), so a query over a thousand
bundles costs what its answer needs.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
BUNDLE_COLUMNS = ("bundle", "trial", "kind", "input", "estimator", "layout", "fps", "width",
                  "height", "frames", "people", "created", "posestack", "seconds", "warnings",
                  "path")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _duckdb():
    try:
        import duckdb
    except ImportError:
        raise InputError("posestack query needs DuckDB: pip install 'posestack[query]'") from None
    return duckdb


def find_bundles(root: Path) -> list[Path]:
    """Every bundle folder under ``root`` (``root`` itself included), sorted; hidden
    folders (a run's staging ``.name.part-*``) are passed over."""
    return _walk(root)[0]


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """The bundle folders and the batch summaries under ``root``, in one walk."""
    bundles, summaries = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if MANIFEST in filenames:
            bundles.append(Path(dirpath))
        if "batch.parquet" in filenames:
            summaries.append(Path(dirpath) / "batch.parquet")
    return bundles, summaries


def _row(root: Path, bundle: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``bundles`` row of one bundle, from its manifest (either kind)."""
    rel = bundle.relative_to(root).as_posix() if bundle != root else bundle.name
    inp = manifest.get("input") or {}
    params = manifest.get("parameters") or {}
    multiview = "input" not in manifest
    frames = manifest.get("frames")
    if isinstance(frames, dict):
        frames = frames.get("processed", frames.get("count"))
    people = manifest.get("people")
    if isinstance(people, dict):  # multiview: frames holding 0, 1, 2... people in 3D
        seen = [int(k) for k, v in (people.get("per_frame_3d") or {}).items()
                if str(k).isdigit() and v]
        people = max(seen, default=0)
    skeleton = manifest.get("skeleton") or {}
    timings = manifest.get("timings") or {}
    return {
        "bundle": rel, "trial": rel.split("/", 1)[0], "kind": "multiview" if multiview else "2d",
        "input": inp.get("path") if isinstance(inp, dict) else None,
        "estimator": params.get("estimator"),
        "layout": skeleton.get("keypoints2d") if isinstance(skeleton, dict) else None,
        "fps": _num(inp.get("fps") if isinstance(inp, dict) and not multiview
                    else params.get("fps")),
        "width": _int(inp.get("width")) if isinstance(inp, dict) else None,
        "height": _int(inp.get("height")) if isinstance(inp, dict) else None,
        "frames": _int(frames), "people": _int(people),
        "created": manifest.get("created"), "posestack": manifest.get("posestack"),
        "seconds": _num(timings.get("wall_s") if isinstance(timings, dict) else None),
        "warnings": len(manifest.get("warnings") or ()), "path": str(bundle.resolve()),
    }


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def connect(root: str | os.PathLike, database: Any = None):
    """A DuckDB connection with the views of every bundle under ``root`` (see the module).

    Args:
        root: a folder of bundles (a ``posestack run`` or ``batch`` output), or a bundle.
        database: an open DuckDB connection to add the views to (default: a new
            in-memory one).

    Returns:
        the ``duckdb.DuckDBPyConnection``.

    Raises:
        InputError: ``root`` is missing or holds no bundle; DuckDB is not installed.
    """
    duckdb = _duckdb()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputError(f"{root} is not a folder of bundles (give the -o folder of "
                         "posestack run or batch)")
    bundles, summary_files = _walk(root)
    if not bundles:
        raise InputError(f"no bundle under {root} (no manifest.json found): run posestack "
                         f"run or batch with -o {root} first")
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, tables = [], {}
    for b in bundles:
        try:
            manifest = json.loads((b / MANIFEST).read_text())
        except (OSError, ValueError) as e:
            log.warning("%s: unreadable manifest (%s); left out", b, e)
            continue
        row = _row(root, b, manifest)
        rows.append(row)
        for f in sorted(b.glob("*.parquet")):
            if not _NAME.match(f.stem) or f.stem == "batch":
                continue
            try:
                columns = tuple(pq.read_schema(f).names)
            except (OSError, ValueError, pa.ArrowException) as e:
                log.warning("%s is damaged (%s) and left out of the %s view; rerun what "
                            "wrote it with --force", f, str(e).splitlines()[0], f.stem)
                continue
            tables.setdefault(f.stem, []).append((str(f.resolve()), row["bundle"], columns))
    con = database if database is not None else duckdb.connect()
    con.register("_bundles_arrow", pa.Table.from_pylist(rows, schema=_bundle_schema(pa)))
    con.execute("create or replace table bundles as select * from _bundles_arrow")
    con.unregister("_bundles_arrow")
    for name, files in sorted(tables.items()):
        _table_view(con, name, files)
    summaries = sorted(str(p.resolve()) for p in summary_files)
    if summaries:
        con.execute(f"create or replace view batch as select regexp_replace(filename, "
                    f"'/batch\\.parquet$', '') as folder, * exclude (filename) from "
                    f"read_parquet({_list(summaries)}, union_by_name = true, filename = true)")
    return con


def _bundle_schema(pa):
    types = {"fps": pa.float64(), "width": pa.int64(), "height": pa.int64(),
             "frames": pa.int64(), "people": pa.int64(), "seconds": pa.float64(),
             "warnings": pa.int64()}
    return pa.schema([(c, types.get(c, pa.string())) for c in BUNDLE_COLUMNS])


def _list(paths: Sequence[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _table_view(con, name: str, files: Sequence[tuple[str, str, tuple[str, ...]]]) -> None:
    """``name``: every file's rows with the bundle's columns in front (``files``: path,
    bundle, column names)."""
    import pyarrow as pa

    con.register(f"_files_{name}", pa.table({"_file": [f for f, _, _ in files],
                                             "_bundle": [b for _, b, _ in files]}))
    con.execute(f"create or replace table _files_of_{name} as select * from _files_{name}")
    con.unregister(f"_files_{name}")
    # union_by_name only where the files' columns differ (bundles of different versions):
    # DuckDB 2.0's union_by_name reader hides NaN from isnan() and comparisons
    union = ", union_by_name = true" if len({c for _, _, c in files}) > 1 else ""
    source = f"read_parquet({_list([f for f, _, _ in files])}{union}, filename = true)"
    own = [(r[0], r[1]) for r in con.execute(f"describe select * from {source}").fetchall()
           if r[0] != "filename"]
    front = [f"b.{c}" for c in BUNDLE_COLUMNS if c not in dict(own) and c != "path"]
    # missing values are NaN in the files and NULL here, so that aggregates skip them
    # (DuckDB orders NaN above every number: max() would give NaN)
    # (nullif, not isnan(): a filter on isnan is pushed into the Parquet reader, whose
    # statistics leave NaN out, and finds none)
    body = [f'nullif(t."{c}", \'nan\'::{kind}) as "{c}"' if kind in ("FLOAT", "DOUBLE")
            else f't."{c}"' for c, kind in own]
    con.execute(
        f"create or replace view {name} as select {', '.join(front + body)} "
        f"from {source} t join _files_of_{name} f on t.filename = f._file "
        f"join bundles b on b.bundle = f._bundle")


def query(root: str | os.PathLike, sql: str):
    """Run ``sql`` over the views of :func:`connect` and return the result as a
    ``pyarrow.Table``.

    Raises:
        InputError: no bundle, DuckDB missing, or an SQL error (its message, and the
            views there are).
    """
    duckdb = _duckdb()
    if not sql.strip():
        raise InputError("the query is empty: give SQL, e.g. \"select * from bundles\"")
    con = connect(root)
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as e:
        views = ", ".join(tables(con))
        raise InputError(f"the query failed: {str(e).splitlines()[0]} (the views: "
                         f"{views})") from None
    finally:
        con.close()


def tables(con) -> list[str]:
    """The views and tables a user may query (the hidden helpers left out)."""
    rows = con.execute("select table_name from information_schema.tables "
                       "where table_name not like '\\_%' escape '\\' order by 1").fetchall()
    return [r[0] for r in rows]
