# tend's production image: a static binary built without the embedded
# Temporal server (-tags nodev), on a distroless base, as a non-root user.
#   docker build -t tend .
# docker-compose.yml builds it; docs/cluster.md says how to run it.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Dependencies first, so that a change in tend's code reuses their layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -tags nodev -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/tend ./cmd/tend \
 && /out/tend validate playbooks \
 && mkdir -p /out/data/sets /out/data/outbox

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tend /usr/local/bin/tend
# The shipped playbooks; mount your own over /playbooks, or publish them
# with tend publish (the service tend-publish does).
COPY --from=build /src/playbooks /playbooks
# /data holds the shared store of playbook sets and the outbox; a named
# volume mounted there starts with this directory's owner (nonroot).
COPY --from=build --chown=65532:65532 /out/data /data
COPY deploy/tend.yaml /etc/tend/tend.yaml
ENV TEND_CONFIG=/etc/tend/tend.yaml
USER nonroot:nonroot
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/tend"]
CMD ["worker", "--store", "/data/sets", "--http", ":9090"]
