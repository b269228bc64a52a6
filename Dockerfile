# syntax=docker/dockerfile:1
# LLMscope: one image for both services.
#   exporter (default):  docker run -p 8465:8465 llmscope
#   SPC sidecar:         docker run -p 8466:8466 -e LLMSCOPE_HEALTH_URL=http://127.0.0.1:8466/-/healthy \
#                          --entrypoint llmscope-spc llmscope --prometheus.url http://prometheus:9090
# compose.yaml at the repository root builds and runs both; docs/deploy.md explains it.

# Build a wheel of the project (packages exporter and spc_rules) from the repository.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY servicekit ./servicekit
COPY exporter ./exporter
COPY spc_rules ./spc_rules
COPY llmscope_stack ./llmscope_stack
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime: the installed wheels only. They are bind-mounted from the build stage, so no
# layer keeps a copy of them, and no compiler or source tree ships.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LLMSCOPE_HEALTH_URL=http://127.0.0.1:8465/-/healthy
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir /wheels/*.whl \
    && groupadd --system --gid 10001 llmscope \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --shell /usr/sbin/nologin llmscope
# Mount a configuration here; without one the exporter runs two simulated targets.
WORKDIR /etc/llmscope
USER 10001:10001
# 8465: llmscope-exporter; 8466: llmscope-spc (same image, --entrypoint llmscope-spc).
EXPOSE 8465 8466
# Needs no curl: the image's own Python asks /-/healthy (8466 for the sidecar, see above).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['LLMSCOPE_HEALTH_URL'], timeout=4)"]
ENTRYPOINT ["llmscope-exporter"]
