# Multi-stage build: a static binary with migrations, templates and static
# files embedded, run as a non-root user on a distroless base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/uwsportal ./cmd/uwsportal

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/uwsportal /usr/local/bin/uwsportal
USER nonroot:nonroot
ENV UWSPORTAL_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/uwsportal"]
CMD ["serve"]
