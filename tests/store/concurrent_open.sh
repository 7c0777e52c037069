#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Two `esessionctl open` processes at once on the same Alice keystore over
# the same stanzas (one in queue order, the other reversed or shuffled):
# across both outputs every message must be reported opened exactly once
# (the other process reports it as a duplicate, or holds or rejects it), and
# none may be missing. Without locking both processes load the same state and
# both deliver the same messages.
#
# Usage: tests/store/concurrent_open.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# Environment: OPEN_TRIALS, else TRIALS (default 10), K (messages, default 20), REKEY_FREQ
# (default 3, so that the stanzas carry re-keys), and those of lib.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
st_begin concurrent_open "$@"

TRIALS=${OPEN_TRIALS:-${TRIALS:-10}}
K=${K:-20}
REKEY_FREQ=${REKEY_FREQ:-3}

st_setup_pair "$REKEY_FREQ"
st_seal_more "$ST_TMP/base/bob.ks" "$ST_TMP/base" m $((K - 1))
deliver_queue "$ST_TMP/base/srv" "$ST_TMP/base/first.xml" "$ST_TMP"/base/m-*.xml ||
    st_abort "the server stand-in failed" "$ST_TMP/base/srv.err"
files=("${QUEUE[@]}")
texts=$( { echo first; for i in $(seq 1 $((K - 1))); do printf 'm-%02d\n' "$i"; done; } )
[ "${#files[@]}" -eq "$K" ] || st_abort "the server does not hold $K stanzas"
# The stanzas open, one process alone.
ks_copy "$ST_TMP/base/alice.ks" "$ST_TMP/solo.ks"
alice "$ST_TMP/solo.ks" open "${files[@]}" > "$ST_TMP/solo.out" 2>&1 ||
    st_abort "one process alone cannot open the stanzas" "$ST_TMP/solo.out"
[ "$(parse_open "$ST_TMP/solo.out" | awk -F '\t' '$2 == "opened"' | wc -l)" -eq "$K" ] ||
    st_abort "one process alone does not open all $K stanzas" "$ST_TMP/solo.out"
check_ok "set-up: $K stanzas, one process alone opens them all"

# shuffled FILE...: the arguments in a random order (bash's $RANDOM, seeded).
shuffled() {
    local f
    for f in "$@"; do printf '%05d %s\n' "$RANDOM" "$f"; done | sort -n | cut -d' ' -f2-
}

