# Trellis server image. Build:   docker build -t trellis .
# Migrate (a separate step, with the owner role's URL):
#   docker run --rm -e APP_DATABASE__OWNER_URL=... -e APP_DATABASE__URL=... trellis migrate
# Serve:  docker run -p 8080:8080 -e APP_DATABASE__URL=... -e APP_AUTH__JWT_KEYS=... ... trellis
# docs/compose/compose.yaml runs PostgreSQL, Redis, the migration, the server and a worker together.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so a change in src/ does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src entity/src migration/src tests/api \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs entity/src/lib.rs migration/src/lib.rs \
    && touch tests/api/main.rs \
    && cargo fetch --locked
COPY . .
RUN cargo build --release --locked --bin trellis

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 trellis \
    && useradd --system --uid 10001 --gid trellis --home-dir /app --shell /usr/sbin/nologin trellis
WORKDIR /app
COPY --from=build /src/target/release/trellis /usr/local/bin/trellis
COPY config/ config/
COPY policies/ policies/
USER trellis:trellis
ENV APP_ENVIRONMENT=production \
    APP_SERVER__HOST=0.0.0.0 \
    APP_SERVER__PORT=8080
EXPOSE 8080
ENTRYPOINT ["trellis"]
CMD ["serve"]
