#!/usr/bin/env bash
# Installs what the suite, the sandbox and the tests need, on a fresh Debian machine.
#   scripts/setup.sh              everything: the scenarios' stack, then the tests' tools (make test, fuzz, mutate, ...)
#   scripts/setup.sh --scenarios  only what running the scenarios needs (make acceptance, quick, up, conformance):
#                                 no Chromium, npm, Allure or requirements-dev.txt, which a newcomer's first command
#                                 would otherwise wait for
# Idempotent: each part is skipped when it is already there. Caches live outside the checkout.
# Parts that do not need each other run side by side (most wait on the network): each prints one line as it ends,
# with its wall time; a part that fails names itself and its log, and the others are stopped. Python packages are
# installed by uv (kept in the download cache), which fetches and unpacks them side by side: LiteLLM's virtualenv
# took pip 72 s on a machine without it, the first command's longest wait.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${CREDITFLOW_CACHE:-$HOME/.cache/creditflow}"
PYTHON="${PYTHON:-python3}"
UV_VERSION=0.13.8
UV_HOME="$CACHE/uv-$UV_VERSION"
UV="$UV_HOME/bin/uv"
export UV_CACHE_DIR="$CACHE/uv-cache"  # what uv downloads stays in the download cache
case "${1:-}" in
  "") tools=1 ;;
  --scenarios) tools=0 ;;
  *) echo "setup: unknown argument '$1' (none: everything; --scenarios: only what running the scenarios needs)" >&2
     exit 2 ;;
esac
mkdir -p "$CACHE"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/creditflow-setup.XXXXXX")"
source scripts/parts.sh  # start, finish: the parts side by side

missing_debs=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing_debs+=(postgresql-15)
command -v redis-server >/dev/null || missing_debs+=(redis-server)
command -v java >/dev/null || missing_debs+=(openjdk-17-jre-headless)
if [ "$tools" -eq 1 ]; then
  command -v chromium >/dev/null || missing_debs+=(chromium)
  command -v npm >/dev/null || missing_debs+=(npm)
fi
requirements=(requirements.txt)
[ "$tools" -eq 0 ] || requirements+=(requirements-dev.txt)
if [ ${#missing_debs[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root, or install these packages first: ${missing_debs[*]}" >&2
  exit 1
fi

# Without what the packages only recommend: Chromium's recommendations alone are some 90 packages (Avahi, udev, CUPS's
# tools, Perl libraries) that headless Chromium does not use, and took 8 of its 18 s.
debian_packages() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debs[@]}"
}
uv_installer() {
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$UV_HOME" \
    "uv==$UV_VERSION"
}
# uv reads neither pip's configuration nor its variables: the certificates and local wheels pip is told of. It
# compiles the packages' bytecode as pip does (uv does not by default): without it, every process the suite starts
# compiled what it imports again (make test's were a third slower where PYTHONDONTWRITEBYTECODE is set, as here).
uv_pip_install() {
  SSL_CERT_FILE="${SSL_CERT_FILE:-${PIP_CERT:-}}" UV_FIND_LINKS="${UV_FIND_LINKS:-${PIP_FIND_LINKS:-}}" \
    "$UV" pip install --quiet --compile-bytecode "$@"
}
python_packages() {
  local where=()  # uv installs into an interpreter outside a virtualenv only when told it is meant to
  "$PYTHON" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' || where=(--system)
  uv_pip_install --python "$PYTHON" "${where[@]}" "${requirements[@]/#/-r}"
}
litellm_virtualenv() {
  [ -x "$CACHE/litellm-venv/bin/python" ] || "$UV" venv --quiet --python "$PYTHON" "$CACHE/litellm-venv"
  uv_pip_install --python "$CACHE/litellm-venv/bin/python" -r requirements-litellm.txt
}
keycloak_download() {
  "$PYTHON" -m sandbox.keycloak_dist download
}
allure() {
  npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
}
keycloak_build() {
  "$PYTHON" -m sandbox.keycloak_dist build
}
# start_keycloak_build: once the distribution is there and Java is, unless it is built already
start_keycloak_build() {
  [[ " $keycloak_missing " == *" build "* ]] && [ -z "${STARTED[keycloak-build]:-}" ] && command -v java >/dev/null \
    || return 0
  start keycloak-build "Keycloak built for PostgreSQL (once per download; each checkout's stack only reads it)" \
    keycloak_build
}

# start_allure: once npm is there (it comes with the Debian packages where it is missing), unless Allure is
start_allure() {
  [ "$tools" -eq 1 ] && [ ! -x node_modules/.bin/allure ] && [ -z "${STARTED[allure]:-}" ] && command -v npm >/dev/null \
    || return 0
  start allure "Allure 3 report generator (npm)" allure
}

# First what needs only Python and the network, beside the Debian packages: Keycloak's download and build (the
# standard library's Python and Java only) are the longest wait, so they start at once.
[ ${#missing_debs[@]} -eq 0 ] || start debian "Debian packages: ${missing_debs[*]}" debian_packages
keycloak_missing="$("$PYTHON" -m sandbox.keycloak_dist missing)"
[[ " $keycloak_missing " != *" download "* ]] \
  || start keycloak "Keycloak's distribution from Maven Central (once per download cache)" keycloak_download
python_missing=0
"$PYTHON" scripts/requirements_met.py "${requirements[@]}" 2>/dev/null || python_missing=1
litellm_missing=0
{ [ -x "$CACHE/litellm-venv/bin/litellm" ] \
  && "$CACHE/litellm-venv/bin/python" scripts/requirements_met.py requirements-litellm.txt 2>/dev/null; } \
  || litellm_missing=1
if [ $((python_missing + litellm_missing)) -gt 0 ] && [ ! -x "$UV" ]; then
  start uv "uv $UV_VERSION, the Python packages' installer" uv_installer
  finish uv
fi
[ "$python_missing" -eq 0 ] || start python "Python packages (${requirements[*]})" python_packages
[ "$litellm_missing" -eq 0 ] || start litellm "LiteLLM proxy in its own virtualenv ($CACHE/litellm-venv)" \
  litellm_virtualenv
start_allure
finish keycloak
start_keycloak_build
# Java and npm come with the Debian packages where they are missing.
finish debian
start_keycloak_build
start_allure
finish "${!STARTED[@]}"
rm -rf "$LOGS"
printf '== setup: done (%d s)\n' "$SECONDS"
