#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Run one server test against ejabberd and Prosody at once (each server on
# ports and in a directory of its own), then print both logs; fails if
# either run failed.
# Usage: tests/xmpp/both.sh LOGDIR SCRIPT BUILD_DIR [ARGS...]
#   runs SCRIPT BUILD_DIR SERVER [ARGS...] for each server.
set -u
logdir=$1 script=$2 build=$3
shift 3
mkdir -p "$logdir"
name=$(basename "$script" .sh)
bash "$script" "$build" ejabberd "$@" > "$logdir/$name-ejabberd.log" 2>&1 &
e=$!
bash "$script" "$build" prosody "$@" > "$logdir/$name-prosody.log" 2>&1
p=$?
wait "$e"
e=$?
grep -h -v -e KDF_COST -e '^ *[|]' -e 'weakest' "$logdir/$name-ejabberd.log" "$logdir/$name-prosody.log"
[ "$e" -eq 0 ] && [ "$p" -eq 0 ]
