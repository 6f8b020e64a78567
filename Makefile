# gnomon: GPS-disciplined stratum 1 NTP server.
GO       ?= go
GOFLAGS  ?=
BIN      := bin/gnomon
LISTEN   ?= 127.0.0.1:11123
FUZZTIME ?= 50000x
export GOTOOLCHAIN ?= local
# Go where "sudo make" finds it too (sudo resets PATH).
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
VERSION  ?= 0.1.0
LDFLAGS  := -s -w -X main.version=$(VERSION)
# nfpm builds the packages; pinned, fetched from the Go module proxy.
NFPM     ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# Debian architecture -> the static binary the package carries. armhf is
# the armv6 build: Raspberry Pi OS's 32-bit armhf runs on the Pi Zero W's ARMv6.
DEB_ARCHES := arm64 armhf
deb_bin_arm64 := bin/gnomon-linux-arm64
deb_bin_armhf := bin/gnomon-linux-armv6
deb_bin_amd64 := bin/gnomon-linux-amd64

.PHONY: all build run test test-deps bench bench-go bench-discipline bench-server soak fuzz cross lint clean cross-bins deb deb-amd64 deb-pkg image release

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
test:
	@[ "$$(id -u)" = 0 ] || { echo "make test: needs root (network namespaces, privilege drop, test peers): run sudo make test"; exit 1; }
	$(MAKE) test-deps build
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

# An hour (SOAK_MINUTES) of mixed load, junk, floods and mode 6 against
# gnomon run --sim on loopback: RSS, goroutines, fds and answer rates every
# minute, then the growth. Not part of make test.
SOAK_MINUTES ?= 60
soak:
	SOAK_MINUTES=$(SOAK_MINUTES) bash scripts/soak.sh

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

cross: cross-bins
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) vet ./...
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) vet ./...

# The three static Pi binaries.
cross-bins:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gnomon-linux-armv6 ./cmd/gnomon
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gnomon-linux-armv7 ./cmd/gnomon
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gnomon-linux-arm64 ./cmd/gnomon

# dist/gnomon_$(VERSION)_{arm64,armhf}.deb: binary, conffile (gnomon config
# default), systemd unit, udev rule, maintainer scripts (packaging/).
deb: cross-bins dist/gnomon.toml
	@for a in $(DEB_ARCHES); do $(MAKE) --no-print-directory deb-pkg ARCH=$$a; done

# The same package for this machine (amd64), for the install test.
deb-amd64: dist/gnomon.toml
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(deb_bin_amd64) ./cmd/gnomon
	$(MAKE) --no-print-directory deb-pkg ARCH=amd64

deb-pkg:
	@mkdir -p dist
	sed -e 's|$${GNOMON_ARCH}|$(ARCH)|; s|$${GNOMON_BIN}|$(deb_bin_$(ARCH))|; s|$${GNOMON_CONF}|dist/gnomon.toml|; s|$${GNOMON_VERSION}|$(VERSION)|' \
	  packaging/nfpm.yaml > dist/nfpm-$(ARCH).yaml
	$(NFPM) package --config dist/nfpm-$(ARCH).yaml --packager deb --target dist/gnomon_$(VERSION)_$(ARCH).deb
	rm dist/nfpm-$(ARCH).yaml

dist/gnomon.toml: $(shell git ls-files 'cmd/gnomon/internal/config/*.go' 'board/*.go' 2>/dev/null)
	@mkdir -p dist
	$(GO) run ./cmd/gnomon config default > $@

# dist/gnomon-$(HAT)-arm64.img: a flashable SD card image (Pi 3, 4, 5,
# Zero 2 W) with gnomon for the hat, built by gokrazy (docs/IMAGE.md).
HAT ?= uputronics
image:
	bash scripts/make-image.sh $(HAT) dist/gnomon-$(HAT)-arm64.img

# dist/: the three static binaries, the packages, the image, SHA256SUMS.
release: deb image
	cp bin/gnomon-linux-armv6 bin/gnomon-linux-armv7 bin/gnomon-linux-arm64 dist/
	cd dist && rm -f SHA256SUMS && sha256sum gnomon-linux-armv6 gnomon-linux-armv7 gnomon-linux-arm64 \
	  $(foreach a,$(DEB_ARCHES),gnomon_$(VERSION)_$(a).deb) gnomon-$(HAT)-arm64.img > SHA256SUMS

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

clean:
	rm -rf bin dist
