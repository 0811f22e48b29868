# keyfence. A newcomer needs two commands: `make run` and `make test`. The rest serve
# building, deploying and measuring; `make help` lists them.

SHELL := /bin/bash
TOOLS := .tools
VENV := $(TOOLS)/venv
SUPPORT := tests/support
FUNCTION := keyfence-authorizer
EVENT ?= events/rest-allowed.json
# cargo-lambda and SAM CLI come from the project's own virtualenv.
WITH_TOOLS := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0

.PHONY: help run test tools build validate deploy watch invoke lint bench bench-cold load fuzz clean

help:
	@grep -E '^## ' Makefile | sed 's/^## //'

## run       the authorizer locally: local DynamoDB, demo keys, every sample event through the real binary
run: tools
	$(SUPPORT)/local.sh run

## test      lint, template checks, unit and integration tests, sample events through the emulator
test: tools lint validate
	$(SUPPORT)/local.sh test

## tools     what the other targets need (dynalite, cargo-lambda, SAM CLI), inside this checkout
tools: $(VENV)/.installed $(SUPPORT)/node_modules/.installed

$(VENV)/.installed: $(SUPPORT)/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(SUPPORT)/requirements.txt
	touch $@

$(SUPPORT)/node_modules/.installed: $(SUPPORT)/package.json $(SUPPORT)/package-lock.json
	npm ci --prefix $(SUPPORT) --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

## build     the arm64 Lambda bootstrap, zipped, as deployed (target/lambda/keyfence-authorizer/)
build: tools
	$(WITH_TOOLS) cargo lambda build --release --arm64 --output-format zip --bin $(FUNCTION)
	@ls -l target/lambda/$(FUNCTION)/bootstrap.zip | awk '{printf "bootstrap.zip: %.2f MB\n", $$5 / 1048576}'
	@unzip -l target/lambda/$(FUNCTION)/bootstrap.zip | awk '/bootstrap$$/ {printf "bootstrap: %.2f MB unzipped\n", $$1 / 1048576}'

## validate  template.yaml: sam validate --lint, the SAM translator offline, and the template tests
validate: tools
	$(WITH_TOOLS) sam validate --lint
	$(WITH_TOOLS) sam validate --region us-east-1
	$(VENV)/bin/python tests/template_test.py

## deploy    sam build and sam deploy (guided the first time, then from samconfig.toml); needs AWS credentials
deploy: tools validate
	$(WITH_TOOLS) sam build --beta-features
	if [ -f samconfig.toml ]; then $(WITH_TOOLS) sam deploy; else $(WITH_TOOLS) sam deploy --guided; fi

## watch     cargo lambda's Runtime API emulator on port 9000, rebuilding on change (set AWS_ENDPOINT_URL_DYNAMODB for a local table)
watch: tools
	$(WITH_TOOLS) cargo lambda watch

## invoke    send EVENT (default events/rest-allowed.json) to a running `make watch`
invoke: tools
	$(WITH_TOOLS) cargo lambda invoke --data-file $(EVENT) $(FUNCTION)

## lint      cargo fmt --check and clippy with warnings as errors
lint:
	cargo fmt --check
	cargo clippy --all-targets --quiet -- -D warnings

## bench     criterion benchmarks of the request path, CIDR matching and key hashing
bench: tools
	$(SUPPORT)/local.sh bench

## bench-cold  cold start to first response of the release bootstrap vs a hello-world floor; peak memory; zip size
bench-cold: tools
	$(SUPPORT)/local.sh bench-cold

## load      4 release authorizer processes at once, 40,000 requests of every sample event, every answer checked
load: tools
	$(SUPPORT)/local.sh load --processes 4 --requests 40000 --time-limit 600

## fuzz      each fuzz target (event, api_key, item) for FUZZ_SECONDS (default 60); installs cargo-fuzz
# cargo fuzz needs unstable compiler flags (sanitizers); RUSTC_BOOTSTRAP lets the machine's one
# stable toolchain accept them, as no nightly can be installed here.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := event api_key item
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
	for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$target && \
		RUSTC_BOOTSTRAP=1 cargo fuzz run $$target fuzz/corpus/$$target fuzz/seeds/$$target \
			-- -max_total_time=$(FUZZ_SECONDS) -max_len=16384 || exit 1; \
	done

## clean     remove build output and installed tools
clean:
	cargo clean
	rm -rf $(TOOLS) $(SUPPORT)/node_modules .aws-sam
