/* SPDX-License-Identifier: ISC */
/* xmpp-chat: both parties online, an encrypted chat in the terminal
 * (XEP-0116 negotiation, XEP-0200 stanzas both ways). The loop waits on
 * standard input for at most 20 ms, then gives the server connection a
 * turn, so neither waits longer than that. */
#include "xchat.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage[] =
    "Usage: esessionctl xmpp-chat -j JID [account options] [-k PATH] [--three-message]\n"
    "                             [--wait] [--rekey-every N] CONTACT\n"
    "Log in and chat with CONTACT (a bare JID, or a full one for that client only)\n"
    "in an online ESession: once a client of CONTACT that offers ESessions is online,\n"
    "send it a session request (or answer its own), show the SAS and the state of\n"
    "its key, then send each line typed encrypted and print what arrives. An offline\n"
    "session with CONTACT is ended first (XEP-0187 section 5). Nothing is ever sent\n"
    "in the clear. Lines printed start with '* ' (events), '< ' (messages received)\n"
    "or '! ' (warnings; NOT ENCRYPTED marks a message that came in the clear).\n"
    "Commands: /sas-ok (the SAS matches: the contact is verified, and remembered),\n"
    "/rekey, /start, /status, /help, /quit; end of input or Ctrl-C quit too (the\n"
    "session is terminated and its acknowledgement awaited).\n"
    "  --three-message         request a 3-message negotiation (no SAS; keys must be\n"
    "                          trusted) instead of the 4-message one\n"
    "  --wait                  never send a request: answer CONTACT's (or /start)\n"
    "  --rekey-every N         new keys after every N messages sent (default 50;\n"
    "                          0: the library's schedule, every 100 stanzas)\n" XOPT_HELP
    XCMD_KS_HELP;

enum { O_THREE = 1, O_WAIT, O_REKEY_EVERY };

typedef struct xchat_opts {
    xopts x;
    int three;
    int wait;
    unsigned rekey_every;
} xchat_opts;

/* Set by SIGINT, SIGTERM and SIGHUP, read by the loop: a handler may do
 * nothing else safely. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN; /* a closed output must not kill the session unterminated */
    sigaction(SIGPIPE, &sa, NULL);
}

static int opt(cli *c, int id, const char *arg, void *u)
{
    xchat_opts *o = u;
    unsigned long long v;
    int r = xopts_take(c, &o->x, id, arg);
    if (r >= 0)
        return r;
    switch (id) {
    case O_THREE: o->three = 1; return 0;
    case O_WAIT: o->wait = 1; return 0;
    case O_REKEY_EVERY:
        if (cli_parse_uint(arg, 0, 1000000, &v) != 0)
            return cli_usage_error(c, "--rekey-every is a number from 0 to 1000000");
        o->rekey_every = (unsigned)v;
        return 0;
    default:
        return cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
    }
}

