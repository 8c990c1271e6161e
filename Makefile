# posestack: one command to set up and run the demo, one to set up and run the tests.
#   make demo   - create .venv, install posestack, fetch the models and the sample, run it
#   make test   - same set-up, fetch what the tests need, run the whole test suite
#   make lint   - ruff
#   make bench  - speed and memory against MediaPipe's own Pose and Holistic, agreement with
#                 Pose2Sim's published results (see benchmarks/)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PS := $(VENV)/bin/posestack
TEST_ASSETS := blazepose_detector blazepose_landmark_full ssdlite_person_detector selfie_segmentation hand_landmark_full hand_recrop face_detection_short_range face_landmark sports2d_demo pose2sim_demo_singleperson pose2sim_calibration_boards astronaut_image opensim_setup marker_augmenter

.PHONY: demo test lint bench reference setup clean chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,plot,biomech,body,query,scale,view,eval]"
	touch $@

# The SMPL-family loader's tests need smplx, whose code is under the Max Planck
# non-commercial licence: installed for the tests only (SMPL=0 leaves it out; those tests
# then report themselves skipped).
SMPL ?= 1
$(VENV)/.smpl: $(VENV)/.installed
	@if [ "$(SMPL)" = "1" ]; then \
	  echo "installing smplx (Max Planck non-commercial licence) for the SMPL loader tests"; \
	  $(PY) -m pip install --quiet --no-deps "smplx==0.1.28"; fi
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PS) assets fetch blazepose_detector blazepose_landmark_full ssdlite_person_detector sports2d_demo
	$(PS) demo -o out/demo

# The viewer's and the report's tests look at pages in headless Chromium (Debian's).
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) || \
	  { echo "cannot install chromium (needs root and Debian's packages): the browser tests will fail"; }; }

test: $(VENV)/.installed $(VENV)/.smpl chromium
	$(PS) assets fetch $(TEST_ASSETS)
	$(PY) -m pytest -q -ra

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

# MediaPipe itself (numpy<2) lives in a throwaway venv used only by the benchmarks.
.mpref-venv/.installed:
	bash benchmarks/mediapipe_env.sh
	touch $@

bench: $(VENV)/.installed .mpref-venv/.installed
	$(PS) assets fetch $(TEST_ASSETS)
	$(PY) benchmarks/bench_estimate.py --mediapipe-python .mpref-venv/bin/python
	$(PY) benchmarks/bench_holistic.py --mediapipe-python .mpref-venv/bin/python
	$(PY) benchmarks/bench_process.py --mediapipe-python .mpref-venv/bin/python
	$(PY) benchmarks/bench_rtm_batching.py
	$(PY) benchmarks/bench_triangulation.py --pose2sim-python "$$(bash benchmarks/pose2sim_env.sh | tail -n 1)"
	$(PY) benchmarks/bench_triangulate_synthetic.py
	$(PY) benchmarks/bench_kinematics.py
	$(PY) benchmarks/bench_body.py
	$(PY) benchmarks/bench_render.py
	$(PY) benchmarks/bench_crowd.py --mediapipe-python .mpref-venv/bin/python
	$(PY) benchmarks/bench_pose2sim_peer.py --json-out out/bench_pose2sim_peer.json
	$(PY) benchmarks/bench_batch.py
	$(PY) benchmarks/bench_monocular3d.py

# Regenerate tests/data/mediapipe_reference.json from MediaPipe's own Pose solution.
reference: $(VENV)/.installed .mpref-venv/.installed
	$(PS) assets fetch pose2sim_demo_singleperson
	.mpref-venv/bin/python benchmarks/make_mediapipe_reference.py \
	  --video "$$($(PS) assets path pose2sim_demo_singleperson)/videos/cam01.mp4" \
	  --video "$$($(PS) assets path pose2sim_demo_singleperson)/videos/cam03.mp4" \
	  --frames 0,10,20,30,40,50,60,70,80,90 --out tests/data/mediapipe_reference.json

clean:
	rm -rf $(VENV) .mpref-venv out
