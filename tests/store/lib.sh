# SPDX-License-Identifier: ISC
# Shared set-up of the keystore tests (tests/store/*.sh), sourced by bash.
#
# What the tests hold esessionctl to: no counter reused, no message lost,
# none delivered twice, with several processes on one keystore at once and
# with processes killed (SIGKILL) at any moment.
#
# A script does:
#     . "$(dirname "$0")/lib.sh"
#     st_begin NAME "$@"          # BIN [TEST_BIN] as arguments; cd into a mktemp -d directory
#     st_setup_pair [REKEY_FREQ]  # base/alice.ks, base/bob.ks, base/first.xml ...
#     ... check_ok / check_fail ...
#     st_end                      # prints "N passed, M failed", exit status
#
# Environment common to all scripts:
#     SEED           seed of bash's $RANDOM (printed, so that a run can be repeated)
#     STORE_TIMEOUT  seconds any single esessionctl process may take (default 60)
#     VERBOSE=1      print each check that passes too
#     MAX_REPORT     failures printed in detail (default 20; the rest are counted)
#     KEEP=1         keep the temporary directory (its path is printed)

A=alice@example.org
B=bob@example.com
BFULL=bob@example.com/laptop

PASSED=0
FAILED=0
_ST_BG=""          # pids of background processes still to reap on exit
_ST_REPORTED=0     # failures printed in detail so far (capped)

