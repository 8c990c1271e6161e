"""posestack: human pose from video, offline on a CPU.

Main entry points::

    import posestack
    results = posestack.run("video.mp4", "out")      # one Result per input
    poses = results[0].keypoints2d                    # Poses (T, P, K, 2), pixels

See ``posestack.poses.Poses`` for the data model and ``posestack.skeletons``
for the keypoint layouts.
"""

from ._version import __version__
from .errors import AssetError, InputError, OutputError, PosestackError


def __getattr__(name: str):
    # Heavy modules load on first use, so `import posestack` stays light.
    if name in {"run", "Result", "read_keypoints"}:
        from . import pipeline

        return getattr(pipeline, name)
    if name == "Poses":
        from .poses import Poses

        return Poses
    if name == "get_skeleton":
        from .skeletons import get_skeleton

        return get_skeleton
    raise AttributeError(f"module 'posestack' has no attribute {name!r}")


__all__ = ["AssetError", "InputError", "OutputError", "Poses", "PosestackError", "Result",
           "__version__", "get_skeleton", "read_keypoints", "run"]
