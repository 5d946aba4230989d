# tth-gateway container image. Build: docker build -t tth-gateway .
# Run (see deploy/compose.yaml for the whole setup):
#   docker run --read-only --tmpfs /tmp --tmpfs /run/tth-gateway \
#     -v ./gateway.yaml:/etc/tth-gateway/gateway.yaml:ro \
#     -v ./policies:/etc/tth-gateway/policies:ro -v ./trust:/etc/tth-gateway/trust:ro \
#     -v tth-quarantine:/var/lib/tth-gateway -p 25:2525 tth-gateway
# No configuration is baked in: gateway.yaml, policies and the trust store are mounted.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN python -m venv /opt/tth-gateway \
    && /opt/tth-gateway/bin/pip install . \
    && /opt/tth-gateway/bin/python -m compileall -q /opt/tth-gateway

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10025 tth-gateway \
    && useradd --system --uid 10025 --gid tth-gateway --home-dir /var/lib/tth-gateway \
       --shell /usr/sbin/nologin tth-gateway \
    && install -d -o root -g tth-gateway -m 0750 /etc/tth-gateway /etc/tth-gateway/policies \
       /etc/tth-gateway/trust \
    && install -d -o tth-gateway -g tth-gateway -m 0750 /var/lib/tth-gateway \
       /var/lib/tth-gateway/quarantine /var/lib/tth-gateway/spool /var/log/tth-gateway \
       /run/tth-gateway
COPY --from=build /opt/tth-gateway /opt/tth-gateway
# The shipped policies, for reference and to copy from (the gateway reads the mounted ones).
COPY policies /usr/share/tth-gateway/policies
ENV PATH=/opt/tth-gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10025:10025
WORKDIR /var/lib/tth-gateway
VOLUME ["/etc/tth-gateway", "/var/lib/tth-gateway", "/var/log/tth-gateway"]
# SMTP (server.listen) and /metrics, /healthz, /readyz (metrics.listen).
EXPOSE 2525 9125
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9125/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tth-gateway"]
CMD ["serve", "--config", "/etc/tth-gateway/gateway.yaml"]
