#!/usr/bin/env python3
"""Binds as every user of an ldapdatagen data set exactly once and checks each
result: the "first bind" pass compare.sh runs before the bind workloads.

Why: SimpleAD upgrades an imported {SSHA} verifier to its current scheme on
the first successful bind (one hash plus one synced write per user), so the
first bind of a user costs far more than the following ones. Running this pass
against both servers before measuring keeps the one-time upgrade out of the
steady-state bind figures, and its duration is reported on its own.

Prints one JSON object: {"binds": N, "seconds": S, "errors": E, "first_error": "..."}.
Exit status 0 when every bind succeeded, 2 otherwise. python3-ldap only.
"""
import argparse
import json
import sys
import threading
import time

import ldap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-H", "--url", required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--user-dn-template", required=True, help="e.g. uid=user{n},ou=people,dc=example,dc=com")
    ap.add_argument("--password-template", default="Pass{n}!word")
    ap.add_argument("-c", "--connections", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    args = ap.parse_args()

    lock = threading.Lock()
    state = {"next": 1, "done": 0, "errors": 0, "first_error": ""}
    deadline = time.monotonic() + args.timeout

    def take():
        with lock:
            n = state["next"]
            if n > args.users or time.monotonic() > deadline:
                return None
            state["next"] = n + 1
            return n

    def worker():
        conn = ldap.initialize(args.url)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
        conn.set_option(ldap.OPT_TIMEOUT, 60)
        while (n := take()) is not None:
            dn = args.user_dn_template.replace("{n}", str(n))
            pw = args.password_template.replace("{n}", str(n))
            try:
                conn.simple_bind_s(dn, pw)
                with lock:
                    state["done"] += 1
            except ldap.LDAPError as e:  # every result code other than success is an error
                with lock:
                    state["errors"] += 1
                    if not state["first_error"]:
                        state["first_error"] = f"{dn}: {e}"
                try:
                    conn.unbind_s()
                except ldap.LDAPError:
                    pass
                conn = ldap.initialize(args.url)
        try:
            conn.unbind_s()
        except ldap.LDAPError:
            pass

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, args.connections))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    missing = args.users - state["done"] - state["errors"]
    errors = state["errors"] + max(0, missing)
    print(json.dumps({"binds": state["done"], "seconds": round(seconds, 3), "errors": errors,
                      "first_error": state["first_error"] or ("timeout" if missing else "")}))
    return 0 if errors == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
