#!/usr/bin/env bash
# compare.sh: SimpleAD against OpenLDAP back-mdb, side by side, in one command.
#
# Generates one data set (ldapdatagen), loads it into a private OpenLDAP
# back-mdb instance (slapadd) and, when a simplead binary is available, into
# SimpleAD (simplead-admin import); starts both on loopback ports chosen at run
# time, pinned to the same cores; runs every workload (ldapbench) against both
# in alternation, K times; prints a table of medians. Same indexes, same
# {SSHA} password hashes, synced commits on both. Everything runs under one
# work directory and stops by itself (trap; bounded durations).
#
#   deploy/bench/compare.sh --users 10000            # full comparison
#   deploy/bench/compare.sh --smoke                  # CI: ~0.5 s per workload, fails on any error
#   deploy/bench/compare.sh --help
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)

# ============================================================================
# >>> SimpleAD invocation: the ONLY place that knows simplead's flags. <<<
# The server's command line may change; adjust these functions and nothing else.
#   simplead_skeleton     which skeleton entries the LDIF must carry: `init`
#                         creates the suffix and cn=admin (plain) or the whole
#                         domain skeleton with CN=Users and CN=Administrator (AD)
#   simplead_import LDIF DIR     create the directory, then bulk-load the LDIF
#   simplead_start DIR PORT      run the server in the foreground
# Admin credentials come from $ADMIN_DN / $ADMIN_PW (the same as OpenLDAP's).
#
# Password hashes: the issue asks for {SSHA} on both servers for the engine
# comparison. --simplead-hash ssha (the default) runs simplead with
# --password-scheme ssha (benchmarks and migrations only): it verifies the
# imported {SSHA} values and keeps them, as OpenLDAP does. argon2-min is the
# cheapest Argon2id simplead accepts (8 KiB, 1 pass; imported {SSHA} values are
# upgraded on the first bind, which the bind pass below pays before
# measuring); default keeps simplead's secure defaults (19 MiB, 2 passes).
# ============================================================================
simplead_skeleton() { if [[ $STYLE == ad ]]; then echo none; else echo containers; fi; }
simplead_identity_flags() {
  if [[ $STYLE == ad ]]; then echo --domain "$DOMAIN"; else echo --suffix "$SUFFIX"; fi
}
simplead_hash_flags() {
  case $SIMPLEAD_HASH in
    ssha | engine) echo --password-scheme ssha ;;
    argon2-min) echo --argon2-memory-kib 8 --argon2-iterations 1 ;;
    default) ;;
  esac
}
simplead_import() {
  local admin_dn=()
  [[ $STYLE == ad ]] || admin_dn=(--admin-dn "$ADMIN_DN")
  mkdir -p "$2"
  # shellcheck disable=SC2046
  SIMPLEAD_ADMIN_PASSWORD="$ADMIN_PW" "$SIMPLEAD_ADMIN" init --data-dir "$2" $(simplead_identity_flags) \
    "${admin_dn[@]}" || return
  # shellcheck disable=SC2046
  "$SIMPLEAD_ADMIN" import "$1" --quiet --data-dir "$2" $(simplead_identity_flags)
}
simplead_start() {
  local admin_dn=()
  [[ $STYLE == ad ]] || admin_dn=(--admin-dn "$ADMIN_DN")
  # shellcheck disable=SC2046
  SIMPLEAD_ADMIN_PASSWORD="$ADMIN_PW" exec "$SIMPLEAD" --data-dir "$1" --listen "127.0.0.1:$2" --ldaps-listen '' \
    $(simplead_identity_flags) "${admin_dn[@]}" --sync-writes true --access-log '' --log-level warn \
    $(simplead_hash_flags) $SIMPLEAD_ARGS
}
# ============================================================================

