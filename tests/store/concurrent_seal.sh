#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Several `esessionctl seal` processes at once on Bob's keystore: no seal
# may fail, and Alice must open every stanza, each at its own counter
# (position), each message exactly once. Without locking, two processes read
# the same session state and encrypt at the same counter (a reused AES-CTR
# keystream), and one of the two stanzas cannot be opened.
#
# Usage: tests/store/concurrent_seal.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# Environment: TRIALS (per process count, default 25), PROCS (process counts,
# default "2 4"), REKEY_FREQ (Bob's re-key frequency, default 3, so that
# re-keys happen among the concurrent seals), and those of lib.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
st_begin concurrent_seal "$@"

TRIALS=${TRIALS:-25}
PROCS=${PROCS:-2 4}
REKEY_FREQ=${REKEY_FREQ:-3}

st_setup_pair "$REKEY_FREQ"
check_ok "set-up"

# trial P T: P seals released together by a FIFO barrier, then Alice opens
# everything on her own copy. Returns 0 when every check held.
trial() {
    local P=$1 t=$2 d="$ST_TMP/p$1-t$2" i rc why=""
    local -a pids rcs
    mkdir -p "$d"
    { ks_copy "$ST_TMP/base/bob.ks" "$d/bob.ks" && ks_copy "$ST_TMP/base/alice.ks" "$d/alice.ks"; } ||
        st_abort "copying the keystores"
    mkfifo "$d/go"
    exec 3<>"$d/go"
    for i in $(seq 1 "$P"); do
        (
            read -r -t 30 _ <&3
            exec 3>&-
            exec timeout -k 5 "$TMO" "$CTL" seal -k "$d/bob.ks" --passphrase-file "$ST_TMP/bob.pass" \
                --to "$A" "msg-$t-$i"
        ) > "$d/seal$i.xml" 2> "$d/seal$i.err" &
        pids[i]=$!
        bg_track "${pids[i]}"
    done
    sleep 0.02                      # let them all reach the barrier
    for i in $(seq 1 "$P"); do printf '\n' >&3; done
    for i in $(seq 1 "$P"); do
        wait "${pids[i]}" 2>/dev/null
        rcs[i]=$?
        bg_untrack "${pids[i]}"
    done
    exec 3>&-

    # Every seal exits 0 and prints its stanza.
    local sealfail=0
    for i in $(seq 1 "$P"); do
        if [ "${rcs[i]}" -ne 0 ] || ! grep -q '</message>' "$d/seal$i.xml"; then
            sealfail=$((sealfail + 1))
            why="$why seal $i exit ${rcs[i]}: $(head -c 200 "$d/seal$i.err" | tr '\n' ' ');"
        fi
    done
    [ "$sealfail" -eq 0 ] || n_sealfail=$((n_sealfail + 1))

    # Alice's server keeps them; she opens the whole queue at once.
    local -a outs=()
    local k m
    for i in $(seq 1 "$P"); do
        m=$(split_stanzas "$d/seal$i.xml" "$d/st$i")
        for k in $(seq 1 "$m"); do outs+=("$d/st$i.$k.xml"); done
    done
    deliver_queue "$d/srv" "$ST_TMP/base/first.xml" "${outs[@]}" ||
        st_abort "the server stand-in failed" "$d/srv.err"
    alice "$d/alice.ks" open "${QUEUE[@]}" > "$d/open.out" 2> "$d/open.err"
    rc=$?
    parse_open "$d/open.out" > "$d/open.tsv"
    local nfiles=${#QUEUE[@]}

    # Every stanza: opened (the last result for each source).
    local notopened
    notopened=$(awk -F '\t' '{ last[$5] = $2 } END { for (s in last) if (last[s] != "opened") n++; print n + 0 }' \
        "$d/open.tsv")
    local opened
    opened=$(awk -F '\t' '$2 == "opened"' "$d/open.tsv" | wc -l)
    if [ "$notopened" -ne 0 ] || [ "$opened" -ne "$nfiles" ]; then
        n_notopened=$((n_notopened + 1))
        why="$why open exit $rc, $opened of $nfiles stanzas opened (final status:$(awk -F '\t' \
            '{ last[$5] = $2 } END { for (s in last) if (last[s] != "opened") printf " %s", last[s] }' \
            "$d/open.tsv"));"
    fi
    # Positions (the AES-CTR start counters) all distinct.
    local reused
    reused=$(awk -F '\t' '$2 == "opened" { c[$3]++ } END { for (p in c) if (c[p] > 1) n++; print n + 0 }' \
        "$d/open.tsv")
    if [ "$reused" -ne 0 ]; then
        n_reused=$((n_reused + 1))
        why="$why $reused position(s) used twice;"
    fi
    # Every message text exactly once, nothing else.
    local texts bad
    texts=$( { echo first; for i in $(seq 1 "$P"); do echo "msg-$t-$i"; done; } )
    bad=$(printf '%s\n' "$texts" | awk -F '\t' '
        NR == FNR { want[$0] = 1; next }
        $2 == "opened" { got[$4]++ }
        END {
            for (w in want) if (got[w] != 1) printf "%s opened %d times; ", w, got[w] + 0
            for (g in got) if (!(g in want)) printf "unexpected %s; ", g
        }' - "$d/open.tsv")
    if [ -n "$bad" ]; then
        n_textbad=$((n_textbad + 1))
        why="$why $bad"
    fi

    if [ -z "$why" ]; then
        rm -rf "$d"
        return 0
    fi
    TRIAL_WHY=$why
    [ -n "${KEEP:-}" ] || rm -rf "$d"
    return 1
}

for P in $PROCS; do
    n_sealfail=0 n_notopened=0 n_reused=0 n_textbad=0 n_failed=0
    for t in $(seq 1 "$TRIALS"); do
        if trial "$P" "$t"; then
            check_ok "P=$P trial $t"
        else
            n_failed=$((n_failed + 1))
            check_fail "P=$P trial $t:$TRIAL_WHY"
        fi
    done
    echo "P=$P: $TRIALS trials, $n_failed failed: a seal failed in $n_sealfail, a stanza not opened" \
         "in $n_notopened, a position opened twice in" \
         "$n_reused, a message not opened exactly once in $n_textbad"
done
st_end
