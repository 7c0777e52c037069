#!/bin/sh
# Run each program under valgrind memcheck, two at a time, and fail on any
# error or leak. Criterion runs every test in a child process; a child's
# valgrind error does not reach the runner's exit status, so with --quiet
# any line valgrind prints ("==pid== ...") counts as a failure. The
# esessionctl processes that test_cli starts are checked by the ASan+UBSan
# run instead: under valgrind each would cost seconds.
# Usage: tests/valgrind.sh LOGDIR < COMMANDS   (one command line per line)
set -eu
logdir=$1
mkdir -p "$logdir"
fail=0
xargs -P 2 -I{} sh -c '
    cmd="{}"; name=$(echo "$cmd" | cut -d" " -f1 | tr / _)
    log="'"$logdir"'/$name.log"
    start=$(date +%s)
    if valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        --trace-children=yes --trace-children-skip='*/esessionctl,*/esessionctl-test' --track-fds=no $cmd >"$log" 2>&1 \
       && ! grep -q "^==[0-9]*==" "$log"; then
        echo "valgrind ok ($(( $(date +%s) - start ))s): $(echo "$cmd" | cut -c1-60) $(tail -1 "$log" | cut -c1-70)"
    else
        echo "valgrind FAILED: $cmd"; cat "$log"; exit 255
    fi' || fail=1
exit $fail
