#!/usr/bin/env bash
# make soak: SOAK_MINUTES (default 60) of mixed load against gnomon run --sim
# on loopback, printing every minute the server's RSS, goroutines, threads,
# open fds and the answer rates, then the growth over the run.
#
# Load, all on 127.0.0.0/8: a steady ntpload stream from one address (rate
# limited: mostly kissed or dropped), a polite client every 2 s that must
# always be answered, junk datagrams and truncated headers, mode 6 read
# requests, and each minute a sweep of 500 fresh source addresses (the rate
# limiter's table). Nothing is sent anywhere but loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${SOAK_MINUTES:-60}
NTP_PORT=${SOAK_NTP_PORT:-11323}
HTTP_PORT=${SOAK_HTTP_PORT:-11324}
RATE=${SOAK_RATE:-5000}
GO=${GO:-go}
work=$(mktemp -d /tmp/gnomon-soak.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 $GO build -o "$work/gnomon" ./cmd/gnomon
$GO build -o "$work/ntpload" ./cmd/ntpload

"$work/gnomon" run --sim --ntp-listen "127.0.0.1:$NTP_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
	--control-socket "$work/gnomon.sock" --log-level warn 2>"$work/gnomon.log" &
pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" >/dev/null 2>&1 && break
	sleep 0.2
done
kill -0 "$pid" || { cat "$work/gnomon.log"; exit 1; }

# metric NAME: one value from /metrics (empty when absent).
metric() { grep -E "^$1 " "$work/metrics" | awk '{print $2}' | head -1; }

sample() {
	curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" >"$work/metrics" || : >"$work/metrics"
	rss_kib=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")
	threads=$(awk '/^Threads:/{print $2}' "/proc/$pid/status")
	fds=$(ls "/proc/$pid/fd" | wc -l)
	gor=$(metric go_goroutines)
	[ -n "$gor" ] || gor=?
}

sample
rss0=$rss_kib; gor0=$gor; fds0=$fds
echo "soak: $MINUTES min against gnomon run --sim (pid $pid) on 127.0.0.1:$NTP_PORT, ntpload $RATE/s from 127.0.0.2"
printf '%4s %9s %5s %7s %4s %9s %9s %8s %7s %6s\n' min rss_MB gorout threads fds load_sent load_ans polite mode6 junk
printf '%4s %9.2f %5s %7s %4s\n' 0 "$(echo "$rss0/1024" | bc -l)" "$gor" "$threads" "$fds"
declare -a rss_series
for m in $(seq 1 "$MINUTES"); do
	python3 scripts/soak_traffic.py 127.0.0.1 "$NTP_PORT" 57 "$m" >"$work/traffic" &
	tp=$!
	"$work/ntpload" -target "127.0.0.1:$NTP_PORT" -source 127.0.0.2 -sockets 4 -rate "$RATE" \
		-duration 55s -json -total 2m >"$work/load" 2>&1 || true
	wait "$tp" || true
	kill -0 "$pid" || { echo "soak: gnomon died"; tail -20 "$work/gnomon.log"; exit 1; }
	sample
	sent=$(python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(l["sent"], l["answered"]+l["kod"])' "$work/load" 2>/dev/null || echo "? ?")
	read -r polite mode6 junk <"$work/traffic" || { polite=?; mode6=?; junk=?; }
	rss_series+=("$rss_kib")
	printf '%4d %9.2f %5s %7s %4s %9s %9s %8s %7s %6s\n' "$m" "$(echo "$rss_kib/1024" | bc -l)" "$gor" "$threads" "$fds" \
		${sent} "$polite" "$mode6" "$junk"
done
n=${#rss_series[@]}
half=$((n / 2))
first=${rss_series[$half]}
last=${rss_series[$((n - 1))]}
span=$((n - 1 - half))
slope=0
[ "$span" -gt 0 ] && slope=$(echo "($last-$first)/1024/$span" | bc -l)
printf 'soak: RSS %.2f -> %.2f MB (second half %+.3f MB/min), goroutines %s -> %s, fds %s -> %s\n' \
	"$(echo "$rss0/1024" | bc -l)" "$(echo "$last/1024" | bc -l)" "$slope" "$gor0" "$gor" "$fds0" "$fds"
echo "soak: $(grep -c . "$work/gnomon.log" || true) log lines at warn and above, by message:"
sed -n 's/.*level=\([A-Z]*\) msg="\([^"]*\)".*/  \1 \2/p' "$work/gnomon.log" | sort | uniq -c | sort -rn | head -10
