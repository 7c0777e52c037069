#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Nothing lost, nothing silently unreadable: the delivery promise of the
# xmpp-* commands through a real server, one scenario at a time.
#   1 a plain message among encrypted ones is delivered, marked
#   2 stanzas whose first stanza comes later wait for it, then open
#   3 a re-key stanza lost on the way: what follows waits, then opens
#   4 options expiring mid-session: reported, and a new session goes on
#   5 Alice coming online during Bob's session ends it (XEP-0187 §5)
#   6 a non-subscriber uses the open node; coming online keeps it
#   8 Bob goes on with a session from another resource (device)
#   7 (ejabberd) an offline queue of one stanza: bounces are kept and
#     sent again until every message is stored
# Each ends with the counts of messages lost and delivered twice (both 0).
# Usage: tests/xmpp/scenarios.sh BUILD_DIR ejabberd|prosody
set -euo pipefail
build=${1:?usage: scenarios.sh BUILD_DIR ejabberd|prosody}
server=${2:?usage: scenarios.sh BUILD_DIR ejabberd|prosody}
here=$(cd "$(dirname "$0")" && pwd)
ctl=$(cd "$build" && pwd)/esessionctl
[ -x "$ctl" ] || { echo "scenarios: $ctl not found" >&2; exit 1; }

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/esession-scen.XXXXXX")
cleanup() {
    for d in "$tmp"/srv*; do "$here/server.sh" stop "$d" >/dev/null 2>&1 || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$tmp"

fail() { echo "scenarios ($server): FAIL: $*" >&2; exit 1; }
ok() { echo "scenarios ($server): ok: $*"; }

# start_server DIR [ENV...]: a server of its own, its accounts and keystores.
start_server() {
    local dir=$1
    shift
    mkdir "$dir"
    env "$@" "$here/server.sh" start "$server" "$dir" > "$dir.log" 2>&1 ||
        { cat "$dir.log" >&2; fail "the server did not start"; }
    xmpp_accounts "$dir"
    rm -f ./*.ks ./*.ks.* deliveries.log
    for who in alice bob eve; do
        as "$who" init 2>/dev/null
        as "$who" genkey rsa 2048 >/dev/null
        as "$who" export > "$who.key"
    done
    as bob trust "$A" alice.key >/dev/null
    as eve trust "$A" alice.key >/dev/null
    as alice trust "$B" bob.key >/dev/null
    as alice trust "$E" eve.key >/dev/null
}
# shellcheck source=tests/xmpp/lib.sh
. "$here/lib.sh"

# Every delivery, one line: encrypted? | sender | id | the <body> text.
cat > deliver.sh <<'EOF'
set -eu
body=$(sed -n 's|.*<body>\([^<]*\)</body>.*|\1|p' | head -1)
printf '%s|%s|%s|%s\n' "$ESESSION_ENCRYPTED" "$ESESSION_FROM_BARE" "$ESESSION_ID" "$body" \
    >> deliveries.log
EOF
# receive N [OPTIONS]: Alice back online; output in rN.out/.err, status in st.
receive() {
    local n=$1
    shift
    as alice xmpp-receive --deliver 'exec sh deliver.sh' "$@" > "r$n.out" 2> "r$n.err" &&
        st=0 || st=$?
}
# delivered BODY: how many times BODY was delivered.
delivered() {
    local n
    n=$(grep -c -F "|$1" deliveries.log 2>/dev/null) || true
    echo "${n:-0}"
}
# expect_once BODY...: each delivered exactly once; counts lost and twice.
lost=0 twice=0
expect_once() {
    local b n
    for b in "$@"; do
        n=$(delivered "$b")
        [ "$n" -eq 0 ] && lost=$((lost + 1))
        [ "$n" -gt 1 ] && twice=$((twice + 1))
        [ "$n" -eq 1 ] || fail "'$b' delivered $n times: $(cat deliveries.log 2>/dev/null)"
    done
}
# Bob seals offline: fetch, then seal from the answer (a new session).
seal_new() {
    local out=$1
    shift
    "$ctl" fetch "$A" > fetch.xml
    as bob xmpp-raw fetch.xml > items.xml || fail "fetch: $(cat items.xml)"
    as bob seal --to "$A" --from "$B/test" --items items.xml "$@" > "$out" ||
        fail "seal: $(cat "$out")"
}
# split FILE: the stanzas of FILE into FILE.1, FILE.2, ...
split_stanzas() {
    awk -v f="$1" '{ buf = buf $0 "\n" } /<\/message>/ { n++; printf "%s", buf > (f "." n); buf = "" }' "$1"
}

start_server srv1
publish() { as alice xmpp-publish --lifetime "${1:-1d}" "${@:2}" > publish.out || fail "publish: $(cat publish.out)"; }

# ---- 1: a plain message among encrypted ones.
publish
# match_resource by default: the resource of --jid (XEP-0187 §3.1 SHOULD).
grep -q "only the resource 'test' may read" publish.out || fail "no match_resource: $(cat publish.out)"
as bob xmpp-send "$A" "enc one" > s.out || fail "send: $(cat s.out)"
printf "<message to='%s' type='chat'><body>plain from eve</body></message>\n" "$A" > plain.xml
as eve xmpp-raw plain.xml > /dev/null || fail "plain message"
as bob xmpp-send --terminate "$A" "enc two" > s.out || fail "send: $(cat s.out)"
receive 1
[ "$st" -eq 0 ] || fail "receive: $(cat r1.out r1.err)"
expect_once "enc one" "enc two" "plain from eve"
grep -q "^0|$E|.*|plain from eve$" deliveries.log || fail "not marked: $(cat deliveries.log)"
grep -q "^1|$B|.*|enc one$" deliveries.log || fail "not marked: $(cat deliveries.log)"
grep -q 'not encrypted 1,' r1.out || fail "summary: $(cat r1.out)"
ok "1: a plain message among encrypted ones delivered, marked not encrypted (lost $lost, twice $twice)"

# ---- 2: the first stanza comes after the rest, in a later run.
publish
seal_new late.xml "late one" "late two" "late three"
split_stanzas late.xml
grep -q '<init' late.xml.1 || fail "the first stanza has no <init>"
as bob xmpp-raw late.xml.2 late.xml.3 > /dev/null || fail "raw"
receive 2a
[ "$st" -eq 0 ] || fail "receive: $(cat r2a.out r2a.err)"
[ "$(delivered 'late two')" -eq 0 ] || fail "opened without its first stanza"
grep -q 'wait for the first stanza' r2a.err || fail "not reported as waiting: $(cat r2a.err)"
as bob xmpp-raw late.xml.1 > /dev/null || fail "raw"
receive 2b
[ "$st" -eq 0 ] || fail "receive: $(cat r2b.out r2b.err)"
expect_once "late one" "late two" "late three"
ok "2: stanzas before their first stanza waited a run, then opened (lost $lost, twice $twice)"
as bob terminate "$A" > term.xml && as bob xmpp-raw term.xml > /dev/null

# ---- 3: a re-key stanza lost on the way, delivered later.
publish
seal_new rk.xml --rekey-freq 2 "rk one" "rk two" "rk three" "rk four" "rk five"
split_stanzas rk.xml
rekey=0
for i in 2 3 4 5; do grep -q '<key>' "rk.xml.$i" && { rekey=$i; break; }; done
[ "$rekey" -gt 0 ] || fail "no re-key stanza among $(ls rk.xml.*)"
others=()
for i in 1 2 3 4 5; do [ "$i" -ne "$rekey" ] && others+=("rk.xml.$i"); done
as bob xmpp-raw "${others[@]}" > /dev/null || fail "raw"
receive 3a
[ "$(delivered "rk five")" -eq 0 ] || fail "opened past a missing re-key"
as bob xmpp-raw "rk.xml.$rekey" > /dev/null || fail "raw"
receive 3b
expect_once "rk one" "rk two" "rk three" "rk four" "rk five"
ok "3: stanzas after a lost re-key stanza (#$rekey) waited for it, then opened (lost $lost, twice $twice)"
as bob terminate "$A" > term.xml && as bob xmpp-raw term.xml > /dev/null

# ---- 4: the options expire in the middle of Bob's session.
publish 6s
as bob xmpp-send "$A" "before expiry" > s.out || fail "send: $(cat s.out)"
sleep 7
if as bob xmpp-send "$A" "after expiry" > s4.out 2> s4.err; then
    fail "sent under expired options: $(cat s4.out)"
fi
grep -q "options expired" s4.err || fail "expiry not said: $(cat s4.err)"
publish
as bob xmpp-send --terminate "$A" "after expiry" > s.out 2> s.err || fail "send: $(cat s.out s.err)"
receive 4
[ "$st" -ne 0 ] || fail "a stanza of expired options went unreported: $(cat r4.out)"
grep -q 'rejected (expired)' r4.out || fail "not reported: $(cat r4.out r4.err)"
expect_once "after expiry"
ok "4: expiry mid-session ended the session; the stanza sent before it is reported unreadable (expired), the next session delivered (lost $lost, twice $twice)"

# ---- 5: Alice comes online during Bob's session.
publish
as bob xmpp-send "$A" "while away" > s.out || fail "send: $(cat s.out)"
as alice xmpp-receive --deliver 'exec sh deliver.sh' --mode flood --idle 8 > r5.out 2> r5.err &
alice_pid=$!
sleep 3
if as bob xmpp-send "$A" "too late" > s5.out 2> s5.err; then
    fail "Bob sent to an online Alice: $(cat s5.out)"
fi
grep -q "is online: the offline session with $A is ended" s5.err || fail "no §5: $(cat s5.err)"
wait "$alice_pid" || fail "receive: $(cat r5.out r5.err)"
expect_once "while away"
[ "$(delivered 'too late')" -eq 0 ] || fail "'too late' was sent"
grep -q ': terminated$' r5.out || fail "Alice did not see the session end: $(cat r5.out)"
if as bob seal --to "$A" "still there?" > /dev/null 2>&1; then fail "Bob's session is still open"; fi
ok "5: Alice online: Bob ended the session, sent nothing more and said so (lost $lost, twice $twice)"

# ---- 6: a non-subscriber uses the open node.
publish 1d --open-node
publish
as eve xmpp-send --terminate "$A" "via the open node" > s6.out 2> s6.err ||
    fail "eve: $(cat s6.out s6.err)"
grep -q "open node" s6.err || fail "eve: $(cat s6.err)"
receive 6
expect_once "via the open node"
as alice optsets > optsets.out
grep "open node" optsets.out | grep -q -v destroyed || fail "open node set destroyed: $(cat optsets.out)"
grep -v "open node" optsets.out | grep -q -v destroyed && fail "subscribers' set kept: $(cat optsets.out)"
ok "6: a non-subscriber sent through the open node; coming online withdrew only the subscribers' set (lost $lost, twice $twice)"

# ---- 8: Bob goes on from another resource: the stanzas go out from it.
publish
as bob xmpp-send "$A" "from the laptop" > s.out || fail "send: $(cat s.out)"
argv_for bob xmpp-send --terminate "$A" "from the phone"
ARGV=("${ARGV[@]/#bob@$D\/test/bob@$D/phone}")
"${ARGV[@]}" > s8.out 2> s8.err || fail "send from another resource: $(cat s8.out s8.err)"
receive 8
expect_once "from the laptop" "from the phone"
ok "8: a session begun on one resource went on from another (lost $lost, twice $twice)"
"$here/server.sh" stop "$tmp/srv1" > /dev/null

# ---- 7: an offline queue of one stanza (ejabberd's limit).
if [ "$server" = ejabberd ]; then
    start_server srv2 OFFLINE_LIMIT=1
    publish
    if as bob xmpp-send "$A" "q one" "q two" "q three" > s7.out 2> s7.err; then
        fail "bounces went unreported: $(cat s7.out)"
    fi
    grep -q "did not store 2 stanzas" s7.err || fail "bounce: $(cat s7.err)"
    rounds=0
    while [ "$(delivered 'q three')" -eq 0 ] && [ "$rounds" -lt 6 ]; do
        rounds=$((rounds + 1))
        receive "7-$rounds"
        as bob xmpp-send "$A" < /dev/null > s7.out 2> s7.err || true
    done
    receive 7-end
    expect_once "q one" "q two" "q three"
    ok "7: a queue of one stanza: bounced stanzas kept and sent again over $rounds rounds (lost $lost, twice $twice)"
    "$here/server.sh" stop "$tmp/srv2" > /dev/null
fi
echo "scenarios ($server): all passed: lost $lost, delivered twice $twice"
