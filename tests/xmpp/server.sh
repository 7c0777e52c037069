#!/bin/bash
# Start and stop a throw-away XMPP server on loopback for integration tests.
#
#   tests/xmpp/server.sh start ejabberd|prosody DIR
#   tests/xmpp/server.sh stop DIR
#
# start: DIR is an empty directory made by the caller. Writes into it the
# server config, data, logs and a one-day self-signed certificate for the
# domain "localhost", starts the server in its own session (output in
# DIR/server.log, pid in DIR/server.pid), registers alice, bob and eve (alice
# and bob mutually subscribed, eve subscribed to nobody) and writes DIR/env:
#   XMPP_SERVER XMPP_DOMAIN XMPP_HOST XMPP_PORT XMPP_CAFILE XMPP_PID
#   XMPP_POP3 ALICE_PASS BOB_PASS EVE_PASS
# The server listens on 127.0.0.1 only (XMPP_HOST): connect there, not to
# "localhost", which may resolve to ::1 first. XMPP_POP3=1 when the server
# offers XEP-0013 flexible offline retrieval (ejabberd, not Prosody).
# OFFLINE_LIMIT (ejabberd): stanzas stored per user before the server
# bounces more with resource-constraint (default 100000).
# STANZA_LOG=1: the server logs every stanza it receives and sends, whole
# (ejabberd at debug level, Prosody with mod_stanza_debug), in DIR/log/
# or DIR/prosody.log: a record of what passed through it.
# On failure the server is stopped again and the log tail is printed.
#
# stop: SIGTERM to the server, then waits up to 20 s for it and every process
# it started (its process group and descendants), SIGKILL after that, and
# waits for its ports to close. Calling it again, or after a failed start, is
# harmless.
#
# Needs bash, coreutils, util-linux (setsid), grep, sed, openssl and the
# server package; no ps or ss (a minimal CI image may lack procps and
# iproute2), /proc is read directly.
set -eu

EJABBERDCTL=/usr/sbin/ejabberdctl
PROSODY=/usr/bin/prosody
PROSODYCTL=/usr/bin/prosodyctl
START_TIMEOUT=60
STOP_TIMEOUT=20

die() { echo "server.sh: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 start ejabberd|prosody DIR" >&2
    echo "       $0 stop DIR" >&2
    exit 2
}

