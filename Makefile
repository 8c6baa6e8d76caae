# drafter: the nightly back office of an auto-finance servicer.
# Quick start: `make run` (the demo nightly cycle) and `make test` (every test).

GO      ?= go
BIN     := bin/drafter
DATADIR ?= ./drafter-data
# drafter --version prints these (set at build time with -ldflags).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

.PHONY: build run test bench lint fuzz clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/drafter

## run: the whole nightly cycle on a generated demo portfolio (embedded SQLite,
## documents in a folder, email into a pickup folder).
run: build
	./$(BIN) demo --data-dir $(DATADIR)

## test: go vet and every test; installs or starts the servers the tests use
## (PostgreSQL, versitygw, mailpit, qpdf/poppler) and says what it skipped.
test:
	bash scripts/test.sh

## bench: the Go benchmarks (long; not part of make test).
bench:
	bash scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: a short run of every fuzz target.
fuzz:
	bash scripts/fuzz.sh

clean:
	rm -rf bin $(DATADIR)
