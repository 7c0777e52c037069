#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Online ESessions through a real server: two xmpp-chat clients, Alice and
# Bob, each driven through a FIFO, their output read line by line.
#   1 Bob's offline session with Alice is ended when she comes online
#     (XEP-0187 §5); a 4-message negotiation; both show the same SAS; Alice
#     does not trust Bob's key (unverified) and confirms the SAS; messages
#     both ways with re-keys every 3 messages, on /rekey, and both at once;
#     a message sent in the clear is shown NOT ENCRYPTED (controls as ?); a
#     line that cannot be sealed is not sent; xmpp-send refuses
#     an online contact; /quit terminates with acknowledgement
#   2 Bob starts: the retained secret of the SAS confirmed makes Alice's
#     view verified without trust; end of input terminates
#   3 both send 3-message requests at once: crossing requests, one
#     session; Ctrl-C terminates
# Every message arrives once and in order, Alice's xmpp-receive reads the
# offline session's termination, and the server's own record of every
# stanza (STANZA_LOG) holds none of the chat's plaintexts, but the one
# message sent in the clear.
# Usage: tests/xmpp/chat.sh BUILD_DIR ejabberd|prosody
set -euo pipefail
build=${1:?usage: chat.sh BUILD_DIR ejabberd|prosody}
server=${2:?usage: chat.sh BUILD_DIR ejabberd|prosody}
here=$(cd "$(dirname "$0")" && pwd)
ctl=$(cd "$build" && pwd)/esessionctl
[ -x "$ctl" ] || { echo "chat test: $ctl not found" >&2; exit 1; }

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/esession-chat.XXXXXX")
declare -A pid fd out
cleanup() {
    local p
    for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    "$here/server.sh" stop "$tmp/srv" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/srv"
cd "$tmp"

fail() {
    local f
    echo "chat test ($server): FAIL: $*" >&2
    for f in *.out *.err; do [ -s "$f" ] && { echo "---- $f" >&2; cat "$f" >&2; }; done
    exit 1
}
ok() { echo "chat test ($server): ok: $*"; }

STANZA_LOG=1 "$here/server.sh" start "$server" "$tmp/srv" >server-start.log 2>&1 ||
    { cat server-start.log >&2; fail "the server did not start"; }
# shellcheck source=tests/xmpp/lib.sh
. "$here/lib.sh"
xmpp_accounts "$tmp/srv"
for who in alice bob; do
    as "$who" init 2>/dev/null
    as "$who" genkey rsa 2048 >/dev/null
    as "$who" export > "$who.key"
done
# Bob trusts Alice's key (her offline options are signed with it); Alice
# does not know Bob's yet.
as bob trust "$A" alice.key >/dev/null

# ---- driving the chats
# start WHO RUN ARGS...: xmpp-chat as WHO (resource "chat") with the
# other, input from a FIFO held open here, output in WHO.RUN.out.
start() {
    local who=$1 run=$2 f peer=$A
    shift 2
    [ "$who" = bob ] || peer=$B
    rm -f "$who.in"
    mkfifo "$who.in"
    out[$who]=$who.$run.out
    # resource "chat": the other commands log in as "test"
    argv_for "$who" xmpp-chat -j "$who@$D/chat" "$@" "$peer"
    "${ARGV[@]}" < "$who.in" > "${out[$who]}" 2> "$who.$run.err" &
    pid[$who]=$!
    exec {f}> "$who.in"
    fd[$who]=$f
}
# say WHO LINE...: lines typed by WHO.
say() {
    local who=$1
    shift
    printf '%s\n' "$@" >&"${fd[$who]}"
}
# wait_for WHO ERE [N]: until WHO's output has N (default 1) lines matching.
wait_for() {
    local who=$1 re=$2 n=${3:-1} i
    for i in $(seq 300); do
        [ "$(grep -c -E -- "$re" "${out[$who]}" || true)" -ge "$n" ] && return 0
        kill -0 "${pid[$who]}" 2>/dev/null || break
        sleep 0.1
    done
    [ "$(grep -c -E -- "$re" "${out[$who]}" || true)" -ge "$n" ] && return 0
    fail "$who never printed /$re/ ($n times)"
}
# finish WHO: its input closed (if still open), its exit status in st.
finish() {
    local who=$1 f=${fd[$1]}
    if [ -n "$f" ]; then
        exec {f}>&-
        fd[$who]=
    fi
    st=0
    wait "${pid[$who]}" || st=$?
    unset "pid[$who]"
    # the sanitizer builds report on standard error
    if grep -q -E 'Sanitizer|runtime error' "${out[$who]%.out}.err"; then
        fail "$who's chat: a sanitizer report"
    fi
}
# received WHO: the messages WHO received, one per line.
received() { sed -n 's/^< //p' "${out[$1]}"; }
same_sas() {
    local sa sb
    sa=$(sed -n 's/^\* sas: //p' "${out[alice]}")
    sb=$(sed -n 's/^\* sas: //p' "${out[bob]}")
    [[ $sa =~ ^[a-z1-9]{5}$ ]] || fail "Alice's SAS: '$sa'"
    [ "$sa" = "$sb" ] || fail "the SAS differ: Alice $sa, Bob $sb"
    sas=$sa
}

# ---- 1: Bob wrote to Alice while she was offline; now both are online.
as alice xmpp-publish --lifetime 1d > publish.out || fail "publish: $(cat publish.out)"
as bob xmpp-send "$A" "offline-one-x7q" > send.out || fail "xmpp-send: $(cat send.out)"
start alice 1 --rekey-every 3
start bob 1 --wait --rekey-every 3
wait_for bob "^\* $A is online: the offline session with $A is ended"
wait_for alice '^\* negotiated: 4-message session with '"$B/chat"
wait_for bob '^\* negotiated: 4-message session with '"$A/chat"
same_sas
grep -q '^\* key: unverified, fingerprint ' "${out[alice]}" || fail "Alice's view of Bob's key"
grep -q '^\* key: trusted, fingerprint ' "${out[bob]}" || fail "Bob's view of Alice's key"
ok "offline session ended first; 4-message negotiation; the same SAS ($sas) on both sides"
say alice /sas-ok
say bob /sas-ok
wait_for alice '^\* sas confirmed: '"$B"' is verified'
wait_for bob '^\* sas confirmed: '"$A"' is verified'

# Messages both ways, interleaved; a new key every 3 messages.
a_sent=() b_sent=()
for i in 1 2 3 4 5 6 7; do
    a_sent+=("a-$i-k3v <b>&amp;</b> 'é' \"$i\"")
    b_sent+=("b-$i-p8w")
    say alice "${a_sent[-1]}"
    say bob "${b_sent[-1]}"
done
wait_for alice "^< b-7-p8w$"
wait_for bob "^< a-7-k3v "
wait_for alice '^\* rekeyed$'
wait_for bob '^\* rekeyed$'
wait_for alice '^\* peer rekeyed'
wait_for bob '^\* peer rekeyed'
# Bob re-keys on demand: the key goes at once.
say bob /rekey
wait_for bob '^\* rekeyed$' 2
wait_for alice '^\* peer rekeyed' 2
b_sent+=("b-8-p8w")
say bob "${b_sent[-1]}"
wait_for alice "^< b-8-p8w$"
# Both at once: each types /rekey and a line while the other is stopped,
# so each seals its new key before it sees the other's.
crossing='^\* peer rekeyed \(crossing ours\)$'
na=$(grep -c -E "$crossing" "${out[alice]}" || true)
nb=$(grep -c -E "$crossing" "${out[bob]}" || true)
kill -STOP "${pid[alice]}" "${pid[bob]}"
a_sent+=("a-9-k3v") b_sent+=("b-9-p8w")
say alice /rekey "${a_sent[-1]}"
say bob /rekey "${b_sent[-1]}"
kill -CONT "${pid[alice]}" "${pid[bob]}"
wait_for alice "^< b-9-p8w$"
wait_for bob "^< a-9-k3v$"
wait_for alice "$crossing" $((na + 1))
wait_for bob "$crossing" $((nb + 1))
ok "messages both ways; re-keys every 3 messages, on /rekey, and both at once (crossing)"

# A message in the clear from Bob's other client: shown, marked, and its
# terminal control (U+009B, CSI) shown as '?'.
printf "<message to='%s/chat' type='chat'><body>plain-visible-j2m &#x9b;31m</body></message>" \
    "$A" > plain.xml
as bob xmpp-raw plain.xml > raw.out || fail "xmpp-raw: $(cat raw.out)"
wait_for alice "^! NOT ENCRYPTED from $B/test: plain-visible-j2m [?]31m$"
# A line that cannot be sealed (ESC is no XML character) is not sent.
say bob "$(printf 'esc-never-q1x \033[31m')"
wait_for bob '^! NOT SENT, nothing went out: '
# The offline command refuses a contact who is online and names the chat.
if as bob xmpp-send "$A" "never-sent-w4t" > send2.out 2> send2.err; then
    fail "xmpp-send sent to a contact who is online"
fi
grep -q "xmpp-chat" send2.err || fail "xmpp-send: $(cat send2.err)"
ok "a message in the clear is marked NOT ENCRYPTED, its control shown as ?; a line that cannot be sealed is not sent; xmpp-send points to xmpp-chat"

say alice /quit
wait_for alice '^\* terminated$'
wait_for bob "^\* terminated by $A$"
finish alice
[ "$st" -eq 0 ] || fail "Alice's chat: status $st"
finish bob
[ "$st" -eq 0 ] || fail "Bob's chat: status $st"
[ "$(received bob)" = "$(printf '%s\n' "${a_sent[@]}")" ] ||
    fail "Bob received: $(received bob)"
[ "$(received alice)" = "$(printf '%s\n' "${b_sent[@]}")" ] ||
    fail "Alice received: $(received alice)"
ok "/quit terminated with acknowledgement; ${#a_sent[@]} + ${#b_sent[@]} messages, each once and in order"

# ---- 2: Bob starts. Alice still does not trust his key, but the SAS she
# confirmed left a verified retained secret.
start alice 2 --wait
start bob 2
wait_for alice '^\* answering the session request of '"$B/chat"
wait_for alice '^\* negotiated: 4-message'
wait_for bob '^\* negotiated: 4-message'
same_sas
grep -q -F '* key: verified (SAS or retained secret), fingerprint ' "${out[alice]}" ||
    fail "Alice's view of Bob's key"
grep -q 'compare the SAS' "${out[alice]}" && fail "Alice is asked to compare the SAS again"
say bob "r-1-n5z"
wait_for alice "^< r-1-n5z$"
say alice "r-2-n5z"
wait_for bob "^< r-2-n5z$"
finish bob # end of input
[ "$st" -eq 0 ] || fail "Bob's chat: status $st"
grep -q '^\* terminated$' "${out[bob]}" || fail "Bob did not terminate"
wait_for alice "^\* terminated by $B$"
finish alice
[ "$st" -eq 0 ] || fail "Alice's chat: status $st"
ok "the retained secret verified Bob for Alice; end of input terminated"

# ---- 3: 3-message (keys trusted both ways), both requests at once.
as alice trust "$B" bob.key >/dev/null
start alice 3 --wait --three-message
start bob 3 --wait --three-message
wait_for alice "^\* $B/chat offers ESessions"
wait_for bob "^\* $A/chat offers ESessions"
kill -STOP "${pid[alice]}" "${pid[bob]}"
say alice /start
say bob /start
kill -CONT "${pid[alice]}" "${pid[bob]}"
wait_for alice '^\* negotiated: 3-message'
wait_for bob '^\* negotiated: 3-message'
[ "$(cat "${out[alice]}" "${out[bob]}" | grep -c '^\* crossing requests: ours yields')" -eq 1 ] &&
    [ "$(cat "${out[alice]}" "${out[bob]}" | grep -c '^\* crossing requests: ours goes on')" -eq 1 ] ||
    fail "crossing requests not resolved once"
grep -q '^\* sas:' "${out[alice]}" "${out[bob]}" && fail "a SAS in a 3-message session"
grep -q '^\* key: trusted, ' "${out[alice]}" || fail "Alice's view of Bob's key"
say alice "c-1-u6d"
wait_for bob "^< c-1-u6d$"
say bob "c-2-u6d"
wait_for alice "^< c-2-u6d$"
kill -INT "${pid[alice]}"
wait_for alice '^\* terminated$'
wait_for bob "^\* terminated by $A$"
finish alice
[ "$st" -eq 0 ] || fail "Alice's chat: status $st"
finish bob
[ "$st" -eq 0 ] || fail "Bob's chat: status $st"
ok "crossing 3-message requests gave one session; Ctrl-C terminated"

# ---- what stayed behind
# The offline session: its message and Bob's termination wait for
# Alice's xmpp-receive.
as alice xmpp-receive > recv.out 2> recv.err || fail "xmpp-receive: $(cat recv.out recv.err)"
grep -q '^opened 1, not encrypted 0, duplicates 0, terminated 1, rejected 0' recv.out ||
    fail "xmpp-receive: $(cat recv.out)"
grep -q 'offline-one-x7q' recv.out || fail "xmpp-receive: $(cat recv.out)"
ok "the offline message and the offline session's termination reached xmpp-receive"

"$here/server.sh" stop "$tmp/srv"
if [ "$server" = ejabberd ]; then log=srv/log/ejabberd.log; else log=srv/prosody.log; fi
grep -q 'plain-visible-j2m' "$log" || fail "the server's log does not show stanzas"
[ "$(grep -c 'xep-0200.html#ns' "$log")" -ge 20 ] || fail "the server's log shows no encrypted stanzas"
for t in a-1-k3v a-9-k3v b-1-p8w b-9-p8w r-1-n5z r-2-n5z c-1-u6d c-2-u6d offline-one-x7q \
    never-sent-w4t esc-never-q1x; do
    if grep -q -- "$t" "$log"; then fail "'$t' passed the server in the clear"; fi
done
for i in 1 2 3 4 5 6 7 8 9; do
    if grep -q -E -- "[ab]-$i-(k3v|p8w)" "$log"; then fail "message $i passed in the clear"; fi
done
ok "the server's record of every stanza holds no plaintext but the one sent in the clear"
