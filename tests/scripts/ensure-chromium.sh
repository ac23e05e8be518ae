#!/usr/bin/env bash
# Makes sure a Chromium for the end-to-end tests exists: Debian's `chromium` package, installed when run as root.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$c" ]; then exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: installing Debian's chromium package (apt-get install -y chromium) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
The end-to-end tests need Chromium and none was found.
Install Debian's package as root:   sudo apt-get install -y chromium
or point CHROMIUM_PATH at a Chromium/Chrome binary:   CHROMIUM_PATH=/path/to/chrome npm test
MSG
exit 1
