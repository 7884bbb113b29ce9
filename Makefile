# Comet: `make run` starts a node on its defaults; `make test` installs what
# the tests need and runs them all.
GO       ?= go
FUZZTIME ?= 30s
BENCH    ?= .
COUNT    ?= 6
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
# The server tests that run again on the delayed engine in make test.
ASYNC_TESTS ?= Transport|Poll|SSE|Stream|Iframe|Recovery|Send|Protocol|Mixed|Slow|Shutdown|Churn|Subscribe|Token|Hook|Leak|Devices|Presence

.PHONY: all build run cluster test test-deps bench bench-compare fuzz lint cover clean

all: lint test

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/ ./cmd/...

run: build
	./bin/comet -insecure-api -auth demo -data-dir data

cluster: build # Redis, three nodes and nginx on loopback ports (docs/CLUSTER.md)
	./scripts/cluster.sh

test-deps:
	./scripts/test-deps.sh

test: test-deps
	$(GO) vet ./...
	$(GO) test -race -shuffle=on -count=1 -timeout 20m ./...
	# The transports and recovery again, on an engine that answers late
	# (server/delayed_test.go): the async completion path, end to end.
	COMET_TEST_ENGINE=delayed $(GO) test -race -count=1 -timeout 20m \
		-run '$(ASYNC_TESTS)' ./server
	# Allocation budgets, without the race detector (which allocates itself).
	$(GO) test -count=1 -run 'ZeroAllocs|AllocatesNothing' ./codec ./conn ./server
	# Memory given back to the system (RSS), on a binary without the race
	# detector, whose shadow memory is never returned.
	$(GO) test -count=1 -run 'TestHostile(BigMessagesReleased|PipelinedRequestsUnread|PingFlood)' ./test/e2e

bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -count=$(COUNT) ./codec ./conn ./server/... | tee bench.txt

bench-compare: # install peers if missing, build, compare Comet with peers (~7 min) -> results/<ts>/
	./bench/compare.sh

fuzz: # go test -fuzz takes one target per run
	$(GO) test ./codec -run='^$$' -fuzz='^FuzzParseRequest$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./codec -run='^$$' -fuzz='^FuzzParseFrameHeader$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./codec -run='^$$' -fuzz='^FuzzHeadScanner$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./codec -run='^$$' -fuzz='^FuzzChunkedDecoder$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./codec -run='^$$' -fuzz='^FuzzUTF8Validator$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./conn -run='^$$' -fuzz='^FuzzFeed$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./protocol -run='^$$' -fuzz='^FuzzAppendCompactJSON$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./protocol -run='^$$' -fuzz='^FuzzParseClientMessage$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./server -run='^$$' -fuzz='^FuzzParsePositions$$' -fuzztime=$(FUZZTIME)

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

cover:
	$(GO) test -coverprofile=cover.out ./... && $(GO) tool cover -func=cover.out | tail -1

clean:
	rm -rf bin cover.out bench.txt results