usage() {
  cat <<EOF
usage: $0 [options]
  --users N            users in the data set (default 10000; smoke: 1000)
  --groups M           groups (default users/100)
  --style plain|ad     naming and object classes (default plain)
  --duration S         measured seconds per run (default 10; smoke: 0.5)
  --warmup S           warm-up seconds per run (default 2; smoke: 0.2)
  --repeat K           runs per workload and server; the table shows medians (default 3; smoke: 1)
  --connections C      ldapbench -c (default 8)
  --depth D            ldapbench -d (default 4)
  --threads T          ldapbench -T (default: number of client CPUs)
  --workloads LIST     comma-separated (default: bind,search-eq,search-sub,read-base,modify,add-delete,mixed,connect)
  --server-cpus LIST   taskset CPU list for both servers (default: the upper half of the CPUs)
  --client-cpus LIST   taskset CPU list for ldapbench (default: the other CPUs)
  --simplead PATH      simplead binary (default: \$BUILD_DIR/server/simplead if it exists)
  --simplead-admin PATH  (default: simplead-admin next to --simplead)
  --no-simplead        OpenLDAP alone
  --simplead-hash ssha|argon2-min|default
                       ssha (default; "engine" is an alias): {SSHA} kept as imported, as on OpenLDAP;
                       argon2-min: cheapest Argon2id (8 KiB, t=1); default: simplead's own (19 MiB, t=2),
                       the cost a real deployment pays
  --simplead-args "..." extra simplead flags (e.g. "--block-cache-mb 512 --entry-cache 200000")
  --no-bind-pass       skip binding every user once before the runs (bind_each.py)
  --build-dir DIR      where ldapbench/ldapdatagen/simplead were built (default: $REPO_DIR/build)
  --slapadd-full       slapadd without -q (quick mode is the default, as for any large import)
  --workdir DIR        keep everything there (default: a temporary directory, removed at exit)
  --keep               do not remove the work directory
  --json-out FILE      also write the summary as JSON
  --smoke              CI check: 1,000 users, ~0.5 s per workload, exits non-zero on any error
EOF
}

# ---- options ----
USERS="" GROUPS_N="" STYLE=plain DURATION="" WARMUP="" REPEAT="" CONNS=8 DEPTH=4 THREADS=""
WORKLOADS=bind,search-eq,search-sub,read-base,modify,add-delete,mixed,connect
SERVER_CPUS="" CLIENT_CPUS="" SIMPLEAD="" SIMPLEAD_ADMIN="" NO_SIMPLEAD=0 BUILD_DIR="$REPO_DIR/build"
SLAPADD_QUICK=1 WORKDIR="" KEEP=0 JSON_OUT="" SMOKE=0 SIMPLEAD_HASH=ssha SIMPLEAD_ARGS="" BIND_PASS=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --users) USERS=$2; shift 2 ;;
    --groups) GROUPS_N=$2; shift 2 ;;
    --style) STYLE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --depth) DEPTH=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --server-cpus) SERVER_CPUS=$2; shift 2 ;;
    --client-cpus) CLIENT_CPUS=$2; shift 2 ;;
    --simplead) SIMPLEAD=$2; shift 2 ;;
    --simplead-admin) SIMPLEAD_ADMIN=$2; shift 2 ;;
    --no-simplead) NO_SIMPLEAD=1; shift ;;
    --simplead-hash) SIMPLEAD_HASH=$2; shift 2 ;;
    --simplead-args) SIMPLEAD_ARGS=$2; shift 2 ;;
    --no-bind-pass) BIND_PASS=0; shift ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --slapadd-full) SLAPADD_QUICK=0; shift ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --json-out) JSON_OUT=$2; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
if [[ $SMOKE == 1 ]]; then
  : "${USERS:=1000}" "${DURATION:=0.5}" "${WARMUP:=0.2}" "${REPEAT:=1}"
  CONNS=2 DEPTH=2
