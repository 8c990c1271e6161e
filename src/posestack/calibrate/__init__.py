"""Calibrating cameras: intrinsics from a checkerboard (``posestack calibrate intrinsics``).

Extrinsics from a board or scene points, from the people alone, and synchronisation from
the motion are the next steps of this package (issue 16)."""
