#!/usr/bin/env bash
# bind_cost.sh: what the password hash costs per simple bind on simplead.
#
# Loads N users with {SSHA} verifiers into one simplead data directory, then
# for each hash setting, cheapest first: starts simplead with it, binds as
# every user once (bind_each.py: this upgrades every verifier to the setting,
# one hash and one synced write per user), then measures steady-state binds
# (ldapbench bind). Because simplead only re-hashes a verifier that is weaker
# than the current setting, going from cheap to expensive upgrades every user
# at each step. Prints one line per setting: upgrade pass time, binds/s, p50,
# p99, server CPU per bind.
#
#   deploy/bench/bind_cost.sh --simplead build/server/simplead [--users 1000] [--duration 5]
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)

USERS=1000 DURATION=5 WARMUP=1 CONNS=4 DEPTH=2 SIMPLEAD="" BUILD_DIR="$REPO_DIR/build" WORKDIR=""
# "label|simplead flags", cheapest first (each must be at least as costly as the one before).
SETTINGS=(
  "{SSHA} kept (--password-scheme ssha, benchmarks only)|--password-scheme ssha"
  "argon2id m=8KiB t=1|--argon2-memory-kib 8 --argon2-iterations 1"
  "argon2id m=1MiB t=1|--argon2-memory-kib 1024 --argon2-iterations 1"
  "argon2id m=4MiB t=2|--argon2-memory-kib 4096 --argon2-iterations 2"
  "argon2id m=19MiB t=2 (default)|"
  "argon2id m=64MiB t=3|--argon2-memory-kib 65536 --argon2-iterations 3"
)
while [[ $# -gt 0 ]]; do
  case $1 in
    --users) USERS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --simplead) SIMPLEAD=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --server-cpus) SERVER_CPUS=$2; shift 2 ;;
    --client-cpus) CLIENT_CPUS=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bind_cost.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
: "${SIMPLEAD:=$BUILD_DIR/server/simplead}"
SIMPLEAD_ADMIN=$(dirname "$SIMPLEAD")/simplead-admin
LDAPBENCH=$BUILD_DIR/tests/bench/ldapbench
LDAPDATAGEN=$BUILD_DIR/tests/bench/ldapdatagen
for t in "$SIMPLEAD" "$SIMPLEAD_ADMIN" "$LDAPBENCH" "$LDAPDATAGEN"; do [[ -x $t ]] || { echo "missing $t" >&2; exit 1; }; done
NCPU=$(nproc)
: "${SERVER_CPUS:=$((NCPU / 2))-$((NCPU - 1))}" "${CLIENT_CPUS:=0-$((NCPU / 2 - 1))}"
[[ $NCPU -ge 2 ]] || { SERVER_CPUS=0 CLIENT_CPUS=0; }

REMOVE=0
if [[ -z $WORKDIR ]]; then WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/simplead-bindcost.XXXXXX"); REMOVE=1; fi
mkdir -p "$WORKDIR"
PID=""
cleanup() {
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  [[ $REMOVE == 1 ]] && rm -rf "$WORKDIR"
  return 0
}
trap cleanup EXIT

PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3
SUFFIX="dc=example,dc=com" ADMIN_DN="cn=admin,dc=example,dc=com" ADMIN_PW="Bench-Admin-$RANDOM$RANDOM!"
D=$WORKDIR/data
mkdir -p "$D"
"$LDAPDATAGEN" --users "$USERS" --style plain --seed 1 --skeleton containers -o "$WORKDIR/data.ldif"
SIMPLEAD_ADMIN_PASSWORD="$ADMIN_PW" "$SIMPLEAD_ADMIN" init --data-dir "$D" --suffix "$SUFFIX" >/dev/null
"$SIMPLEAD_ADMIN" import "$WORKDIR/data.ldif" --quiet --data-dir "$D" --suffix "$SUFFIX" >/dev/null

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
printf '%-32s %12s %10s %9s %9s %12s %7s\n' setting "upgrade s" "binds/s" "p50 ms" "p99 ms" "srv us/bind" errors
for setting in "${SETTINGS[@]}"; do
  label=${setting%%|*} flags=${setting#*|}
  P=$(port)
  # shellcheck disable=SC2086
  taskset -c "$SERVER_CPUS" "$SIMPLEAD" --data-dir "$D" --suffix "$SUFFIX" --listen "127.0.0.1:$P" --ldaps-listen '' \
    --sync-writes true --access-log '' --log-level warn $flags >"$WORKDIR/simplead.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do ldapsearch -x -H "ldap://127.0.0.1:$P" -s base -b "" -LLL >/dev/null 2>&1 && break; sleep 0.1; done
  up=$(taskset -c "$CLIENT_CPUS" "$PY" "$SCRIPT_DIR/bind_each.py" -H "ldap://127.0.0.1:$P" --users "$USERS" \
    --user-dn-template "uid=user{n},ou=people,$SUFFIX" -c 4)
  up_s=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$up")
  out=$(taskset -c "$CLIENT_CPUS" "$LDAPBENCH" bind --json -H "ldap://127.0.0.1:$P" -D "$ADMIN_DN" -w "$ADMIN_PW" \
    --users "$USERS" -c "$CONNS" -d "$DEPTH" -T 1 -t "$DURATION" --warmup "$WARMUP" --server-pid "$PID" 2>/dev/null) || true
  "$PY" - "$label" "$up_s" "$out" <<'EOF'
import json, sys
label, up, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
r = json.loads(out)
print(f"{label:<32} {up:12.2f} {r['ops_per_s']:10.0f} {r['latency_us']['p50']/1000:9.2f} "
      f"{r['latency_us']['p99']/1000:9.2f} {r['server'].get('cpu_us_per_op', 0):12.0f} {r['errors']['total']:7d}")
EOF
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
done
