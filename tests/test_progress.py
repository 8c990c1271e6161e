"""Progress: a live bar on a terminal, a throttled plain line in logs (issue 12, item 13)."""

from __future__ import annotations

import io

import pytest

import posestack
from posestack.progress import LogProgress, progress_bar


def test_log_progress_is_throttled_and_plain():
    out = io.StringIO()
    bar = LogProgress(1000, "demo", interval=3600.0, file=out)
    for _ in range(1000):
        bar.update()
    bar.set_postfix(rms_mm="1.5")
    bar.close()
    bar.close()  # once only
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "\r" not in out.getvalue()
    assert lines[0].startswith("demo: 1000/1000 frames, ") and lines[0].endswith(
        "rms_mm=1.5 (done)")
    out = io.StringIO()
    bar = LogProgress(10, "x", interval=0.0, file=out)
    bar.update(4)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("x: 4/10 frames") and "ETA" in lines[0]
    assert lines[-1].endswith("(stopped)")


def test_progress_bar_off_and_not_a_terminal(capsys):
    off = progress_bar(5, "x", enabled=False)
    off.update()
    off.set_postfix(a=1)
    off.close()
    assert isinstance(progress_bar(5, "x"), LogProgress)  # pytest's stderr is no terminal
    assert capsys.readouterr().err == ""


@pytest.mark.assets
def test_run_logs_a_few_lines_not_bar_redraws(capsys, tmp_path, p2s_videos):
    posestack.run(p2s_videos / "cam01.mp4", tmp_path, end=0.5, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("cam01")]
    # estimate and overlay: a closing line each (and at most a few in between)
    assert 2 <= len(lines) <= 6, lines
    assert any(ln.startswith("cam01: 30/30 frames") for ln in lines)
