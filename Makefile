PYTHON := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: bootstrap run test clean

bootstrap:
	bash devstack/bootstrap.sh

run: bootstrap
	$(PYTHON) -m devstack run

test: bootstrap
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# Local data and logs only; the virtualenv and the shared firebase-tools install stay.
clean:
	rm -rf .emulator-data
	rm -f logs/*.log logs/*.log.*
