#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The offline flow through a real XMPP server with esessionctl's xmpp-*
# commands (libstrophe): Alice publishes and goes offline, an eavesdropper
# without a presence subscription is refused her options, Bob sends (one
# stanza tampered with on its way), Alice comes back and opens everything.
# ejabberd: XEP-0013 retrieval, and a receiver killed between handing a
# message to the output and removing it from the server. Prosody: flood
# delivery.
# Usage: tests/xmpp/run.sh BUILD_DIR ejabberd|prosody
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR ejabberd|prosody}
server=${2:?usage: run.sh BUILD_DIR ejabberd|prosody}
here=$(cd "$(dirname "$0")" && pwd)
ctl=$(cd "$build" && pwd)/esessionctl
[ -x "$ctl" ] || { echo "xmpp test: $ctl not found" >&2; exit 1; }

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/esession-xmpp.XXXXXX")
cleanup() {
    "$here/server.sh" stop "$tmp/srv" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/srv"
cd "$tmp"

fail() { echo "xmpp test ($server): FAIL: $*" >&2; exit 1; }
ok() { echo "xmpp test ($server): ok: $*"; }

"$here/server.sh" start "$server" "$tmp/srv" >server-start.log 2>&1 ||
    { cat server-start.log >&2; fail "the server did not start"; }
# shellcheck source=tests/xmpp/lib.sh
. "$here/lib.sh"
xmpp_accounts "$tmp/srv"

# ---- keys and trust: Alice and Bob trust each other; Eve trusts Alice's
# key too, so that what stops her is the server's access control.
for who in alice bob eve; do
    # init's loud warning of the weakest cost is expected here.
    as "$who" init 2> init.err || { cat init.err >&2; fail "$who init"; }
    as "$who" genkey rsa 2048 >/dev/null
    as "$who" export > "$who.key"
done
as bob trust "$A" alice.key >/dev/null
as eve trust "$A" alice.key >/dev/null
as alice trust "$B" bob.key >/dev/null

# ---- Alice publishes and goes offline.
as alice xmpp-publish --lifetime 1d > publish.out || fail "xmpp-publish"
grep -q "published offline options for $A" publish.out || fail "publish: $(cat publish.out)"
# A second publication reuses the node (conflict on creation is fine).
as alice xmpp-publish --lifetime 1d > publish2.out || fail "xmpp-publish again"
# Both nodes of XEP-0187 §3.1 exist: the subscribers' one and the open one.
printf "<iq type='get' id='nodes1' to='%s'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>" \
    "$A" > nodes.xml
as alice xmpp-raw nodes.xml > nodes.out || fail "listing Alice's nodes: $(cat nodes.out)"
for n in xep-0187.html#ns xep-0116.html#ns; do
    grep -q "http://www.xmpp.org/extensions/$n" nodes.out || fail "no node $n: $(cat nodes.out)"
done
ok "Alice published her options twice (both nodes created, then reused)"

# ---- TLS is checked: without the test CA the certificate is refused; a
# wrong password is refused too. Both before anything is sent.
if "$ctl" xmpp-raw -j "$E/test" --password-file eve.xpass --host 127.0.0.1 \
    --port "$XMPP_PORT" --timeout 20 publish.out > tls.out 2> tls.err; then
    fail "connected without trusting the server's certificate"
fi
grep -q "certificate could not be verified" tls.err || fail "TLS: $(cat tls.err)"
printf 'wrong\n' > wrong.xpass
if "$ctl" xmpp-raw -j "$E/test" --password-file wrong.xpass "${conn[@]}" publish.out \
    > auth.out 2> auth.err; then
    fail "logged in with a wrong password"
fi
grep -q "authentication failed" auth.err || fail "auth: $(cat auth.err)"
ok "an unverified certificate and a wrong password are refused"

# ---- Eve has no presence subscription: the server refuses the node.
if as eve xmpp-send "$A" "let me in" > eve.out 2> eve.err; then
    fail "the eavesdropper read Alice's options: $(cat eve.out)"
fi
grep -q "the server refused" eve.err || fail "eavesdropper: $(cat eve.err)"
# ... and she has no session with Alice to send anything in.
if as eve seal --to "$A" "still trying" > /dev/null 2> eve-seal.err; then
    fail "the eavesdropper has a session with Alice"
fi
grep -q "no open session with $A" eve-seal.err || fail "eavesdropper: $(cat eve-seal.err)"
ok "an eavesdropper without subscription is refused: $(sed -n 's/.*refused: //p' eve.err | head -1)"

# ---- Bob writes: two messages (a new session, re-keying every 2 stanzas)...
as bob xmpp-send --rekey-freq 2 "$A" "message one" "message two" > send1.out ||
    fail "xmpp-send: $(cat send1.out)"
grep -q "sent 2 messages to $A" send1.out || fail "send1: $(cat send1.out)"
# ... one sealed offline and damaged on its way: one bit of its ciphertext
# flipped before it reaches the server ...
as bob seal --to "$A" "message three, damaged" > three.xml
awk -v alpha='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' '
    !done && (i = index($0, "<data>")) > 0 {
        p = i + 6; c = substr($0, p, 1); k = index(alpha, c) - 1
        f = k - k % 2 + (1 - k % 2)   # flip the low bit of this sextet
        $0 = substr($0, 1, p - 1) substr(alpha, f + 1, 1) substr($0, p + 1); done = 1
    } { print }' three.xml > three-damaged.xml
cmp -s three.xml three-damaged.xml && fail "the damaged copy is not damaged"
as bob xmpp-raw three-damaged.xml > raw.out || fail "xmpp-raw: $(cat raw.out)"
# ... and two more, then the end of the session.
as bob xmpp-send --terminate "$A" "message four" "message five" > send2.out ||
    fail "xmpp-send again: $(cat send2.out)"
grep -q "sent 2 messages to $A (thread .*); session ended" send2.out || fail "send2: $(cat send2.out)"
ok "Bob sent five messages in one session (one damaged) and ended it"

# ---- Alice comes back. The delivery command stores each message in out/,
# one file per position (written, synced, renamed: a second delivery of the
# same message leaves one copy), and logs every call. When told to, it
# then kills the receiver (before the keystore records the message), or
# has the server drop the receiver's connection (after the keystore
# records it, before the server's copy is removed).
mkdir out
cat > deliver.sh <<'EOF'
set -eu
done_so_far=$(cat deliveries.log 2>/dev/null | wc -l)
if [ -f fail-at ] && [ "$((done_so_far + 1))" -eq "$(cat fail-at)" ]; then
    rm fail-at
    echo "deliver.sh: no space left (simulated)" >&2
    exit 1
fi
f=out/$ESESSION_POSITION
cat > "$f.tmp"
sync "$f.tmp" 2>/dev/null || sync
mv "$f.tmp" "$f"
echo "$ESESSION_POSITION" >> deliveries.log
n=$(wc -l < deliveries.log)
if [ -f kill-at ] && [ "$n" -eq "$(cat kill-at)" ]; then
    # the receiver itself (or valgrind running it), never anything else
    case $(cat "/proc/$PPID/comm") in esessionctl | memcheck*) kill -KILL "$PPID" ;; esac
