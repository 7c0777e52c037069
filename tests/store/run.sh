#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The keystore tests of tests/store/, one after another, against one
# esessionctl: concurrency (several processes on one keystore) and SIGKILL.
# Each prints "N passed, M failed" last; this prints the total the same way
# and exits non-zero when anything failed.
#
# Usage: tests/store/run.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# (the test tool, for the server stand-in and the clock: by default
# tests/esessionctl-test beside esessionctl).
# Environment: passed on to the scripts (TRIALS, CYCLES, SEED, ...; see each).
set -u
bin=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$bin" ]; then
    echo "usage: tests/store/run.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
tbin=${2:-$(dirname "$bin")/tests/esessionctl-test}
case $tbin in /*) ;; *) tbin=$(pwd)/$tbin ;; esac
for b in "$bin" "$tbin"; do
    if [ ! -x "$b" ] || [ -d "$b" ]; then
        echo "tests/store/run.sh: $b is not an executable" >&2
        echo "0 passed, 1 failed"
        exit 2
    fi
done

total_p=0 total_f=0 broken=""
for t in concurrent_seal concurrent_open kill_seal kill_open readers old_layout; do
    out=$(mktemp "${TMPDIR:-/tmp}/esession-store-run.XXXXXX")
    start=$(date +%s)
    bash "$here/$t.sh" "$bin" "$tbin" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    secs=$(( $(date +%s) - start ))
    last=$(tail -n 1 "$out")
    rm -f "$out"
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        total_p=$((total_p + BASH_REMATCH[1]))
        total_f=$((total_f + BASH_REMATCH[2]))
        if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
            total_f=$((total_f + 1)); broken="$broken $t"
        fi
    else
        total_f=$((total_f + 1)); broken="$broken $t"
    fi
    echo "== $t: exit $rc, ${secs}s"
    echo
done
[ -z "$broken" ] || echo "no proper result line (or exit status without failures) from:$broken"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