# True if any TCP socket (listening, connected or in TIME_WAIT) uses the port.
port_busy() {
    local hex f _sl addr _rest
    hex=$(printf '%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        while read -r _sl addr _rest; do
            [ "${addr##*:}" = "$hex" ] && return 0
        done <"$f"
    done
    return 1
}

# A random free port below Linux's default ephemeral range (32768-60999), so
# that outgoing connections cannot take it between the check and the bind.
pick_port() {
    local p _i
    for _i in $(seq 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        case " $* " in *" $p "*) continue ;; esac
        port_busy "$p" || { echo "$p"; return 0; }
    done
    die "no free port found"
}

# True if some socket listens on the port (state 0A in /proc/net/tcp*).
port_listening() {
    local hex f _sl addr _rem st _rest
    hex=$(printf '%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        while read -r _sl addr _rem st _rest; do
            [ "${addr##*:}" = "$hex" ] && [ "$st" = 0A ] && return 0
        done <"$f"
    done
    return 1
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# /proc/PID/stat after the command name, which may contain spaces or
# parentheses: "STATE PPID PGRP ...".
proc_stat() {
    local line
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    echo "${line##*) }"
}

pid_alive() {
    local s
    s=$(proc_stat "$1") || return 1
    [ "${s%% *}" != Z ]
}

# "PID PPID PGRP" of every live process; no subshell per process, as this
# runs ten times a second.
proc_table() {
    local f pid line
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        pid=${f#/proc/}
        # shellcheck disable=SC2086 # split into fields on purpose
        set -- ${line##*) }
        [ "$1" = Z ] || echo "${pid%/stat} $2 $3"
    done
}

# OURS: the live processes of the server: those in its process group and
# all descendants of known ones (erl_child_setup starts its own session).
# Children are added while their parent lives, so they are still followed
# once reparented; dead pids are dropped.
refresh_ours() {
    local table prev="-" p pp pg
    table=$(proc_table)
    while [ "$OURS" != "$prev" ]; do
        prev=$OURS
        OURS=
        # shellcheck disable=SC2086 # split into fields on purpose
        set -- $table
        while [ $# -ge 3 ]; do
            p=$1 pp=$2 pg=$3
            shift 3
            case " $prev " in
                *" $p "* | *" $pp "*) OURS="$OURS $p" ;;
                *) [ "$pg" != "$PGID" ] || OURS="$OURS $p" ;;
            esac
        done
    done
}

# The pid file may be stale and its pid reused: only adopt a leader whose
# command line names DIR.
owned() {
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/"
}

do_stop() {
    local pid p deadline
    [ -f "$DIR/server.pid" ] || return 0
    pid=$(cat "$DIR/server.pid")
    case $pid in '' | *[!0-9]*) rm -f "$DIR/server.pid"; return 0 ;; esac
    PGID=$pid
    OURS=
    if pid_alive "$pid"; then
        # A live pid that is not ours also owns any group of that number.
        owned "$pid" || { rm -f "$DIR/server.pid"; return 0; }
        OURS=" $pid"
        kill -TERM "$pid" 2>/dev/null || true
        refresh_ours
    else
        # A pgid stays reserved while any member lives, so members left
        # behind by a dead leader are ours.
        refresh_ours
        [ -z "$OURS" ] || kill -TERM -- "-$PGID" 2>/dev/null || true
    fi
    deadline=$((SECONDS + STOP_TIMEOUT))
    while [ -n "$OURS" ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
        refresh_ours
    done
    if [ -n "$OURS" ]; then
        echo "server.sh: server did not stop within ${STOP_TIMEOUT}s, killing:$OURS" >&2
        kill -KILL -- "-$PGID" 2>/dev/null || true
        for p in $OURS; do kill -KILL "$p" 2>/dev/null || true; done
        deadline=$((SECONDS + 5))
        while [ -n "$OURS" ] && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 0.1
            refresh_ours
        done
    fi
    # A killed multi-threaded process shows as a zombie while its other
    # threads still hold its sockets: wait for its ports to close too.
    deadline=$((SECONDS + 5))
    if [ -f "$DIR/ports" ]; then
        while read -r p; do
            while port_listening "$p" && [ "$SECONDS" -lt "$deadline" ]; do
                sleep 0.1
            done
        done <"$DIR/ports"
    fi
    rm -f "$DIR/server.pid"
}

log_tail() {
    local f
    for f in "$DIR/server.log" "$DIR/ctl.log" "$DIR/prosody.log" "$DIR/log/ejabberd.log" "$DIR/log/error.log"; do
        [ -s "$f" ] || continue
        echo "---- tail of $f" >&2
        tail -n 40 "$f" >&2
    done
}

make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days 1 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        >"$DIR/openssl.log" 2>&1 || { cat "$DIR/openssl.log" >&2; die "openssl req failed"; }
    cat "$DIR/cert.pem" "$DIR/key.pem" >"$DIR/server.pem"
    chmod 600 "$DIR/key.pem" "$DIR/server.pem"
}

# Run a command in the server's own session so that stop can signal its
# whole process group; setsid does not fork here because a non-interactive
# shell's background child is not a group leader, so $! is the server.
launch() {
    setsid "$@" </dev/null >"$DIR/server.log" 2>&1 &
    SERVER_PID=$!
    echo "$SERVER_PID" >"$DIR/server.pid"
}

wait_port() {
    local deadline=$((SECONDS + START_TIMEOUT))
    while ! port_open "$XMPP_PORT"; do
        pid_alive "$SERVER_PID" || die "$SERVER exited during startup"
        [ "$SECONDS" -lt "$deadline" ] || die "$SERVER: port $XMPP_PORT not open after ${START_TIMEOUT}s"
        sleep 0.2
    done
}

# Wait for every pid, fail if any failed.
waitall() {
    local p rc=0
    for p in "$@"; do wait "$p" || rc=1; done
    return "$rc"
}

# The three accounts, side by side: each control call may boot a VM.
register_all() {
    local ctl=$1 p1 p2 p3
    "$ctl" register alice localhost "$ALICE_PASS" & p1=$!
    "$ctl" register bob localhost "$BOB_PASS" & p2=$!
    "$ctl" register eve localhost "$EVE_PASS" & p3=$!
    waitall "$p1" "$p2" "$p3" || die "$ctl register failed"
}

# ---- ejabberd

ejctl() {
    HOME=$DIR "$DIR/ejabberdctl" --config-dir "$DIR" "$@" >>"$DIR/ctl.log" 2>&1
}

start_ejabberd() {
    local dist_port cookie
    dist_port=$(pick_port "$XMPP_PORT")
    echo "$dist_port" >>"$DIR/ports"
    cookie=$(openssl rand -hex 16)
    mkdir -p "$DIR/spool" "$DIR/log"
    # The packaged script su's to the ejabberd user when run as root, and runs
    # erl as a child; clear the user and exec erl so the pid is beam.smp.
    sed -e 's/^INSTALLUSER=ejabberd$/INSTALLUSER=/' \
        -e 's/as_current_user) "\$@" ;;/as_current_user) exec "$@" ;;/' \
        "$EJABBERDCTL" >"$DIR/ejabberdctl"
    chmod 755 "$DIR/ejabberdctl"
    if ! grep -q '^INSTALLUSER=$' "$DIR/ejabberdctl" ||
        ! grep -q 'as_current_user) exec "\$@" ;;' "$DIR/ejabberdctl"; then
        die "unexpected $EJABBERDCTL, cannot adapt it"
    fi
    # ERL_DIST_PORT: fixed distribution port, so no epmd is started.
    # HOME=DIR and -setcookie keep erl away from ~/.erlang.cookie.
    cat >"$DIR/ejabberdctl.cfg" <<EOF
ERLANG_NODE=ejabberd@localhost
SPOOL_DIR='$DIR/spool'
LOGS_DIR='$DIR/log'
EJABBERD_PID_PATH='$DIR/ejabberd.pid'
CONTRIB_MODULES_PATH='$DIR/contrib'
ERL_DIST_PORT=$dist_port
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie $cookie -kernel inet_dist_use_interface {127,0,0,1}"
EOF
    # ejabberdctl points ERL_INETRC at DIR/inetrc: resolve the node's host
    # name there rather than depend on /etc/hosts.
    printf '{lookup,[file,native]}.\n{host,{127,0,0,1},["localhost"]}.\n' >"$DIR/inetrc"
    cat >"$DIR/ejabberd.yml" <<EOF
hosts:
  - localhost
loglevel: $LOGLEVEL
log_rotate_count: 0
certfiles:
  - "$DIR/server.pem"
acme:
  auto: false
listen:
  -
    port: $XMPP_PORT
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 1048576
    access: c2s
    starttls: true
    starttls_required: true
disable_sasl_mechanisms:
  - "digest-md5"
  - "X-OAUTH2"
auth_method: internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  pubsub_createnode:
    allow: local
shaper_rules:
  max_user_sessions: 100
  max_user_offline_messages: ${OFFLINE_LIMIT:-100000}
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_admin_extra: {}
  mod_caps: {}
  mod_disco: {}
  mod_offline:
    access_max_user_messages: max_user_offline_messages
  mod_ping: {}
  mod_pubsub:
    access_createnode: pubsub_createnode
    plugins:
      - flat
      - pep
  mod_roster:
    versioning: true
EOF
    HOME=$DIR launch "$DIR/ejabberdctl" --config-dir "$DIR" foreground
    wait_port
    local deadline=$((SECONDS + START_TIMEOUT))
    until ejctl status; do
        [ "$SECONDS" -lt "$deadline" ] || die "ejabberd not started after ${START_TIMEOUT}s"
        pid_alive "$SERVER_PID" || die "ejabberd exited during startup"
        sleep 0.5
    done
    # Each ejabberdctl call boots an Erlang VM (~1 s): run them side by side.
    local p1 p2
    register_all ejctl
    ejctl add_rosteritem alice localhost bob localhost Bob Friends both & p1=$!
    ejctl add_rosteritem bob localhost alice localhost Alice Friends both & p2=$!
    waitall "$p1" "$p2" || die "ejabberdctl add_rosteritem failed"
    XMPP_POP3=1
}

# ---- prosody

pctl() {
    "$PROSODYCTL" --config "$DIR/prosody.cfg.lua" "$@" >>"$DIR/ctl.log" 2>&1
}

start_prosody() {
    # certs: prosody indexes this directory and logs an error when missing.
    mkdir -p "$DIR/data" "$DIR/certs"
    chmod 750 "$DIR/data"
    # mod_groups puts group members into each other's rosters with
    # subscription "both", which is what PEP's presence access model checks.
    printf '[Friends]\nalice@localhost=Alice\nbob@localhost=Bob\n' >"$DIR/groups.txt"
    cat >"$DIR/prosody.cfg.lua" <<EOF
-- run_as_root: otherwise prosodyctl switches to the prosody user, which
-- cannot write into DIR, and prosody refuses to run as root.
run_as_root = true
pidfile = "$DIR/prosody.pid"
data_path = "$DIR/data"
log = { $LOGLEVEL = "$DIR/prosody.log" }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $XMPP_PORT }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
s2s_direct_tls_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "pep", "groups", "ping"$STANZA_MODULE }
modules_disabled = { "s2s", "s2s_auth_certs" }
groups_file = "$DIR/groups.txt"
authentication = "internal_hashed"
storage = "internal"
allow_registration = false
c2s_require_encryption = true
s2s_require_encryption = true

VirtualHost "localhost"
    ssl = { certificate = "$DIR/cert.pem"; key = "$DIR/key.pem" }
EOF
    launch "$PROSODY" --config "$DIR/prosody.cfg.lua" -F
    wait_port
    register_all pctl
    XMPP_POP3=0
}

# ---- main

[ $# -ge 1 ] || usage
cmd=$1
case $cmd in
    start) [ $# -eq 3 ] || usage; SERVER=$2; dir=$3 ;;
    stop) [ $# -eq 2 ] || usage; dir=$2 ;;
    *) usage ;;
esac

if [ "$cmd" = stop ]; then
    [ -d "$dir" ] || exit 0
    DIR=$(cd "$dir" && pwd -P)
    do_stop
    exit 0
fi

case $SERVER in
    ejabberd) [ -x "$EJABBERDCTL" ] || die "$EJABBERDCTL not installed" ;;
    prosody)
        [ -x "$PROSODY" ] || die "$PROSODY not installed"
        [ -x "$PROSODYCTL" ] || die "$PROSODYCTL not installed"
        ;;
    *) usage ;;
