#!/usr/bin/env python3
"""One minute of the soak's side traffic against gnomon on loopback.

Usage: soak_traffic.py HOST PORT SECONDS MINUTE

Sends, from 127.0.0.0/8 addresses only: a polite client request every 2 s
from 127.0.0.3 (counted answered), a mode 6 READVAR from 127.0.0.1 every 3 s
(counted answered), about 40 junk datagrams a second from changing
addresses (random bytes, short headers, bad versions, modes 0/5/6/7,
broken extension fields), and a sweep of 500 fresh source addresses with one
request each. Prints "polite_answered/sent mode6_answered/sent junk_sent".
"""
import os
import random
import socket
import struct
import sys
import time

host, port, seconds, minute = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
assert host.startswith("127."), "loopback only"
rng = random.Random(minute)
dst = (host, port)


def client_request(mode=3, version=4):
    pkt = bytearray(48)
    pkt[0] = (version << 3) | mode
    pkt[40:48] = os.urandom(8)
    return bytes(pkt)


def sock_from(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    s.setblocking(False)
    return s


def junk():
    kind = rng.randrange(7)
    if kind == 0:
        return os.urandom(rng.randrange(0, 120))
    if kind == 1:
        return client_request()[: rng.randrange(0, 48)]
    if kind == 2:
        return client_request(version=rng.choice([0, 5, 6, 7]))
    if kind == 3:
        return client_request(mode=rng.choice([0, 1, 2, 4, 5, 7]))
    if kind == 4:  # extension field whose length runs past the end
        return client_request() + struct.pack("!HH", 0x0104, 0xFFF0) + os.urandom(12)
    if kind == 5:  # mode 6 with a bogus count
        return struct.pack("!BBHHHHH", 0x16, rng.randrange(32), 1, 0, 0, 0, 0xFFFF) + os.urandom(rng.randrange(0, 40))
    return os.urandom(48)  # random 48 bytes: any mode


polite = sock_from("127.0.0.3")
mode6 = sock_from("127.0.0.1")
junk_socks = [sock_from("127.1.%d.%d" % (minute % 250, i + 1)) for i in range(8)]
counts = {"polite": [0, 0], "mode6": [0, 0], "junk": 0}


def drain(s, key):
    while True:
        try:
            b = s.recv(2048)
        except BlockingIOError:
            return
        if key == "polite" and len(b) >= 48 and b[0] & 7 == 4 and b[1] != 0:
            counts[key][0] += 1
        if key == "mode6" and len(b) >= 12 and b[0] & 7 == 6 and b[1] & 0x80:
            counts[key][0] += 1


# The sweep: 500 fresh addresses, one request each.
base = 10 + (minute // 125) % 100
for i in range(500):
    a = "127.%d.%d.%d" % (base, (minute * 2 + i // 250) % 250, i % 250 + 1)
    s = sock_from(a)
    try:
        s.sendto(client_request(), dst)
    except OSError:
        pass
    s.close()

start = time.monotonic()
next_polite = next_mode6 = start
while time.monotonic() - start < seconds:
    now = time.monotonic()
    if now >= next_polite:
        polite.sendto(client_request(), dst)
        counts["polite"][1] += 1
        next_polite += 2
    if now >= next_mode6:
        seq = counts["mode6"][1] + 1
        mode6.sendto(struct.pack("!BBHHHHH", 0x16, 2, seq & 0xFFFF, 0, 0, 0, 0), dst)
        counts["mode6"][1] += 1
        next_mode6 += 3
    for _ in range(2):
        s = rng.choice(junk_socks)
        try:
            s.sendto(junk(), dst)
            counts["junk"] += 1
        except OSError:
            pass
    drain(polite, "polite")
    drain(mode6, "mode6")
    for s in junk_socks:
        try:
            while s.recv(2048):
                pass
        except BlockingIOError:
            pass
    time.sleep(0.05)
time.sleep(0.3)
drain(polite, "polite")
drain(mode6, "mode6")
print("%d/%d %d/%d %d" % (counts["polite"][0], counts["polite"][1], counts["mode6"][0], counts["mode6"][1], counts["junk"]))
