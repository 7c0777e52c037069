#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# `esessionctl seal` killed (SIGKILL) at random moments, CYCLES times in
# all, in two phases, each on its own Bob keystore and session with Alice:
# one that re-keys often (REKEY_FREQ), one that never re-keys (so that every
# stanza printed can still be opened even when one before it was lost, and
# the check of the counters covers them all). Every stanza printed
# completely is kept and Alice opens them all at the end of each phase.
#
# Fails on: the keystore not opening after a kill; a seal that ran to the
# end failing (or printing fewer stanzas than messages); a counter (position)
# used twice; a message opened twice or at two positions; a replay opened.
# Only reported: stanzas that do not open. A seal killed after storing its
# state but before printing loses that stanza, and when it carried a re-key
# the later stanzas cannot be opened; keeping the stanzas until they are
# printed (an outbox) is a separate promise.
#
# Usage: tests/store/kill_seal.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# Environment: CYCLES (default 100, half in each phase), MSGS (messages per
# seal, default 3),
# REKEY_FREQ (default 2), KILL_MAX_MS (the longest wait before the kill;
# default 1.5 times the shortest of four measured seals, at most 30 ms), and those of lib.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
st_begin kill_seal "$@"

CYCLES=${CYCLES:-100}
MSGS=${MSGS:-3}
REKEY_FREQ=${REKEY_FREQ:-2}

st_setup_pair "$REKEY_FREQ"

msgs_of() { local c=$1 i; for i in $(seq 1 "$MSGS"); do echo "k-$c-$i"; done; }

# How long one seal of MSGS messages takes here, to aim the kills.
ks_copy "$ST_TMP/base/bob.ks" "$ST_TMP/probe.ks"
dur=
for i in 1 2 3 4; do
    t0=$(now_ms)
    # shellcheck disable=SC2046
    bob "$ST_TMP/probe.ks" seal --to "$A" $(msgs_of "p$i") > /dev/null 2>"$ST_TMP/probe.err" ||
        st_abort "a seal without kills" "$ST_TMP/probe.err"
    t1=$(( $(now_ms) - t0 ))
    [ -n "$dur" ] && [ "$dur" -le "$t1" ] || dur=$t1
done
ks_remove "$ST_TMP/probe.ks"
if [ -z "${KILL_MAX_MS:-}" ]; then
    KILL_MAX_MS=$((dur * 3 / 2))
    [ "$KILL_MAX_MS" -ge 2 ] || KILL_MAX_MS=2
    [ "$KILL_MAX_MS" -le 30 ] || KILL_MAX_MS=30
fi
echo "a seal of $MSGS messages takes about $dur ms here; kills within 0..$KILL_MAX_MS ms"
check_ok "set-up"
ks_copy "$ST_TMP/base/alice.ks" "$ST_TMP/alice.ks"

