"""Angle agreement (Bland–Altman): hand-computed values, bootstrap, files."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posestack.errors import InputError
from posestack.evaluate.agreement import (
    OVERALL,
    Z_LOA,
    AgreementReport,
    _block_indices,
    _finish,
    _frame_sums,
    _pair_times,
    _weights,
    agreement,
    compare_files,
)

T = np.linspace(0, 4, 401)


def sines(n_angles: int = 3) -> np.ndarray:
    return np.stack([(20 + 10 * j) * np.sin(2 * np.pi * (0.5 + 0.2 * j) * T) + 5 * j
                     for j in range(n_angles)], axis=1)


def naive(a: np.ndarray, b: np.ndarray) -> dict:
    """Reference statistics, straight from the definitions."""
    m = np.isfinite(a) & np.isfinite(b)
    a, b = a[m], b[m]
    d = a - b
    return {"n": len(d), "rmse": np.sqrt(np.mean(d ** 2)), "bias": d.mean(),
            "sd": d.std(ddof=1), "r": np.corrcoef(a, b)[0, 1]}


# ---------------------------------------------------------------- known values

def test_constant_offset():
    a = sines()
    rep = agreement(a, a + 2, names=["hip", "knee", "ankle"], n_boot=200)
    for s in (*rep.angles, rep.overall):
        assert s.n == len(T) * (3 if s.name == OVERALL else 1)
        assert s.bias == pytest.approx(-2, abs=1e-9)
        assert s.rmse == pytest.approx(2, abs=1e-9)
        assert s.sd == pytest.approx(0, abs=1e-9)
        assert s.loa_lower == pytest.approx(-2, abs=1e-8)
        assert s.loa_upper == pytest.approx(-2, abs=1e-8)
        assert s.r == pytest.approx(1, abs=1e-12)
        assert s.bias_ci == pytest.approx((-2, -2), abs=1e-9)
        assert s.rmse_ci == pytest.approx((2, 2), abs=1e-9)
    assert rep.names == ("hip", "knee", "ankle")
    assert rep["knee"] is rep.angles[1] and rep[OVERALL] is rep.overall


def test_noise_sd_and_limits():
    rng = np.random.default_rng(3)
    a = sines(2)
    sd = 3.0
    a = np.concatenate([a] * 10)  # 4010 frames
    b = a - 1.0 + rng.normal(0, sd, a.shape)
    rep = agreement(a, b, n_boot=300, block=1)
    for s in rep.angles:
        assert s.bias == pytest.approx(1.0, abs=0.2)
        assert s.sd == pytest.approx(sd, rel=0.05)
        assert s.loa_upper - s.loa_lower == pytest.approx(2 * Z_LOA * sd, rel=0.05)
        assert s.loa_lower == pytest.approx(s.bias - Z_LOA * s.sd)
        assert s.rmse == pytest.approx(np.hypot(1.0, sd), rel=0.05)
        # the bootstrap intervals contain the true values
        assert s.bias_ci[0] < 1.0 < s.bias_ci[1]
        assert s.rmse_ci[0] < np.hypot(1.0, sd) < s.rmse_ci[1]
        assert s.bias_ci[0] < s.bias < s.bias_ci[1]
        assert s.r_ci[0] < s.r < s.r_ci[1]


def test_perfect_correlation_and_anticorrelation():
    a = sines(1)[:, 0]
    assert agreement(a, 3 * a + 7, n_boot=0).angles[0].r == pytest.approx(1)
    assert agreement(a, -a, n_boot=0).angles[0].r == pytest.approx(-1)


def test_matches_naive_definitions():
    rng = np.random.default_rng(0)
    a = sines(3)
    b = a + rng.normal(0.5, 2, a.shape)
    a[rng.random(a.shape) < 0.1] = np.nan
    b[rng.random(a.shape) < 0.1] = np.nan
    rep = agreement(a, b, n_boot=0)
    for j, s in enumerate(rep.angles):
        ref = naive(a[:, j], b[:, j])
        for key, value in ref.items():
            assert getattr(s, key) == pytest.approx(value, rel=1e-10), key
    ref = naive(a.ravel(), b.ravel())
    for key, value in ref.items():
        assert getattr(rep.overall, key) == pytest.approx(value, rel=1e-10), key
    assert np.isnan(rep.angles[0].bias_ci).all()  # n_boot=0: no intervals


def test_bootstrap_weights_match_explicit_resamples():
    """The fast path (weights @ per-frame sums) equals recomputing on resampled frames."""
    rng = np.random.default_rng(1)
    a = sines(2)
    b = a + rng.normal(0, 2, a.shape)
    b[10:20, 0] = np.nan
    idx = _block_indices(np.random.default_rng(5), len(T), 7, 4)
    assert idx.shape == (4, len(T)) and idx.min() >= 0 and idx.max() < len(T)
    assert np.all(np.diff(idx[:, :7], axis=1) == 1)  # blocks of consecutive frames
    centers = np.array([[-0.1, 0.2], [5.0, -3.0], [4.0, 1.0]])  # any centre gives the same
    w = _weights(idx, len(T))
    assert np.all(w.sum(axis=1) == len(T))
    sums = (w @ _frame_sums(a, b, centers).reshape(len(T), -1)).reshape(4, 2, 8)
    fast = _finish(sums, centers)
    for k in range(4):
        for j in range(2):
            ref = naive(a[idx[k], j], b[idx[k], j])
            for key in ("n", "rmse", "bias", "sd", "r"):
                assert fast[key][k, j] == pytest.approx(ref[key], rel=1e-9)


def test_block_bootstrap_is_wider_for_correlated_errors():
    """A slowly drifting error: ordinary bootstrap is overconfident, blocks widen the CI."""
    rng = np.random.default_rng(2)
    n = 3000
    err = np.convolve(rng.normal(0, 1, n + 99), np.ones(100) / 10, mode="valid")
    a = np.sin(np.linspace(0, 30, n)) * 20
    iid = agreement(a + err, a, n_boot=400, block=1).angles[0]
    blk = agreement(a + err, a, n_boot=400, block=100).angles[0]
    assert blk.bias_ci[1] - blk.bias_ci[0] > 2 * (iid.bias_ci[1] - iid.bias_ci[0])


def test_reproducible_with_seed():
    rng = np.random.default_rng(4)
    a = sines(2)
    b = a + rng.normal(0, 1, a.shape)
    r1, r2 = agreement(a, b, seed=7), agreement(a, b, seed=7)
    assert r1 == r2
    assert agreement(a, b, seed=8).angles[0].bias_ci != r1.angles[0].bias_ci


# ---------------------------------------------------------------- NaN and edges

def test_nan_pairs_dropped():
    a = sines(2)
    b = a + 1
    a[:50, 0] = np.nan
    b[100:120, 0] = np.nan
    b[:, 1] = np.inf
    b[0, 1] = a[0, 1] + 1
    rep = agreement(a, b, ["x", "y"], n_boot=50)
    assert rep["x"].n == len(T) - 70
    assert rep["x"].bias == pytest.approx(-1)
    assert rep["y"].n == 1
    assert rep["y"].rmse == pytest.approx(1) and np.isnan(rep["y"].sd) and np.isnan(rep["y"].r)
    assert rep.overall.n == len(T) - 70 + 1


def test_all_nan_and_empty():
    rep = agreement(np.full(10, np.nan), np.zeros(10), n_boot=20)
    s = rep.angles[0]
    assert s.n == 0 and s.name == "angle"
    assert np.isnan([s.rmse, s.bias, s.sd, s.r, *s.rmse_ci]).all()
    rep = agreement(np.zeros((0, 2)), np.zeros((0, 2)))
    assert rep.overall.n == 0 and np.isnan(rep.overall.rmse)


def test_constant_series_has_no_correlation():
    s = agreement(np.full(20, 0.1), np.full(20, 0.3), n_boot=0).angles[0]
    assert np.isnan(s.r)
    assert s.bias == pytest.approx(-0.2) and s.sd == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize(("a", "b", "kw", "match"), [
    (np.zeros(10), np.zeros(9), {}, "same T"),
    (np.zeros((10, 2)), np.zeros((10, 3)), {}, "same T"),
    (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), {}, r"\(T,\) or \(T, A\)"),
    (np.zeros((5, 0)), np.zeros((5, 0)), {}, "no angles"),
    (["a"] * 3, np.zeros(3), {}, "numeric"),
    (np.zeros((5, 2)), np.zeros((5, 2)), {"names": ["x"]}, "names has 1"),
    (np.zeros((5, 2)), np.zeros((5, 2)), {"names": ["x", "x"]}, "unique"),
    (np.zeros(5), np.zeros(5), {"names": [OVERALL]}, "unique"),
    (np.zeros(5), np.zeros(5), {"n_boot": -1}, "n_boot"),
    (np.zeros(5), np.zeros(5), {"block": 0}, "block"),
    (np.zeros(5), np.zeros(5), {"ci": 95}, "ci must"),
])
def test_bad_input(a, b, kw, match):
    with pytest.raises(InputError, match=match):
        agreement(a, b, **kw)


# ---------------------------------------------------------------- report output

def test_table_format_and_dict():
    a = sines(2)
    b = a + np.random.default_rng(0).normal(0, 1, a.shape)
    rep = agreement(a, b, ["l_knee", "r_knee"], n_boot=50)
    table = rep.to_table()
    assert isinstance(table, pa.Table)
    assert table.column("name").to_pylist() == ["l_knee", "r_knee", OVERALL]
    assert table.column("n").to_pylist() == [len(T), len(T), 2 * len(T)]
    assert table.column("rmse_lo").to_pylist()[0] == rep.angles[0].rmse_ci[0]
    text = rep.format()
    lines = text.splitlines()
    assert "bias = a − b" in lines[0]
    assert lines[-1].startswith(OVERALL) and any(x.startswith("r_knee") for x in lines)
    assert f"{rep.overall.rmse:.2f}" in lines[-1]
    doc = rep.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["overall"]["n"] == 2 * len(T)
    nan_doc = agreement(np.zeros(3), np.zeros(3), n_boot=0).to_dict()
    assert nan_doc["angles"][0]["r"] is None
    json.dumps(nan_doc, allow_nan=False)


# ---------------------------------------------------------------- files

def write_parquet(path, times, values: dict[str, np.ndarray], person=0, extra_person=True):
    rows = {"frame": [], "time": [], "person": [], "angle": [], "degrees": []}
    persons = [person, person + 1] if extra_person else [person]
    for p in persons:
        for name, v in values.items():
            for i, (t, x) in enumerate(zip(times, v, strict=True)):
                rows["frame"].append(i)
                rows["time"].append(float(t))
                rows["person"].append(p)
                rows["angle"].append(name)
                rows["degrees"].append(float(x) + 100 * (p - person))  # other person differs
    table = pa.table({"frame": pa.array(rows["frame"], pa.int32()),
                      "time": pa.array(rows["time"], pa.float64()),
                      "person": pa.array(rows["person"], pa.int16()),
                      "angle": pa.array(rows["angle"]).dictionary_encode(),
                      "degrees": pa.array(rows["degrees"], pa.float32())})
    pq.write_table(table, path)


def write_mot(path, times, values: dict[str, np.ndarray], in_degrees=True):
    cols = ["time", *values]
    lines = [path.name, "version=1", f"nRows={len(times)}", f"nColumns={len(cols)}",
             f"inDegrees={'yes' if in_degrees else 'no'}", "",
             "Units are S.I. units (second, meters, Newtons, ...)", "endheader",
             "\t".join(cols)]
    for i, t in enumerate(times):
        lines.append("\t".join([f"{t:.8f}", *(f"{v[i]:.8f}" for v in values.values())]))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def files(tmp_path):
    fps = 30
    times = np.arange(60) / fps
    knee = 40 * np.sin(2 * np.pi * times) + 40
    hip = 20 * np.cos(2 * np.pi * times)
    ours = tmp_path / "angles.parquet"
    write_parquet(ours, times, {"left_knee_flexion": knee, "right_hip_flexion": hip,
                                "trunk_flexion": np.zeros_like(times)})
    # OpenSim: 100 Hz starting at 3 ms (each frame within 5 ms of a sample), knee sign flipped,
    # bias +1.5 deg on the hip, radians.
    t_mot = np.arange(0, 2.0, 0.01) + 0.003
    mot = tmp_path / "ik.mot"
    write_mot(mot, t_mot, {
        "knee_angle_l": np.radians(-(40 * np.sin(2 * np.pi * t_mot) + 40)),
        "right_hip_flexion": np.radians(20 * np.cos(2 * np.pi * t_mot) + 1.5),
        "pelvis_tx": np.full_like(t_mot, 0.7),
    }, in_degrees=False)
    return ours, mot


def test_compare_parquet_with_mot_sign_mapping(files, tmp_path):
    ours, mot = files
    out = tmp_path / "report" / "agreement.json"
    rep = compare_files(ours, mot, names={"left_knee_flexion": ("knee_angle_l", -1)},
                        time_tolerance=0.005, out=out, n_boot=100)
    assert isinstance(rep, AgreementReport)
    assert rep.names == ("left_knee_flexion", "right_hip_flexion")
    assert rep.labels == ("angles.parquet", "ik.mot")
    # every 30 fps frame has a 100 Hz sample within 3.7 ms
    knee, hip = rep["left_knee_flexion"], rep["right_hip_flexion"]
    assert knee.n == hip.n == 60
    # time gaps <= 3.7 ms: |d| <= 40 * 2π * 0.0037 ≈ 0.92 deg
    assert knee.rmse < 0.8 and knee.r > 0.999
    assert hip.bias == pytest.approx(-1.5, abs=0.3)
    doc = json.loads(out.read_text())
    assert doc["pairs"][0] == {"a": "left_knee_flexion", "b": "knee_angle_l", "sign": -1}
    assert doc["paired_samples"]["paired"] == 60
    assert doc["overall"]["n"] == 120


def test_compare_leaves_translations_out_of_the_overall_row(tmp_path):
    """Two OpenSim .mot files share pelvis_tx (metres): it is left out, and ``overall``
    pools the angles (degrees) only."""
    times = np.arange(50) / 50
    knee = 30 * np.sin(2 * np.pi * times) + 30
    write_mot(tmp_path / "a.mot", times, {"knee_angle_r": knee + 2,
                                          "pelvis_tx": np.full_like(times, 0.5)})
    write_mot(tmp_path / "b.mot", times, {"knee_angle_r": knee,
                                          "pelvis_tx": np.full_like(times, 0.4)})
    rep = compare_files(tmp_path / "a.mot", tmp_path / "b.mot", n_boot=0,
                        out=tmp_path / "r.json")
    assert rep.names == ("knee_angle_r",)
    assert rep[OVERALL].n == 50 and rep[OVERALL].bias == pytest.approx(2.0)
    assert json.loads((tmp_path / "r.json").read_text())["left_out"] == ["pelvis_tx"]
    write_mot(tmp_path / "t.mot", times, {"pelvis_tx": np.zeros_like(times)})
    with pytest.raises(InputError, match="only translations"):
        compare_files(tmp_path / "t.mot", tmp_path / "b.mot", n_boot=0)


def test_compare_without_sign_is_anticorrelated(files):
    ours, mot = files
    rep = compare_files(ours, mot, names={"left_knee_flexion": "knee_angle_l"},
                        time_tolerance=0.005, n_boot=0)
    assert rep["left_knee_flexion"].r == pytest.approx(-1, abs=1e-3)


def test_compare_parquet_with_parquet_and_person(tmp_path):
    times = np.arange(20) / 10
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(a, times, {"knee": times * 10}, person=0)
    write_parquet(b, times + 2e-4, {"knee": times * 10 + 1}, person=0)
    rep = compare_files(a, b, n_boot=0)
    assert rep["knee"].n == 20 and rep["knee"].bias == pytest.approx(-1, abs=1e-4)
    rep1 = compare_files(a, b, person=1, n_boot=0)  # person 1 is person 0 + 100 in both
    assert rep1["knee"].bias == pytest.approx(-1, abs=1e-4)
    with pytest.raises(InputError, match=r"persons present: \[0, 1\]"):
        compare_files(a, b, person=5)


def test_pair_times_nearest_and_unique():
    ta = np.array([0.0, 0.1, 0.2, 0.3])
    tb = np.array([0.0004, 0.1001, 0.1009, 0.25, 0.3])
    ia, ib = _pair_times(ta, tb, 1e-3)
    assert ia.tolist() == [0, 1, 3] and ib.tolist() == [0, 1, 4]
    ia, ib = _pair_times(ta, np.array([0.1]), 0.2)  # one b sample: used once, by the nearest
    assert ia.tolist() == [1] and ib.tolist() == [0]


def test_compare_errors(files, tmp_path):
    ours, mot = files
    with pytest.raises(InputError, match="no such file"):
        compare_files(tmp_path / "missing.mot", mot)
    bad = tmp_path / "x.csv"
    bad.write_text("time,a\n0,1\n")
    with pytest.raises(InputError, match=r"valid: \.parquet"):
        compare_files(bad, mot)
    other = tmp_path / "other.mot"
    write_mot(other, np.arange(60) / 30, {"knee_angle_r": np.zeros(60)})
    with pytest.raises(InputError, match=r"no angle names in common.*b has: knee_angle_r"):
        compare_files(ours, other)
    with pytest.raises(InputError, match="not an angle of b; b has: knee_angle_l"):
        compare_files(ours, mot, names={"left_knee_flexion": "knee_l"}, time_tolerance=0.005)
    with pytest.raises(InputError, match="sign must be 1 or -1"):
        compare_files(ours, mot, names={"left_knee_flexion": ("knee_angle_l", 2)})
    later = tmp_path / "later.mot"
    write_mot(later, 10 + np.arange(60) / 30, {"right_hip_flexion": np.zeros(60)})
    with pytest.raises(InputError, match=r"within 0.001 s.*b spans 10.000"):
        compare_files(ours, later)
    notmot = tmp_path / "bad.mot"
    notmot.write_text("time\tknee\n0\t1\n")
    with pytest.raises(InputError, match="endheader"):
        compare_files(notmot, mot)
    short = tmp_path / "short.mot"
    short.write_text("endheader\ntime\tknee\n0\t1\n0.1\n")
    with pytest.raises(InputError, match=r"short\.mot:4: 1 values for 2 columns"):
        compare_files(short, mot)
