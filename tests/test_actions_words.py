"""Actions in words (issue 15, item 5): actions defined as sequences of poses in the
pose vocabulary are recognised and counted with no training, on 3D whose truth is known:
one person squats exactly three times, another does four jumping jacks, then rests."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.actions.synthetic import CLASSES
from posestack.actions.words import count_actions, read_definitions
from posestack.describe.codes import compute_codes, stabilize
from posestack.describe.synthetic import pose_from_angles
from posestack.errors import InputError
from posestack.poses import Poses
from posestack.skeletons import get_skeleton

FPS = 30.0


def _two_people():
    """Person 0: standing 1 s, 3 squats of 1.5 s (1.0-5.5 s), standing to 8 s.
    Person 1: standing 2 s, 4 jumping jacks of 1.2 s (2.0-6.8 s), standing to 8 s."""
    skel = get_skeleton("halpe26")
    T = int(8 * FPS)
    X = np.full((T, 2, len(skel), 3), np.nan, np.float32)
    plans = [("squat", 1.0, 1.5, 3, 0.0), ("jumping_jack", 2.0, 1.2, 4, 1.5)]
    for p, (cls, t0, period, n, x) in enumerate(plans):
        for ti in range(T):
            t = ti / FPS
            ang = CLASSES[cls](((t - t0) / period) % 1.0, 1.0) if t0 <= t < t0 + n * period \
                else {}
            pts = pose_from_angles(ang, heading=30.0 * p)
            for i, name in enumerate(skel.keypoints):
                if name in pts:
                    X[ti, p, i] = np.asarray(pts[name]) + np.array([x, 0.0, 0.0])
    poses = Poses(skel, X, np.isfinite(X).all(-1).astype(np.float32), np.arange(T) / FPS,
                  "world", tracked=True)
    return stabilize(compute_codes(poses))


def test_counts_squats_and_jumping_jacks():
    bouts = count_actions(_two_people(), read_definitions())
    by = {(b.person, b.action): b for b in bouts}
    sq, jj = by[(0, "squat")], by[(1, "jumping_jack")]
    assert sq.repetitions == 3 and jj.repetitions == 4
    assert abs(sq.start - 1.0) < 0.6 and abs(sq.end - 5.5) < 0.6
    assert abs(jj.start - 2.0) < 0.6 and abs(jj.end - 6.8) < 0.6
    # nothing else is counted: no lunge, no bow, no jumping jack for the squatter; a
    # jumping jack raises each hand above the head, so those definitions count it too
    assert {(b.person, b.action) for b in bouts} == {
        (0, "squat"), (1, "jumping_jack"), (1, "raise_left_hand"), (1, "raise_right_hand")}
    assert by[(1, "raise_left_hand")].repetitions == 4


def test_user_definitions_and_their_errors(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[arms_up_down]\nphases = ["both hands above the head", "arms down"]\n'
                 'min_phase = 0.1\n')
    bouts = count_actions(_two_people(), read_definitions(f))
    assert [(b.person, b.repetitions) for b in bouts] == [(1, 4)]
    f.write_text('[x]\nphases = ["both knees wobbly"]\n')
    with pytest.raises(InputError, match=r"\[x\] phase 1 .*wobbly"):
        read_definitions(f)
    f.write_text('[x]\nphase = ["standing"]\n')
    with pytest.raises(InputError, match="needs phases"):
        read_definitions(f)
    f.write_text('[x\n')
    with pytest.raises(InputError, match="not valid TOML"):
        read_definitions(f)


@pytest.mark.assets
def test_jumping_jacks_counted_on_the_sports2d_sample(s2d_bundle):
    """What is visibly happening (checked by eye on the frames): person 0 raises both hands
    above the head around 0.6-1.0 s and 1.8-2.1 s, bringing them down to about hip height
    in between (never quite to the sides), then stands; person 1 walks."""
    from posestack.actions.words import bundle_bouts

    by = {(b.person, b.action): b for b in bundle_bouts(s2d_bundle, write=False)}
    jj = by.get((0, "jumping_jack"))
    assert jj is not None, sorted(by)
    assert jj.repetitions == 2 and 0.3 <= jj.start <= 1.0 and 1.8 <= jj.end <= 3.0, jj
    assert (1, "jumping_jack") not in by  # the walker's arms stay down
