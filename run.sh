#!/usr/bin/env bash
# One command: install dependencies, build, and start simplead on the embedded
# default (data in ./var/data, domain corp.example.com, LDAP 127.0.0.1:3389,
# LDAPS 127.0.0.1:3636). Extra arguments go to simplead.
set -euo pipefail
cd "$(dirname "$0")"
./deploy/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release -Dtests=false >/dev/null
ninja -C build server/simplead server/simplead-admin
mkdir -p var
exec ./build/server/simplead --data-dir var/data --domain corp.example.com \
  --listen 127.0.0.1:3389 --ldaps-listen 127.0.0.1:3636 --kms-listen 127.0.0.1:3390 "$@"
