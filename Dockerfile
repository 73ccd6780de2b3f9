# syntax=docker/dockerfile:1
# Build: docker build -t herald .
# Run:   docker run -p 8080:8080 -v herald-data:/data herald
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin herald \
 && strip target/release/herald

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /data herald \
 && mkdir -p /data /app \
 && chown herald /data
COPY --from=build /src/target/release/herald /usr/local/bin/herald
# The demo inbox. The browser SDK (sdk/js/src) is compiled into the binary.
COPY static /app/static
WORKDIR /app
USER herald
ENV HERALD_BIND=0.0.0.0:8080 \
    HERALD_DATA_DIR=/data \
    HERALD_STATIC_DIR=/app/static \
    HERALD_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["herald"]
CMD ["serve"]
