#!/bin/sh
# The container's entrypoint (Dockerfile ENTRYPOINT), also run directly by tests/test_deploy.py.
#
#   entrypoint.sh serve              the hosted dashboard: read-only, production settings
#   entrypoint.sh build INPUT [...]  topictrends build INPUT [...] into the cache (the batch job)
#   entrypoint.sh runs               list the cached runs
#   entrypoint.sh curate RUN ACTION  topictrends curate (docs/curation.md)
#   entrypoint.sh digest RUN [...]   topictrends digest (docs/digests.md)
#
# Environment (defaults in brackets):
#   TOPICTRENDS_CACHE            the cache root [/cache]
#   PORT                         port the dashboard listens on [8501]
#   HOST                         address it binds [0.0.0.0]
#   TOPICTRENDS_SECRETS          secrets.toml: [auth] = single sign-on, [topictrends] = allow-list
#   TOPICTRENDS_CURATION_DIR     writable mount for curation logs (hosted: editing off without it)
#                                [/run/secrets/topictrends.toml]
#   TOPICTRENDS_AUTH=off         serve without sign-on (only behind another login in front)
#   TOPICTRENDS_PYTHON           the Python that checks the secrets [python on PATH]
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
PYTHON=${TOPICTRENDS_PYTHON:-python}
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
    # The sign-in configuration, checked by the app's own rules (dashboard/access.py): a
    # broken one (bad TOML, incomplete [auth], a bad allow-list entry, no [auth] without
    # TOPICTRENDS_AUTH=off) stops here, in one line, instead of serving without sign-in.
    checked=$("$PYTHON" -m dashboard.access check "$SECRETS" 2>&1) || die "$checked"
    echo "entrypoint: $checked" >&2
    if [ -e "$SECRETS" ]; then
        exec "$BIN" serve --cache-dir "$CACHE" --host "$HOST" --port "$PORT" \
            --streamlit-config "$CONFIG" --secrets "$SECRETS"
    fi
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
curate | digest)
    [ $# -gt 0 ] || die "$cmd needs a RUN (see: entrypoint.sh runs)"
    exec "$BIN" "$cmd" "$@" --cache-dir "$CACHE"
    ;;
*)
    die "unknown command '$cmd': use serve, build INPUT [flags], runs, curate RUN ACTION or digest RUN"
    ;;
esac
