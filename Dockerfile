# The hosted topictrends dashboard, and the batch job that builds runs into its cache.
#   docker compose up -d dashboard            # serve (docker-compose.yml, docs/deploy.md)
#   docker compose run --rm builder INPUT     # build a run into the shared cache
# CPU only: torch comes from the CPU wheel index, every other dependency is pinned in
# deploy/requirements.lock (deploy/lock.py writes it from the tested environment).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOPICTRENDS_CACHE=/cache \
    NUMBA_CACHE_DIR=/home/app/.cache/numba \
    PORT=8501

# An unprivileged user owns nothing but its home, the (mounted) cache and the dashboard's
# scratch directory (TOPICTRENDS_SCRATCH: memory-mapped documents, DuckDB's temp files).
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app

WORKDIR /app

COPY deploy/requirements.lock deploy/requirements.lock
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r deploy/requirements.lock

COPY pyproject.toml README.md ./
COPY pipeline pipeline
COPY dashboard dashboard
COPY deploy deploy
RUN pip install --no-deps . \
 && chmod 0555 deploy/entrypoint.sh \
 && mkdir -p /cache /scratch && chown app:app /cache /scratch && chmod 0700 /scratch

USER app
# Compile the numba code UMAP and HDBSCAN use once, at image build time, not per build.
RUN topictrends warmup

VOLUME ["/cache"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, sys, urllib.request; base = os.environ.get('STREAMLIT_SERVER_BASE_URL_PATH', '').strip('/'); url = 'http://127.0.0.1:' + os.environ.get('PORT', '8501') + ('/' + base if base else '') + '/_stcore/health'; sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["serve"]
