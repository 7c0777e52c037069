#!/bin/sh
# SPDX-License-Identifier: ISC
# make demo: the whole offline flow with esessionctl, throw-away keystores,
# the passphrase agent, and a file-backed stand-in for Alice's server.
# Usage: demo/run.sh BUILD_DIR
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
version=$(sed -n 's/^#define ESESSION_VERSION_STRING "\(.*\)"/\1/p' include/esession.h)
ctl=$(cd "$build" && pwd)/esessionctl
# The test tool: the same commands plus the server stand-in (not installed).
tctl=$(cd "$build" && pwd)/tests/esessionctl-test
for b in "$ctl" "$tctl"; do
    [ -x "$b" ] || { echo "demo: $b not found; run make demo" >&2; exit 1; }
done

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/esession-demo.XXXXXX")
# The demo's own agent, in the demo's directory: never the user's.
export XDG_RUNTIME_DIR="$tmp/run"
mkdir "$XDG_RUNTIME_DIR"
unset ESESSION_KEYSTORE ESESSIONCTL_KDF_COST
trap '"$ctl" agent --stop 2>/dev/null || :; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp"

# Throw-away keystores: the cheapest Argon2id cost (init --kdf-cost min).
# Each passphrase is given once, from a file, to init and to the agent; every
# later command gets the keystore's key from the agent.
printf 'alice demo passphrase\n' > alice.pass
printf 'bob demo passphrase\n' > bob.pass
alice() { cmd=$1; shift; "$ctl" "$cmd" -k alice.ks "$@"; }
bob() { cmd=$1; shift; "$ctl" "$cmd" -k bob.ks "$@"; }
server() { "$tctl" server -d server "$@"; }

A=alice@example.org
B=bob@example.com
BFULL=bob@example.com/laptop

n=0
step() { n=$((n + 1)); printf '\n%2d. %s\n' "$n" "$*"; }
say() { printf '    %s\n' "$*"; }

# Stanzas, abbreviated: whitespace between tags dropped, namespaces and
# base64 shortened, form fields written var=value (options joined by |).
abbrev() {
    { tr '\n' ' '; echo; } | sed \
        -e 's/>[[:space:]]*</></g' -e 's/[[:space:]]*$//' \
        -e "s|http://www.xmpp.org/extensions/xep-0\([0-9]*\).html#|…\1#|g" \
        -e "s|http://jabber.org/protocol/|…/|g" \
        -e "s|http://www.w3.org/2000/09/xmldsig#||g" \
        -e "s|>\([A-Za-z0-9+/]\{8\}\)[A-Za-z0-9+/]\{8,\}=*<|>\1…<|g" \
        -e "s|\(id='[0-9a-f]\{8\}\)[0-9a-f]*'|\1…'|g" \
        -e "s|<thread>\([0-9a-f]\{8\}\)[0-9a-f]*</thread>|<thread>\1…</thread>|g" \
        -e 's|</value></option><option><value>|\||g' -e 's|</value><value>|\||g' \
        -e "s|<field[^>]* var='\([^']*\)'[^>]*><option><value>\([^<]*\)</value></option></field>| \1=\2|g" \
        -e "s|<field[^>]* var='\([^']*\)'[^>]*><value>\([^<]*\)</value></field>| \1=\2|g" \
        -e 's|</iq> *<iq|</iq>\
<iq|g' |
    fold -s -w 100 | sed -e 's/^/      /'
}

