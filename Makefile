# odah: see README.md. `make help` lists the targets.
PYTHON ?= python3.11
VENV := .venv
RVENV := .venv-render
PY := $(VENV)/bin/python
RPY := $(RVENV)/bin/python
# One shared anny cache (~790 MB, built once) for tests, demo and benchmarks.
export ANNY_CACHE_DIR ?= $(CURDIR)/.cache/anny
PYTEST_ARGS ?=

.PHONY: help setup system-deps demo test test-fast bench bench-gpu model clean distclean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

setup: system-deps $(VENV)/.installed $(RVENV)/.installed  ## build both environments (quick when done)
	@echo "setup: ok. .venv (pipeline, opensim, torch) and .venv-render (bpy) are ready."

system-deps:  ## install the EGL/Mesa/X libraries headless Blender needs (root), or print the command
	@scripts/system-deps.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned to 2.13.0 in pyproject: any other spec would download GBs of CUDA wheels.
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -c "import opensim, torch, numpy; assert int(numpy.__version__.split('.')[0]) >= 2"
	@touch $@

$(RVENV)/.installed: pyproject.toml
	@test -x $(RPY) || $(PYTHON) -m venv $(RVENV)
	$(RPY) -m pip install --quiet --upgrade pip
	$(RPY) -m pip install --quiet "bpy==5.0.1" "numpy>=1.26,<2" pyyaml tqdm
	# The project itself, without its heavy dependencies (torch, opensim need numpy >= 2).
	$(RPY) -m pip install --quiet --no-deps -e .
	$(RPY) -c "import bpy, pipeline; print('bpy', bpy.app.version_string)"
	@touch $@

DEMO_OUT ?= output/demo
demo: setup  ## a small dataset (1 subject x 2 motions) in output/demo, and a contact sheet per clip
	$(VENV)/bin/odah dataset -c demo --out $(DEMO_OUT)
	@for c in $(DEMO_OUT)/clips/*/; do $(VENV)/bin/odah preview $$c --frames 4 || exit 1; done
	@echo "demo: videos, labels and preview.png under $(DEMO_OUT)/clips/; manifest $(DEMO_OUT)/manifest.json"

test: setup  ## run the whole test suite (Blender and end-to-end tests included)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup  ## the test suite without the slow (Blender, end-to-end) tests
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

RESULTS := benchmarks/results
bench: setup  ## run every benchmark in benchmarks/, print the figures and keep them in benchmarks/results/
	@mkdir -p $(RESULTS)
	@log=$(RESULTS)/$$(date +%F)-$$(hostname -s)-cpu.txt; \
	{ for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || { echo "FAILED: $$b"; exit 1; }; done; } 2>&1 | tee $$log; \
	! grep -q '^FAILED: ' $$log && echo "bench: figures kept in $$log"

bench-gpu: setup  ## the GPU figures (NVIDIA GPU): torch IK on CUDA at batch 12000, EEVEE on the GPU; kept in benchmarks/results/
	@$(PY) -c "import sys, torch; torch.cuda.is_available() or sys.exit('bench-gpu: torch sees no CUDA device')"
	@mkdir -p $(RESULTS)
	@log=$(RESULTS)/$$(date +%F)-$$(hostname -s)-gpu.txt; \
	{ $(PY) benchmarks/ik_vs_opensim.py --case both --device cuda --batch 12000 \
	  && $(PY) benchmarks/ik_vs_opensim.py --case hamner --device cuda --dtype float32 --batch 12000 \
	  && $(PY) benchmarks/render.py --repeat 2 -s render.device=gpu \
	  || echo "FAILED: bench-gpu"; } 2>&1 | tee $$log; \
	! grep -q '^FAILED: ' $$log && echo "bench-gpu: figures kept in $$log"

model: setup  ## regenerate the shipped generic OpenSim model from its generator
	$(PY) -m pipeline.kinematics.generic_model

clean:  ## remove outputs, caches of tests and Python byte code (keeps environments)
	rm -rf output .pytest_cache
	find . -name __pycache__ -type d -prune -not -path "./.venv*" -exec rm -rf {} +

distclean: clean  ## also remove both environments and the anny cache
	rm -rf $(VENV) $(RVENV) .cache
