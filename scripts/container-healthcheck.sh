#!/bin/bash
# The image's HEALTHCHECK (Containerfile): GET /health on 127.0.0.1:$FATHOM_HEALTH_PORT must
# answer 200 (fathom serve: model loaded; fathom gateway: up). Uses bash's /dev/tcp only, so the
# image needs no curl. With FATHOM_HEALTH_SCHEME=https (serve --tls-cert ...) there is no TLS
# client in the image: the check is then that the port accepts connections; Kubernetes probes
# (deploy/k8s) speak HTTPS themselves.
set -u
port="${FATHOM_HEALTH_PORT:-8000}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
if [ "${FATHOM_HEALTH_SCHEME:-http}" = https ]; then
  exit 0
fi
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 5 status_line <&3 || exit 1
case "$status_line" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) exit 1 ;;
esac
