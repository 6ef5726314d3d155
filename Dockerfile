# rightsgate: the API under granian (api/server.py), rules baked in at /app/rules.
#
#   docker build -t rightsgate .
#   docker run --rm -p 8000:8000 rightsgate
#   docker run --rm -p 8000:8000 -v /srv/rules:/app/rules:ro rightsgate   # other rules
#
# The same settings as scripts/serve (README "Settings"); here RIGHTSGATE_BIND listens on
# every interface of the container. Rule edits are picked up while serving (a mounted
# /app/rules), and `docker kill -s HUP` restarts the workers gracefully.

# -- build: compile durable-rules' C extension and install everything pinned -------------
FROM python:3.11-slim-bookworm AS build
# The compiler only builds durable-rules and is not in the final image; bookworm's
# toolchain versions are what its security updates make them.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY engine/ engine/
COPY api/ api/
COPY wsgi.py ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt . \
 && /opt/venv/bin/python -c "import durable.lang, granian, prometheus_client"

# -- run: no compiler, no source tree, an unprivileged user --------------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 rightsgate \
 && useradd --system --uid 10001 --gid rightsgate --home-dir /app --shell /usr/sbin/nologin rightsgate
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root rules/ /app/rules/
COPY --chown=root:root locales/ /app/locales/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    RIGHTSGATE_BIND=0.0.0.0:8000 \
    RIGHTSGATE_RULES_DIR=/app/rules \
    RIGHTSGATE_LOCALES_DIR=/app/locales \
    RIGHTSGATE_WORKERS=2
USER 10001:10001
EXPOSE 8000
# Validates the rules before serving: an invalid set stops the container with exit 1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-m", "api.server", "--check"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "api.server"]