esac
[ -d "$dir" ] || die "$dir: no such directory"
DIR=$(cd "$dir" && pwd -P)
# DIR goes unescaped into YAML, Lua and shell files: plain characters only.
case $DIR in *[!A-Za-z0-9._/-]*) die "$DIR: unsupported characters in path" ;; esac
if [ -e "$DIR/server.pid" ] || [ -e "$DIR/env" ]; then
    die "$DIR is already in use"
fi

started_ok=0
on_exit() {
    if [ "$started_ok" != 1 ]; then
        log_tail
        do_stop
    fi
}
trap on_exit EXIT

begin=$SECONDS
umask 077
LOGLEVEL=info STANZA_MODULE=
if [ "${STANZA_LOG:-0}" = 1 ]; then
    LOGLEVEL=debug STANZA_MODULE=', "stanza_debug"'
fi
make_cert
XMPP_PORT=$(pick_port)
echo "$XMPP_PORT" >"$DIR/ports"
ALICE_PASS=$(openssl rand -hex 12)
BOB_PASS=$(openssl rand -hex 12)
EVE_PASS=$(openssl rand -hex 12)
"start_$SERVER"

cat >"$DIR/env.tmp" <<EOF
XMPP_SERVER=$SERVER
XMPP_DOMAIN=localhost
XMPP_HOST=127.0.0.1
XMPP_PORT=$XMPP_PORT
XMPP_CAFILE='$DIR/cert.pem'
XMPP_PID=$SERVER_PID
XMPP_POP3=$XMPP_POP3
ALICE_PASS=$ALICE_PASS
BOB_PASS=$BOB_PASS
EVE_PASS=$EVE_PASS
EOF
mv "$DIR/env.tmp" "$DIR/env"
started_ok=1
echo "server.sh: $SERVER up on 127.0.0.1:$XMPP_PORT (pid $SERVER_PID) in $((SECONDS - begin))s" >&2