#
# BIN is the esessionctl under test; TEST_BIN (default: tests/esessionctl-test
# beside BIN) is the test tool, for what the installed tool does not have:
# the server stand-in and the ESESSIONCTL_NOW clock.
st_begin() {
    ST_NAME=$1
    local bin=${2:-} tbin=${3:-}
    if [ -z "$bin" ]; then
        echo "usage: $ST_NAME.sh PATH/TO/esessionctl [PATH/TO/esessionctl-test]" >&2
        echo "0 passed, 1 failed"
        exit 2
    fi
    case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
    [ -n "$tbin" ] || tbin=$(dirname "$bin")/tests/esessionctl-test
    case $tbin in /*) ;; *) tbin=$(pwd)/$tbin ;; esac
    local b
    for b in "$bin" "$tbin"; do
        if [ ! -x "$b" ] || [ -d "$b" ]; then
            echo "$ST_NAME: $b is not an executable" >&2
            echo "0 passed, 1 failed"
            exit 2
        fi
    done
    CTL=$bin
    TCTL=$tbin
    TMO=${STORE_TIMEOUT:-60}
    umask 077
    export ESESSIONCTL_KDF_COST=min
    unset ESESSION_KEYSTORE ESESSIONCTL_NOW
    ST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/esession-store-$ST_NAME.XXXXXX")
    trap _st_cleanup EXIT
    trap 'exit 130' INT TERM
    cd "$ST_TMP" || exit 2
    if [ -z "${SEED:-}" ]; then
        SEED=$(( ($$ * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 32768 ))
    fi
    RANDOM=$SEED
    echo "$ST_NAME: $CTL, seed $SEED${KEEP:+, in $ST_TMP}"
}

_st_cleanup() {
    local p
    for p in $_ST_BG; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    cd / || true
    if [ -n "${KEEP:-}" ]; then
        echo "$ST_NAME: kept $ST_TMP" >&2
    else
        # A child of a loop ended above may still be finishing (it has its
        # own deadline): try again for a moment.
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do
            rm -rf "$ST_TMP" 2>/dev/null && break
            sleep 0.3
        done
        [ ! -e "$ST_TMP" ] || echo "$ST_NAME: could not remove $ST_TMP" >&2
    fi
}

# bg_track PID / bg_untrack PID: background processes the exit trap must end.
bg_track() { _ST_BG="$_ST_BG $1"; }
bg_untrack() {
    local p keep=""
    for p in $_ST_BG; do [ "$p" = "$1" ] || keep="$keep $p"; done
    _ST_BG=$keep
}

# ---- checks ---------------------------------------------------------------

check_ok() {
    PASSED=$((PASSED + 1))
    [ -z "${VERBOSE:-}" ] || echo "  ok: $*"
}

# check_fail MESSAGE [DETAIL_FILE...]: counts a failure; the first 20 are
# printed (with the files' contents, shortened), later ones only counted.
check_fail() {
    FAILED=$((FAILED + 1))
    _ST_REPORTED=$((_ST_REPORTED + 1))
    if [ "$_ST_REPORTED" -le "${MAX_REPORT:-20}" ]; then
        echo "  FAIL: $1"
        shift
        local f
        for f in "$@"; do
            [ -s "$f" ] || continue
            echo "    --- $f:"
            head -c 1500 "$f" | sed -e 's/^/    | /'
            echo
        done
    elif [ "$_ST_REPORTED" -eq $(( ${MAX_REPORT:-20} + 1 )) ]; then
        echo "  (further failures are only counted)"
    fi
}

st_end() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
    exit $?
}

# st_abort MESSAGE [FILE...]: a set-up step failed; nothing else can be tested.
st_abort() {
    local m=$1
    shift
    check_fail "set-up: $m" "$@"
    st_end
}

# ---- running esessionctl ----------------------------------------------------

# tmo CMD...: every process gets a deadline.
tmo() { timeout -k 5 "$TMO" "$@"; }

# ctl KEYSTORE PASSFILE COMMAND ARGS...: esessionctl on a keystore.
ctl() {
    local ks=$1 pass=$2 cmd=$3
    shift 3
    tmo "$CTL" "$cmd" -k "$ks" --passphrase-file "$pass" "$@"
}
# alice KEYSTORE COMMAND ARGS... / bob KEYSTORE COMMAND ARGS...
alice() { local ks=$1; shift; ctl "$ks" "$ST_TMP/alice.pass" "$@"; }
bob() { local ks=$1; shift; ctl "$ks" "$ST_TMP/bob.pass" "$@"; }
# server DIR ARGS...: the file-backed stand-in for Alice's server.
server() { local d=$1; shift; tmo "$TCTL" server -d "$d" "$@"; }

# ---- keystore files -------------------------------------------------------

# ks_copy SRC DST: a keystore is its path plus, for an SQLite store, PATH-wal,
# PATH-shm (and PATH-journal); copy those that exist, drop stale ones at DST.
# Only while no process uses SRC.
ks_copy() {
    local src=$1 dst=$2 s
    ks_remove "$dst"
    cp -p "$src" "$dst" || return 1
    for s in -wal -shm -journal; do
        if [ -e "$src$s" ]; then cp -p "$src$s" "$dst$s" || return 1; fi
    done
}
ks_remove() {
    rm -f "$1" "$1-wal" "$1-shm" "$1-journal"
}

# ks_healthy KEYSTORE PASSFILE [LOG]: status exits 0 with nothing on stderr;
# otherwise LOG tells why (LOG.out, LOG.err: what status printed).
ks_healthy() {
    local log=${3:-$ST_TMP/healthy} rc
    ctl "$1" "$2" status >"$log.out" 2>"$log.err"
    rc=$?
    [ "$rc" -eq 0 ] && [ ! -s "$log.err" ] && return 0
    { echo "status exit $rc"; cat "$log.err"; } > "$log" 2>/dev/null
    return 1
}

# ---- the shared flow: keys, trust, Alice's options, Bob's first seal -------

# st_setup_pair [REKEY_FREQ]: in base/: alice.ks and bob.ks with a signing
# key each, each trusting the other; Alice's options published (1 day) to the
# server stand-in base/srv; Bob's fetch, the answer, and his first seal
# ("first", --rekey-freq REKEY_FREQ) in base/first.xml. Afterwards
# base/alice.ks has not opened anything yet and base/bob.ks has an open
# session with Alice; base/bob0.ks is Bob before that seal. The passphrase
# files alice.pass and bob.pass (mode 600) are in the work directory.
st_setup_pair() {
    local rekey=${1:-100} b="$ST_TMP/base"
    mkdir -p "$b"
    printf 'alice store-test passphrase\n' > "$ST_TMP/alice.pass"
    printf 'bob store-test passphrase\n' > "$ST_TMP/bob.pass"
    alice "$b/alice.ks" init 2>"$b/err" || st_abort "alice init" "$b/err"
    bob "$b/bob.ks" init 2>"$b/err" || st_abort "bob init" "$b/err"
    alice "$b/alice.ks" genkey rsa 2048 >/dev/null 2>"$b/err" || st_abort "alice genkey" "$b/err"
    bob "$b/bob.ks" genkey rsa 2048 >/dev/null 2>"$b/err" || st_abort "bob genkey" "$b/err"
    alice "$b/alice.ks" export > "$b/alice.key" 2>"$b/err" || st_abort "alice export" "$b/err"
    bob "$b/bob.ks" export > "$b/bob.key" 2>"$b/err" || st_abort "bob export" "$b/err"
    bob "$b/bob.ks" trust -n Alice "$A" "$b/alice.key" 2>"$b/err" || st_abort "bob trust" "$b/err"
    alice "$b/alice.ks" trust -n Bob "$B" "$b/bob.key" 2>"$b/err" || st_abort "alice trust" "$b/err"
    alice "$b/alice.ks" publish --lifetime 1d > "$b/publish.xml" 2>"$b/err" ||
        st_abort "alice publish" "$b/err"
    server "$b/srv" publish --jid "$A" "$b/publish.xml" >/dev/null 2>"$b/err" ||
        st_abort "server publish" "$b/err"
    tmo "$CTL" fetch "$A" > "$b/fetch.xml" 2>"$b/err" || st_abort "fetch" "$b/err"
    server "$b/srv" answer --to "$BFULL" "$b/fetch.xml" > "$b/items.xml" 2>"$b/err" ||
        st_abort "server answer" "$b/err"
    ks_copy "$b/bob.ks" "$b/bob0.ks"
    st_first_seal "$b/bob.ks" "$b/first.xml" "$rekey" first
    rm -f "$b/err"
}

# st_first_seal KEYSTORE OUT REKEY_FREQ TEXT: Bob starts a session with Alice
# from the fetched items (a new thread) and seals TEXT into OUT. KEYSTORE is
# base/bob.ks, or a copy of base/bob0.ks (Bob before any session) for
# another session.
st_first_seal() {
    local b="$ST_TMP/base"
    bob "$1" seal --from "$BFULL" --to "$A" --items "$b/items.xml" \
        --request "$b/fetch.xml" --rekey-freq "$3" "$4" > "$2" 2>"$b/err" ||
        st_abort "bob's first seal" "$b/err"
    grep -q '</message>' "$2" || st_abort "bob's first seal printed no stanza"
}

# st_seal_more KEYSTORE DIR PREFIX N: N more seals by Bob, one message each
# ("PREFIX-01" ...), each stanza in DIR/PREFIX-NN.xml.
st_seal_more() {
    local ks=$1 d=$2 p=$3 n=$4 i name
    for i in $(seq 1 "$n"); do
        name=$(printf '%s-%02d' "$p" "$i")
        bob "$ks" seal --to "$A" "$name" > "$d/$name.xml" 2>"$d/err" ||
            st_abort "bob seals $name" "$d/err"
    done
    rm -f "$d/err"
}

# deliver_queue SRVDIR FILE...: Alice's server keeps each stanza (non-empty
# files only, byte-identical copies once); sets the array QUEUE to the stored paths, oldest first
# (server queue). Errors go to SRVDIR.err.
deliver_queue() {
    local d=$1 f out
    local -a nonempty=()
    shift
    QUEUE=()
    local -A seen=()
    local sum
    for f in "$@"; do
        [ -s "$f" ] || continue
        # A stanza printed twice (an outbox entry handed out again after a
        # kill, or by a concurrent run) is one stanza: the second copy
        # would only be a duplicate to Alice.
        sum=$(cksum < "$f")
        [ -z "${seen[$sum]:-}" ] || continue
        seen[$sum]=1
        nonempty+=("$f")
    done
    [ "${#nonempty[@]}" -gt 0 ] || return 0
    # In the order given, a bounded number of files per call.
    local i
    for ((i = 0; i < ${#nonempty[@]}; i += 100)); do
        server "$d" deliver "${nonempty[@]:i:100}" >/dev/null 2>>"$d.err" || return 1
    done
    out=$(server "$d" queue "$A" 2>>"$d.err") || return 1
    # shellcheck disable=SC2034  # QUEUE is for the caller
    [ -z "$out" ] || mapfile -t QUEUE <<< "$out"
}

# ---- reading esessionctl's output -------------------------------------------

# split_stanzas OUTFILE PREFIX: each complete <message .../> printed in
# OUTFILE (one ending in </message>) to PREFIX.N.xml; prints how many.
# A stanza cut short (the process killed while printing) is dropped.
split_stanzas() {
    [ -e "$1" ] || { echo 0; return; }     # killed before its output was even opened
    awk -v pre="$2" '
        BEGIN { n = 0; inm = 0; buf = "" }
        {
            line = $0
            if (!inm) {
                i = index(line, "<message")
                if (i == 0) next
                line = substr(line, i); inm = 1; buf = ""
            }
            buf = buf line "\n"
            if (index(line, "</message>") > 0) {
                n++
                f = pre "." n ".xml"
                sub(/<\/message>.*$/, "</message>", buf)
                printf "%s\n", buf > f
                close(f)
                inm = 0
            }
        }
        END { print n }' "$1"
}

# parse_open OUTFILE...: esessionctl open's text output as one TSV line per
# complete result: RUN STATUS POSITION TEXT SOURCE ID, where RUN is the
# output file name, STATUS opened|redelivered|duplicate|held|terminated|
# rejected(REASON), POSITION the 32 hex digits (or -), TEXT the <body> text
# (or -), ID the message id (or -). "redelivered" is a message an earlier,
# interrupted run opened and never printed, printed again from the inbox
# with the same id. A message counts only once its body was printed (the
# output may have been cut by a kill).
parse_open() {
    awk '
        function flush() {
            if (st == "") return
            if ((st != "opened" && st != "redelivered") || (pos != "-" && txt != "-"))
                printf "%s\t%s\t%s\t%s\t%s\t%s\n", run, st, pos, txt, src, id
            st = ""
        }
        FNR == 1 { flush(); run = FILENAME }
        /^== / {
            flush()
            s = substr($0, 4); i = index(s, ": ")
            if (i == 0) { st = ""; next }
            src = substr(s, 1, i - 1); st = substr(s, i + 2)
            if (st ~ /^rejected \(/) { sub(/\).*$/, "", st); sub(/^rejected \(/, "rejected(", st); st = st ")" }
            else if (st !~ /^(opened|redelivered|duplicate|held|terminated)$/) { st = ""; next }
            pos = "-"; txt = "-"; id = "-"; next
        }
        st != "" && /^position: [0-9a-f]+$/ && length($0) == 42 { pos = $2; next }
        st != "" && /^id: +[0-9a-f]+$/ { id = $2; next }
        st != "" && /^<body>/ && index($0, "</body>") > 0 {
            t = $0; sub(/^<body>/, "", t); sub(/<\/body>.*$/, "", t); txt = t; next
        }
        END { flush() }' "$@"
}

# ---- time and randomness ----------------------------------------------------

now_ms() { date +%s%3N; }
# rand_ms MAX: 0..MAX
rand_ms() { echo $((RANDOM % ($1 + 1))); }
# sleep_ms MS
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