/* Standard input: what is there now. */
static int read_input(xchat *ch)
{
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return CLI_OK;
    int rc = CLI_OK;
    if (n > 0) {
        rc = xchat_input(ch, buf, (size_t)n, xchat_line);
    } else {
        if (n < 0)
            xchat_say("! ", "standard input: %s", strerror(errno));
        ch->in_eof = 1;
        ch->quit = 1;
        if (ch->in_len > 0) /* a last line without its newline */
            rc = xchat_input(ch, "\n", 1, xchat_line);
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* Lines typed, waiting at most ms for them. */
static int take_input(xchat *ch, int ms)
{
    if (ch->in_eof || ch->phase == XCHAT_DONE)
        return CLI_OK;
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    int n = poll(&p, 1, ms);
    if (n > 0)
        return read_input(ch);
    if (n < 0 && errno != EINTR)
        ch->in_eof = 1;
    return CLI_OK;
}

/* Each turn: input, the server, input again, then what the server sent.
 * A line typed before a stanza is handled is handled first: what the
 * user sees is never older than what is sent in reply. */
static int loop(xchat *ch)
{
    int rc = CLI_OK;
    while (rc == CLI_OK && ch->phase != XCHAT_DONE) {
        if (interrupted) {
            interrupted = 0;
            ch->quit = 1;
            rc = xchat_leave(ch, "interrupted");
            continue;
        }
        rc = take_input(ch, 20);
        /* The server's turn: as long as stanzas keep arriving, a while. */
        for (int i = 0; rc == CLI_OK && i < 64; i++) {
            size_t before = xconn_received(ch->x);
            rc = xconn_run(ch->x, i == 0 && ch->in_eof ? 20 : 0);
            if (xconn_received(ch->x) == before)
                break;
        }
        if (rc == CLI_OK)
            rc = take_input(ch, 0);
        if (rc == CLI_OK)
            rc = xchat_drain(ch);
        if (rc == CLI_OK)
            rc = xchat_tick(ch);
    }
    return rc != CLI_OK ? rc : ch->rc;
}

int cmd_xmpp_chat(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, XOPT_DEFS,
                                      {"three-message", 0, OPT_ARG_NONE, O_THREE},
                                      {"wait", 0, OPT_ARG_NONE, O_WAIT},
                                      {"rekey-every", 0, OPT_ARG_REQUIRED, O_REKEY_EVERY},
                                      CLI_OPT_END};
    cli c;
    xchat_opts o;
    memset(&o, 0, sizeof o);
    xopts_init(&o.x);
    o.rekey_every = 50;
    cli_begin(&c, "xmpp-chat", usage);
    const char *pos[1] = {NULL};
    size_t npos = 0;
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 1, &npos, opt, &o);
    if (rc == CLI_OK)
        rc = xopts_check(&c, &o.x);
    if (rc == CLI_OK && npos == 0)
        rc = cli_usage_error(&c, "the contact's JID is required");
    if (rc == CLI_OK && !cli_bare_jid_ok(pos[0]) && !cli_full_jid_ok(pos[0]))
        rc = cli_usage_error(&c, "'%s' is not a JID", pos[0]);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);

    xchat ch;
    memset(&ch, 0, sizeof ch);
    ch.c = &c;
    xcmd_bare(pos[0], ch.peer_bare, sizeof ch.peer_bare);
    if (strchr(pos[0], '/') != NULL)
        snprintf(ch.peer_full, sizeof ch.peer_full, "%s", pos[0]);
    char mine[CLI_JID_MAX + 1];
    xcmd_bare(o.x.conn.jid, mine, sizeof mine);
    if (strcasecmp(mine, ch.peer_bare) == 0)
        return cli_end(&c, cli_usage_error(&c, "a chat with your own account is not possible"));
    esession_online_options oo = ESESSION_ONLINE_OPTIONS_INIT;
    ch.opt = oo;
    ch.opt.three_message = o.three;
    ch.wait = o.wait;
    ch.rekey_every = o.rekey_every;
    ch.timeout_ms = o.x.conn.timeout_ms;

    if ((rc = cli_open_keystore(&c)) == CLI_OK)
        rc = xopts_connect(&c, &o.x, &ch.x);
    if (rc == CLI_OK) {
        xconn_pass_errors(ch.x, 1);
        xconn_on_message(ch.x, xchat_on_message, &ch);
        xconn_on_presence(ch.x, xchat_on_presence, &ch);
        xconn_on_iq(ch.x, xchat_on_iq, &ch);
        catch_signals();
        xchat_say("* ", "connected as %s; waiting for %s", xconn_jid(ch.x), pos[0]);
        rc = xchat_announce(&ch);
    }
    if (rc == CLI_OK)
        rc = loop(&ch);
    esession_online_free(ch.s);
    xconn_close(ch.x); /* its last turns may still queue stanzas */
    xchat_events_free(&ch);
    xchat_input_free(&ch);
    return cli_end(&c, rc);
}
