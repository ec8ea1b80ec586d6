#!/usr/bin/env python3
"""Turns `cargo bench -p ferrosocket-core --bench protocol` output into a Markdown table
of medians and ratios against the peers measured in the same run.

    cargo bench -p ferrosocket-core --bench protocol -- --noplot > bench/results/core-bench.txt
    python3 bench/core_table.py bench/results/core-bench.txt
"""
import re
import sys

UNITS = {"ps": 1e-6, "ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}


def medians(text):
    out = {}
    pat = re.compile(r"^(\S[^\n]*?)\s*\n?\s*time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", re.M)
    for m in pat.finditer(text):
        out[m.group(1).strip()] = float(m.group(2)) * UNITS[m.group(3)]
    return out


def main(path):
    res = medians(open(path, encoding="utf-8").read())
    print("| group | size | ferrosocket (µs) | tungstenite (µs) | fastwebsockets (µs) | × tungstenite | × fastwebsockets |")
    print("|---|---|---|---|---|---|---|")
    for name, ours in res.items():
        parts = name.split("/")
        if len(parts) != 3 or not parts[1].startswith("ferrosocket"):
            continue
        group, who, size = parts
        t = res.get(f"{group}/tungstenite/{size}")
        f = res.get(f"{group}/fastwebsockets/{size}")
        if not t and not f:
            continue
        ratio = lambda peer: f"{peer / ours:.2f}×" if peer else "–"
        fmt = lambda v: f"{v:.2f}" if v else "–"
        label = group if who == "ferrosocket" else f"{group} ({who[len('ferrosocket-'):]})"
        print(f"| {label} | {size} | {ours:.2f} | {fmt(t)} | {fmt(f)} | {ratio(t)} | {ratio(f)} |")
    for name, v in res.items():
        if name.startswith(("unmask/", "utf8", "deflate")):
            print(f"\n`{name}`: {v:.3f} µs", end="")
    print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/core-bench.txt")
