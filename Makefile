PYTHON := .venv/bin/python
PYTEST_ARGS ?=
# pytest-xdist processes, each with its own emulators; the suite is mostly waiting on them.
PYTEST_WORKERS ?= 2

.PHONY: bootstrap run test clean

bootstrap:
	bash devstack/bootstrap.sh

run: bootstrap
	$(PYTHON) -m devstack run

test: bootstrap
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Local data and logs only; the virtualenv and the shared firebase-tools install stay.
clean:
	rm -rf .emulator-data
	rm -f logs/*.log logs/*.log.*
