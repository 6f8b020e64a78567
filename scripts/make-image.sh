#!/usr/bin/env bash
# make image HAT=NAME: a flashable arm64 SD card image (Pi 3, 4, 5, Zero 2 W)
# with gnomon preinstalled for the hat, built by gokrazy's gok (pinned as a
# Go tool in image/go.mod) from the Go module proxy: gokrazy's Pi kernel and
# firmware and gnomon built from this tree. Why gokrazy: docs/IMAGE.md.
#   scripts/make-image.sh HAT [OUT] [KERNEL_PACKAGE]
# GNOMON_FLAGS replaces gnomon's command line (the qemu test: a simulated hat).
set -euo pipefail
cd "$(dirname "$0")/.."
hat=${1:?usage: make-image.sh HAT [OUT] [KERNEL_PACKAGE]}
out=${2:-dist/gnomon-$hat-arm64.img}
kernel=${3:-github.com/gokrazy/kernel.rpi}
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The hat's settings for gokrazy: its kernel has no pps-gpio module but
# has the GPIO character device, so PPS comes from there (kernel-stamped);
# no udev means no /dev/serial0, so the UART is named: ttyAMA0 is the header
# PL011 on a Pi 3/4/Zero 2 W once Bluetooth lets go, and UART0 on a Pi 5.
# The drift file lives on the persistent /perm partition.
go run ./cmd/gnomon setup --hat "$hat" ${PPS_PIN:+--pps-pin "$PPS_PIN"} --gokrazy-json >"$work/hat.json"

inst=$work/gnomon
mkdir -p "$inst/builddir/github.com/gnomon-ntp/gnomon/cmd/gnomon"
cat >"$inst/builddir/github.com/gnomon-ntp/gnomon/cmd/gnomon/go.mod" <<MOD
module gokrazy/build/gnomon

go 1.26.0

require github.com/gnomon-ntp/gnomon v0.0.0
replace github.com/gnomon-ntp/gnomon => $repo
MOD
# The builddir's go.sum: gnomon's own dependencies.
cp go.sum "$inst/builddir/github.com/gnomon-ntp/gnomon/cmd/gnomon/go.sum"
password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
python3 - "$work/hat.json" "$inst/config.json" "$password" "$kernel" "${GNOMON_FLAGS:-}" <<'PY'
import json, sys
hat = json.load(open(sys.argv[1]))
flags = sys.argv[5].split() if sys.argv[5] else ["run", "--config", "/etc/gnomon/gnomon.toml"]
cfg = {
    "Hostname": "gnomon",
    "Update": {"HTTPPassword": sys.argv[3]},
    "Environment": ["GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"],
    "Packages": ["github.com/gnomon-ntp/gnomon/cmd/gnomon"],
    # gokrazy's base without its NTP client: gnomon is the only time daemon.
    "GokrazyPackages": ["github.com/gokrazy/gokrazy/cmd/dhcp", "github.com/gokrazy/gokrazy/cmd/randomd"],
    "PackageConfig": {
        "github.com/gnomon-ntp/gnomon/cmd/gnomon": {
            "CommandLineFlags": flags,
            "ExtraFileContents": {"/etc/gnomon/gnomon.toml": hat["toml"]},
        },
        "github.com/gokrazy/gokrazy/cmd/randomd": {"ExtraFileContents": {"/etc/machine-id": "0" * 32 + "\n"}},
    },
    "KernelPackage": sys.argv[4],
    "BootloaderExtraLines": hat["config_txt"],
    "SerialConsole": "disabled",
}
json.dump(cfg, open(sys.argv[2], "w"), indent=2)
PY
mkdir -p "$(dirname "$out")"
(cd image && go tool gok --parent_dir "$work" -i gnomon overwrite --full "$repo/$out" --target_storage_bytes $((1280 * 1024 * 1024)) --sudo never)
# gok leaves /perm unformatted in an image file (it would need root for
# mkfs on a device): make it ext4 here, so the drift file has a home from
# the first boot.
read -r start size < <(sfdisk -d "$out" | awk -F'[=,]' '/img4 :/ {gsub(/ /,""); print $2, $4}')
mke2fs -q -F -t ext4 -L perm -E offset=$((start * 512)) "$out" $((size / 2))k
echo "make-image: $out ($(stat -c %s "$out") bytes) for hat $hat"
