# gnomon: GPS-disciplined stratum 1 NTP server.
GO       ?= go
GOFLAGS  ?=
BIN      := bin/gnomon
LISTEN   ?= 127.0.0.1:11123
FUZZTIME ?= 50000x
export GOTOOLCHAIN ?= local

.PHONY: all build run test test-deps bench bench-go bench-discipline bench-server fuzz cross lint clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/gnomon

# The whole appliance on a simulated GPS hat, serving NTP on $(LISTEN).
run: build
	./$(BIN) run --sim --ntp-listen $(LISTEN)

test-deps:
	bash scripts/install-test-deps.sh

# Every test: unit, fuzz seeds, end-to-end with real NTP peers (root needed for
# network namespaces).
test: test-deps build
	$(GO) test -count=1 -timeout 20m ./...

bench: bench-go bench-discipline

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Discipline accuracy: scenarios S1-S4, seeds 1-3, against the limit and chrony.
bench-discipline:
	$(GO) run ./cmd/gnomon sim --all

# Server throughput beside chronyd (loopback, pinned cores).
bench-server: test-deps build
	bash scripts/bench-server.sh

# Runs every fuzz target for $(FUZZTIME). A count (Nx), not a duration: a
# duration races Go 1.26's fuzz coordinator at its deadline and fails with a
# bare 'context deadline exceeded' on a loaded machine (golang/go#75804).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -o bin/gnomon-linux-armv6 ./cmd/gnomon
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -o bin/gnomon-linux-armv7 ./cmd/gnomon
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o bin/gnomon-linux-arm64 ./cmd/gnomon
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) vet ./...
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) vet ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

clean:
	rm -rf bin
