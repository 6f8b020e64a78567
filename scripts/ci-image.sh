#!/usr/bin/env bash
# CI: build the SD card image for a hat and check it: the partition table,
# the boot files (the hat's config.txt lines), the gnomon inside (arm64, the
# only time daemon), the formatted /perm; then boot the same root file
# system with gokrazy's generic arm64 kernel under qemu-system-aarch64 (the
# Pi kernel does not boot on qemu's virt machine) and ask gnomon for the time
# on a forwarded loopback port. There is no GPS hat in qemu: that image's
# gnomon runs on the simulated hat (--sim).
set -euo pipefail
cd "$(dirname "$0")/.."
HAT=${HAT:-uputronics}
PORT=${PORT:-12123}
fail() { echo "ci-image: $*" >&2; exit 1; }
img=dist/gnomon-$HAT-arm64.img
make --no-print-directory image HAT="$HAT" >/dev/null 2>&1 || fail "make image failed"
work=$(mktemp -d)
qpid=
trap '[ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$work"' EXIT

check_image() { # image: partition table, boot files, root fs, /perm
  local img=$1 table part boot root
  table=$(sfdisk -d "$img")
  grep -q '^label: gpt' <<<"$table" || fail "$img: not GPT"
  [ "$(grep -c "^$img[0-9] :" <<<"$table")" = 4 ] || fail "$img: want 4 partitions (boot, root A, root B, perm): $table"
  part() { awk -F'[=,]' -v p="$img$1 :" 'index($0, p) == 1 {gsub(/ /, ""); print $2 * 512}' <<<"$table"; }
  boot=$(part 1) root=$(part 2)
  grep -q "${img}1 .*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B" <<<"$table" || fail "$img: partition 1 is not the boot (ESP) partition"
  mtype -i "$img@@$boot" ::config.txt >"$work/config.txt" || fail "$img: no config.txt"
  unsquashfs -q -o "$root" -d "$work/root" "$img" >/dev/null || fail "$img: partition 2 is not a squashfs root"
  [ -x "$work/root/user/gnomon" ] || fail "$img: no /user/gnomon"
  [ "$(od -An -tx1 -j18 -N1 "$work/root/user/gnomon" | tr -d ' ')" = b7 ] || fail "$img: gnomon is not an arm64 binary"
  [ ! -e "$work/root/gokrazy/ntp" ] || fail "$img: gokrazy's NTP client is in the image"
  dd if="$img" bs=512 skip=$(( $(part 4) / 512 + 2 )) count=2 status=none of="$work/sb"
  [ "$(od -An -tx1 -j56 -N2 "$work/sb" | tr -d ' ')" = 53ef ] || fail "$img: /perm (partition 4) is not ext4"
}
check_image "$img"
mtype -i "$img@@$(sfdisk -d "$img" | awk -F'[=,]' '/img1 :/ {gsub(/ /,""); print $2 * 512}')" ::start4.elf >/dev/null || fail "$img: no Pi firmware"
want=$(go run ./cmd/gnomon setup --hat "$HAT" --gokrazy-json | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["config_txt"]))')
while read -r l; do grep -qx "$l" "$work/config.txt" || fail "$img: config.txt lacks $l"; done <<<"$want"
grep -v '^#' "$work/config.txt" | grep -q '#' && fail "$img: a config.txt line carries a comment"
grep -q "^hat = " "$work/root/etc/gnomon/gnomon.toml" || fail "$img: no gnomon.toml"
go run ./cmd/gnomon config check "$work/root/etc/gnomon/gnomon.toml" >/dev/null || fail "$img: its gnomon.toml does not check"
rm -rf "$work/root"
echo "ci-image: $img: GPT, boot files with the hat's lines, arm64 gnomon, no other time daemon ($(du -k --apparent-size "$img" | cut -f1) KiB, $(du -k "$img" | cut -f1) KiB used)"

vm=dist/gnomon-$HAT-arm64-qemu.img
GNOMON_FLAGS="run --sim --ntp-listen 0.0.0.0:123" bash scripts/make-image.sh "$HAT" "$vm" github.com/gokrazy/kernel.arm64 >/dev/null 2>&1 || fail "qemu image build failed"
check_image "$vm"
rm -rf "$work/root"
boot=$(sfdisk -d "$vm" | awk -F'[=,]' '/img1 :/ {gsub(/ /,""); print $2 * 512}')
mcopy -o -i "$vm@@$boot" ::vmlinuz "$work/vmlinuz"
cmdline=$(mtype -i "$vm@@$boot" ::cmdline.txt | sed 's/console=tty1/console=ttyAMA0/')
qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$work/vmlinuz" -append "$cmdline" -drive file="$vm",format=raw,if=virtio \
  -netdev user,id=n0,hostfwd=udp:127.0.0.1:$PORT-:123 -device virtio-net-pci,netdev=n0,romfile= \
  >"$work/boot.log" 2>&1 &
qpid=$!
start=$(date +%s)
if ! python3 - "$PORT" 240 <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(b"\x23" + 47 * b"\0", ("127.0.0.1", port))
        d, _ = s.recvfrom(512)
        print(f"ci-image: NTP answer on 127.0.0.1:{port}: leap {d[0] >> 6} stratum {d[1]} refid {d[12:16].decode(errors='replace')}")
        if d[1] == 1 and d[0] >> 6 != 3:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(2)
sys.exit(1)
PY
then
  tail -30 "$work/boot.log" >&2
  fail "no stratum 1 answer from gnomon in qemu"
fi
grep -q 'gokrazy device model linux,dummy-virt' "$work/boot.log" || fail "boot transcript lacks gokrazy's start"
grep -q 'Could not mount permanent storage' "$work/boot.log" && fail "/perm did not mount"
echo "ci-image: booted under qemu-system-aarch64, gnomon answered after $(( $(date +%s) - start )) s"
kill "$qpid"; wait "$qpid" 2>/dev/null || true; qpid=
rm -f "$vm"
echo "ci-image: ok"
