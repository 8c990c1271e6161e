"""Person detectors that feed the top-down estimators (BlazePose's landmarks, RTM models).

* ``ssdlite``: SSDLite-MobileNetV2 fine-tuned on pedestrians, a general person
  detector (:class:`~posestack.detect.ssdlite.SSDLitePersonDetector`; on the frame
  and its square tiles: :class:`~posestack.detect.tiled.TiledPersonDetector`);
* ``blazepose``: MediaPipe's BlazePose detector (one face-anchored box per person,
  made for one person);
* ``auto`` (the default of :class:`~posestack.estimate.blazepose.BlazePose`): both.
"""

from ._nms import nms
from .ssdlite import SSDLitePersonDetector
from .tiled import TiledPersonDetector, square_tiles

__all__ = ["SSDLitePersonDetector", "TiledPersonDetector", "nms", "square_tiles"]
