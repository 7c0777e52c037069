#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Keystores made with the earlier table (WITHOUT ROWID, before the table
# with rowids and an index on (kind, id)) are used as they are: both of
# the pair's stores are rewritten into that table with the sqlite3 tool,
# then Bob seals more, Alice opens everything, and both stores still open
# and still have the earlier table. Needs the sqlite3 command-line tool
# (without it: nothing checked, "0 passed, 0 failed").
#
# Usage: tests/store/old_layout.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]
# Environment: MORE (seals after the first, default 5), and those of lib.sh.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
st_begin old_layout "$@"

MORE=${MORE:-5}
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "old_layout: the sqlite3 tool is missing (make deps installs it)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

to_old_layout() {
    sqlite3 "$1" <<'SQL'
BEGIN IMMEDIATE;
CREATE TABLE earlier (kind INTEGER NOT NULL, id BLOB NOT NULL, owner BLOB,
                      data BLOB NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
INSERT INTO earlier SELECT kind, id, owner, data FROM record;
DROP TABLE record;
ALTER TABLE earlier RENAME TO record;
CREATE INDEX record_owner ON record (kind, owner) WHERE owner IS NOT NULL;
COMMIT;
SQL
}
layout() {
    sqlite3 "$1" "SELECT sql FROM sqlite_schema WHERE name = 'record'" | grep -c 'WITHOUT ROWID'
}

st_setup_pair 100
if [ "$(layout "$ST_TMP/base/alice.ks")" = 0 ]; then
    check_ok "a new store has the table with rowids"
else
    check_fail "a new store has the WITHOUT ROWID table"
fi
for who in alice bob; do
    ks_copy "$ST_TMP/base/$who.ks" "$ST_TMP/$who.ks"
    to_old_layout "$ST_TMP/$who.ks" 2>"$ST_TMP/err" || st_abort "$who: to the earlier table" "$ST_TMP/err"
done
mkdir -p "$ST_TMP/more"
st_seal_more "$ST_TMP/bob.ks" "$ST_TMP/more" m "$MORE"
alice "$ST_TMP/alice.ks" open "$ST_TMP/base/first.xml" "$ST_TMP"/more/m-*.xml \
    > "$ST_TMP/open.out" 2> "$ST_TMP/open.err"
rc=$?
parse_open "$ST_TMP/open.out" > "$ST_TMP/open.tsv"
opened=$(awk -F '\t' '$2 == "opened"' "$ST_TMP/open.tsv" | wc -l)
if [ "$rc" -eq 0 ] && [ "$opened" -eq $((MORE + 1)) ]; then
    check_ok "Alice opens Bob's $opened stanzas from stores of the earlier table"
else
    check_fail "Alice opens $opened of $((MORE + 1)) stanzas (exit $rc)" "$ST_TMP/open.err"
fi
# Opened again: every one a duplicate (the replay memory was written).
alice "$ST_TMP/alice.ks" open "$ST_TMP"/more/m-*.xml > "$ST_TMP/again.out" 2> "$ST_TMP/again.err"
dups=$(parse_open "$ST_TMP/again.out" | awk -F '\t' '$2 == "duplicate"' | wc -l)
if [ "$dups" -eq "$MORE" ]; then
    check_ok "each stanza again is a duplicate"
else
    check_fail "$dups of $MORE stanzas again are duplicates" "$ST_TMP/again.err"
fi
for who in alice bob; do
    if ks_healthy "$ST_TMP/$who.ks" "$ST_TMP/$who.pass" "$ST_TMP/$who.status" &&
        [ "$(layout "$ST_TMP/$who.ks")" = 1 ]; then
        check_ok "$who's keystore opens, with the earlier table"
    else
        check_fail "$who's keystore does not open, or its table changed" "$ST_TMP/$who.status"
    fi
done
st_end
