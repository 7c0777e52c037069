#!/bin/sh
# SPDX-License-Identifier: ISC
# Run unit test binaries two at a time (each runs its tests two at a time
# too: a binary alone kept the two cores about two-thirds busy), each with
# the given arguments. A binary's output is printed whole when it ends, one
# binary at a time, so that it reads as in a sequential run. Every binary
# runs; the run fails if any failed, and names them last.
# Usage: tests/run_units.sh LOGDIR LABEL 'ARGS' BINARY...
set -eu
status=0
logdir=$1 label=$2 args=$3
shift 3
mkdir -p "$logdir"
: > "$logdir/print.lock"
: > "$logdir/failed"
# shellcheck disable=SC2016 # the inner script expands its own arguments
printf '%s\n' "$@" | xargs -P 2 -I{} sh -c '
    bin="$1" logdir="$2" label="$3" args="$4"
    log="$logdir/$(echo "$bin" | tr / _).log"
    if "$bin" $args >"$log" 2>&1; then rc=0; else rc=$?; fi
    flock "$logdir/print.lock" sh -c "echo \"== $label$bin\"; cat \"$log\"; \
        [ $rc -eq 0 ] || echo \"$label$bin: FAILED (exit $rc)\" | tee -a \"$logdir/failed\""
    exit "$rc"' sh {} "$logdir" "$label" "$args" || status=$?
if [ -s "$logdir/failed" ]; then
    echo "== failed:"
    cat "$logdir/failed"
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "tests/run_units.sh: xargs ended with status $status"
    exit 1
fi
