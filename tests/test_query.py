"""posestack query: one SQL over every bundle, checked against the Parquet files read
directly, on real bundles (short clips of the samples, run through `posestack batch`)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from posestack.cli import main
from posestack.errors import InputError
from posestack.query import connect, query, tables

from .clips import cut_clips

pytestmark = pytest.mark.assets
pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Four clips in two participants' folders, as a lab lays them out, run by batch."""
    root = tmp_path_factory.mktemp("cohort")
    clips = cut_clips(root / "clips", n=4, frames=6)
    for i, c in enumerate(clips):
        d = root / "videos" / f"P0{i // 2 + 1}"
        d.mkdir(parents=True, exist_ok=True)
        shutil.move(c, d / f"trial{i % 2 + 1}.mp4")
    out = root / "out"
    assert main(["batch", str(root / "videos" / "P01"), str(root / "videos" / "P02"), "-o",
                 str(out), "--workers", "2", "--no-video", "-q"]) == 0
    return out


def test_views_carry_the_bundle_and_its_manifest(cohort):
    con = connect(cohort)
    assert {"bundles", "keypoints2d", "angles", "keypoints3d_body", "batch"} <= set(tables(con))
    bundles = con.execute("select bundle, kind, fps, frames, estimator from bundles "
                          "order by bundle").fetchall()
    assert bundles == [("P01_trial1", "2d", 30.0, 6, "blazepose"),
                       ("P01_trial2", "2d", 30.0, 6, "blazepose"),
                       ("P02_trial1", "2d", 30.0, 6, "blazepose"),
                       ("P02_trial2", "2d", 30.0, 6, "blazepose")]
    # every row of every table, each with its own bundle's name
    for b in ("P01_trial1", "P02_trial2"):
        direct = pq.read_table(cohort / b / "keypoints2d.parquet")
        n, xsum = con.execute(f"select count(*), sum(x) from keypoints2d where bundle = '{b}'"
                              ).fetchone()
        assert n == direct.num_rows
        assert xsum == pytest.approx(np.nansum(direct.column("x").to_numpy()), rel=1e-9)
    manifest = json.loads((cohort / "P01_trial1" / "manifest.json").read_text())
    (inp,) = con.execute("select distinct input from angles where bundle = 'P01_trial1'"
                         ).fetchone()
    assert inp == manifest["input"]["path"]


def test_range_of_motion_per_participant_as_the_readme_asks(cohort, tmp_path, capsys):
    sql = ("select split_part(bundle, '_', 1) as participant, angle, "
           "max(degrees) - min(degrees) as rom from angles where angle like '%knee' "
           "group by all order by all")
    out_csv, out_pq = tmp_path / "rom.csv", tmp_path / "rom.parquet"
    assert main(["query", str(cohort), sql, "--csv", str(out_csv), "--parquet",
                 str(out_pq)]) == 0
    printed = capsys.readouterr().out
    got = pq.read_table(out_pq).to_pylist()
    # the same from the files, without DuckDB
    expect = {}
    for b in cohort.iterdir():
        if not (b / "angles.parquet").exists():
            continue
        t = pq.read_table(b / "angles.parquet")
        names = np.array(t.column("angle").to_pylist())
        deg = t.column("degrees").to_numpy(zero_copy_only=False).astype(float)
        for angle in {a for a in names if a.endswith("knee")}:
            d = deg[(names == angle) & np.isfinite(deg)]
            key = (b.name.split("_")[0], angle)
            lo, hi = expect.get(key, (np.inf, -np.inf))
            expect[key] = (min(lo, d.min()), max(hi, d.max()))
    assert {(r["participant"], r["angle"]) for r in got} == set(expect)
    for r in got:
        lo, hi = expect[(r["participant"], r["angle"])]
        assert r["rom"] == pytest.approx(hi - lo, abs=1e-4)
    assert out_csv.read_text().splitlines()[0] == '"participant","angle","rom"'
    assert "P01" in printed and f"({len(got)} rows)" in printed


def test_a_thousand_bundles_are_queried_in_seconds(tmp_path):
    """1,000 synthetic bundles (manifest + angles table) in one query."""
    import time

    import pyarrow as pa

    rng = np.random.default_rng(0)
    for i in range(1000):
        b = tmp_path / f"S{i // 10:03d}_t{i % 10}"
        b.mkdir()
        (b / "manifest.json").write_text(json.dumps(
            {"input": {"path": f"/data/{b.name}.mp4", "fps": 30.0}, "frames": {
                "processed": 300}, "parameters": {"estimator": "blazepose"}, "people": 1}))
        pq.write_table(pa.table({"frame": np.arange(300), "time": np.arange(300) / 30,
                                 "person": np.zeros(300, np.int16),
                                 "angle": ["right_knee"] * 300,
                                 "degrees": np.where(np.arange(300) % 50 == 7, np.nan,
                                                     rng.normal(40, 10, 300)
                                                     ).astype(np.float32)}),
                       b / "angles.parquet")
    t0 = time.perf_counter()
    res = query(tmp_path, "select split_part(bundle, '_', 1) as s, avg(degrees) as m, "
                          "max(degrees) as top, count(degrees) as n from angles group by 1 "
                          "order by 1")
    took = time.perf_counter() - t0
    assert res.num_rows == 100
    # the missing angles (NaN in the files) are NULL: skipped, not NaN
    assert np.allclose(res.column("m").to_numpy(), 40, atol=2)
    assert np.isfinite(res.column("top").to_numpy()).all()
    assert (res.column("n").to_numpy() == 10 * 294).all()
    print(f"1,000 bundles: {took:.2f} s")  # benchmarks/bench_batch.py reports it


def test_a_damaged_table_is_left_out_with_a_warning(cohort, tmp_path, caplog):
    copy = tmp_path / "out"
    shutil.copytree(cohort, copy)
    bad = copy / "P01_trial2" / "angles.parquet"
    bad.write_bytes(bad.read_bytes()[:200])
    (n,) = query(copy, "select count(distinct bundle) from angles").column(0).to_pylist()
    assert n == 3
    assert "P01_trial2/angles.parquet is damaged" in caplog.text
    assert query(copy, "select count(*) from bundles").column(0).to_pylist() == [4]


def test_bad_queries_say_what_is_wrong(cohort, tmp_path, capsys):
    with pytest.raises(InputError, match="no bundle under"):
        query(tmp_path, "select 1")
    with pytest.raises(InputError, match="not a folder of bundles"):
        query(tmp_path / "nowhere", "select 1")
    with pytest.raises(InputError, match=r"the query failed: .*knees.*the views: angles"):
        query(cohort, "select * from knees")
    assert main(["query", str(cohort), "select 1", "--csv", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
