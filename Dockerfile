FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY policies ./policies
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system --home /app gateway && \
    mkdir -p /app/var && chown gateway /app/var
USER gateway
EXPOSE 2525 9125
ENTRYPOINT ["tth-gateway"]
CMD ["serve", "--listen", "0.0.0.0:2525", "--metrics", "0.0.0.0:9125"]
