#!/usr/bin/env bash
# Installs what gnomon's tests and benchmarks need on a fresh Debian 12 machine.
# Idempotent: does nothing for what is already there.
#
# chrony and ntpsec conflict as Debian packages and both ship a daemon that
# must never run here (it would steer this machine's clock). So:
#  - ntpdig and ntpdate come from their own packages (no daemon, no conflict);
#  - chronyd and ntpq are unpacked with dpkg -x into /opt, never installed,
#    so no service is started.
set -euo pipefail

PEERS=${GNOMON_PEERS:-/opt/gnomon-peers}
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v tshark >/dev/null || need_apt+=(tshark)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v unshare >/dev/null || need_apt+=(util-linux)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v ntpdig >/dev/null || need_apt+=(ntpsec-ntpdig)
command -v ntpdate >/dev/null || need_apt+=(ntpsec-ntpdate)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
# ntpq (unpacked below) is Python and imports the ntp modules of python3-ntp,
# which ntpsec-ntpdig normally pulls in; ask for it in case ntpdig came
# from elsewhere.
dpkg -s python3-ntp >/dev/null 2>&1 || need_apt+=(python3-ntp)
command -v qemu-arm-static >/dev/null || need_apt+=(qemu-user-static)
# The package test (scripts/ci-deb.sh): systemd-analyze verify, the
# maintainer scripts' adduser and deb-systemd-helper.
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v adduser >/dev/null || need_apt+=(adduser)
command -v deb-systemd-helper >/dev/null || need_apt+=(init-system-helpers)
# The image test (scripts/ci-image.sh): partition table, FAT boot files,
# squashfs root, ext4 /perm, and the qemu boot.
command -v sfdisk >/dev/null || need_apt+=(fdisk)
command -v mtype >/dev/null || need_apt+=(mtools)
command -v unsquashfs >/dev/null || need_apt+=(squashfs-tools)
command -v mke2fs >/dev/null || need_apt+=(e2fsprogs)
command -v qemu-system-aarch64 >/dev/null || need_apt+=(qemu-system-arm)
# The status page's test loads it in headless Chromium.
command -v chromium >/dev/null || need_apt+=(chromium)
# chronyd's shared libraries (it is unpacked, so apt does not pull them in).
for lib in libcap2 libedit2 libgnutls30 libnettle8 libseccomp2 libbsd0 libssl3; do
  dpkg -s "$lib" >/dev/null 2>&1 || need_apt+=("$lib")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  # Keep any package's maintainer scripts from starting a service.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

unpack() { # package dest
  local pkg=$1 dest=$2 tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || { apt-get update -qq && (cd "$tmp" && apt-get download "$pkg" >/dev/null); }
  mkdir -p "$dest"
  dpkg -x "$tmp"/"$pkg"_*.deb "$dest"
  rm -rf "$tmp"
}

[ -x "$PEERS/chrony/usr/sbin/chronyd" ] || { echo "install-test-deps: unpacking chrony into $PEERS/chrony"; unpack chrony "$PEERS/chrony"; }
[ -x "$PEERS/ntpsec/usr/bin/ntpq" ] || { echo "install-test-deps: unpacking ntpsec (for ntpq) into $PEERS/ntpsec"; unpack ntpsec "$PEERS/ntpsec"; }

# Check that every peer runs as the tests run it (a missing library or
# Python module would otherwise surface as a confusing test failure).
check() { # what command...
  local what=$1
  shift
  "$@" >/dev/null 2>&1 || { echo "install-test-deps: $what does not run: $*" >&2; "$@" 2>&1 | tail -5 >&2; exit 1; }
}
if ldd "$PEERS/chrony/usr/sbin/chronyd" | grep -q 'not found'; then
  echo "install-test-deps: chronyd misses shared libraries:" >&2
  ldd "$PEERS/chrony/usr/sbin/chronyd" | grep 'not found' >&2
  exit 1
fi
check chronyd "$PEERS/chrony/usr/sbin/chronyd" -v
check ntpq /usr/bin/python3 "$PEERS/ntpsec/usr/bin/ntpq" --version
check ntpdig /usr/bin/python3 "$(command -v ntpdig)" --version
check tshark tshark --version
check ip ip -V

command -v staticcheck >/dev/null || [ -x "$(go env GOPATH)/bin/staticcheck" ] || {
  echo "install-test-deps: go install staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@latest
}
echo "install-test-deps: ok"
