#!/usr/bin/env bash
# Set up a development environment from nothing: a virtualenv in .venv with
# eventmask installed in editable mode, its test tools, and the system
# packages the tests use.  Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
# The PostgreSQL inbox tests start a throwaway server of their own
# (tests/pgserver.py) from Debian's packaged binaries.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
# The dashboard's browser tests drive Debian's Chromium with Playwright
# (tests/dashboard/test_browser.py): Playwright's own browser download is
# not used.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "setup: please install: ${need_apt[*]}" >&2
    fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]'
