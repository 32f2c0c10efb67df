#!/usr/bin/env bash
# The Debian packages the whole test suite needs: Chromium (browser journeys), the PostgreSQL
# server binaries (the PostgreSQL pass), Pango (invoice PDFs), fontconfig and CJK fonts (pages in
# screenshots), python3-venv. Installs what is missing when run as root; otherwise stops at once
# and prints the one command that installs it. `make test` and `.ci/run` call it.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v fc-list >/dev/null 2>&1 || need+=(fontconfig)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
else
  echo "The test suite needs system packages this machine lacks. Install them with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 1
fi
