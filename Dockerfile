# Build: a release binary with SQLite and libpq compiled in.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/goodword

# Run: a small image, a non-root user, the SQLite file on a volume.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data goodword \
 && mkdir -p /data && chown goodword /data
COPY --from=build /src/target/release/goodword /usr/local/bin/goodword
USER goodword
# Relative paths (the click journal with PostgreSQL) land on the volume.
WORKDIR /data
VOLUME /data
ENV DATABASE_URL=sqlite:///data/goodword.db \
    GOODWORD_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/goodword"]
CMD ["serve"]
