"""Multi-view 3D: calibration, association, triangulation."""
