"""Calibrating and synchronising cameras.

- :mod:`~posestack.calibrate.intrinsics`: K and distortion from views of a checkerboard
  (``posestack calibrate intrinsics``);
- :mod:`~posestack.calibrate.people`: the cameras' poses from the people they film, no
  board (``posestack calibrate people``, ``posestack run --calibrate people``);
- :mod:`~posestack.calibrate.sync`: time offsets from the motion or the epipolar geometry
  (``posestack sync``); :mod:`~posestack.calibrate.timeline` puts views on one timeline.

Extrinsics from a board or from known scene points are the next step (issue 16).
"""