# phase NAME CYCLES BOB_KEYSTORE FIRST_STANZA
phase() {
    local name=$1 cycles=$2 ks=$3 d="$ST_TMP/$1" c i n rc pid why
    local killed=0 finished=0 printed=0
    local -a stanzas=("$4")
    mkdir -p "$d/out" "$d/st"
    for c in $(seq 1 "$cycles"); do
        # shellcheck disable=SC2046
        "$CTL" seal -k "$ks" --passphrase-file "$ST_TMP/bob.pass" --to "$A" $(msgs_of "$c") \
            > "$d/out/$c.out" 2> "$d/out/$c.err" &
        pid=$!
        bg_track "$pid"
        sleep_ms "$(rand_ms "$KILL_MAX_MS")"
        kill -9 "$pid" 2>/dev/null      # the kill bounds this process: no timeout needed
        wait "$pid" 2>/dev/null
        rc=$?
        bg_untrack "$pid"
        n=$(split_stanzas "$d/out/$c.out" "$d/st/$c")
        printed=$((printed + n))
        for i in $(seq 1 "$n"); do stanzas+=("$d/st/$c.$i.xml"); done
        why=""
        if [ "$rc" -eq 137 ]; then
            killed=$((killed + 1))
        else
            finished=$((finished + 1))
            if [ "$rc" -ne 0 ]; then
                why="the seal ran to its end and failed (exit $rc): $(head -c 300 "$d/out/$c.err" | tr '\n' ' ');"
            elif [ "$n" -lt "$MSGS" ]; then
                # Its own, after any an earlier killed run left unsent.
                why="the seal ran to its end (exit 0) but printed $n of $MSGS stanzas;"
            fi
        fi
        if ! ks_healthy "$ks" "$ST_TMP/bob.pass" "$d/out/$c.status"; then
            why="$why the keystore does not open: $(tr '\n' ' ' < "$d/out/$c.status")"
        fi
        if [ -z "$why" ]; then check_ok "$name: cycle $c"; else check_fail "$name: cycle $c: $why"; fi
    done
    echo "$name: $cycles seals, $killed killed, $finished ran to their end;" \
         "$printed complete stanzas printed of $((cycles * MSGS)) messages"

    # One more seal, undisturbed.
    if bob "$ks" seal --to "$A" "final" > "$d/final.xml" 2> "$d/final.err" &&
        n=$(split_stanzas "$d/final.xml" "$d/st/final") && [ "$n" -ge 1 ]; then
        check_ok "$name: a seal after the kills"
        for i in $(seq 1 "$n"); do stanzas+=("$d/st/final.$i.xml"); done
    else
        check_fail "$name: a seal after the kills" "$d/final.err"
    fi

    # Alice opens every complete stanza, in the order printed.
    local nfiles opened notopened reused twice again rc1
    deliver_queue "$d/srv" "${stanzas[@]}" || st_abort "the server stand-in failed" "$d/srv.err"
    alice "$ST_TMP/alice.ks" open "${QUEUE[@]}" > "$d/open1.out" 2> "$d/open1.err"
    rc1=$?
    parse_open "$d/open1.out" > "$d/open1.tsv"
    nfiles=${#QUEUE[@]}
    opened=$(awk -F '\t' '$2 == "opened"' "$d/open1.tsv" | wc -l)
    notopened=$(awk -F '\t' '{ last[$5] = $2 } END { for (s in last) if (last[s] != "opened") c[last[s]]++
        for (k in c) printf " %s %d", k, c[k] }' "$d/open1.tsv")
    echo "$name: Alice opens $opened of $nfiles stanzas (exit $rc1); not opened (reported only):${notopened:- none}"

    # No counter used twice.
    reused=$(awk -F '\t' '$2 == "opened" { c[$3]++ } END { for (p in c) if (c[p] > 1) printf " %s", p }' \
        "$d/open1.tsv")
    if [ -z "$reused" ]; then check_ok "$name: no position used twice ($opened stanzas)"
    else check_fail "$name: positions used by two stanzas:$reused"; fi

    # No message opened twice, none unknown.
    twice=$(awk -F '\t' '$2 == "opened" { c[$4]++ }
        END { for (t in c) if (c[t] > 1 || t !~ /^(first|final|k-[0-9]+-[0-9]+)$/) printf " %s(%d)", t, c[t] }' \
        "$d/open1.tsv")
    if [ -z "$twice" ]; then check_ok "$name: no message opened twice"
    else check_fail "$name: messages opened twice or unknown:$twice"; fi

    # A replay opens nothing: the same stanzas again.
    alice "$ST_TMP/alice.ks" open "${QUEUE[@]}" > "$d/open2.out" 2> "$d/open2.err"
    again=$(parse_open "$d/open2.out" | awk -F '\t' '$2 == "opened" { n++ } END { print n + 0 }')
    if [ "$again" -eq 0 ]; then check_ok "$name: the same stanzas again open nothing"
    else check_fail "$name: the same stanzas again: $again opened again"; fi
}

half=$((CYCLES / 2))
ks_copy "$ST_TMP/base/bob.ks" "$ST_TMP/bob-rekey.ks"
phase rekey "$half" "$ST_TMP/bob-rekey.ks" "$ST_TMP/base/first.xml"
ks_copy "$ST_TMP/base/bob0.ks" "$ST_TMP/bob-steady.ks"
st_first_seal "$ST_TMP/bob-steady.ks" "$ST_TMP/first-steady.xml" 1000000 first
phase steady $((CYCLES - half)) "$ST_TMP/bob-steady.ks" "$ST_TMP/first-steady.xml"

if ks_healthy "$ST_TMP/alice.ks" "$ST_TMP/alice.pass" "$ST_TMP/alice.status"; then
    check_ok "Alice's keystore opens"
else
    check_fail "Alice's keystore does not open" "$ST_TMP/alice.status"
fi
st_end
