#!/usr/bin/env bash
# Server throughput on loopback, gnomon beside chronyd in one run
# (docs/BENCHMARKS.md section 2): each server pinned to CPU $SERVER_CPU,
# the load generator (cmd/ntpload: 16 sockets, sendmmsg/recvmmsg) to CPU
# $LOAD_CPU; at every offered rate the two servers are measured one after
# the other (the first alternating), then a closed-loop ceiling for each.
# The offered rates: a coarse grid (RATES), climbed until both servers have
# lost 1% at two consecutive steps (the first of them is the edge), then
# FINE-1 finer steps just below each server's edge, every one of them run on
# both servers. Prints the figures; never fails on a figure.
#
# Every step also prints the transmit-stamp lag of the answers (p50/p99/max,
# µs): the generator's kernel receive stamp of a reply minus the transmit
# timestamp in it. On loopback a reply is received inside the server's send,
# so that is how much later than it says the reply left. gnomon serves the
# host clock for this (--sim-serve-host-clock), as chronyd -x does, so the
# figure is the serving path's and not the simulated servo's error.
# Last, the offset a client sees (OFFSET_RATES, OFFSET_STEP): a chronyd
# client for each server (-x, kernel timestamps, 16 polls/s, on the
# generator's CPU) logs its measurements while the generator loads that
# server at each rate (0: idle) in turn; the offsets of each window, against
# this machine's clock which both servers serve, are printed as mean, RMS and
# worst (µs). OFFSET_STEP=0 leaves this out.
# HOG=1 runs a CPU hog (a shell busy loop) on the generator's core for the
# whole run: the tail latencies under outside load.
#
# Never touches the host clock: chronyd runs with -x, gnomon with --sim.
# Only the processes this script starts are stopped, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-50000:350000:25000} # from:to:step, requests/s (the generator tops out near 190-270k/s here)
FINE=${FINE:-5}                     # each server's last coarse interval split in FINE (1: no fine steps)
STEP=${STEP:-5s}                    # per rate step
CEILING=${CEILING:-5s}              # closed-loop run per server
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
CHRONY_PORT=${CHRONY_PORT:-11123}
GNOMON_PORT=${GNOMON_PORT:-11124}
PEERS=${GNOMON_PEERS:-/opt/gnomon-peers}
CHRONYD=${CHRONYD:-$PEERS/chrony/usr/sbin/chronyd}
OFFSET_RATES=${OFFSET_RATES:-0 50000 100000} # requests/s beside the client (0: idle)
OFFSET_STEP=${OFFSET_STEP:-20} # seconds per offset window (0: no offset table)
OUT=${OUT:-} # keep the raw JSON lines here if set

[ -x "$CHRONYD" ] || { echo "bench-server: $CHRONYD missing: run scripts/install-test-deps.sh" >&2; exit 1; }
command -v taskset >/dev/null || { echo "bench-server: taskset missing (util-linux)" >&2; exit 1; }
ncpu=$(nproc --all)
if [ "$ncpu" -lt 2 ]; then
  echo "bench-server: needs 2 CPUs (server and load generator apart), found $ncpu" >&2
  exit 1
fi

# One run at a time: two runs would share the ports and the CPUs and
# measure each other.
lock=/tmp/gnomon-bench-server.lock
exec 9>"$lock"
if ! flock -n 9; then
  echo "bench-server: another bench-server run holds $lock; waiting for it (at most 10 min)" >&2
  flock -w 600 9 || { echo "bench-server: gave up waiting for $lock" >&2; exit 1; }
fi
for port in "$CHRONY_PORT" "$GNOMON_PORT"; do
  if [ -n "$(ss -Hlun "sport = :$port" 2>/dev/null)" ]; then
    echo "bench-server: UDP port $port is already in use; set CHRONY_PORT/GNOMON_PORT" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/gnomon-bench.XXXXXX)
pids=()
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || continue
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
go build -o "$work/gnomon" ./cmd/gnomon
go build -o "$work/ntpload" ./cmd/ntpload

