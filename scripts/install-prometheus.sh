#!/usr/bin/env bash
# Makes promtool and prometheus available for the operations checks (alert-rule unit tests and
# the end-to-end scrape test) and prints the directory holding them. Uses them from PATH when
# there; otherwise unpacks Debian's `prometheus` package into target/prometheus (no service is
# installed or started, and no root is needed once the package lists exist).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  dirname "$(command -v promtool)"
  exit 0
fi
dest=target/prometheus
if [ -x "$dest/usr/bin/promtool" ] && [ -x "$dest/usr/bin/prometheus" ]; then
  echo "$PWD/$dest/usr/bin"
  exit 0
fi
mkdir -p "$dest/deb"
download() { (cd "$dest/deb" && apt-get download -qq prometheus >/dev/null 2>&1); }
if ! download; then
  # Fresh machines may have no package lists yet.
  if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
  download
fi
dpkg-deb -x "$dest"/deb/prometheus_*.deb "$dest"
echo "$PWD/$dest/usr/bin"
