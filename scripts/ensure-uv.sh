#!/usr/bin/env bash
# Prints the command to run uv, installing uv from PyPI first when it is missing.
# Needs Python 3.11+ (PYTHON, default python3). Without pip, installs Debian's python3-pip when run as root,
# otherwise says what to install.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then
  echo uv; exit 0
fi
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "seisan needs Python 3.11 or newer as '$py' (set PYTHON=/path/to/python3.11)" >&2; exit 1
fi
if "$py" -m uv --version >/dev/null 2>&1; then
  echo "$py -m uv"; exit 0
fi
if ! "$py" -m pip --version >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing pip (Debian package python3-pip) to fetch uv..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >&2
  else
    echo "seisan needs uv (https://docs.astral.sh/uv/) or pip to install it: install uv, or run" >&2
    echo "  sudo apt-get install -y python3-pip" >&2
    exit 1
  fi
fi
echo "installing uv from PyPI..." >&2
"$py" -m pip install --quiet --user uv >&2 2>/dev/null \
  || "$py" -m pip install --quiet uv >&2 2>/dev/null \
  || "$py" -m pip install --quiet --user --break-system-packages uv >&2
echo "$py -m uv"
