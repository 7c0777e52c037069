#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# `esessionctl open` killed (SIGKILL) at random moments over Bob's stanzas,
# again and again on one Alice keystore, then one full run to the end. The
# promise: the keystore always opens, and every message is reported opened
# (printed completely in some run's output): a message the keystore records
# as opened but no run printed is LOST. A message reported by two runs must
# be the same message at the same position; how many were reported more
# than once is printed (not a failure).
#
# CYCLES kills in all, spread over ROUNDS rounds; each round starts from
# Alice's keystore before anything was opened (the kills that matter are
# those before everything is recorded).
#
# Usage: tests/store/kill_open.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# Environment: CYCLES (default 100), ROUNDS (default 10), K (messages,
# default 20), REKEY_FREQ (default 3), KILL_MAX_MS (the longest wait before
# a kill; default the time of a full run, measured), and those of lib.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
st_begin kill_open "$@"

CYCLES=${CYCLES:-100}
ROUNDS=${ROUNDS:-10}
K=${K:-20}
REKEY_FREQ=${REKEY_FREQ:-3}
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le "$CYCLES" ] || ROUNDS=1

st_setup_pair "$REKEY_FREQ"
st_seal_more "$ST_TMP/base/bob.ks" "$ST_TMP/base" m $((K - 1))
deliver_queue "$ST_TMP/base/srv" "$ST_TMP/base/first.xml" "$ST_TMP"/base/m-*.xml ||
    st_abort "the server stand-in failed" "$ST_TMP/base/srv.err"
files=("${QUEUE[@]}")
texts=$( { echo first; for i in $(seq 1 $((K - 1))); do printf 'm-%02d\n' "$i"; done; } )

# How long a full run takes (the first one, which opens everything): the
# shortest of three, so that most first runs are killed before their end.
dur=
for i in 1 2 3; do
    ks_copy "$ST_TMP/base/alice.ks" "$ST_TMP/probe.ks"
    t0=$(now_ms)
    alice "$ST_TMP/probe.ks" open "${files[@]}" > "$ST_TMP/probe.out" 2>&1 ||
        st_abort "a run without kills" "$ST_TMP/probe.out"
    t1=$(( $(now_ms) - t0 ))
    [ -n "$dur" ] && [ "$dur" -le "$t1" ] || dur=$t1
done
ks_remove "$ST_TMP/probe.ks"
[ "$(parse_open "$ST_TMP/probe.out" | awk -F '\t' '$2 == "opened"' | wc -l)" -eq "$K" ] ||
    st_abort "a run without kills does not open all $K stanzas" "$ST_TMP/probe.out"
if [ -z "${KILL_MAX_MS:-}" ]; then
    KILL_MAX_MS=$dur
    [ "$KILL_MAX_MS" -ge 2 ] || KILL_MAX_MS=2
fi
echo "a full run over $K stanzas takes about $dur ms here; kills within 0..$KILL_MAX_MS ms"
check_ok "set-up"

total_lost=0 total_multi=0
round() {
    local r=$1 cycles=$2 d="$ST_TMP/r$1" c pid rc why killed=0
    mkdir -p "$d"
    ks_copy "$ST_TMP/base/alice.ks" "$d/alice.ks" || st_abort "copying the keystore"
    for c in $(seq 1 "$cycles"); do
        "$CTL" open -k "$d/alice.ks" --passphrase-file "$ST_TMP/alice.pass" "${files[@]}" \
            > "$d/run$c.out" 2> "$d/run$c.err" &
        pid=$!
        bg_track "$pid"
        sleep_ms "$(rand_ms "$KILL_MAX_MS")"
        kill -9 "$pid" 2>/dev/null      # the kill bounds this process: no timeout needed
        wait "$pid" 2>/dev/null
        rc=$?
        bg_untrack "$pid"
        why=""
        case $rc in
        137) killed=$((killed + 1)) ;;
        0) ;;
        *) why="a run not killed exited $rc: $(head -c 300 "$d/run$c.err" | tr '\n' ' ');" ;;
        esac
        if ! ks_healthy "$d/alice.ks" "$ST_TMP/alice.pass" "$d/status$c"; then
            why="$why the keystore does not open: $(tr '\n' ' ' < "$d/status$c")"
        fi
        if [ -z "$why" ]; then check_ok "round $r cycle $c"; else check_fail "round $r cycle $c: $why"; fi
    done
    # The last run, to its end.
    alice "$d/alice.ks" open "${files[@]}" > "$d/run_final.out" 2> "$d/run_final.err"
    rc=$?
    if [ "$rc" -eq 0 ]; then check_ok "round $r: a full run after the kills"
    else check_fail "round $r: a full run after the kills exited $rc" "$d/run_final.err"; fi

    local outs=() tsv="$d/all.tsv"
    for c in $(seq 1 "$cycles"); do outs+=("$d/run$c.out"); done
    outs+=("$d/run_final.out")
    parse_open "${outs[@]}" > "$tsv"

    # Each message: reported opened by at least one run; its reports agree.
    local w n lost=0 multi=0 lostnames=""
    while IFS= read -r w; do
        n=$(awk -F '\t' -v w="$w" '($2 == "opened" || $2 == "redelivered") && $4 == w { runs[$1] = 1 }
            END { for (x in runs) n++; print n + 0 }' "$tsv")
        if [ "$n" -eq 0 ]; then
            lost=$((lost + 1)); lostnames="$lostnames $w"
            check_fail "round $r: $w LOST: recorded as opened, never reported by any run"
        else
            check_ok "round $r: $w reported"
            [ "$n" -eq 1 ] || multi=$((multi + 1))
        fi
    done <<< "$texts"
    local incons
    incons=$(awk -F '\t' '$2 == "opened" || $2 == "redelivered" {
            if (($4 in posof) && posof[$4] != $3) bad[$4] = 1; posof[$4] = $3
            if (($4 in idof) && idof[$4] != $6) bad[$4] = 1; idof[$4] = $6
            if (($3 in textof) && textof[$3] != $4) bad[$3] = 1; textof[$3] = $4 }
        END { for (b in bad) printf " %s", b }' "$tsv")
    if [ -z "$incons" ]; then check_ok "round $r: every report of a message agrees"
    else check_fail "round $r: a message reported with different contents or positions:$incons"; fi
    echo "round $r: $cycles runs, $killed killed; $lost of $K messages lost${lostnames:+ (}${lostnames# }${lostnames:+)}," \
         "$multi reported opened by more than one run"
    total_lost=$((total_lost + lost))
    total_multi=$((total_multi + multi))
    [ -n "${KEEP:-}" ] || rm -rf "$d"
}

per=$((CYCLES / ROUNDS))
for r in $(seq 1 "$ROUNDS"); do
    n=$per
    [ "$r" -lt "$ROUNDS" ] || n=$((CYCLES - per * (ROUNDS - 1)))
    round "$r" "$n"
done
echo "in all: $total_lost of $((K * ROUNDS)) messages lost, $total_multi reported more than once"
st_end
