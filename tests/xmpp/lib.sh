# SPDX-License-Identifier: ISC
# Sourced by the tests of tests/xmpp/ once their server has started: the
# accounts and the way to run esessionctl as one of them. Needs $ctl (the
# tool) and the current directory for the account files.

# xmpp_accounts SRV_DIR: read the server's env (XMPP_*), set D, A, B, E
# and conn, and write each account's XMPP password file (WHO.xpass) and
# keystore passphrase file (WHO.pass). Keystores at the weakest cost:
# throw-away accounts.
xmpp_accounts() {
    # shellcheck disable=SC1091
    . "$1/env"
    D=$XMPP_DOMAIN A=alice@$XMPP_DOMAIN B=bob@$XMPP_DOMAIN E=eve@$XMPP_DOMAIN
    conn=(--host 127.0.0.1 --port "$XMPP_PORT" --cafile "$XMPP_CAFILE" --timeout 20)
    export ESESSIONCTL_KDF_COST=min
    local who
    for who in alice bob eve; do
        printf '%s keystore passphrase\n' "$who" > "$who.pass"
    done
    printf '%s\n' "$ALICE_PASS" > alice.xpass
    printf '%s\n' "$BOB_PASS" > bob.xpass
    printf '%s\n' "$EVE_PASS" > eve.xpass
}

# argv_for WHO CMD ARGS...: in ARGV, esessionctl as alice, bob or eve,
# keystore and account set (xmpp-raw needs no keystore).
argv_for() {
    local who=$1 cmd=$2
    shift 2
    ARGV=("$ctl" "$cmd")
    [ "$cmd" = xmpp-raw ] || ARGV+=(-k "$who.ks" --passphrase-file "$who.pass")
    case $cmd in
    xmpp-*) ARGV+=(-j "$who@$D/test" --password-file "$who.xpass" "${conn[@]}") ;;
    esac
    ARGV+=("$@")
}
as() { argv_for "$@"; "${ARGV[@]}"; }