n_dup=0 n_missing=0 n_badrc=0 n_damaged=0 n_again=0
trial() {
    local t=$1 d="$ST_TMP/t$1" why="" rc
    local -a pids rcs
    mkdir -p "$d"
    ks_copy "$ST_TMP/base/alice.ks" "$d/alice.ks" || st_abort "copying the keystore"
    # The stanza files for each process, one a line: queue order, and
    # reversed (odd trials) or shuffled (even trials).
    printf '%s\n' "${files[@]}" > "$d/order1"
    if [ $((t % 2)) -eq 1 ]; then
        printf '%s\n' "${files[@]}" | tac > "$d/order2"
    else
        shuffled "${files[@]}" > "$d/order2"
    fi
    mkfifo "$d/go"
    exec 3<>"$d/go"
    local i
    for i in 1 2; do
        (
            mapfile -t list < "$d/order$i"
            read -r -t 30 _ <&3
            exec 3>&-
            exec timeout -k 5 "$TMO" "$CTL" open -k "$d/alice.ks" \
                --passphrase-file "$ST_TMP/alice.pass" "${list[@]}"
        ) > "$d/open$i.out" 2> "$d/open$i.err" &
        pids[i]=$!
        bg_track "${pids[i]}"
    done
    sleep 0.02
    printf '\n\n' >&3
    for i in 1 2; do
        wait "${pids[i]}" 2>/dev/null
        rcs[i]=$?
        bg_untrack "${pids[i]}"
    done
    exec 3>&-

    # Each result: opened, duplicate, held or rejected (no-session) (what the
    # other process has not opened yet is held or has no session yet), and
    # the exit status accordingly 0, 4 (held) or 6 (no session); nothing else.
    parse_open "$d/open1.out" "$d/open2.out" > "$d/open.tsv"
    local odd
    for i in 1 2; do
        odd=$(awk -F '\t' -v f="$d/open$i.out" '$1 == f && $2 !~ /^(opened|redelivered|duplicate|held|rejected\(no-session\))$/ {
            printf " %s", $2 }' "$d/open.tsv")
        case ${rcs[i]} in
        0 | 4 | 6) [ -z "$odd" ] ;;
        *) false ;;
        esac || {
            why="$why open $i exit ${rcs[i]}${odd:+, results:$odd}: $(head -c 300 "$d/open$i.err" | tr '\n' ' ');"
            n_badrc=$((n_badrc + 1))
        }
    done
    # A message the other run opened but had not confirmed yet may come out
    # of the inbox here too: allowed only as "redelivered", with its id.
    local bad
    bad=$(printf '%s\n' "$texts" | awk -F '\t' '
        NR == FNR { want[$0] = 1; next }
        $2 == "opened" { got[$4]++; pos[$3]++; idof[$4] = $6 }
        $2 == "redelivered" { redel[$4] = $6 }
        function add(kind, name) { n[kind]++; if (n[kind] <= 4) names[kind] = names[kind] " " name }
        END {
            for (w in want) if (got[w] > 1) add("DUP", w)
            for (w in want) if (!(w in got)) add("MISSING", w)
            for (g in got) if (!(g in want)) add("unexpected", g)
            for (p in pos) if (pos[p] > 1) add("pos", p)
            for (r in redel) if (!(r in idof) || idof[r] != redel[r]) add("REDELIVERED", r)
            if (n["DUP"]) printf " DUP: %d message(s) opened by both (%s%s);", n["DUP"], substr(names["DUP"], 2), (n["DUP"] > 4 ? " ..." : "")
            if (n["MISSING"]) printf " MISSING: %d message(s) opened by neither (%s%s);", n["MISSING"], substr(names["MISSING"], 2), (n["MISSING"] > 4 ? " ..." : "")
            if (n["unexpected"]) printf " unexpected texts (%s);", substr(names["unexpected"], 2)
            if (n["pos"]) printf " %d position(s) reported twice;", n["pos"]
            if (n["REDELIVERED"]) printf " %d redelivered without a matching opened id (%s);", n["REDELIVERED"], substr(names["REDELIVERED"], 2)
        }' - "$d/open.tsv")
    case $bad in *DUP*) n_dup=$((n_dup + 1)) ;; esac
    case $bad in *MISSING*) n_missing=$((n_missing + 1)) ;; esac
    why="$why$bad"

    # The keystore is sound afterwards; a third run alone tells whether the
    # missing ones were only left for later or are lost.
    if ! ks_healthy "$d/alice.ks" "$ST_TMP/alice.pass" "$d/status"; then
        n_damaged=$((n_damaged + 1))
        why="$why keystore damaged: $(tr '\n' ' ' < "$d/status");"
    fi
    alice "$d/alice.ks" open "${files[@]}" > "$d/open3.out" 2> "$d/open3.err"
    rc=$?
    # What a third run opens was either never reported (left for later) or
    # reported already (the record of its opening was lost: delivered twice).
    local again later
    parse_open "$d/open3.out" > "$d/open3.tsv"
    again=$(awk -F '\t' 'NR == FNR { if ($2 == "opened") seen[$4] = 1; next }
        $2 == "opened" && ($4 in seen)' "$d/open.tsv" "$d/open3.tsv" | wc -l)
    later=$(awk -F '\t' 'NR == FNR { if ($2 == "opened") seen[$4] = 1; next }
        $2 == "opened" && !($4 in seen)' "$d/open.tsv" "$d/open3.tsv" | wc -l)
    [ "$again" -eq 0 ] || n_again=$((n_again + 1))
    if [ "$again" -gt 0 ] || [ "$later" -gt 0 ] || [ "$rc" -ne 0 ]; then
        why="$why a third run alone afterwards: exit $rc, opened $again message(s) again and $later never reported;"
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$d"
    TRIAL_WHY=$why
    [ -z "$why" ]
}

failed=0
for t in $(seq 1 "$TRIALS"); do
    if trial "$t"; then
        check_ok "trial $t"
    else
        failed=$((failed + 1))
        check_fail "trial $t:$TRIAL_WHY"
    fi
done
echo "$TRIALS trials, $failed failed: a message opened by both processes in $n_dup," \
     "a message opened by neither in $n_missing, an unexpected result or exit status in $n_badrc," \
     "keystore damaged in $n_damaged, a third run opening again messages already reported in $n_again"
st_end
