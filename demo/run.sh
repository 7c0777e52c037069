#!/bin/sh
# make demo: show what the library does today, readably.
# Usage: demo/run.sh BUILD_DIR
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."

echo "esession $(sed -n 's/^VERSION *:= *//p' Makefile): offline end-to-end encrypted XMPP sessions"
echo
echo "Checking every primitive against the public test vectors in vectors/"
echo "(NIST, RFC, ISO, Wycheproof, MODP primes, XEP-0082 date-times):"
echo
"$build/esession-vectors" vectors/*.txt vectors/wycheproof/*.json vectors/esession/*.json
