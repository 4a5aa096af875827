#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (test/browser).
# Playwright's own browser download cannot work on machines that reach only package registries,
# so the tests drive /usr/bin/chromium through playwright-core. Does nothing when it exists.
set -euo pipefail

CHROMIUM="${BATON_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: $CHROMIUM is missing and installing it needs root." >&2
  echo "  Run as root: apt-get update && apt-get install -y --no-install-recommends chromium" >&2
  echo "  or point BATON_CHROMIUM at an existing Chromium binary." >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available;" \
    "install Chromium yourself and set BATON_CHROMIUM to its path." >&2
  exit 1
fi

echo "ensure-chromium: installing Debian's chromium package (browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed" >&2
