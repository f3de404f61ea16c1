#!/usr/bin/env bash
# Makes a Java runtime (17 or later) available for the Spark tests: uses the one on PATH when
# there, otherwise installs Debian's openjdk-17-jre-headless (root, or sudo).
set -euo pipefail

version() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if command -v java >/dev/null 2>&1 && [ "$(version)" -ge 17 ] 2>/dev/null; then
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing openjdk-17-jre-headless for the Spark tests" >&2
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; then
  # Fresh machines may have no package lists yet.
  as_root apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version
