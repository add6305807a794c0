#!/usr/bin/env bash
# Installs what SimpleAD needs to build, run and test, from Debian 12 packages.
# Safe to re-run: it only calls apt-get when something is missing.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  libboost1.81-dev librocksdb-dev libldap-dev libssl-dev libargon2-dev libcrypt-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ldap-utils slapd python3 python3-ldap openssl
  softhsm2 libp11-kit-dev freeradius freeradius-utils gdb
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
# As root nothing is prefixed; otherwise sudo, keeping the environment (-E) so
# that DEBIAN_FRONTEND reaches apt-get.
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo -E)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
# slapd's package must not ask questions; its own service is never used (tests run private instances).
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
