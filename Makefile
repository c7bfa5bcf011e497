# faultline — every target installs what it needs (fresh Debian 12 + Node 20 is enough).
SHELL := /bin/bash
NODE_TEST_FLAGS ?= --test-reporter=spec

.PHONY: all deps build engine browser lint unit integration netem multi test demo bench bench-load clean-docker clean

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

build: deps
	npx tsc -p tsconfig.json
	chmod +x dist/src/cli/bin.js

# A Docker engine that answers, and the local image faultline/testbox (no pulls).
engine:
	./scripts/ensure-docker.sh

# prettier (print width 120) and eslint with typescript-eslint; make format rewrites.
lint: deps
	npx prettier --check "src/**/*.ts" "test/**/*.ts" "bench/**/*.ts"
	npx eslint .

format: deps
	npx prettier --write "src/**/*.ts" "test/**/*.ts" "bench/**/*.ts"

# Debian's chromium (the picture tests render SVG to PNG with it) and zsh (the completion test).
browser:
	./scripts/ensure-chromium.sh

unit: build browser
	node --test $(NODE_TEST_FLAGS) dist/test/unit/

# Integration files run INTEGRATION_JOBS at a time (each test names its own objects and subnets);
# the ones that restart dockerd or rewrite the host's FORWARD chains, the ones that time shaped
# transfers, and the load test run alone, after them (node runs the files of one call sorted by
# path). A test that hangs fails after 15 min; --test-force-exit ends a file whose tests are all done.
INTEGRATION_JOBS ?= 2
INTEGRATION_ALONE := daemon examples-net generators hostpath load probe vlan
INTEGRATION_FLAGS := --test-timeout=900000 --test-force-exit
integration: build engine
	node --test --test-concurrency=$(INTEGRATION_JOBS) $(INTEGRATION_FLAGS) $(NODE_TEST_FLAGS) \
	  $$(find dist/test/integration -name '*.test.js' $(foreach f,$(INTEGRATION_ALONE),! -name $(f).test.js) | sort); \
	s=$$?; node --test --test-concurrency=1 $(INTEGRATION_FLAGS) $(NODE_TEST_FLAGS) \
	  $(foreach f,$(INTEGRATION_ALONE),dist/test/integration/$(f).test.js) && exit $$s

# netem-dependent tests inside a QEMU guest whose kernel has sch_netem (see scripts/netem-vm/).
netem: build
	./scripts/netem-vm/test-netem.sh

# One scenario across two Docker engines joined by Swarm: two QEMU guests (see scripts/multi-vm/).
multi: build
	NODE_TEST_FLAGS="$(NODE_TEST_FLAGS)" ./scripts/multi-vm/test-multi.sh

# The one command that sets up and passes the tests.
test: unit integration netem multi

demo: build engine
	./scripts/demo.sh

# Every figure of the issues, measured in the kernel, in one table (needs nftables for nft monitor).
bench: build engine
	./bench/run-all.sh

# The load test at the size issue 9 names: 100 scenarios, 300 containers, one engine (about 9 min).
bench-load: build engine
	FAULTLINE_LOAD_SCENARIOS=100 node --test --test-timeout=1800000 --test-reporter=spec dist/test/integration/load.test.js

# Remove every Docker object faultline owns (label faultline.dev/managed-by=faultline).
clean-docker:
	-docker ps -aq --filter label=faultline.dev/managed-by=faultline | xargs -r docker rm -f
	-docker network ls -q --filter label=faultline.dev/managed-by=faultline | xargs -r docker network rm

clean:
	rm -rf dist
