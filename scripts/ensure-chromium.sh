#!/usr/bin/env bash
# Makes sure a Chromium exists for the browser tests: Debian's package where apt-get can run,
# else Playwright's own download. Prints the path it found in CHROMIUM_PATH's spirit.
set -euo pipefail

for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    exit 0
  fi
done

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "==> No Chromium found: installing Debian's chromium package for the browser tests"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
if command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "==> No Chromium found: installing Debian's chromium package with sudo"
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi

echo "==> No Chromium found and apt-get is not usable: downloading Playwright's Chromium"
(cd "$(dirname "$0")/../frontend" && npx playwright install chromium)
