"""Person detectors that feed the top-down estimators (BlazePose's landmarks, RTM models).

* ``ssdlite`` (default): SSDLite-MobileNetV2 trained on COCO, a general person
  detector (:class:`~posestack.detect.ssdlite.SSDLitePersonDetector`);
* ``blazepose``: MediaPipe's BlazePose detector (one face-anchored box per person,
  made for one person).
"""

from .ssdlite import SSDLitePersonDetector, box_iou, nms
from .tiled import TiledPersonDetector, square_tiles

__all__ = ["SSDLitePersonDetector", "TiledPersonDetector", "box_iou", "nms", "square_tiles"]
