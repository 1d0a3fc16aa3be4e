# Multi-stage build: a static binary with migrations, templates and static
# files embedded, on an empty base image (FROM scratch: no shell, no libc,
# no package manager; the binary is the only program), run as a non-root
# user. Its health check is the binary itself: uwsportal healthcheck.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/uwsportal ./cmd/uwsportal \
 && mkdir -p /out/tmp && chmod 1777 /out/tmp

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="uwsportal" \
      org.opencontainers.image.description="Portal for departments' Verizon ThingSpace UWS credentials: SSO, rotation, audit trail, gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="scratch" \
      org.opencontainers.image.licenses="NOASSERTION"
# TLS roots for ThingSpace and the identity provider.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/uwsportal /uwsportal
USER 65532:65532
# The portal listens on every interface in a container; its metrics get a
# listener of their own, to publish only to the scraper's network.
ENV UWSPORTAL_ADDR=0.0.0.0:8080 \
    UWSPORTAL_METRICS_ADDR=0.0.0.0:9100
EXPOSE 8080 9100
# Exec form: scratch has no shell. /healthz is the process; orchestrators
# that route traffic should probe /readyz (uwsportal healthcheck --ready).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/uwsportal", "healthcheck"]
ENTRYPOINT ["/uwsportal"]
CMD ["serve"]
