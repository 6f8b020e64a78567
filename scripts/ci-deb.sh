#!/usr/bin/env bash
# CI: build the packages and check them: contents and control fields with
# dpkg-deb, the unit through systemd-analyze verify, and the amd64 build of
# the same package installed and removed with dpkg (postinst, prerm, postrm).
# Leaves nothing behind: no package, no user, no enabled or running service.
set -euo pipefail
cd "$(dirname "$0")/.."
V=${VERSION:-0.1.0}
fail() { echo "ci-deb: $*" >&2; exit 1; }
make --no-print-directory deb deb-amd64 VERSION="$V" >/dev/null

declare -A machine=([arm64]=b7 [armhf]=28 [amd64]=3e) # ELF e_machine: AArch64, ARM, x86-64
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for a in arm64 armhf amd64; do
  deb=dist/gnomon_${V}_$a.deb
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$a" ] || fail "$deb: architecture"
  for f in Provides Conflicts Replaces; do
    fields=$(dpkg-deb -f "$deb" "$f" | tr -d ' ' | tr , '\n')
    for p in time-daemon chrony ntp ntpsec systemd-timesyncd; do
      [ "$f" = Provides ] && [ "$p" != time-daemon ] && continue
      grep -qx "$p" <<<"$fields" || fail "$deb: $f lacks $p"
    done
  done
  list=$(dpkg-deb -c "$deb")
  for f in ./usr/bin/gnomon ./etc/gnomon/gnomon.toml ./usr/lib/systemd/system/gnomon.service ./usr/lib/udev/rules.d/60-gnomon.rules; do
    grep -q " $f\$" <<<"$list" || fail "$deb: no $f"
  done
  mkdir -p "$work/$a/ctrl"
  dpkg-deb -e "$deb" "$work/$a/ctrl"
  grep -qx /etc/gnomon/gnomon.toml "$work/$a/ctrl/conffiles" || fail "$deb: gnomon.toml is not a conffile"
  dpkg-deb -x "$deb" "$work/$a"
  got=$(od -An -tx1 -j18 -N1 "$work/$a/usr/bin/gnomon" | tr -d ' ')
  [ "$got" = "${machine[$a]}" ] || fail "$deb: binary is ELF machine 0x$got, want 0x${machine[$a]}"
done

# The unit of the arm64 package, in a root holding the package and this
# machine's units (targets it names), with no warning at all.
root=$work/arm64
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
out=$(systemd-analyze verify --root="$root" gnomon.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
unit=$root/usr/lib/systemd/system/gnomon.service
for want in 'User=gnomon' 'AmbientCapabilities=CAP_SYS_TIME CAP_NET_BIND_SERVICE' \
  'CapabilityBoundingSet=CAP_SYS_TIME CAP_NET_BIND_SERVICE' 'ProtectSystem=strict' 'StateDirectory=gnomon' \
  'DeviceAllow=char-ttyAMA rw' 'DeviceAllow=char-pps rw' 'DeviceAllow=char-gpiochip rw' \
  'Before=time-sync.target' 'Wants=time-sync.target' 'Restart=on-failure'; do
  grep -qx "$want" "$unit" || fail "unit lacks $want"
done
echo "ci-deb: systemd-analyze verify: clean; $(systemd-analyze security --offline=true --root="$root" gnomon.service 2>/dev/null | tail -1 || true)"

# Install the amd64 build. The real database first, without acting: a
# time daemon installed here (systemd-timesyncd on Debian) must be named
# for removal. Then install against a copy of the database without the
# time daemons, so that dpkg runs the real maintainer scripts on this
# machine but does not remove its time daemon.
deb=dist/gnomon_${V}_amd64.deb
if dpkg -s systemd-timesyncd >/dev/null 2>&1; then
  out=$(dpkg --no-act -i "$deb" 2>&1 || true)
  grep -q "systemd-timesyncd" <<<"$out" || fail "dpkg would not replace systemd-timesyncd: $out"
fi
admin=$(mktemp -d)
cleanup() {
  if dpkg --admindir="$admin" -s gnomon >/dev/null 2>&1; then dpkg --admindir="$admin" --purge gnomon >/dev/null 2>&1 || true; fi
  if getent passwd gnomon >/dev/null; then userdel gnomon 2>/dev/null || true; fi
  if getent group gnomon >/dev/null; then groupdel gnomon 2>/dev/null || true; fi
  rm -rf "$work" "$admin"
}
trap cleanup EXIT
cp -a /var/lib/dpkg/. "$admin/"
awk -v RS= -v ORS='\n\n' '!/^Package: (chrony|ntp|ntpsec|systemd-timesyncd|openntpd)\n/ && !/\nProvides:[^\n]*time-daemon/' /var/lib/dpkg/status >"$admin/status"
dpkg --admindir="$admin" -i "$deb" >/dev/null || fail "dpkg -i failed"
getent passwd gnomon >/dev/null || fail "postinst created no user gnomon"
id -nG gnomon | grep -qw dialout || fail "postinst did not add gnomon to dialout"
[ -x /usr/bin/gnomon ] && /usr/bin/gnomon config check /etc/gnomon/gnomon.toml >/dev/null || fail "installed gnomon does not check its conffile"
wants=/etc/systemd/system/multi-user.target.wants/gnomon.service
[ -L "$wants" ] || fail "postinst did not enable gnomon.service"
dpkg --admindir="$admin" --purge gnomon >/dev/null || fail "dpkg --purge failed"
[ ! -e /usr/bin/gnomon ] && [ ! -e /etc/gnomon/gnomon.toml ] || fail "purge left files"
[ ! -L "$wants" ] || fail "gnomon.service still enabled after purge"
for _ in 1 2 3 4 5; do userdel gnomon 2>/dev/null && break; sleep 2; done
getent passwd gnomon >/dev/null && fail "user gnomon left"
if getent group gnomon >/dev/null; then groupdel gnomon; fi
echo "ci-deb: ok ($(stat -c %s "dist/gnomon_${V}_arm64.deb") bytes arm64, $(stat -c %s "dist/gnomon_${V}_armhf.deb") bytes armhf)"
