"""Client-side offset table of scripts/bench-server.sh.

Reads "name rate start end" windows (Unix seconds) on stdin and each
server's chronyd client measurements log under the work directory given,
and prints per load the mean, RMS and worst offset (µs) the client measured
against this machine's clock, gnomon beside chronyd. A window's first and
last second are left out (the load starting and stopping).
"""
import calendar
import math
import sys
import time


def samples(path):
    """(unix seconds, offset µs) of every measurement in a chronyd log."""
    out = []
    try:
        f = open(path)
    except OSError:
        return out
    with f:
        for line in f:
            p = line.split()
            if len(p) < 12 or not p[0][:1].isdigit() or p[2] != "127.0.0.1":
                continue
            try:
                t = calendar.timegm(time.strptime(p[0] + " " + p[1], "%Y-%m-%d %H:%M:%S"))
                out.append((t, float(p[11]) * 1e6))
            except ValueError:
                continue
    return out


def main():
    work = sys.argv[1]
    logs = {}
    rows = {}
    for line in sys.stdin:
        name, rate, start, end = line.split()
        if name not in logs:
            logs[name] = samples(f"{work}/client-{name}/measurements.log")
        xs = [o for t, o in logs[name] if int(start) < t < int(end) - 1]
        rows.setdefault(int(rate), {})[name] = xs

    def cell(xs):
        if not xs:
            return "no samples"
        mean = sum(xs) / len(xs)
        rms = math.sqrt(sum(x * x for x in xs) / len(xs))
        worst = max(xs, key=abs)
        return f"{mean:+.2f} / {rms:.2f} / {worst:+.1f} ({len(xs)})"

    print("client-side offset (chronyd client, kernel timestamps, 16 polls/s): mean / RMS / worst µs (samples)")
    print(f"{'load':>10}  {'gnomon':>34}  {'chronyd':>34}")
    for rate in sorted(rows):
        r = rows[rate]
        load = "idle" if rate == 0 else f"{rate}/s"
        print(f"{load:>10}  {cell(r.get('gnomon', [])):>34}  {cell(r.get('chronyd', [])):>34}")


main()
