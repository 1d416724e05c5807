#!/bin/sh
# /usr/local/bin/rhio in the container image, where the original rhio's binary
# was: its Helm chart and operator set the container's command or args to
# `/usr/local/bin/rhio -c /etc/rhio/config.yaml` (docs/MIGRATING.md). Under the
# image's own entrypoint that path arrives as the first argument, which the CLI
# drops.
exec node "${RHIO_HOME:-/app}/dist/src/cli/main.js" "$@"
