#!/usr/bin/env bash
# profile.sh: where a running simplead spends its CPU, per workload.
#
# For each workload: runs ldapbench against the server for --duration seconds
# and samples the server with `perf record --call-graph dwarf` meanwhile, then
# prints the top functions by self time and by inclusive time (perf_top.py).
# The server must already run (e.g. from `compare.sh --keep`); give its pid.
#
#   deploy/bench/profile.sh --pid PID --url ldap://127.0.0.1:PORT --binary build/server/simplead \
#     --password ADMINPW --users 10000 [--workloads search-eq,bind] [--duration 5]
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
PID="" URL="" BINARY="" PASSWORD="" USERS=10000 WORKLOADS=search-eq,search-sub,read-base,bind,modify
DURATION=5 STYLE=plain LDAPBENCH="$REPO_DIR/build/tests/bench/ldapbench" OUT="" CLIENT_CPUS=0 LIMIT=18
while [[ $# -gt 0 ]]; do
  case $1 in
    --pid) PID=$2; shift 2 ;;
    --url) URL=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    --password) PASSWORD=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --style) STYLE=$2; shift 2 ;;
    --ldapbench) LDAPBENCH=$2; shift 2 ;;
    --client-cpus) CLIENT_CPUS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --limit) LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
[[ -n $PID && -n $URL && -n $BINARY && -n $PASSWORD ]] || { echo "profile.sh: --pid, --url, --binary, --password" >&2; exit 64; }
command -v perf >/dev/null || { echo "profile.sh: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
: "${OUT:=$(mktemp -d "${TMPDIR:-/tmp}/simplead-profile.XXXXXX")}"
mkdir -p "$OUT"
IFS=, read -r -a LIST <<<"$WORKLOADS"
for wl in "${LIST[@]}"; do
  taskset -c "$CLIENT_CPUS" "$LDAPBENCH" "$wl" -H "$URL" -w "$PASSWORD" --style "$STYLE" --users "$USERS" \
    -c 8 -d 4 -T 1 -t "$((DURATION + 2))" --warmup 0.5 --server-pid "$PID" >"$OUT/$wl.bench" 2>&1 &
  bench=$!
  sleep 1
  perf record -q -F 499 --call-graph dwarf,16384 -p "$PID" -o "$OUT/$wl.data" -- sleep "$DURATION" >/dev/null 2>&1
  wait "$bench" || true
  echo "=== $wl: $(grep -m1 'ops/s' "$OUT/$wl.bench" | sed 's/^ *//')"
  echo "--- self"
  python3 "$SCRIPT_DIR/perf_top.py" "$OUT/$wl.data" "$BINARY" --limit "$LIMIT"
  echo "--- inclusive"
  python3 "$SCRIPT_DIR/perf_top.py" "$OUT/$wl.data" "$BINARY" --limit "$LIMIT" --children
done
echo "perf data in $OUT"
