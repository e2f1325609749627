#!/usr/bin/env python3
"""Writes test addresses for the C tests and benchmark, one per line, from a fixed seed.

usage: gen_addrs.py AWS_JSON COUNT SEED [v4|v6|mixed]

Mixed (default): about 40% IPv4 inside published prefixes (including each chosen prefix's
first and last address), 25% random IPv4, 20% IPv6 inside prefixes, 10% random IPv6,
5% IPv4-mapped IPv6 forms of published IPv4 addresses. v4 / v6: half inside published
prefixes, half anywhere in the family's space (the shape of benches/lookup.rs).
"""
import ipaddress
import json
import random
import sys


def inside(rng, net):
    host = rng.getrandbits(net.max_prefixlen - net.prefixlen) if net.prefixlen < net.max_prefixlen else 0
    return net.network_address + host


def main():
    path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "mixed"
    data = json.load(open(path))
    v4 = [ipaddress.ip_network(p["ip_prefix"]) for p in data["prefixes"]]
    v6 = [ipaddress.ip_network(p["ipv6_prefix"]) for p in data["ipv6_prefixes"]]
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if mode == "v4":
            a = inside(rng, rng.choice(v4)) if i % 2 == 0 else ipaddress.IPv4Address(rng.getrandbits(32))
        elif mode == "v6":
            a = inside(rng, rng.choice(v6)) if i % 2 == 0 else ipaddress.IPv6Address(rng.getrandbits(128))
        else:
            r = rng.random()
            if r < 0.40:
                n = rng.choice(v4)
                k = rng.random()
                a = n.network_address if k < 0.1 else n.broadcast_address if k < 0.2 else inside(rng, n)
            elif r < 0.65:
                a = ipaddress.IPv4Address(rng.getrandbits(32))
            elif r < 0.85:
                a = inside(rng, rng.choice(v6))
            elif r < 0.95:
                a = ipaddress.IPv6Address(rng.getrandbits(128))
            else:
                a = "::ffff:" + str(inside(rng, rng.choice(v4)))
        out.append(str(a))
    sys.stdout.write("\n".join(out) + "\n")


main()