# What Alice's 'open' printed, one line per stanza.
summary() {
    awk '
        function flush() {
            if (src == "") return
            if (status == "opened") printf "    %s: opened \"%s\" (signed %s; server stamp %s)\n", src, text, when, delay
            else printf "    %s: %s\n", src, status
            src = ""; when = ""; delay = ""; text = ""
        }
        function hms(t) { sub(/^[0-9-]*T/, "", t); return t }
        /^== / { flush(); sub(/^== /, ""); i = index($0, ": ")
                 src = substr($0, 1, i - 1); sub(/.*\//, "", src); status = substr($0, i + 2); next }
        /^created:/ { when = hms($2); next }
        /^delay:/ { delay = hms($2) " by " $4; next }
        /^<body>/ { t = $0; sub(/<\/body>.*/, "", t); sub(/^<body>/, "", t); text = t; next }
        END { flush() }'
}

echo "esession $version: Offline ESession (XEP-0187) with esessionctl"
echo "Alice ($A) is about to go offline; Bob ($B) writes to her anyway,"
echo "end to end encrypted with forward secrecy. server/ stands in for her server."

step "Alice creates a keystore, unlocks it once with the agent, and makes a signing key; Bob too"
alice init --kdf-cost min --passphrase-file alice.pass 2> init.err
bob init --kdf-cost min --passphrase-file bob.pass 2>> init.err
say "init warns: $(sed -n 's/.*WARNING: //p' init.err | head -1)"
line=$(alice agent --passphrase-file alice.pass)
say "agent: ${line#"$tmp/"}"
line=$(bob agent --passphrase-file bob.pass)
say "agent: ${line#"$tmp/"}"
say "(no command below asks for a passphrase: the agent holds each keystore's key)"
akey=$(alice genkey rsa 2048)
bkey=$(bob genkey rsa 2048)
say "Alice: $akey"
say "Bob:   $bkey"

step "They exchange public keys (<KeyValue>) and each trusts the other's for a bare JID"
alice export > alice.key
bob export > bob.key
bob trust -n Alice "$A" alice.key
alice trust -n Bob "$B" bob.key
line=$(bob peers "$A" | sed -n 1p)
say "Bob's trust store: $line"
line=$(alice peers "$B" | sed -n 1p)
say "Alice's trust store: $line"

step "Before going offline, Alice publishes signed options with her DH values (valid 1 day)"
alice publish --lifetime 1d > publish.xml
say "(first an IQ that creates her node, for presence subscribers only; then:)"
abbrev < publish.xml | sed -n '/<publish node=/,$p'
server publish --jid "$A" publish.xml > /dev/null
line=$(alice optsets)
say "Her option set: $line"

step "Bob asks Alice's server for her published options (PEP items request)"
"$ctl" fetch "$A" > fetch.xml
abbrev < fetch.xml

step "The server answers with what Alice published (same id, from her bare JID)"
server answer --to "$BFULL" fetch.xml > items.xml
abbrev < items.xml | sed -n 1p
say "  … her signed form, as published above …"

step "Bob checks her signature, completes the DH exchange alone and seals message 1"
bob seal --from "$BFULL" --to "$A" --items items.xml --request fetch.xml --rekey-freq 3 \
    "Hi Alice, are we still on for Friday?" > m1.xml
abbrev < m1.xml
say "(init: his choices, DH value and nonce, her nonce, his identity encrypted and MACed;"
say " c: the encrypted message and its MAC)"

step "Alice is offline: her server stores the stanza with a delay stamp"
stored=$(server deliver m1.xml)
say "stored as $stored"

step "Bob seals message 2 in the same session (same keys, next counter)"
bob seal --to "$A" "I'll bring the maps." > m2.xml
abbrev < m2.xml
server deliver m2.xml > /dev/null

step "Bob seals message 3, which also carries a new DH value (<key>): a re-key"
bob seal --to "$A" "And the thermos." > m3.xml
abbrev < m3.xml
server deliver m3.xml > /dev/null

step "Bob ends the session (an encrypted termination form) and erases its keys"
bob terminate "$A" > m4.xml
server deliver m4.xml > /dev/null
say "(a stanza like message 2's: the form is inside the encrypted <data>)"

step "Alice comes back online: she withdraws her options (publishes the empty item)"
alice online > online.xml
abbrev < online.xml
server publish --jid "$A" online.xml > /dev/null

step "Alice opens her offline queue, then destroys the DH exponents she no longer needs"
alice open --done $(server queue "$A") > opened.txt
summary < opened.txt

step "Her option set now: withdrawn, then its exponents destroyed; its replay memory stays until expiry"
line=$(alice optsets)
say "$line"
# Read back from the keystore: the state, and the sessions in its replay memory.
state=$(printf '%s\n' "$line" | awk '{ print $2 }')
sessions=$(printf '%s\n' "$line" | awk '{ print $NF }')
[ "$state" = destroyed ] && [ "$sessions" = 1 ] ||
    { echo "demo: the option set is $state with $sessions sessions, not destroyed with 1" >&2; exit 1; }
say "(destroyed: no new session can start under it; its one session, Bob's, stays in its"
say " replay memory so that a replay of it is refused)"

step "An identical copy of message 1 changes nothing; an altered copy is refused as a replay"
alice open server/offline/"$A"/000001.xml > again.txt
summary < again.txt
sed "s/type='chat'/type=\"chat\"/" server/offline/"$A"/000001.xml > altered.xml
if alice open altered.xml > altered.txt 2>&1; then
    echo "demo: the altered copy was accepted" >&2
    exit 1
fi
summary < altered.txt

step "Done for the day: the agent drops every key and ends"
"$ctl" agent --stop
if "$ctl" agent --list > /dev/null 2>&1; then echo "demo: the agent still runs" >&2; exit 1; fi
say "agent --list: no agent is running"

echo
echo "Done. Keystores, stanzas and server/ were in $tmp, now removed; see esessionctl(1)."