fi
: "${USERS:=10000}" "${DURATION:=10}" "${WARMUP:=2}" "${REPEAT:=3}"
[[ $STYLE == plain || $STYLE == ad ]] || { echo "compare.sh: --style plain|ad" >&2; exit 64; }
[[ $SIMPLEAD_HASH =~ ^(ssha|engine|argon2-min|default)$ ]] ||
  { echo "compare.sh: --simplead-hash ssha|argon2-min|default" >&2; exit 64; }

# Debugging allocators (meson test sets MALLOC_PERTURB_) would be measured too.
unset MALLOC_PERTURB_ MALLOC_CHECK_

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3

# ---- naming: must match ldapdatagen's defaults for the style ----
if [[ $STYLE == ad ]]; then
  SUFFIX="DC=corp,DC=example,DC=com" DOMAIN=corp.example.com ADMIN_DN="CN=Administrator,CN=Users,DC=corp,DC=example,DC=com"
else
  SUFFIX="dc=example,dc=com" DOMAIN=example.com ADMIN_DN="cn=admin,dc=example,dc=com"
fi
ADMIN_PW="Bench-Admin-$RANDOM$RANDOM!"

# ---- packages: slapd and ldap-utils from Debian, installed once ----
ensure_packages() {
  local missing=()
  command -v slapd >/dev/null || [[ -x /usr/sbin/slapd ]] || missing+=(slapd)
  command -v ldapsearch >/dev/null || missing+=(ldap-utils)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  # Keep the package's own slapd from asking questions; it is not used here.
  echo "slapd slapd/no_configuration boolean true" | $sudo debconf-set-selections 2>/dev/null || true
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
}
ensure_packages
export PATH="$PATH:/usr/sbin:/sbin"
command -v taskset >/dev/null || die "taskset (util-linux) is missing"

# ---- work directory and clean-up ----
if [[ -z $WORKDIR ]]; then
  WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/simplead-bench.XXXXXX")
  [[ $KEEP == 1 ]] || REMOVE_WORKDIR=1
else
  mkdir -p "$WORKDIR"
fi
REMOVE_WORKDIR=${REMOVE_WORKDIR:-0}
WORKDIR=$(cd "$WORKDIR" && pwd)
# A kept work directory records the (throw-away) admin password, so that the
# servers can be restarted on it for profiling (deploy/bench/profile.sh).
if [[ $REMOVE_WORKDIR == 0 ]]; then (umask 077; printf '%s\n' "$ADMIN_PW" >"$WORKDIR/admin-password"); fi
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ $REMOVE_WORKDIR == 1 ]]; then rm -rf "$WORKDIR"; else log "work directory kept: $WORKDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools: built by meson, else compiled here (a few seconds of g++) ----
find_tool() {
  local name=$1 candidate
  for candidate in "$BUILD_DIR/tests/bench/$name" "$REPO_DIR"/build*/tests/bench/"$name"; do
    [[ -x $candidate ]] && { echo "$candidate"; return; }
  done
  local src="$REPO_DIR/tests/bench" out="$WORKDIR/bin/$name"
  mkdir -p "$WORKDIR/bin"
  log "building $name with g++ (no meson build found)"
  if [[ $name == ldapbench ]]; then
    g++ -std=c++20 -O2 -I"$REPO_DIR" "$src/ldapbench.cc" "$src/naming.cc" -lldap -llber -pthread -o "$out"
  else
    g++ -std=c++20 -O2 -I"$REPO_DIR" "$src/ldapdatagen.cc" "$src/naming.cc" -lcrypto -o "$out"
  fi
  echo "$out"
}
LDAPBENCH=$(find_tool ldapbench)
LDAPDATAGEN=$(find_tool ldapdatagen)

if [[ $NO_SIMPLEAD == 0 && -z $SIMPLEAD && -x $BUILD_DIR/server/simplead ]]; then SIMPLEAD=$BUILD_DIR/server/simplead; fi
[[ $NO_SIMPLEAD == 1 ]] && SIMPLEAD=""
if [[ -n $SIMPLEAD ]]; then
  [[ -x $SIMPLEAD ]] || die "--simplead $SIMPLEAD is not executable"
  : "${SIMPLEAD_ADMIN:=$(dirname "$SIMPLEAD")/simplead-admin}"
  [[ -x $SIMPLEAD_ADMIN ]] || die "simplead-admin not found at $SIMPLEAD_ADMIN (use --simplead-admin)"
