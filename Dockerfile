# syntax=docker/dockerfile:1
# Tessera API image: the `tessera` binary plus the built SPA, on Debian slim.
#   docker build -t tessera .        (docker-compose.yml builds it too)

# --- the single-page app (a placeholder without package.json builds nothing)
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package.json ]; then \
        npm ci --no-audit --no-fund && npm run build; \
    else \
        mkdir -p dist; \
    fi

# --- the Rust binary
FROM rust:1-bookworm AS builder
WORKDIR /src
# No database at build time: sqlx's checked macros, if used, read .sqlx/.
ENV SQLX_OFFLINE=true
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --bin tessera \
    && install -m 0755 target/release/tessera /usr/local/bin/tessera

# --- runtime
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin tessera \
    && mkdir -p /data /app/frontend \
    && chown tessera:tessera /data
COPY --from=builder /usr/local/bin/tessera /usr/local/bin/tessera
COPY --from=frontend /src/frontend/dist /app/frontend/dist
ENV TESSERA_DATA_DIR=/data \
    TESSERA_FRONTEND_DIR=/app/frontend/dist \
    TESSERA_ADDR=0.0.0.0:8080
USER tessera
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
CMD ["tessera", "serve"]
