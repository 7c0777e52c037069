#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Readers while writers run: Bob seals (and his stanzas go to Alice's
# server) while Alice publishes option sets, trusts, verifies and untrusts a
# key and purges expired sets; meanwhile read-only commands (status, keys,
# peers, optsets) run in a loop on both keystores. No writer and no reader
# may fail: exit status 0 and nothing on standard error, every time. At the
# end Alice opens all of Bob's stanzas (none lost by a writer), and both
# keystores open.
#
# Usage: tests/store/readers.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# Environment: WRITES (writes by each of Bob and Alice, default 100),
# READERS (reader loops per keystore, default 1), and those of lib.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
st_begin readers "$@"

WRITES=${WRITES:-100}
READERS=${READERS:-1}
C=carol@example.net

st_setup_pair 100
# A third key, for Alice to trust and untrust.
{ ctl "$ST_TMP/carol.ks" "$ST_TMP/alice.pass" init 2>"$ST_TMP/err" &&
    ctl "$ST_TMP/carol.ks" "$ST_TMP/alice.pass" genkey rsa 2048 >/dev/null 2>"$ST_TMP/err" &&
    ctl "$ST_TMP/carol.ks" "$ST_TMP/alice.pass" export > "$ST_TMP/carol.key" 2>"$ST_TMP/err"; } ||
    st_abort "carol's key" "$ST_TMP/err"
cfp=$(tmo "$CTL" fingerprint "$ST_TMP/carol.key" | awk '{ $1 = ""; $2 = ""; gsub(/ /, ""); print }')
[ "${#cfp}" -eq 64 ] || st_abort "carol's fingerprint: '$cfp'"
ks_copy "$ST_TMP/base/alice.ks" "$ST_TMP/alice.ks"
ks_copy "$ST_TMP/base/bob.ks" "$ST_TMP/bob.ks"
mkdir -p "$ST_TMP/log" "$ST_TMP/bw"
check_ok "set-up"

# logged NAME LOG CMD...: run CMD (stdout discarded unless NAME's caller
# redirected it), append "OK NAME" or "FAIL NAME exit N: stderr" to LOG.
logged() {
    local name=$1 log=$2 rc
    shift 2
    "$@" 2> "$log.err"
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$log.err" ]; then
        echo "OK $name" >> "$log"
    else
        echo "FAIL $name exit $rc: $(head -c 300 "$log.err" | tr '\n' ' ')" >> "$log"
    fi
}

bob_writer() {
    local i log="$ST_TMP/log/w-bob"
    for i in $(seq 1 "$WRITES"); do
        logged "bob seal $i" "$log" bob "$ST_TMP/bob.ks" seal --to "$A" "r-$i" > "$ST_TMP/bw/$i.xml"
        logged "server deliver $i" "$log" server "$ST_TMP/srv" deliver "$ST_TMP/bw/$i.xml" > /dev/null
    done
}

# shellcheck disable=SC2317  # called through logged
alice_publish() {
    alice "$ST_TMP/alice.ks" publish --lifetime 1m > "$ST_TMP/log/pub.xml" &&
        server "$ST_TMP/srv" publish --jid "$A" "$ST_TMP/log/pub.xml" > /dev/null
}
alice_writer() {
    local i log="$ST_TMP/log/w-alice"
    for i in $(seq 1 "$WRITES"); do
        case $((i % 6)) in
        1) logged "alice publish $i" "$log" alice_publish ;;
        2) logged "alice trust $i" "$log" alice "$ST_TMP/alice.ks" trust -n Carol "$C" "$ST_TMP/carol.key" ;;
        3) logged "alice verify $i" "$log" alice "$ST_TMP/alice.ks" verify "$C" "$cfp" ;;
        4) logged "alice verify --unset $i" "$log" alice "$ST_TMP/alice.ks" verify --unset "$C" "$cfp" ;;
        5) logged "alice untrust $i" "$log" alice "$ST_TMP/alice.ks" untrust "$C" ;;
        0) # the sets published above, expired two hours from now; not the first (1 day)
           logged "alice purge $i" "$log" env ESESSIONCTL_NOW=+7200 \
               timeout -k 5 "$TMO" "$TCTL" purge -k "$ST_TMP/alice.ks" --passphrase-file "$ST_TMP/alice.pass" ;;
        esac
    done
}

reader() {
    local who=$1 n=$2 log="$ST_TMP/log/r-$1-$2" cmd
    while [ ! -e "$ST_TMP/log/stop" ]; do
        for cmd in status keys peers optsets; do
            logged "$who $cmd" "$log" ctl "$ST_TMP/$who.ks" "$ST_TMP/$who.pass" "$cmd" > /dev/null
        done
    done
}

pids=""
for who in alice bob; do
    for n in $(seq 1 "$READERS"); do
        reader "$who" "$n" &
        bg_track $!
        pids="$pids $!"
    done
done
bob_writer &
wb=$!
bg_track $wb
alice_writer &
wa=$!
bg_track $wa
wait $wb $wa
touch "$ST_TMP/log/stop"
for p in $pids $wb $wa; do
    wait "$p" 2>/dev/null
    bg_untrack "$p"
done

# Every invocation is a check.
summary=""
for log in "$ST_TMP"/log/w-bob "$ST_TMP"/log/w-alice "$ST_TMP"/log/r-*; do
    case $log in *.err) continue ;; esac
    [ -f "$log" ] || continue
    ok=$(grep -c '^OK ' "$log")
    bad=$(grep -c '^FAIL ' "$log")
    PASSED=$((PASSED + ok))
    summary="$summary ${log##*/}: $ok ok, $bad failed;"
    while IFS= read -r line; do
        check_fail "${line#FAIL }"
    done < <(grep '^FAIL ' "$log")
done
echo "invocations:$summary"

# Nothing a writer did was lost: Alice opens all of Bob's stanzas, each at
# its own position; Alice still has her first option set, both keystores open.
queue=$(server "$ST_TMP/srv" queue "$A" 2>"$ST_TMP/err") || st_abort "server queue" "$ST_TMP/err"
files=()
[ -z "$queue" ] || mapfile -t files <<< "$queue"
alice "$ST_TMP/alice.ks" open "$ST_TMP/base/first.xml" "${files[@]}" > "$ST_TMP/open.out" 2> "$ST_TMP/open.err"
rc=$?
parse_open "$ST_TMP/open.out" > "$ST_TMP/open.tsv"
opened=$(awk -F '\t' '$2 == "opened"' "$ST_TMP/open.tsv" | wc -l)
sealed=$(grep -c '^OK bob seal' "$ST_TMP/log/w-bob")
distinct=$(awk -F '\t' '$2 == "opened" { p[$3] = 1; t[$4] = 1 } END { n = 0; for (x in p) n++; m = 0; for (y in t) m++; print n " " m }' \
    "$ST_TMP/open.tsv")
if [ "$rc" -eq 0 ] && [ "$opened" -eq $((sealed + 1)) ] && [ "$distinct" = "$opened $opened" ]; then
    check_ok "Alice opens Bob's $opened stanzas"
else
    check_fail "Alice opens $opened stanzas (exit $rc; distinct positions and texts: $distinct) of $((sealed + 1)) sealed" \
        "$ST_TMP/open.err"
fi
for who in alice bob; do
    if ks_healthy "$ST_TMP/$who.ks" "$ST_TMP/$who.pass" "$ST_TMP/$who.status"; then
        check_ok "$who's keystore opens"
    else
        check_fail "$who's keystore does not open" "$ST_TMP/$who.status"
    fi
done
st_end
