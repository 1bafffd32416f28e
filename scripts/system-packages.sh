#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages seisan needs, for a purpose:
#   demo  - building pyscard (libpcsclite-dev, gcc) so the whole environment syncs
#   test  - the above plus the PC/SC stack the reader-agent tests drive (pcscd, vsmartcard-vpcd, opensc) and the
#           real browser the console's end-to-end test drives (chromium, chromium-driver: Debian's, not Playwright's)
# As root it runs apt-get; otherwise it names what to install and fails if something is missing.
set -euo pipefail
purpose="${1:-test}"
packages=(libpcsclite-dev gcc pkg-config)
if [ "$purpose" = "test" ]; then
  packages+=(pcscd vsmartcard-vpcd opensc pcsc-tools chromium chromium-driver)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "seisan needs these system packages (Debian/Ubuntu names): ${missing[*]}" >&2
  echo "Install them with your system's package manager, then run this again." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "seisan needs these system packages: ${missing[*]}" >&2
  echo "Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
