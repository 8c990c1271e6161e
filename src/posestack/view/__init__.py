"""Looking at results: an interactive viewer in the browser (``posestack view``) and a
self-contained HTML report to share (``posestack report``)."""
