# Multi-stage build: a static binary with migrations, templates and static
# files embedded, on an empty base image, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/uwsportal ./cmd/uwsportal \
 && mkdir -p /out/tmp && chmod 1777 /out/tmp

FROM scratch
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
ENTRYPOINT ["/uwsportal"]
CMD ["serve"]
