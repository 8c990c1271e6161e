"""Frame reading: seeking for a late --start gives the same frames as decoding through."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.io.media import FrameReader, probe

pytestmark = pytest.mark.assets


@pytest.mark.parametrize("video", ["cam01.mp4", "cam02.mp4"])  # H.264 and VP9
def test_seek_matches_decoding_through(p2s_videos, video):
    info = probe(p2s_videos / video)
    through = list(FrameReader(info, start=1.2, end=1.5, seek_after=1e9))
    seeked_reader = FrameReader(info, start=1.2, end=1.5, seek_after=0.0)
    seeked = list(seeked_reader)
    assert [i for i, _, _ in through] == list(range(72, 90))
    assert [i for i, _, _ in seeked] == [i for i, _, _ in through]
    assert np.allclose([t for _, t, _ in seeked], [t for _, t, _ in through])
    for (_, _, a), (_, _, b) in zip(seeked, through, strict=True):
        assert np.array_equal(a, b)
    assert seeked_reader.seeked and not seeked_reader.truncated and seeked_reader.warnings == []


def test_times_are_seconds_from_the_first_frame(p2s_videos):
    frames = list(FrameReader(probe(p2s_videos / "cam01.mp4"), end=0.1))
    assert [i for i, _, _ in frames] == list(range(6))
    assert np.allclose([t for _, t, _ in frames], np.arange(6) / 60)
    assert frames[0][2].shape == (1920, 1080, 3) and frames[0][2].dtype == np.uint8


def test_a_trial_folder_points_to_its_videos_subfolder(tmp_path):
    """Pose2Sim's layout (a trial with videos/ and calibration/): naming the trial folder
    says which subfolder holds the videos instead of only that there are none."""
    from posestack.io.media import collect_inputs

    trial = tmp_path / "trial"
    (trial / "videos").mkdir(parents=True)
    (trial / "calibration").mkdir()
    (trial / "videos" / "cam01.mp4").write_bytes(b"")
    (trial / "Config.toml").write_text("")
    with pytest.raises(InputError, match=r"subfolder .*videos has some: give that folder"):
        collect_inputs([trial])
    (trial / "more").mkdir()
    (trial / "more" / "a.png").write_bytes(b"")
    with pytest.raises(InputError, match="these subfolders have some: more, videos"):
        collect_inputs([trial])
    with pytest.raises(InputError, match=r"has no videos or images \(looked for [^)]*\)$"):
        collect_inputs([trial / "calibration"])
