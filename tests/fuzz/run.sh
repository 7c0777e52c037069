#!/bin/sh
# Run one libFuzzer target for a limited time from its seeds (read-only)
# and a working corpus, and fail on any finding: the input is left as
# OUT_DIR/<target>-crash-... (or -leak-, -timeout-, -oom-), the full log
# is OUT_DIR/<target>.log.
# usage: run.sh BINARY SEED_DIR WORK_DIR OUT_DIR SECONDS [libFuzzer flags...]
set -u
bin=$1 seeds=$2 work=$3 out=$4 secs=$5
shift 5
name=$(basename "$bin")
log=$out/$name.log
mkdir -p "$work" "$out"
echo "$name: fuzzing for ${secs} s"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$secs" -artifact_prefix="$out/$name-" "$@" \
    "$work" "$seeds" >"$log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    grep -a -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "$log" | tail -n 40
    echo "$name: FAILED (exit $rc); log: $log; inputs kept:"
    ls -1 "$out/$name"-* 2>/dev/null
    exit 1
fi
done_line=$(grep -a 'DONE' "$log" | tail -n 1 | tr -s ' \t' ' ')
echo "$name: ok:${done_line#\#}"
