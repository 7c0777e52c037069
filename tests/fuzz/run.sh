#!/bin/sh
# Run one libFuzzer target for a limited time, from its seeds, and fail on
# any finding (the input is left as OUT_DIR/<target>-crash-..., -leak-,
# -timeout- or -oom-). The full log is OUT_DIR/<target>.log.
# usage: run.sh BINARY SEED_DIR OUT_DIR SECONDS [libFuzzer flags...]
set -u
bin=$1 seeds=$2 out=$3 secs=$4
shift 4
name=$(basename "$bin")
work=$out/corpus/$name
log=$out/$name.log
mkdir -p "$work"
echo "$name: fuzzing for ${secs} s"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$secs" -artifact_prefix="$out/$name-" "$@" \
    "$work" "$seeds" >"$log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log"
    echo "$name: FAILED (exit $rc); log: $log; inputs kept:"
    ls -1 "$out/$name"-* 2>/dev/null
    exit 1
fi
done_line=$(grep -a 'DONE' "$log" | tail -n 1 | tr -s ' \t' ' ')
echo "$name: ok:${done_line#\#}"
