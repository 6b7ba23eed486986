# rokv: every target runs with the project's pinned Node (node_modules/.bin first on PATH).

SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

SIZE ?= 1M
SEED ?= 1
PORT ?= 7070
COUNT_10K := 10000
COUNT_100K := 100000
COUNT_1M := 1000000
COUNT_10M := 10000000
DATA := testdata_$(SIZE).data
INSTALLED := node_modules/.package-lock.json

.PHONY: install build addon data demo test typecheck bench bench-storage bench-tls bench-cluster microbench soak clean help
MINUTES ?= 2
SOURCES := $(shell find src -name '*.ts') tsconfig.json tsconfig.build.json

help:
	@echo "Targets:"
	@echo "  make demo             install, make testdata_1M, run server + client on PORT, print the report (report.html)"
	@echo "  make test             install (npm ci, and the Debian packages tests need), type-check, run every test;"
	@echo "                        ends with 'N passed, M failed' (needs ~5 GB free disk in TMPDIR and ~5 GB of free memory)"
	@echo "  make data             write testdata_<SIZE>.data"
	@echo "  make bench            end-to-end benchmark vs Redis into bench/latest/ (BENCH_ARGS=--publish: BENCHMARKS.md)"
	@echo "  make bench-storage    the storage tiers (memory, mmap, disk): ready time, RssAnon, warm and cold GETs/s (also run by make bench)"
	@echo "  make bench-tls        what TLS costs: rokv and Redis, clear and TLS, pipeline 1 and 16 (redis-benchmark; also run by make bench)"
	@echo "  make bench-cluster    1-3 shards via twemproxy and a cluster client into bench/latest/ (BENCH_ARGS=--publish: bench/)"
	@echo "  make microbench       hot-path micro-benchmarks (same as npm run bench)"
	@echo "  make soak             server + client at load for MINUTES; RSS and event-loop lag every second"
	@echo "  make install          npm ci (when package-lock.json changed)"
	@echo "  make build            compile src/ to dist/ (bin/* do it themselves when a source changed), and make addon"
	@echo "  make addon            build/rokv_mmap.node, the native addon --storage mmap needs (skipped, saying so, without cc)"
	@echo "  make typecheck        tsc --noEmit over src, tools, test"
	@echo "  make clean            remove dist/, build/, testdata_*.data and test results"
	@echo "  make help             this list"
	@echo "Variables (make VAR=value target):"
	@echo "  SIZE         data size for data and demo: 10K, 100K, 1M or 10M (default $(SIZE))"
	@echo "  SEED         generator seed (default $(SEED))"
	@echo "  PORT         the demo server's port, binary protocol (default $(PORT))"
	@echo "  BENCH_ARGS   arguments for bench and bench-cluster, e.g. '--repeat 5' or '--publish'"
	@echo "  MINUTES      soak duration (default $(MINUTES))"
	@echo "The package: npm pack (runs make build) gives rokv-<version>.tgz; see README, 'Library'."

install: $(INSTALLED)

$(INSTALLED): package.json package-lock.json
	npm ci
	@touch $@

build: dist/.stamp addon

# The mmap tier's Node-API addon, compiled with the pinned Node's headers (no node-gyp).
# Without a C compiler it says so and succeeds: everything else builds and runs.
NODE_INCLUDE = $(firstword $(wildcard node_modules/node/node_modules/node-*/include/node))
addon: $(if $(shell command -v $(CC)),build/rokv_mmap.node)
	@[ -f build/rokv_mmap.node ] || echo "rokv: native addon not built (no C compiler): --storage mmap is unavailable"

build/rokv_mmap.node: native/rokv_mmap.c | $(INSTALLED)
	@mkdir -p build
	$(CC) -O2 -fPIC -shared -Wall -Wextra -Werror -I $(NODE_INCLUDE) -o $@.tmp $< && mv $@.tmp $@

# bin/* run this compiled JavaScript (tsc only strips types: erasable syntax).
dist/.stamp: $(INSTALLED) $(SOURCES)
	rm -rf dist
	tsc -p tsconfig.build.json
	@# tsc keeps the sources' ".ts" in the .d.ts files' imports; consumers resolve ".js".
	@find dist -name '*.d.ts' -exec sed -i -E "s#(['\"])(\.\.?/[^'\"]*)\.ts\1#\1\2.js\1#g" {} +
	@touch $@

data: $(INSTALLED)
	@count="$(COUNT_$(SIZE))"; if [ -z "$$count" ]; then echo "make data: SIZE must be 10K, 100K, 1M or 10M (got '$(SIZE)'); tools/generate.ts takes any count" >&2; exit 2; fi; \
	node tools/generate.ts --count "$$count" --seed "$(SEED)" --output "$(DATA)"

$(DATA):
	$(MAKE) --no-print-directory data SIZE=$(SIZE) SEED=$(SEED)

demo: build $(DATA)
	./bin/inspect $(DATA)
	@bash tools/demo.sh $(DATA) $(PORT)

typecheck: $(INSTALLED)
	tsc --noEmit

test: build typecheck
	@node tools/run-tests.ts

# End to end: rokv (and Redis when redis-server is on PATH) driven by bin/client.
bench: build
	@[ -f testdata_1M.data ] || $(MAKE) --no-print-directory data SIZE=1M
	node tools/bench/main.ts $(BENCH_ARGS)
	node tools/bench/storage.ts
	node tools/bench/tls.ts

# The storage tiers: ready time, RssAnon, warm GETs/s vs Redis, cold GETs/s, p99 and a bystander's PING.
bench-storage: build
	@[ -f testdata_1M.data ] || $(MAKE) --no-print-directory data SIZE=1M
	node tools/bench/storage.ts

bench-tls: build
	node tools/bench/tls.ts $(BENCH_ARGS)

# 1, 2 and 3 shard servers with the same data and client load.
bench-cluster: build
	@[ -f testdata_1M.data ] || $(MAKE) --no-print-directory data SIZE=1M
	node tools/bench/cluster.ts $(BENCH_ARGS)

# Server + client at load for MINUTES; fails on a wrong answer or RSS growth.
soak: build
	@[ -f testdata_1M.data ] || $(MAKE) --no-print-directory data SIZE=1M
	node tools/soak.ts --minutes $(MINUTES)

# Micro-benchmarks of the hot path (tinybench).
microbench: $(INSTALLED)
	npm run bench

clean:
	rm -rf dist build testdata_*.data .test-results.json
