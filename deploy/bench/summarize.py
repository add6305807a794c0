#!/usr/bin/env python3
"""Prints compare.sh's table from its results directory (ldapbench --json files
named SERVER.WORKLOAD.REP.json plus meta.json): medians over the repetitions of
ops/s and p99 per server, the ratio SimpleAD/OpenLDAP, errors, client CPU;
then bulk-load time, data size on disk and RSS. Exits 1 when any run reported
an error or is missing. Standard library only."""
import argparse
import glob
import json
import os
import statistics
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    with open(os.path.join(args.results, "meta.json")) as f:
        meta = json.load(f)
    servers = ["openldap"] + (["simplead"] if meta.get("simplead") else [])
    workloads = meta["workloads"].split(",")
    runs = {}  # (server, workload) -> [result]
    bad = False
    for path in sorted(glob.glob(os.path.join(args.results, "*.json"))):
        name = os.path.basename(path)
        if name == "meta.json":
            continue
        server, workload, _rep, _ = name.split(".")
        try:
            with open(path) as f:
                runs.setdefault((server, workload), []).append(json.load(f))
        except (ValueError, OSError):
            print(f"compare: {name}: no result (ldapbench failed, see its .log)", file=sys.stderr)
            bad = True

    def med(server, workload, get):
        values = [get(r) for r in runs.get((server, workload), [])]
        return statistics.median(values) if values else None

    def errors(server, workload):
        return sum(r["errors"]["total"] for r in runs.get((server, workload), []))

    table = []
    for w in workloads:
        row = {"workload": w}
        for s in servers:
            if not runs.get((s, w)):
                bad = True
            row[s] = {
                "ops_per_s": med(s, w, lambda r: r["ops_per_s"]),
                "p99_ms": med(s, w, lambda r: r["latency_us"]["p99"] / 1000.0),
                "errors": errors(s, w),
                "client_cpu_pct": med(s, w, lambda r: r["client"]["cpu_pct"]),
                "server_cpu_pct": med(s, w, lambda r: r.get("server", {}).get("cpu_pct", 0.0)),
                "server_us_per_op": med(s, w, lambda r: r.get("server", {}).get("cpu_us_per_op", 0.0)),
            }
            if row[s]["errors"]:
                bad = True
        o, s_ = row["openldap"]["ops_per_s"], row.get("simplead", {}).get("ops_per_s")
        row["ratio"] = (s_ / o) if (o and s_ is not None) else None
        table.append(row)

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print()
    print(f"{meta['users']} users ({meta['style']}), {meta['duration_s']} s per run, median of {meta['repeat']}, "
          f"{meta['connections']} conn x {meta['depth']} outstanding, client {meta['threads']} thread(s) on CPUs "
          f"{meta['client_cpus']}, servers on CPUs {meta['server_cpus']}")
    if "simplead" in servers:
        print(f"{'workload':<11} {'OpenLDAP op/s':>13} {'SimpleAD op/s':>13} {'ratio':>6}  "
              f"{'p99 OL ms':>9} {'p99 SA ms':>9}  {'srv us/op OL/SA':>15}  {'errors':>7}  {'client cpu':>10}")
    else:
        print(f"{'workload':<11} {'OpenLDAP op/s':>13}  {'p99 ms':>8}  {'srv cpu':>7}  {'srv us/op':>9}  "
              f"{'errors':>6}  {'client cpu':>10}")
    for row in table:
        o = row["openldap"]
        if "simplead" in servers:
            s = row["simplead"]
            print(f"{row['workload']:<11} {fmt(o['ops_per_s'], '13.0f')} {fmt(s['ops_per_s'], '13.0f')} "
                  f"{fmt(row['ratio'], '6.2f')}  {fmt(o['p99_ms'], '9.2f')} {fmt(s['p99_ms'], '9.2f')}  "
                  f"{fmt(o['server_us_per_op'], '7.0f')}/{fmt(s['server_us_per_op'], '<7.0f')}  "
                  f"{o['errors']:>3}/{s['errors']:<3}  "
                  f"{fmt(o['client_cpu_pct'], '4.0f')}%/{fmt(s['client_cpu_pct'], '.0f')}%")
        else:
            print(f"{row['workload']:<11} {fmt(o['ops_per_s'], '13.0f')}  {fmt(o['p99_ms'], '8.2f')}  "
                  f"{fmt(o['server_cpu_pct'], '6.0f')}%  {fmt(o['server_us_per_op'], '9.1f')}  "
                  f"{o['errors']:>6}  {fmt(o['client_cpu_pct'], '9.0f')}%")
    print()
    ol, sa = meta["openldap"], meta.get("simplead")
    quick = " -q" if meta.get("slapadd_quick") else ""
    print(f"{'':<24} {'OpenLDAP':>12} {'SimpleAD':>12} {'ratio':>6}")

    def line(label, a, b, spec, div=1.0):
        av = a / div if a is not None else None
        bv = b / div if b is not None else None
        r = (bv / av) if (av and bv is not None) else None
        print(f"{label:<24} {fmt(av, spec):>12} {fmt(bv, spec):>12} {fmt(r, '6.2f'):>6}")

    line(f"bulk load s (slapadd{quick})", ol["load_s"], sa and sa["load_s"], ".2f")
    line("data on disk MiB", ol["disk_kib"], sa and sa["disk_kib"], ".1f", 1024.0)
    line("RSS after runs MiB", ol["rss_kib"], sa and sa["rss_kib"], ".1f", 1024.0)
    line("peak RSS MiB", ol["hwm_kib"], sa and sa["hwm_kib"], ".1f", 1024.0)
    first = meta.get("first_bind_pass") or {}
    if first:
        fo, fs = first.get("openldap") or {}, first.get("simplead") or {}
        line("first bind, every user s", fo.get("seconds"), fs.get("seconds"), ".2f")
        for name, r in (("openldap", fo), ("simplead", fs)):
            if r.get("errors"):
                print(f"compare: first bind pass on {name}: {r['errors']} error(s), first: {r.get('first_error')}",
                      file=sys.stderr)
                bad = True
    print(f"simplead password hash: {meta.get('simplead_hash', '?')}"
          f"{ {'ssha': ' ({SSHA}, as OpenLDAP)', 'engine': ' ({SSHA}, as OpenLDAP)', 'argon2-min': ' (cheapest Argon2id, after one upgrade bind per user)'}.get(meta.get('simplead_hash'), '')}"
          f"; load average at the end: {meta.get('load_average', '?')}")
    if not sa:
        print("(SimpleAD not run: no simplead binary given or built)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"meta": meta, "table": table}, f, indent=2)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
