"""A 2D→3D lifter trained here on generated motions (no motion capture):
:mod:`posestack.lift.synthetic` (the data), :mod:`posestack.lift.model` (a 27-frame
temporal convolution), :mod:`posestack.lift.train` (training and ONNX export)."""
