#!/usr/bin/env python3
"""Flat and inclusive top functions of a `perf record` file, with the
program's own addresses resolved by addr2line.

Why: Debian's perf leaves addresses in a PIE binary built by meson
unresolved (it prints 0x5625... instead of the function); this maps them back
through the program's load address taken from the MMAP events.

  perf_top.py perf.data /path/to/simplead [--limit 25] [--children]
"""
import argparse
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("binary")
    ap.add_argument("--limit", type=int, default=25)
    ap.add_argument("--children", action="store_true", help="inclusive (caller) percentages")
    args = ap.parse_args()

    mmaps = subprocess.run(["perf", "script", "-i", args.data, "--show-mmap-events"], capture_output=True,
                           text=True).stdout
    base = None
    for line in mmaps.splitlines():
        if "PERF_RECORD_MMAP" in line and line.rstrip().endswith(args.binary):
            m = re.search(r"\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0) ", line)
            if m:
                start, off = int(m.group(1), 16), int(m.group(3), 16)
                cand = start - off
                base = cand if base is None else min(base, cand)
    mode = "--children" if args.children else "--no-children"
    report = subprocess.run(["perf", "report", "-i", args.data, mode, "--stdio", "-g", "none",
                             "--sort", "dso,sym", "--percent-limit", "0.3"], capture_output=True, text=True).stdout
    rows = []
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(\S+)\s+\[(.)\]\s+(.*)$", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(3), m.group(5).strip()
        if sym.startswith("0x") and base is not None and args.binary.endswith(dso):
            addr = int(sym, 16) - base
            out = subprocess.run(["addr2line", "-f", "-C", "-e", args.binary, hex(addr)], capture_output=True,
                                 text=True).stdout.splitlines()
            if out and out[0] != "??":
                sym = out[0]
        rows.append((pct, dso, sym))
    merged = {}
    for pct, dso, sym in rows:
        key = (dso, re.sub(r"\(.*", "", sym)[:110])
        merged[key] = merged.get(key, 0.0) + pct
    for (dso, sym), pct in sorted(merged.items(), key=lambda kv: -kv[1])[: args.limit]:
        print(f"{pct:6.2f}%  {dso[:22]:<22} {sym}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
