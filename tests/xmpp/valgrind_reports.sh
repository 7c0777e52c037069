#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The valgrind logs of `make valgrind-xmpp` (one per esessionctl call):
# prints what each holds, less one notice that is valgrind's and not the
# program's, and fails if anything is left.
#
# The notice: OpenSSL's secure heap (set up by esessionctl) locks its pages
# with mlock2(MLOCK_ONFAULT), system call 325, which valgrind 3.19 does not
# know; it answers ENOSYS and OpenSSL falls back to mlock. Only that exact
# five-line notice is taken out: any other line of valgrind's own fails.
#
# Usage: tests/xmpp/valgrind_reports.sh DIR
set -u
dir=$1
notice='^--[0-9]+-- (WARNING: unhandled amd64-linux syscall: 325|You may be able to write your own handler\.|Read the file README_MISSING_SYSCALL_OR_IOCTL\.|Nevertheless we consider this a bug\.  Please report|it at http://valgrind\.org/support/bug_reports\.html\.)$'
calls=0 bad=0
for log in "$dir"/log.*; do
    [ -e "$log" ] || continue
    calls=$((calls + 1))
    left=$(grep -v -E "$notice" "$log")
    if [ -n "$left" ]; then
        printf '%s:\n%s\n' "$log" "$left"
        bad=$((bad + 1))
    fi
done
if [ "$calls" -eq 0 ]; then
    echo "valgrind-xmpp: no valgrind log: nothing ran under valgrind"
    exit 1
fi
if [ "$bad" -gt 0 ]; then
    echo "valgrind-xmpp: $bad of $calls calls with reports (above)"
    exit 1
fi
echo "valgrind-xmpp: $calls calls, no valgrind report"
