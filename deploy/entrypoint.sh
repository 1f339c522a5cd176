#!/bin/sh
# The container's entrypoint (Dockerfile ENTRYPOINT), also run directly by tests/test_deploy.py.
#
#   entrypoint.sh serve              the hosted dashboard: read-only, production settings
#   entrypoint.sh build INPUT [...]  topictrends build INPUT [...] into the cache (the batch job)
#   entrypoint.sh runs               list the cached runs
#
# Environment (defaults in brackets):
#   TOPICTRENDS_CACHE            the cache root [/cache]
#   PORT                         port the dashboard listens on [8501]
#   HOST                         address it binds [0.0.0.0]
#   TOPICTRENDS_SECRETS          secrets.toml: [auth] = single sign-on, [topictrends] = allow-list
#                                [/run/secrets/topictrends.toml]
#   TOPICTRENDS_AUTH=off         serve without sign-on (only behind another login in front)
#   TOPICTRENDS_STREAMLIT_CONFIG production Streamlit settings [deploy/streamlit/config.toml]
#   TOPICTRENDS_BIN              the topictrends executable [topictrends on PATH]
#   STREAMLIT_SERVER_BASE_URL_PATH, STREAMLIT_SERVER_COOKIE_SECRET: see docs/deploy.md
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TOPICTRENDS_CACHE:-/cache}
PORT=${PORT:-8501}
HOST=${HOST:-0.0.0.0}
SECRETS=${TOPICTRENDS_SECRETS:-/run/secrets/topictrends.toml}
CONFIG=${TOPICTRENDS_STREAMLIT_CONFIG:-$HERE/streamlit/config.toml}
BIN=${TOPICTRENDS_BIN:-topictrends}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # nothing is downloaded at run time

die() {
    echo "entrypoint: $*" >&2
    exit 2
}

cmd=${1:-serve}
[ $# -gt 0 ] && shift

case $cmd in
serve)
    [ $# -eq 0 ] || die "serve takes no arguments (settings come from the environment)"
    [ -d "$CACHE" ] || die "$CACHE: no cache here; mount the cache volume there or set TOPICTRENDS_CACHE"
    [ -f "$CONFIG" ] || die "$CONFIG: Streamlit config missing; set TOPICTRENDS_STREAMLIT_CONFIG"
    case $PORT in '' | *[!0-9]*) die "PORT=$PORT is not a port number" ;; esac
    if [ -w "$CACHE" ]; then
        echo "entrypoint: warning: $CACHE is writable; mount it read-only (:ro) for the dashboard" >&2
    fi
    # Hosted mode: the dashboard never writes under the cache root (dashboard/access.py).
    export TOPICTRENDS_READ_ONLY=1
    if [ -f "$SECRETS" ] && grep -Eq '^[[:space:]]*\[auth(\.[A-Za-z0-9_-]+)?\]' "$SECRETS"; then
        echo "entrypoint: single sign-on on ($SECRETS)" >&2
        exec "$BIN" serve --cache-dir "$CACHE" --host "$HOST" --port "$PORT" \
            --streamlit-config "$CONFIG" --secrets "$SECRETS"
    fi
    [ "${TOPICTRENDS_AUTH:-}" = "off" ] ||
        die "$SECRETS: no [auth] section, so anyone who reaches the port would see every run. Mount a secrets file with [auth] (docs/deploy.md), or set TOPICTRENDS_AUTH=off when another login guards the dashboard."
    echo "entrypoint: warning: single sign-on off (TOPICTRENDS_AUTH=off)" >&2
    exec "$BIN" serve --cache-dir "$CACHE" --host "$HOST" --port "$PORT" \
        --streamlit-config "$CONFIG"
    ;;
build)
    [ $# -gt 0 ] || die "build needs an INPUT (a file under a mounted folder, or a bundled corpus name)"
    exec "$BIN" build "$@" --cache-dir "$CACHE"
    ;;
runs)
    exec "$BIN" runs --cache-dir "$CACHE"
    ;;
*)
    die "unknown command '$cmd': use serve, build INPUT [flags] or runs"
    ;;
esac
