/* SPDX-License-Identifier: ISC */
/* Bob's side (XEP-0187 §3.2, §3.3, §5): fetch, seal, terminate. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define KS_OPTS "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE)\n"   \
                "  --passphrase-fd N       read the passphrase from the first line of fd N\n" \
                "  --passphrase-file PATH  read it from the first line of PATH\n"

static const char fetch_usage[] =
    "Usage: esessionctl fetch [--json] JID\n"
    "Print the PEP request (IQ get) for the offline options JID published. Send it;\n"
    "the server's answer goes to 'esessionctl seal --items'.\n"
    "  --json                  one JSON object: the IQ and its id\n";

static const char seal_usage[] =
    "Usage: esessionctl seal [-k PATH] --to JID [--from FULLJID --items FILE|-\n"
    "                        [--request FILE | --id ID]] [--xml] [--single]\n"
    "                        [--rekey-freq N] [--allow-weak-groups] [--json] [MESSAGE...|-]\n"
    "Encrypt messages for JID, who is offline, and print the stanzas to send, each\n"
    "followed by a newline.\n"
    "With --items, start a session from the server's answer to 'fetch' (its\n"
    "signature is checked against the keys you trust for JID, and expired options\n"
    "are refused); without, continue the open session with JID.\n"
    "Each MESSAGE is text sent as <body>; '-' or no MESSAGE reads one from stdin.\n"
    "  --to JID                the contact's bare JID\n"
    "  --from FULLJID          your full JID (user@domain/resource), to start\n"
    "  --items FILE            the PEP items result (FILE or - for stdin)\n"
    "  --request FILE          the IQ printed by 'fetch': its id must match the answer\n"
    "  --id ID                 the id of that IQ (default: taken from the answer)\n"
    "  --xml                   each MESSAGE is a whole <message/> stanza\n"
    "  --single                a single-stanza session: it ends after one message\n"
    "  --rekey-freq N          your re-key frequency preference (default 100)\n"
    "  --allow-weak-groups     accept MODP groups below 2048 bits\n" KS_OPTS
    "  --json                  one JSON object: thread and stanzas\n";

static const char terminate_usage[] =
    "Usage: esessionctl terminate [-k PATH] [--if-open] [--json] JID\n"
    "End the open session with JID and print its termination stanza; the session's\n"
    "keys are erased.\n"
    "  --if-open               print nothing (and succeed) when no session is open,\n"
    "                          e.g. when JID comes online (XEP-0187 §5)\n" KS_OPTS
    "  --json                  one JSON object\n";

enum {
    O_TO = 1,
    O_FROM,
    O_ITEMS,
    O_REQUEST,
    O_ID,
    O_XML,
    O_SINGLE,
    O_REKEY,
    O_WEAK,
    O_IF_OPEN
};

#define MSG_MAX 64

typedef struct seal_opts {
    const char *to, *from, *items, *request, *id;
    int xml, single, weak, if_open;
    uint32_t rekey;
    const char *msgs[MSG_MAX];
    size_t n_msgs;
} seal_opts;

static int parse(cli *c, int argc, char **argv, const cli_optdef *defs, seal_opts *o)
{
    cli_parse p;
    const char *arg;
    int id;
    unsigned long long v;
    cli_parse_init(&p, argc, argv);
    while ((id = cli_next(&p, defs, &arg)) != -1) {
        switch (id) {
        case -2: return CLI_EXIT_USAGE;
        case O_HELP: return -1;
        case 0:
            if (o->n_msgs == MSG_MAX)
                return cli_usage_error(c, "at most %d messages at a time", MSG_MAX);
            o->msgs[o->n_msgs++] = arg;
            break;
        case O_TO: o->to = arg; break;
        case O_FROM: o->from = arg; break;
        case O_ITEMS: o->items = arg; break;
        case O_REQUEST: o->request = arg; break;
        case O_ID: o->id = arg; break;
        case O_XML: o->xml = 1; break;
        case O_SINGLE: o->single = 1; break;
        case O_WEAK: o->weak = 1; break;
        case O_IF_OPEN: o->if_open = 1; break;
        case O_REKEY:
            if (cli_parse_uint(arg, 1, 0xffffffffull, &v) != 0)
                return cli_usage_error(c, "--rekey-freq is a number from 1 to 4294967295");
            o->rekey = (uint32_t)v;
            break;
        default:
            if (cli_common_opt(c, id, arg) < 0)
                return CLI_EXIT_USAGE;
        }
    }
    return CLI_OK;
}

/* The contact of fetch and terminate: --to or the one argument. */
static int contact_jid(const cli *c, seal_opts *o)
{
    if (o->to == NULL && o->n_msgs == 1)
        o->to = o->msgs[0];
    else if (o->n_msgs > 0)
        return cli_usage_error(c, "give one JID");
    if (o->to == NULL || !cli_bare_jid_ok(o->to))
        return cli_usage_error(c, "give the contact's bare JID (user@domain)");
    return CLI_OK;
}

