# keyfence. The two commands a newcomer needs are `make run` and `make test`.

SHELL := /bin/bash
TOOLS := .tools
VENV := $(TOOLS)/venv
SUPPORT := tests/support

.PHONY: run test tools lint fmt clean

## run: the authorizer locally: a local DynamoDB, demo keys, every sample event through the real binary
run: tools
	$(SUPPORT)/local.sh run

## test: unit tests, integration tests against a local DynamoDB, and the sample events through the emulator
test: tools lint
	$(SUPPORT)/local.sh test

## tools: what run and test need: dynalite (npm) and cargo-lambda (PyPI), inside this checkout
tools: $(VENV)/.installed $(SUPPORT)/node_modules/.installed

$(VENV)/.installed: $(SUPPORT)/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(SUPPORT)/requirements.txt
	touch $@

$(SUPPORT)/node_modules/.installed: $(SUPPORT)/package.json $(SUPPORT)/package-lock.json
	npm ci --prefix $(SUPPORT) --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

## lint: formatting and clippy, warnings as errors
lint:
	cargo fmt --check
	cargo clippy --all-targets --quiet -- -D warnings

fmt:
	cargo fmt

clean:
	cargo clean
	rm -rf $(TOOLS) $(SUPPORT)/node_modules
