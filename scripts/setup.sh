#!/usr/bin/env bash
# Installs what building and running Paddock needs on Debian (run as root). Idempotent: it asks
# apt only for packages that are missing.
set -euo pipefail
need=()
for pkg in libuv1-dev zlib1g-dev libedit-dev pkg-config "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
