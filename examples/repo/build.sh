#!/bin/sh
# Build the demo desk (about 60 days of history, ~60 tickets) into a new directory.
# Usage: examples/repo/build.sh [PATH [--until DATE]]   (default PATH: demo-desk)
set -eu
path=${1:-demo-desk}
[ $# -gt 0 ] && shift
exec gitdesk demo "$path" "$@"