# chronyd as BENCHMARKS.md section 2 sets it up: local stratum 1, its rate
# limiting off (the default), no command port, files in the temp dir.
cat >"$work/chrony.conf" <<CONF
port $CHRONY_PORT
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 1
cmdport 0
driftfile $work/chrony.drift
pidfile $work/chronyd.pid
CONF
taskset -c "$SERVER_CPU" "$CHRONYD" -x -d -u root -f "$work/chrony.conf" >"$work/chronyd.log" 2>&1 &
chrony_pid=$!
pids+=("$chrony_pid")

# gnomon on the simulated hat, with its per-address rate limiting off (the
# benchmark's load all comes from 127.0.0.1; chronyd's is off by default).
help=$("$work/gnomon" run -h 2>&1 || true)
if [ -n "${GNOMON_BENCH_FLAGS+x}" ]; then
  read -r -a gflags <<<"$GNOMON_BENCH_FLAGS"
elif grep -q -- '-no-rate-limit' <<<"$help"; then
  gflags=(--no-rate-limit)
  if grep -q -- '-sim-serve-host-clock' <<<"$help"; then
    gflags+=(--sim-serve-host-clock)
  fi
else
  echo "bench-server: 'gnomon run' has no --no-rate-limit: its limiter would answer one address" \
    "with kisses-o'-death; set GNOMON_BENCH_FLAGS to the switch that turns it off" >&2
  exit 1
fi
taskset -c "$SERVER_CPU" "$work/gnomon" run --sim --ntp-listen "127.0.0.1:$GNOMON_PORT" ${gflags[@]+"${gflags[@]}"} \
  >"$work/gnomon.log" 2>&1 &
gnomon_pid=$!
pids+=("$gnomon_pid")

load() { # name port pid args...
  local name=$1 port=$2 pid=$3
  shift 3
  kill -0 "$pid" 2>/dev/null || { echo "bench-server: $name (pid $pid) is not running; its log:" >&2; cat "$work/$name.log" >&2; exit 1; }
  taskset -c "$LOAD_CPU" "$work/ntpload" -target "127.0.0.1:$port" -pid "$pid" -name "$name" -json -total 2m "$@" >>"$work/results.jsonl"
}

if [ -n "${HOG:-}" ]; then
  taskset -c "$LOAD_CPU" bash -c 'while :; do :; done' &
  pids+=("$!")
  echo "bench-server: CPU hog (pid $!) on CPU $LOAD_CPU, the generator's"