int cmd_fetch(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_JSON,
                                      {"to", 0, OPT_ARG_REQUIRED, O_TO}, CLI_OPT_END};
    cli c;
    seal_opts o;
    memset(&o, 0, sizeof o);
    cli_begin(&c, "fetch", fetch_usage);
    int rc = parse(&c, argc, argv, defs, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = contact_jid(&c, &o)) != CLI_OK)
        return rc;
    if ((rc = cli_ctx(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    esession_status st = esession_fetch_options_iq(c.ctx, o.to, &iq, id);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "cannot build the request"));
    if (c.json) {
        int first = 1;
        printf("{");
        json_key(stdout, &first, "iq");
        json_strn(stdout, iq.data, iq.len);
        json_key(stdout, &first, "id");
        json_str(stdout, id);
        printf("}\n");
    } else {
        printf("%s\n", iq.data);
    }
    esession_buf_free(&iq);
    return cli_end(&c, CLI_OK);
}

/* The id (and 'to') of the request IQ in a file. */
static int request_id(cli *c, const char *path, const char *to, char *id, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_input(c, path, 1u << 16, &text, &len);
    if (rc != CLI_OK)
        return rc;
    xs_elem e[2];
    char req_to[CLI_JID_MAX + 1];
    if (xs_split(text, len, e, 2) != 1 || !xs_attr(text, &e[0], "id", id, n)) {
        cli_err(c, "%s is not the IQ printed by 'esessionctl fetch'", path);
        rc = CLI_EXIT_REJECTED;
    } else if (xs_attr(text, &e[0], "to", req_to, sizeof req_to) && strcmp(req_to, to) != 0) {
        cli_err(c, "%s asked %s, not %s", path, req_to, to);
        rc = CLI_EXIT_REJECTED;
    }
    free(text);
    return rc;
}

int cli_start_failed(cli *c, esession_status st, const char *to)
{
    const char *detail = esession_ctx_error_detail(c->ctx);
    switch (st) {
    case ESESSION_ERR_STATE:
        cli_err(c, "a session with %s is already open: continue it (leave out --items) or end it "
                   "('esessionctl terminate %s')", to, to);
        return CLI_EXIT_CONFLICT;
    case ESESSION_ERR_NO_OPTIONS:
        cli_err(c, "%s has no offline options published (the contact may be online)", to);
        return CLI_EXIT_REJECTED;
    case ESESSION_ERR_EXPIRED:
        cli_err(c, "the options %s published have expired; nothing was sent", to);
        return CLI_EXIT_REJECTED;
    case ESESSION_ERR_UNTRUSTED_KEY:
    case ESESSION_ERR_BAD_SIGNATURE:
        cli_err(c, "the options of %s are not signed by any key you trust for %s%s%s%s.\n"
                   "They may be forged, or %s has a new key: get it, compare its fingerprint\n"
                   "with %s out of band, and trust it ('esessionctl trust'). Nothing was sent.",
                to, to, detail[0] ? " (" : "", detail, detail[0] ? ")" : "", to, to);
        return CLI_EXIT_TRUST;
    case ESESSION_ERR_PUBSUB:
        cli_err(c, "the server answered the request with an error%s%s", detail[0] ? ": " : "",
                detail);
        return CLI_EXIT_REJECTED;
    default:
        return cli_fail(c, st, "cannot start the session");
    }
}

