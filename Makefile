# polyregion — the two commands that matter: `make up` runs it, `make test` tests it.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X github.com/polyregion/polyregion/internal/app.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := bin/polyregion
DIR         ?= polyregion-data

.PHONY: all build up test deps lint unit bench fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/polyregion

## up: build and run the three default regions on this machine (Ctrl-C stops them)
up: build
	./$(BIN) up --dir $(DIR)

## test: install what the tests need, lint, and run every test with the race detector
test: deps lint unit

deps:
	@bash scripts/install-deps.sh

lint:
	@echo "== gofmt"; out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== staticcheck"; $(GO) run $(STATICCHECK) ./...

unit:
	@echo "== go test -race"; $(GO) test -race -timeout 14m ./...

## bench: the benchmarks in bench/ (not part of `make test`); see docs/performance.md
bench:
	$(GO) run ./bench/netsim
	bash bench/dns/run.sh
	bash bench/tables/run.sh
	bash bench/edge/run.sh
	bash bench/global-tables/run.sh

## fuzz: run each fuzz target for a short while (FUZZTIME=30s)
FUZZTIME ?= 30s
fuzz:
	@for p in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$p 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
		done; \
	done

clean:
	rm -rf bin
