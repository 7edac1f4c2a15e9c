# Build with the committed .sqlx query data: no database needed at build time.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked --bin doorman

# A small runtime image with CA certificates, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home doorman
COPY --from=build /src/target/release/doorman /usr/local/bin/doorman
USER doorman
EXPOSE 8080
ENTRYPOINT ["doorman"]
CMD ["serve"]