fi
if [ -f drop-at ] && [ "$n" -eq "$(cat drop-at)" ]; then
    sh drop.sh
fi
EOF
expected="message one|message two|message four|message five"
check_output() {
    local got
    got=$(for f in out/*; do sed -n 's|.*<body>\(.*\)</body>.*|\1|p' "$f"; echo; done |
        sed '/^$/d' | sort | paste -sd'|')
    [ "$got" = "$(printf '%s\n' "${expected//|/$'\n'}" | sort | paste -sd'|')" ] ||
        fail "the output holds: $got"
    [ "$(ls out | wc -l)" -eq 4 ] || fail "the output holds $(ls out | wc -l) messages, not 4"
}
# receive N [OPTIONS]: run the receiver; output in recvN.out and .err, status in $st.
receive() {
    local n=$1
    shift
    as alice xmpp-receive --deliver 'exec sh deliver.sh' "$@" > "recv$n.out" 2> "recv$n.err" &&
        st=0 || st=$?
}

if [ "$server" = ejabberd ]; then
    # ejabberd: XEP-0013. Run 1: killed while message 2 is being stored.
    echo 2 > kill-at
    receive 1 --mode pop3
    [ "$st" -eq 137 ] || fail "the receiver was not killed (status $st): $(cat recv1.out recv1.err)"
    [ "$(ls out | wc -l)" -eq 2 ] || fail "after the kill the output holds $(ls out | wc -l)"
    ok "run 1: killed while handing message 2 to the output"
    # Run 2: message 2 opens again (it was never recorded) and is stored
    # again in place; the connection drops while message 4 is stored.
    cat > drop.sh <<EOF
HOME="$tmp/srv" "$tmp/srv/ejabberdctl" --config-dir "$tmp/srv" \
    kick_session alice localhost test "connection lost" > /dev/null 2>&1
EOF
    echo 4 > drop-at
    receive 2
    [ "$st" -eq 5 ] || fail "run 2: status $st: $(cat recv2.out recv2.err)"
    [ "$(sort deliveries.log | uniq -d | wc -l)" -eq 1 ] || fail "run 2: $(cat deliveries.log)"
    grep -q 'connection closed' recv2.err || fail "run 2: $(cat recv2.err)"
    ok "run 2: message 2 opened again and stored in place; connection lost after message 4"
    # Run 3: message 4 was recorded: a duplicate, and it leaves the server.
    receive 3
    grep -q '^== stored .*: duplicate$' recv3.out || fail "no duplicate: $(cat recv3.out)"
    [ "$(grep -c ': duplicate$' recv3.out)" -eq 1 ] || fail "duplicates: $(cat recv3.out)"
    deliveries=5
else
    # Prosody: flood delivery. Run 1: the output fails at message 2; what
    # the server sent is kept (encrypted) for the next run.
    echo 2 > fail-at
    receive 1
    [ "$st" -eq 5 ] || fail "run 1: status $st: $(cat recv1.out recv1.err)"
    grep -q '^== received .*: opened$' recv1.out || fail "run 1: $(cat recv1.out)"
    grep -q '5 received stanzas not settled yet, kept in alice.ks.unopened.xml' recv1.err ||
        fail "run 1: $(cat recv1.err)"
    ok "run 1: the output failed at message 2; five stanzas kept"
    # Run 3: the kept stanzas are opened first; message 2 opens again.
    receive 3
    grep -q '^5 stanzas kept by an earlier run$' recv3.out || fail "run 3: $(cat recv3.out)"
    [ ! -e alice.ks.unopened.xml ] || fail "still kept: $(cat alice.ks.unopened.xml)"
    deliveries=4
fi
# The damaged stanza fails verification (exit status 3), everything else opens.
[ "$st" -eq 3 ] || fail "receive: status $st: $(cat recv3.out recv3.err)"
[ "$(grep -c -E '^== (stored|received) .*: rejected \(' recv3.out)" -eq 1 ] ||
    fail "rejections: $(cat recv3.out)"
grep -q ': terminated$' recv3.out || fail "no termination: $(cat recv3.out)"
check_output
[ "$(wc -l < deliveries.log)" -eq "$deliveries" ] || fail "deliveries: $(cat deliveries.log)"
ok "every message stored exactly once; the damaged one rejected ($(sed -n 's/^== [sr].*: rejected (\(.*\))$/\1/p' recv3.out))"

# Nothing is left on the server, the exponents are destroyed, and the
# options are withdrawn: Bob finds none.
as alice xmpp-receive --deliver 'exec sh deliver.sh' > recv4.out 2> recv4.err ||
    fail "receive again: $(cat recv4.out recv4.err)"
grep -q '^opened 0, not encrypted 0, duplicates 0, terminated 0, rejected 0, waiting 0' recv4.out ||
    fail "receive again: $(cat recv4.out)"
check_output
as alice optsets > optsets.out
grep -q destroyed optsets.out || fail "option sets: $(cat optsets.out)"
grep -q -v destroyed optsets.out && fail "option sets not destroyed: $(cat optsets.out)"
if as bob xmpp-send "$A" "are you there?" > send3.out 2> send3.err; then
    fail "Bob found options after Alice withdrew them"
fi
grep -q "no offline options" send3.err || fail "after withdrawal: $(cat send3.err)"
ok "queue empty, exponents destroyed, options withdrawn"

"$here/server.sh" stop "$tmp/srv"
# Nothing left behind: the port is closed and the server is gone (at most
# a zombie until init reaps it).
if (exec 3<>"/dev/tcp/127.0.0.1/$XMPP_PORT") 2>/dev/null; then
    fail "port $XMPP_PORT still accepts connections after the stop"
fi
if [ -r "/proc/$XMPP_PID/stat" ] && ! awk '{ exit $3 != "Z" }' "/proc/$XMPP_PID/stat"; then
    fail "the server (pid $XMPP_PID) still runs after the stop"
fi
ok "all passed; the server is stopped and its port closed"