fi
echo "bench-server: $(date -u +%FT%TZ) on $(uname -m), $ncpu CPUs; server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
echo "bench-server: load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
"$work/ntpload" -target "127.0.0.1:$CHRONY_PORT" -wait-sync 30s
"$work/ntpload" -target "127.0.0.1:$GNOMON_PORT" -wait-sync 120s
for pid in "$chrony_pid" "$gnomon_pid"; do
  kill -0 "$pid" 2>/dev/null || { echo "bench-server: a server exited at start; logs:" >&2; cat "$work"/*.log >&2; exit 1; }
done

read -r from to step <<<"$(tr ':' ' ' <<<"$RATES")"
# Warm-up (discarded): first-touch page faults, socket buffers, CPU caches.
taskset -c "$LOAD_CPU" "$work/ntpload" -target "127.0.0.1:$CHRONY_PORT" -rate "$from" -duration 1s >/dev/null
taskset -c "$LOAD_CPU" "$work/ntpload" -target "127.0.0.1:$GNOMON_PORT" -rate "$from" -duration 1s >/dev/null
i=0
both() { # rate: one step on each server, which goes first alternating
  local rate=$1
  if ((i % 2 == 0)); then
    load chronyd "$CHRONY_PORT" "$chrony_pid" -rate "$rate" -duration "$STEP"
    load gnomon "$GNOMON_PORT" "$gnomon_pid" -rate "$rate" -duration "$STEP"
  else
    load gnomon "$GNOMON_PORT" "$gnomon_pid" -rate "$rate" -duration "$STEP"
    load chronyd "$CHRONY_PORT" "$chrony_pid" -rate "$rate" -duration "$STEP"
  fi
  echo "bench-server: $rate/s done"
  i=$((i + 1))
}
held() { # name rate: "no" if the server lost 1% or more at that step, else "yes"
  # A step the generator could not offer in full (another process took its
  # CPU) is no evidence against the server: the summary marks it, and it is
  # not taken for the server's edge, which would stop the climb early.
  /usr/bin/python3 - "$work/results.jsonl" "$1" "$2" <<'PY'
import json, sys
path, name, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
ok = "yes"
for line in open(path):
    l = json.loads(line)
    if l.get("name") == name and l.get("mode") == "open" and l.get("offered_per_s") == rate:
        ok = "no" if l["loss"] >= 0.01 else "yes"
print(ok)
PY
}
# A server's edge is the first of two consecutive coarse steps it loses 1%
# at: on a shared machine one step can lose to a stall of a few ms (seen in
# both servers) and the server then holds at the next, higher rate.
declare -A edge=() fails=()
for ((rate = from; rate <= to && i < 40; rate += step)); do
  both "$rate"
  past=1
  for name in chronyd gnomon; do
    f=${fails[$name]:-0}
    if ((f < 2)); then
      if [ "$(held "$name" "$rate")" = no ]; then
        ((f > 0)) || edge[$name]=$rate
        fails[$name]=$((f + 1))
      else
        edge[$name]=''
        fails[$name]=0
      fi
    fi
    ((${fails[$name]} >= 2)) || past=0
  done
  ((past == 0)) || break
done
fine=()
for name in chronyd gnomon; do
  e=${edge[$name]:-}
  [ -n "$e" ] && ((e > from)) || continue
  for ((k = 1; k < FINE; k++)); do
    fine+=($((e - step + k * step / FINE)))
  done
done
if ((${#fine[@]} > 0)); then
  echo "bench-server: edges: chronyd ${edge[chronyd]:-none}, gnomon ${edge[gnomon]:-none}; finer steps below them"
  for rate in $(printf '%s\n' "${fine[@]}" | sort -nu); do
    ((i < 40)) || break
    both "$rate"
  done
fi
load chronyd "$CHRONY_PORT" "$chrony_pid" -ceiling -duration "$CEILING"
load gnomon "$GNOMON_PORT" "$gnomon_pid" -ceiling -duration "$CEILING"

# The client-side offsets: one chronyd client per server, both polling
# all along; the windows are told apart by their wall-clock times.
offsets=()
if ((OFFSET_STEP > 0)); then
  for name in chronyd gnomon; do
    port=$CHRONY_PORT
    [ "$name" = gnomon ] && port=$GNOMON_PORT
    mkdir -p "$work/client-$name"
    cat >"$work/client-$name/chrony.conf" <<CONF
server 127.0.0.1 port $port iburst minpoll -4 maxpoll -4
port 0
cmdport 0
pidfile $work/client-$name/chronyd.pid
driftfile $work/client-$name/drift
logdir $work/client-$name
log measurements
CONF
    taskset -c "$LOAD_CPU" "$CHRONYD" -x -d -u root -f "$work/client-$name/chrony.conf" >"$work/client-$name/out.log" 2>&1 &
    pids+=("$!")
  done
  sleep 5 # past the client's iburst
  for rate in $OFFSET_RATES; do
    for name in chronyd gnomon; do
      port=$CHRONY_PORT pid=$chrony_pid
      [ "$name" = gnomon ] && port=$GNOMON_PORT pid=$gnomon_pid
      start=$(date -u +%s)
      if ((rate > 0)); then
        taskset -c "$LOAD_CPU" "$work/ntpload" -target "127.0.0.1:$port" -rate "$rate" -duration "${OFFSET_STEP}s" >/dev/null
      else
        sleep "$OFFSET_STEP"
      fi
      offsets+=("$name $rate $start $(date -u +%s)")
    done
    echo "bench-server: offsets at $rate/s done"
  done
fi

echo "bench-server: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$work/ntpload" -summarize "$work/results.jsonl"
if ((${#offsets[@]} > 0)); then
  echo
  printf '%s\n' "${offsets[@]}" | /usr/bin/python3 scripts/bench_offsets.py "$work"
fi
[ -z "$OUT" ] || cp "$work/results.jsonl" "$OUT"