fi

# ---- CPU pinning: servers on one set of cores, the client on the others ----
NCPU=$(nproc)
if [[ -z $SERVER_CPUS ]]; then
  if [[ $NCPU -ge 2 ]]; then SERVER_CPUS="$((NCPU / 2))-$((NCPU - 1))"; else SERVER_CPUS=0; fi
fi
if [[ -z $CLIENT_CPUS ]]; then
  if [[ $NCPU -ge 2 ]]; then CLIENT_CPUS="0-$((NCPU / 2 - 1))"; else CLIENT_CPUS=0; fi
fi
if [[ -z $THREADS ]]; then
  THREADS=$(taskset -c "$CLIENT_CPUS" nproc)
fi

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_ready() {  # url pid name
  local _
  for _ in $(seq 200); do
    kill -0 "$2" 2>/dev/null || return 1
    ldapsearch -x -H "$1" -s base -b "" -LLL namingContexts >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

log "work directory $WORKDIR; servers on CPUs $SERVER_CPUS, ldapbench on CPUs $CLIENT_CPUS ($THREADS threads); load average $(cut -d" " -f1-3 /proc/loadavg)"
[[ -n $SIMPLEAD ]] || log "simplead not available (no --simplead, no $BUILD_DIR/server/simplead): OpenLDAP alone"

# ---- data ----
GEN_ARGS=(--users "$USERS" --style "$STYLE" --suffix "$SUFFIX" --seed 1)
[[ -n $GROUPS_N ]] && GEN_ARGS+=(--groups "$GROUPS_N")
t0=$(now)
"$LDAPDATAGEN" "${GEN_ARGS[@]}" --skeleton all -o "$WORKDIR/data-openldap.ldif"
log "generated $USERS users in $(elapsed "$t0" "$(now)") s ($(du -h "$WORKDIR/data-openldap.ldif" | cut -f1) LDIF)"

# ---- OpenLDAP back-mdb ----
O=$WORKDIR/openldap
mkdir -p "$O/db"
ROOTPW_HASH=$(slappasswd -h '{SSHA}' -s "$ADMIN_PW")
cat >"$O/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $SCRIPT_DIR/ad-bench.schema
pidfile $O/slapd.pid
argsfile $O/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
password-hash {SSHA}
sizelimit unlimited

database mdb
maxsize 68719476736
suffix "$SUFFIX"
rootdn "$ADMIN_DN"
rootpw $ROOTPW_HASH
directory $O/db
# Commits are synced (no dbnosync), as SimpleAD's --sync-writes true.
# SimpleAD's default indexes (DefaultIndexes() in server/backend/directory.cc;
# backend_test checks this list against it), less those on attributes
# OpenLDAP's schema lacks here: memberOf, objectGUID, objectSid,
# servicePrincipalName, employeeID, msDS-PSOAppliesTo, simpleadAccessRule.
index objectClass eq
index cn,sn,givenName,uid,mail,displayName,sAMAccountName,userPrincipalName eq,sub
index member,uniqueMember,memberUid,uidNumber,gidNumber,entryUUID,ou,dc eq
index telephoneNumber eq,pres
index userPassword pres
EOF
slaptest -Q -u -f "$O/slapd.conf" || die "slapd.conf rejected (see above)"
SLAPADD_FLAGS=(); [[ $SLAPADD_QUICK == 1 ]] && SLAPADD_FLAGS=(-q)
t0=$(now)
taskset -c "$SERVER_CPUS" slapadd "${SLAPADD_FLAGS[@]}" -f "$O/slapd.conf" -l "$WORKDIR/data-openldap.ldif" \
  >"$O/slapadd.log" 2>&1 || { cat "$O/slapadd.log" >&2; die "slapadd failed"; }
OPENLDAP_LOAD_S=$(elapsed "$t0" "$(now)")
OPENLDAP_DU_KIB=$(du -sk "$O/db" | cut -f1)
log "slapadd ${SLAPADD_FLAGS[*]}: $OPENLDAP_LOAD_S s, $((OPENLDAP_DU_KIB / 1024)) MiB on disk"
OPENLDAP_PORT=$(free_port)
OPENLDAP_URL="ldap://127.0.0.1:$OPENLDAP_PORT"
taskset -c "$SERVER_CPUS" slapd -d 0 -f "$O/slapd.conf" -h "$OPENLDAP_URL/" >"$O/slapd.log" 2>&1 &
OPENLDAP_PID=$!
PIDS+=("$OPENLDAP_PID")
wait_ready "$OPENLDAP_URL" "$OPENLDAP_PID" || { cat "$O/slapd.log" >&2; die "slapd did not start"; }
log "OpenLDAP slapd pid $OPENLDAP_PID on $OPENLDAP_URL"

# ---- SimpleAD ----
SERVERS=(openldap)
if [[ -n $SIMPLEAD ]]; then
  S=$WORKDIR/simplead
  mkdir -p "$S"
  "$LDAPDATAGEN" "${GEN_ARGS[@]}" --skeleton "$(simplead_skeleton)" -o "$WORKDIR/data-simplead.ldif"
  t0=$(now)
  # Pin the subshell itself: whatever the functions run inherits the CPU set.
  ( taskset -p -c "$SERVER_CPUS" $BASHPID >/dev/null; simplead_import "$WORKDIR/data-simplead.ldif" "$S/data" ) \
    >"$S/import.log" 2>&1 || { cat "$S/import.log" >&2; die "simplead-admin import failed"; }
  SIMPLEAD_LOAD_S=$(elapsed "$t0" "$(now)")
  SIMPLEAD_DU_KIB=$(du -sk "$S/data" | cut -f1)
  log "simplead-admin import: $SIMPLEAD_LOAD_S s, $((SIMPLEAD_DU_KIB / 1024)) MiB on disk"
  SIMPLEAD_PORT=$(free_port)
  SIMPLEAD_URL="ldap://127.0.0.1:$SIMPLEAD_PORT"
  ( taskset -p -c "$SERVER_CPUS" $BASHPID >/dev/null; simplead_start "$S/data" "$SIMPLEAD_PORT" ) \
    >"$S/simplead.log" 2>&1 &
  SIMPLEAD_PID=$!  # simplead_start execs, so this is the server's pid
  PIDS+=("$SIMPLEAD_PID")
  wait_ready "$SIMPLEAD_URL" "$SIMPLEAD_PID" || { cat "$S/simplead.log" >&2; die "simplead did not start"; }
  log "SimpleAD pid $SIMPLEAD_PID on $SIMPLEAD_URL"
  SERVERS+=(simplead)
fi

# ---- runs ----
RESULTS=$WORKDIR/results
mkdir -p "$RESULTS"
FAILURES=0

# ---- first bind of every user (see the SimpleAD block above) ----
if [[ $STYLE == ad ]]; then USER_DN_TEMPLATE="CN=user{n},CN=Users,$SUFFIX"; else USER_DN_TEMPLATE="uid=user{n},ou=people,$SUFFIX"; fi
BIND_PASS_JSON=""
if [[ $BIND_PASS == 1 ]]; then
  for srv in "${SERVERS[@]}"; do
    if [[ $srv == openldap ]]; then url=$OPENLDAP_URL; else url=$SIMPLEAD_URL; fi
    rc=0
    out=$(taskset -c "$CLIENT_CPUS" "$PY" "$SCRIPT_DIR/bind_each.py" -H "$url" --users "$USERS" \
      --user-dn-template "$USER_DN_TEMPLATE" -c "$CONNS" --timeout 1800) || rc=$?
    log "first bind of every user on $srv: $out"
    if [[ $rc -ne 0 ]]; then FAILURES=$((FAILURES + 1)); log "bind_each.py against $srv exited with status $rc"; fi
    BIND_PASS_JSON+="${BIND_PASS_JSON:+, }\"$srv\": ${out:-null}"
  done
fi
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
run_one() {  # server workload rep
  local url pid out rc
  if [[ $1 == openldap ]]; then url=$OPENLDAP_URL pid=$OPENLDAP_PID; else url=$SIMPLEAD_URL pid=$SIMPLEAD_PID; fi
  out="$RESULTS/$1.$2.$3.json"
  rc=0
  timeout "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 60 }')" \
    taskset -c "$CLIENT_CPUS" "$LDAPBENCH" "$2" --json -H "$url" -D "$ADMIN_DN" -w "$ADMIN_PW" \
    --style "$STYLE" --suffix "$SUFFIX" --users "$USERS" -c "$CONNS" -d "$DEPTH" -T "$THREADS" \
    -t "$DURATION" --warmup "$WARMUP" --seed "$3" --server-pid "$pid" >"$out" 2>"$out.log" || rc=$?
  sed "s/^/  [$1 #$3] /" "$out.log" >&2
  if [[ $rc -ne 0 ]]; then
    FAILURES=$((FAILURES + 1))
    log "ldapbench $2 against $1 exited with status $rc"
  fi
}
for rep in $(seq "$REPEAT"); do
  for wl in "${WORKLOAD_LIST[@]}"; do
    # Alternate which server goes first, so neither always runs on a warmer machine.
    if (( rep % 2 == 1 )); then order=("${SERVERS[@]}"); else mapfile -t order < <(printf '%s\n' "${SERVERS[@]}" | tac); fi
    for srv in "${order[@]}"; do run_one "$srv" "$wl" "$rep"; done
  done
done

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cat >"$RESULTS/meta.json" <<EOF
{"users": $USERS, "style": "$STYLE", "duration_s": $DURATION, "repeat": $REPEAT,
 "connections": $CONNS, "depth": $DEPTH, "threads": $THREADS,
 "server_cpus": "$SERVER_CPUS", "client_cpus": "$CLIENT_CPUS", "smoke": $SMOKE,
 "workloads": "$WORKLOADS", "slapadd_quick": $SLAPADD_QUICK,
 "simplead_hash": "$SIMPLEAD_HASH", "simplead_args": "$SIMPLEAD_ARGS",
 "load_average": "$(cut -d' ' -f1-3 /proc/loadavg)", "first_bind_pass": {$BIND_PASS_JSON},
 "openldap": {"load_s": $OPENLDAP_LOAD_S, "disk_kib": $OPENLDAP_DU_KIB,
              "rss_kib": $(rss_kib "$OPENLDAP_PID"), "hwm_kib": $(hwm_kib "$OPENLDAP_PID")},
 "simplead": $(if [[ -n $SIMPLEAD ]]; then echo "{\"load_s\": $SIMPLEAD_LOAD_S, \"disk_kib\": $SIMPLEAD_DU_KIB, \"rss_kib\": $(rss_kib "$SIMPLEAD_PID"), \"hwm_kib\": $(hwm_kib "$SIMPLEAD_PID")}"; else echo null; fi)}
EOF

SUMMARY_RC=0
"$PY" "$SCRIPT_DIR/summarize.py" "$RESULTS" ${JSON_OUT:+--json-out "$JSON_OUT"} || SUMMARY_RC=$?
if [[ $FAILURES -ne 0 || $SUMMARY_RC -ne 0 ]]; then
  log "FAILED: $FAILURES ldapbench run(s) reported errors or did not complete"
  exit 1
fi
[[ $SMOKE == 1 ]] && log "smoke run passed: every workload completed without errors"
exit 0
