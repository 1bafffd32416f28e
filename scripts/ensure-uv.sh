#!/usr/bin/env bash
# Prints the command to run uv, installing uv from PyPI first when it is missing.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then
  echo uv; exit 0
fi
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "seisan needs Python 3.11 or newer as '$py' (set PYTHON=/path/to/python3.11)" >&2; exit 1
fi
if ! "$py" -m uv --version >/dev/null 2>&1; then
  echo "installing uv from PyPI..." >&2
  "$py" -m pip install --quiet --user uv 2>/dev/null || "$py" -m pip install --quiet uv \
    || "$py" -m pip install --quiet --break-system-packages --user uv >&2
fi
echo "$py -m uv"
