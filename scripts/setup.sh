#!/usr/bin/env bash
# Installs everything the suite, the sandbox and the tests need, on a fresh Debian machine.
# Idempotent: each part is skipped when it is already there. Caches live outside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${CREDITFLOW_CACHE:-$HOME/.cache/creditflow}"
KEYCLOAK_VERSION=26.7.3
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"

step() { printf '\n== setup: %s\n' "$*"; }

missing_debs=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing_debs+=(postgresql-15)
command -v redis-server >/dev/null || missing_debs+=(redis-server)
command -v java >/dev/null || missing_debs+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing_debs+=(maven)
command -v unzip >/dev/null || missing_debs+=(unzip)
command -v chromium >/dev/null || missing_debs+=(chromium)
command -v npm >/dev/null || missing_debs+=(npm)
if [ ${#missing_debs[@]} -gt 0 ]; then
  step "Debian packages: ${missing_debs[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root, or install these packages first: ${missing_debs[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_debs[@]}" >/dev/null
fi

if ! "$PYTHON" scripts/requirements_met.py requirements.txt 2>/dev/null; then
  step "Python packages (suite, sandbox, tests)"
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -r requirements.txt
fi

if [ ! -x "$CACHE/litellm-venv/bin/litellm" ] \
   || ! "$CACHE/litellm-venv/bin/python" scripts/requirements_met.py requirements-litellm.txt 2>/dev/null; then
  step "LiteLLM proxy in its own virtualenv ($CACHE/litellm-venv)"
  [ -x "$CACHE/litellm-venv/bin/python" ] || "$PYTHON" -m venv "$CACHE/litellm-venv"
  "$CACHE/litellm-venv/bin/pip" install -q --disable-pip-version-check --root-user-action=ignore -r requirements-litellm.txt
fi

if [ ! -x "$CACHE/keycloak-$KEYCLOAK_VERSION/bin/kc.sh" ]; then
  step "Keycloak $KEYCLOAK_VERSION distribution from Maven Central"
  mvn -q dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
      -DoutputDirectory="$CACHE"
  unzip -q -o "$CACHE/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" -d "$CACHE"
  rm -f "$CACHE/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
fi

step "Keycloak built for PostgreSQL (once per download; each checkout's stack only reads it)"
"$PYTHON" -m sandbox prepare

if [ ! -x node_modules/.bin/allure ]; then
  step "Allure 3 report generator (npm)"
  npm ci --no-audit --no-fund --silent 2>/dev/null || npm install --no-audit --no-fund --silent
fi
step "done"