int cli_text_message(cli *c, const char *to, const char *text, size_t len, char **out,
                        size_t *outlen)
{
    char *body = NULL, *jid = NULL;
    size_t blen, jlen;
    if (cli_xml_escape(text, len, 0, &body, &blen) != 0 ||
        cli_xml_escape(to, strlen(to), 1, &jid, &jlen) != 0) {
        cli_free_wiped(body, body != NULL ? blen : 0);
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    size_t n = blen + jlen + 64;
    char *m = malloc(n);
    if (m == NULL) {
        cli_free_wiped(body, blen);
        free(jid);
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    int k = snprintf(m, n, "<message to='%s' type='chat'><body>%s</body></message>", jid, body);
    cli_free_wiped(body, blen);
    free(jid);
    *out = m;
    *outlen = (size_t)k;
    return CLI_OK;
}

/* Out of the process (standard output flushed, and synced when it is a
 * file), then out of the outbox: a crash in between prints it again next
 * time, which Alice sees as a duplicate, never as a hole. */
static int hand_out(cli *c, const esession_buf *stanza, int json, int first)
{
    int rc = CLI_OK;
    if (json) {
        if (!first)
            printf(",");
        json_strn(stdout, stanza->data, stanza->len);
    } else {
        rc = cli_write_stdout(c, stanza->data, stanza->len);
        if (rc == CLI_OK)
            rc = cli_write_stdout(c, "\n", 1);
    }
    if (rc == CLI_OK)
        rc = cli_flush_stdout(c);
    if (rc == CLI_OK) {
        esession_status st = esession_sender_sent(c->ctx, c->ks, stanza);
        if (st != ESESSION_OK)
            rc = cli_fail(c, st, "printed, but cannot mark the stanza sent");
    }
    return rc;
}

static int hand_out_sent(cli *c, const esession_buf *stanza)
{
    esession_status st = esession_sender_sent(c->ctx, c->ks, stanza);
    return st == ESESSION_OK ? CLI_OK : cli_fail(c, st, "printed, but cannot mark the stanza sent");
}

/* Stanzas sealed for `to` by an earlier run that never got them out. */
static int hand_out_unsent(cli *c, const char *to, int json, size_t *printed)
{
    esession_buf *v = NULL;
    size_t n = 0;
    esession_status st = esession_outbox_unsent(c->ctx, c->ks, to, &v, &n);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot read the outbox");
    if (n > 0)
        cli_warn(c, "%zu stanza%s sealed earlier for %s never left; printed first", n,
                 n == 1 ? "" : "s", to);
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < n; i++, (*printed)++)
        rc = hand_out(c, &v[i], json, *printed == 0);
    esession_outbox_free(v, n);
    return rc;
}

int cmd_seal(int argc, char **argv)
{
    static const cli_optdef defs[] = {
        CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD, CLI_OPT_PASS_FILE, CLI_OPT_JSON,
        {"to", 0, OPT_ARG_REQUIRED, O_TO},
        {"from", 0, OPT_ARG_REQUIRED, O_FROM},
        {"items", 0, OPT_ARG_REQUIRED, O_ITEMS},
        {"request", 0, OPT_ARG_REQUIRED, O_REQUEST},
        {"id", 0, OPT_ARG_REQUIRED, O_ID},
        {"xml", 0, OPT_ARG_NONE, O_XML},
        {"single", 0, OPT_ARG_NONE, O_SINGLE},
        {"rekey-freq", 0, OPT_ARG_REQUIRED, O_REKEY},
        {"allow-weak-groups", 0, OPT_ARG_NONE, O_WEAK},
        CLI_OPT_END};
    cli c;
    seal_opts o;
    memset(&o, 0, sizeof o);
    cli_begin(&c, "seal", seal_usage);
    int rc = parse(&c, argc, argv, defs, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if (o.to == NULL || !cli_bare_jid_ok(o.to))
        return cli_usage_error(&c, "--to needs the contact's bare JID (user@domain)");
    if (o.items != NULL && (o.from == NULL || !cli_full_jid_ok(o.from)))
        return cli_usage_error(&c, "--items needs --from with your full JID (user@domain/resource)");
    if (o.items == NULL && (o.from != NULL || o.request != NULL || o.id != NULL || o.single ||
                            o.rekey != 0 || o.weak))
        return cli_usage_error(&c, "--from, --request, --id, --single, --rekey-freq and "
                                   "--allow-weak-groups start a session: they need --items");
    if (o.request != NULL && o.id != NULL)
        return cli_usage_error(&c, "give --request or --id, not both");
    int stdin_msg = o.n_msgs == 0;
    for (size_t i = 0; i < o.n_msgs; i++)
        if (strcmp(o.msgs[i], "-") == 0)
            stdin_msg++;
    if (stdin_msg > 1 || (stdin_msg && o.items != NULL && strcmp(o.items, "-") == 0))
        return cli_usage_error(&c, "standard input can be read only once");
    if (o.single && o.n_msgs > 1)
        return cli_usage_error(&c, "--single sends one message");

    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_sender *s = NULL;
    esession_status st;
    if (o.items != NULL) {
        char id[ESESSION_IQ_ID_MAX] = "";
        char *items = NULL;
        size_t len = 0;
        if (o.id != NULL) {
            if (strlen(o.id) >= sizeof id)
                return cli_end(&c, cli_usage_error(&c, "--id is too long"));
            memcpy(id, o.id, strlen(o.id) + 1);
        } else if (o.request != NULL &&
                   (rc = request_id(&c, o.request, o.to, id, sizeof id)) != CLI_OK) {
            return cli_end(&c, rc);
        }
        if ((rc = cli_read_input(&c, o.items, CLI_INPUT_MAX, &items, &len)) != CLI_OK)
            return cli_end(&c, rc);
        if (id[0] == '\0') {
            xs_elem e[2];
            if (xs_split(items, len, e, 2) != 1 || !xs_attr(items, &e[0], "id", id, sizeof id)) {
                free(items);
                cli_err(&c, "the items result has no IQ id");
                return cli_end(&c, CLI_EXIT_REJECTED);
            }
        }
        esession_sender_options so = ESESSION_SENDER_OPTIONS_INIT;
        so.allow_weak_groups = o.weak;
        so.rekey_freq = o.rekey;
        so.single_stanza = o.single;
        st = esession_sender_start(c.ctx, c.ks, o.from, o.to, id, items, len, &so, &s);
        free(items);
        if (st != ESESSION_OK)
            return cli_end(&c, cli_start_failed(&c, st, o.to));
    } else {
        st = esession_sender_resume(c.ctx, c.ks, o.to, &s);
        if (st == ESESSION_ERR_NO_SESSION) {
            cli_err(&c, "no open session with %s: fetch the options ('esessionctl fetch %s') and "
                        "start one with --items", o.to, o.to);
            return cli_end(&c, CLI_EXIT_CONFLICT);
        }
        if (st != ESESSION_OK)
            return cli_end(&c, cli_fail(&c, st, "cannot continue the session"));
    }

    if (c.json) {
        int first = 1;
        printf("{");
        json_key(stdout, &first, "thread");
        json_str(stdout, esession_sender_thread(s));
        printf(",\"stanzas\":[");
    }
    size_t printed = 0;
    rc = hand_out_unsent(&c, o.to, c.json, &printed);
    size_t n = o.n_msgs ? o.n_msgs : 1;
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        char *msg = NULL, *in = NULL;
        size_t mlen = 0, inlen = 0;
        if (o.n_msgs == 0 || strcmp(o.msgs[i], "-") == 0) {
            rc = cli_read_input(&c, NULL, CLI_INPUT_MAX, &in, &inlen);
            /* One trailing newline of a text message is the shell's. */
            if (rc == CLI_OK && !o.xml && inlen > 0 && in[inlen - 1] == '\n')
                in[--inlen] = '\0';
        } else {
            inlen = strlen(o.msgs[i]);
            in = malloc(inlen + 1);
            if (in == NULL) {
                cli_err(&c, "out of memory");
                rc = CLI_EXIT_INTERNAL;
            } else {
                memcpy(in, o.msgs[i], inlen + 1);
            }
        }
        if (rc == CLI_OK && o.xml) {
            msg = in;
            mlen = inlen;
            in = NULL;
        } else if (rc == CLI_OK) {
            rc = cli_text_message(&c, o.to, in, inlen, &msg, &mlen);
        }
        esession_buf out = {0};
        if (rc == CLI_OK) {
            st = esession_sender_seal(s, msg, mlen, &out);
            if (st == ESESSION_ERR_STATE && o.xml)
                rc = cli_fail(&c, st, "not sent (a stanza of chat states only is not encrypted)");
            else if (st == ESESSION_ERR_UNSUPPORTED)
                rc = cli_fail(&c, st, "not sent (only chat and normal messages are encrypted)");
            else if (st != ESESSION_OK)
                rc = cli_fail(&c, st, "cannot seal the message");
        }
        if (rc == CLI_OK)
            rc = hand_out(&c, &out, c.json, printed++ == 0);
        esession_buf_free(&out);
        cli_free_wiped(in, inlen);
        cli_free_wiped(msg, mlen);
    }
    if (c.json)
        printf("]}\n");
    esession_sender_free(s);
    return cli_end(&c, rc);
}

int cmd_terminate(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON,
                                      {"to", 0, OPT_ARG_REQUIRED, O_TO},
                                      {"if-open", 0, OPT_ARG_NONE, O_IF_OPEN}, CLI_OPT_END};
    cli c;
    seal_opts o;
    memset(&o, 0, sizeof o);
    cli_begin(&c, "terminate", terminate_usage);
    int rc = parse(&c, argc, argv, defs, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = contact_jid(&c, &o)) != CLI_OK)
        return rc;
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_buf out = {0};
    char thread[128] = "";
    esession_status st;
    if (o.if_open) {
        st = esession_sender_peer_online(c.ctx, c.ks, o.to, &out);
        if (st != ESESSION_OK)
            return cli_end(&c, cli_fail(&c, st, "cannot end the session"));
    } else {
        esession_sender *s = NULL;
        st = esession_sender_resume(c.ctx, c.ks, o.to, &s);
        if (st == ESESSION_ERR_NO_SESSION) {
            cli_err(&c, "no open session with %s", o.to);
            return cli_end(&c, CLI_EXIT_CONFLICT);
        }
        if (st == ESESSION_OK) {
            const char *t = esession_sender_thread(s);
            if (t != NULL)
                snprintf(thread, sizeof thread, "%s", t);
            st = esession_sender_terminate(s, &out);
        }
        esession_sender_free(s);
        if (st != ESESSION_OK)
            return cli_end(&c, cli_fail(&c, st, "cannot end the session"));
    }
    if (c.json) {
        int first = 1;
        printf("{");
        json_key(stdout, &first, "stanza");
        if (out.data != NULL && out.len > 0)
            json_strn(stdout, out.data, out.len);
        else
            printf("null");
        if (thread[0] != '\0') {
            json_key(stdout, &first, "thread");
            json_str(stdout, thread);
        }
        printf("}\n");
    } else if (out.data != NULL && out.len > 0) {
        rc = hand_out(&c, &out, 0, 1);
    }
    if (rc == CLI_OK && c.json && out.data != NULL && out.len > 0)
        rc = cli_flush_stdout(&c) == CLI_OK ? hand_out_sent(&c, &out) : CLI_EXIT_IO;
    esession_buf_free(&out);
    return cli_end(&c, rc);
}
