#!/usr/bin/env bash
# One command: install dependencies, build, and run every test (unit,
# end-to-end, benchmark smoke). Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")"
./deploy/install-deps.sh
[ -f build-test/build.ninja ] || meson setup build-test --buildtype=debugoptimized -Dtests=true >/dev/null
ninja -C build-test
status=0
meson test -C build-test --print-errorlogs --num-processes 2 "$@" || status=$?
# One closing line any CI can read.
/usr/bin/python3 - build-test/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"): passed += 1
    elif r == "SKIP": skipped += 1
    else: failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
