# The two commands a newcomer needs: `make demo` and `make test`. Both create or update
# .venv first (idempotent: nothing is reinstalled while its inputs are unchanged).
VENV ?= .venv
PY := $(VENV)/bin/python
ENV_INPUTS := requirements.txt requirements-python.txt constraints.txt setup.py setup.cfg package.xml \
	tools/bootstrap.sh tools/build_interfaces.sh tools/cmake/wheel_python_include_fix.cmake \
	$(shell find interfaces -type f 2>/dev/null | sort)
# The stamp is named after the inputs' content, not their mtimes, so a fresh clone or a
# checkout that rewrites files unchanged does not trigger a reinstall.
ENV_HASH := $(shell cat $(ENV_INPUTS) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.sky2ground-env-$(ENV_HASH)

# Every test, demo and benchmark keeps DDS traffic on this host.
export FASTDDS_DEFAULT_PROFILES_FILE := $(CURDIR)/config/fastdds_loopback.xml
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST

.PHONY: env test demo lint format lock clean-env

env: $(STAMP)

$(STAMP):
	bash tools/bootstrap.sh $(VENV)
	rm -f $(VENV)/.sky2ground-env-*
	touch $@

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/sky2ground demo --out runs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-pin every installed package after changing requirements.txt.
lock: $(STAMP)
	{ echo "# Exact versions for tools/bootstrap.sh (regenerate with: make lock)."; \
	  $(PY) -m pip freeze --all --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > constraints.txt
	rm -f $(VENV)/.sky2ground-env-*
	touch $(VENV)/.sky2ground-env-$$(cat $(ENV_INPUTS) | sha256sum | cut -c1-16)

clean-env:
	rm -rf $(VENV)
