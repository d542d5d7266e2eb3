#!/usr/bin/env bash
# Prepare a fresh machine: the Debian servers the tests start (only when missing) and a
# virtualenv with warmer and its extras. Idempotent; fast when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"

if [ "$extras" = "dev" ]; then
  missing=()
  # ip (iproute2): the Locust engine's test across two network namespaces.
  for pair in redis-server:redis-server memcached:memcached prometheus:prometheus \
              chromium:chromium nginx:nginx goaccess:goaccess varnishd:varnish ip:iproute2; do
    cmd="${pair%%:*}" pkg="${pair##*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "bootstrap: installing ${missing[*]}" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
      # Debian starts the daemons it installs; the tests start their own on free ports.
      for svc in memcached prometheus nginx varnish varnishncsa; do
        service "$svc" stop >/dev/null 2>&1 || true
      done
    else
      echo "bootstrap: missing ${missing[*]} (tests that need them are skipped)" >&2
    fi
  fi
  # podman and what its harness needs to build the image offline (tests/ship/test_image.py).
  scripts/container.sh install
fi

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed-$extras"
# Reinstall when a build input changes (setup.py compiles the two C extensions).
stale=0
for input in pyproject.toml setup.py warmer/observe/parsers/_cache_status_c.c \
             warmer/sample/formats/_tokenize_c.c; do
  if [ "$input" -nt "$stamp" ]; then stale=1; fi
done
if [ ! -f "$stamp" ] || [ "$stale" = 1 ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi
