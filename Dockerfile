# Build stage: compile the release binary (static assets and migrations are embedded in it).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
COPY sample_data sample_data
COPY benches benches
COPY examples examples
RUN cargo build --release --locked --bin segmentiq

# Runtime stage: just the binary, run as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin segmentiq
COPY --from=build /src/target/release/segmentiq /usr/local/bin/segmentiq
USER segmentiq
ENV BIND_ADDR=0.0.0.0:8000 RUST_LOG=segmentiq=info,tower_http=info
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/segmentiq", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/segmentiq"]
CMD ["serve"]
