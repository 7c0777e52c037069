/* SPDX-License-Identifier: ISC */
/* Alice's side (XEP-0187 §3.4, §6): open received stanzas. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char open_usage[] =
    "Usage: esessionctl open [-k PATH] [--json] [--done] [FILE...|-]\n"
    "Open the stanzas Bob sent (each FILE holds one or more <message/> stanzas as\n"
    "received; - or no FILE reads stdin) and print, for each, its status and, when\n"
    "opened, the sender, thread, position, the signed creation time, the server's\n"
    "delay stamp (not authenticated), the content profile and the plaintext.\n"
    "Status: opened, terminated, duplicate, held, or rejected with a reason.\n"
    "  --done                  the offline queue is processed: afterwards destroy the\n"
    "                          exponents of the option sets withdrawn by 'online'\n"
    "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE)\n"
    "  --passphrase-fd N       read the passphrase from the first line of fd N\n"
    "  --passphrase-file PATH  read it from the first line of PATH\n"
    "  --json                  a JSON array, one object per result\n";

enum { O_DONE = 1 };

#define STANZAS_MAX 4096u

typedef struct stanza_info {
    char source[300];
    int final;      /* last result kind seen for this stanza */
} stanza_info;

typedef struct open_run {
    cli c;
    stanza_info *info;
    size_t n;
    int first_json;
    int rc;          /* exit code of the first failure */
    uint32_t run;    /* tags are run << 32 | index + 1: held stanzas outlive a run */
} open_run;

static const char *kind_word(esession_result_kind k)
{
    switch (k) {
    case ESESSION_RESULT_MESSAGE: return "opened";
    case ESESSION_RESULT_DUPLICATE: return "duplicate";
    case ESESSION_RESULT_HELD: return "held";
    case ESESSION_RESULT_TERMINATED: return "terminated";
    case ESESSION_RESULT_PLAIN: return "not encrypted";
    default: return "rejected";
    }
}

static void profile_words(unsigned p, char *out, size_t n)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {ESESSION_PROFILE_IM, "im"},
        {ESESSION_PROFILE_DATAFORMS, "dataforms"},
        {ESESSION_PROFILE_CHATSTATES, "chatstates"},
        {ESESSION_PROFILE_OTHER, "other"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (p & names[i].bit) {
            size_t k = strlen(out);
            snprintf(out + k, n - k, "%s%s", k ? "," : "", names[i].name);
        }
    }
    if (out[0] == '\0')
        snprintf(out, n, "none");
}

static void banner(const char *title)
{
    fprintf(stderr, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
                    "@    WARNING: %-58s@\n"
                    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n",
            title);
}

/* An identity the trust store refused: name the key that was presented and
 * what is trusted for that JID instead. */
static void warn_untrusted(open_run *r, const char *source)
{
    cli *c = &r->c;
    if (!c->seen.set) {
        cli_err(c, "%s: the sender's key is not trusted", source);
        return;
    }
    char fpt[CLI_FP_TEXT];
    cli_fp_text(c->seen.fp, fpt);
    size_t n = esession_trust_count(c->ks), others = 0;
    for (size_t i = 0; i < n; i++) {
        esession_trust_entry e;
        if (esession_trust_at(c->ks, i, &e) == ESESSION_OK && strcmp(e.jid, c->seen.jid) == 0)
            others++;
    }
    if (others > 0) {
        banner("THIS JID PRESENTS A DIFFERENT KEY");
        fprintf(stderr, "%s: %s signed with the key\n      %s\nbut you trust for %s:\n", source,
                c->seen.jid, fpt, c->seen.jid);
        for (size_t i = 0; i < n; i++) {
            esession_trust_entry e;
            if (esession_trust_at(c->ks, i, &e) != ESESSION_OK || strcmp(e.jid, c->seen.jid) != 0)
                continue;
            char t[CLI_FP_TEXT];
            cli_fp_text(e.fingerprint, t);
            fprintf(stderr, "      %s%s%s%s\n", t, e.petname[0] ? "  (" : "", e.petname,
                    e.petname[0] ? ")" : "");
        }
        fprintf(stderr, "Someone may be impersonating %s, or the contact has a new key.\n"
                        "The stanza was not opened. Compare the new fingerprint out of band\n"
                        "before trusting it ('esessionctl trust --force').\n",
                c->seen.jid);
    } else {
        cli_err(c, "%s: %s signed with a key you do not trust:\n      %s\n"
                   "Not opened. Get the key from %s, compare this fingerprint out of band,\n"
                   "and trust it ('esessionctl trust %s FILE').",
                source, c->seen.jid, fpt, c->seen.jid, c->seen.jid);
    }
}

static void print_result(open_run *r, const esession_result *res)
{
    cli *c = &r->c;
    uint64_t idx = res->tag & 0xffffffffu;
    /* A message from the inbox was opened by an earlier run; a stanza held
     * since an earlier run carries that run's tag. */
    stanza_info *si = !res->redelivered && res->tag >> 32 == r->run && idx >= 1 && idx <= r->n
                          ? &r->info[idx - 1]
                          : NULL;
    const char *source = res->redelivered ? "inbox" : si ? si->source : "held since an earlier run";
    char created[40] = "", delay[40] = "", prof[64], pos[33];
    if (res->has_created)
        cli_time_text(res->created, created, sizeof created);
    if (res->has_delay)
        cli_time_text(res->delay, delay, sizeof delay);
    profile_words(res->profile, prof, sizeof prof);
    cli_hex(res->counter, sizeof res->counter, pos);
    int has_pos = res->kind == ESESSION_RESULT_MESSAGE || res->kind == ESESSION_RESULT_TERMINATED;

    if (c->json) {
        int first = 1;
        printf("%s{", r->first_json ? "" : ",");
        r->first_json = 0;
        json_key(stdout, &first, "source");
        json_str(stdout, source);
        if (si != NULL) /* the stanza's place in this run's input, from 1 */
            printf(",\"tag\":%llu", (unsigned long long)idx);
        json_key(stdout, &first, "status");
        json_str(stdout, res->redelivered ? "redelivered" : kind_word(res->kind));
        if (res->kind == ESESSION_RESULT_MESSAGE) {
            json_key(stdout, &first, "id");
            json_str(stdout, res->id);
        }
        if (res->kind == ESESSION_RESULT_ERROR) {
            json_key(stdout, &first, "error");
            json_str(stdout, esession_status_name(res->error));
        }
        if (res->from.data != NULL) {
            json_key(stdout, &first, "from");
            json_strn(stdout, res->from.data, res->from.len);
        }
        if (res->from_bare.data != NULL) {
            json_key(stdout, &first, "from_bare");
            json_strn(stdout, res->from_bare.data, res->from_bare.len);
        }
        if (res->thread.data != NULL) {
            json_key(stdout, &first, "thread");
            json_strn(stdout, res->thread.data, res->thread.len);
        }
        if (has_pos) {
            json_key(stdout, &first, "position");
            json_str(stdout, pos);
        }
        if (has_pos) {
            char hex[2 * ESESSION_FINGERPRINT_BYTES + 1];
            cli_hex(res->key_fingerprint, sizeof res->key_fingerprint, hex);
            json_key(stdout, &first, "key");
            printf("{\"fingerprint\":\"%s\",\"state\":", hex);
            json_str(stdout, cli_key_state_name(res->key_state));
            printf("}");
        }
        if (res->has_created) {
            json_key(stdout, &first, "created");
            json_str(stdout, created);
        }
        if (res->has_delay) {
            json_key(stdout, &first, "delay");
            json_str(stdout, delay);
            if (res->delay_from.data != NULL) {
                json_key(stdout, &first, "delay_from");
                json_strn(stdout, res->delay_from.data, res->delay_from.len);
            }
        }
        if (res->kind == ESESSION_RESULT_PLAIN) {
            json_key(stdout, &first, "encrypted");
            printf("false");
        }
        if (res->kind == ESESSION_RESULT_MESSAGE || res->kind == ESESSION_RESULT_PLAIN) {
            printf(",\"profile\":[");
            int pf = 1;
            char *save = NULL;
            for (char *t = strtok_r(prof, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "none") == 0)
                    continue;
                printf("%s", pf ? "" : ",");
                json_str(stdout, t);
                pf = 0;
            }
            printf("]");
            json_key(stdout, &first, "plaintext");
            json_strn(stdout, res->plaintext.data ? res->plaintext.data : "",
                      res->plaintext.len);
        }
        if (res->kind == ESESSION_RESULT_ERROR && res->error == ESESSION_ERR_UNTRUSTED_KEY &&
            c->seen.set) {
            char hex[2 * ESESSION_FINGERPRINT_BYTES + 1];
            cli_hex(c->seen.fp, sizeof c->seen.fp, hex);
            json_key(stdout, &first, "presented_key");
            printf("{\"jid\":");
            json_str(stdout, c->seen.jid);
            printf(",\"fingerprint\":\"%s\"}", hex);
        }
        printf("}");
    } else {
        if (res->kind == ESESSION_RESULT_ERROR)
            printf("== %s: rejected (%s): %s\n", source, esession_status_name(res->error),
                   esession_status_string(res->error));
        else
            printf("== %s: %s\n", source, res->redelivered ? "redelivered" : kind_word(res->kind));
        if (res->kind == ESESSION_RESULT_MESSAGE)
            printf("id:       %s\n", res->id);
        if (res->from.len > 0)
            printf("from:     %s\n", res->from.data);
        if (res->thread.len > 0)
            printf("thread:   %s\n", res->thread.data);
        if (has_pos) {
            char fpt[CLI_FP_TEXT];
            printf("position: %s\n", pos);
            cli_fp_text(res->key_fingerprint, fpt);
            printf("key:      %s (%s)\n", fpt, cli_key_state_word(res->key_state));
        }
        if (res->has_created)
            printf("created:  %s (signed by the sender)\n", created);
        if (res->has_delay)
            printf("delay:    %s from %s (server stamp, not authenticated)\n", delay,
                   res->delay_from.data ? res->delay_from.data : "?");
        if (res->kind == ESESSION_RESULT_PLAIN)
            printf("warning:  NOT ENCRYPTED; sender and content are not authenticated\n");
        if (res->kind == ESESSION_RESULT_MESSAGE || res->kind == ESESSION_RESULT_PLAIN) {
            printf("profile:  %s\n", prof);
            if (res->plaintext.data != NULL)
                printf("%s\n", res->plaintext.data);
        }
    }
    if (res->kind == ESESSION_RESULT_ERROR && res->error == ESESSION_ERR_UNTRUSTED_KEY)
        warn_untrusted(r, source);
    if (si != NULL)
        si->final = (int)res->kind;
    if (res->kind == ESESSION_RESULT_ERROR && r->rc == CLI_OK)
        r->rc = cli_exit_code(res->error);
}

/* Print every queued result; a message leaves the keystore's inbox only
 * once it is out (standard output flushed, synced when it is a file), so
 * a crash in between prints it again next time, with the same id. */
static int deliver(open_run *r, esession_receiver *rcv)
{
    esession_result res;
    int rc = CLI_OK;
    while (esession_receiver_next(rcv, &res)) {
        print_result(r, &res);
        if (rc == CLI_OK && res.kind == ESESSION_RESULT_PLAIN)
            rc = cli_flush_stdout(&r->c);
        if (rc == CLI_OK && res.kind == ESESSION_RESULT_MESSAGE) {
            rc = cli_flush_stdout(&r->c);
            esession_status st = rc == CLI_OK ? esession_receiver_confirm(rcv, &res) : ESESSION_OK;
            if (st != ESESSION_OK)
                rc = cli_fail(&r->c, st, "printed, but cannot confirm the message");
        }
        esession_result_free(&res);
    }
    return rc;
}

static int feed_text(open_run *r, esession_receiver *rcv, const char *name, const char *text,
                     size_t len)
{
    cli *c = &r->c;
    int n = xs_split(text, len, NULL, 0);
    if (n < 0) {
        cli_err(c, "%s: not a sequence of XML elements", name);
        return CLI_EXIT_REJECTED;
    }
    if ((size_t)n > STANZAS_MAX - r->n) {
        cli_err(c, "more than %u stanzas", STANZAS_MAX);
        return CLI_EXIT_REJECTED;
    }
    xs_elem *e = calloc((size_t)n + 1, sizeof *e);
    if (e == NULL) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    (void)xs_split(text, len, e, (size_t)n);
    int rc = CLI_OK;
    for (int i = 0; rc == CLI_OK && i < n; i++) {
        stanza_info *si = &r->info[r->n++];
        memset(si, 0, sizeof *si);
        if (n == 1)
            snprintf(si->source, sizeof si->source, "%s", name);
        else
            snprintf(si->source, sizeof si->source, "%s#%d", name, i + 1);
        c->seen.set = 0;
        esession_status st = esession_receiver_feed(rcv, text + e[i].start, e[i].end - e[i].start,
                                                    (uint64_t)r->run << 32 | r->n);
        if (st != ESESSION_OK) {
            rc = cli_fail(c, st, "cannot process the stanza");
            break;
        }
        rc = deliver(r, rcv);
    }
    free(e);
    return rc;
}

int cmd_open(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON,
                                      {"done", 0, OPT_ARG_NONE, O_DONE}, CLI_OPT_END};
    open_run r;
    memset(&r, 0, sizeof r);
    r.run = (uint32_t)randombytes_uniform(0xffffffffu) + 1u;
    cli *c = &r.c;
    cli_begin(c, "open", open_usage);
    const char **files = calloc((size_t)(argc > 0 ? argc : 1), sizeof *files);
    size_t nfiles = 0, stdin_uses = 0;
    int done = 0, rc = CLI_OK;
    if (files == NULL) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    cli_parse p;
    const char *arg;
    int id;
    cli_parse_init(&p, argc, argv);
    while (rc == CLI_OK && (id = cli_next(&p, defs, &arg)) != -1) {
        if (id == -2)
            rc = CLI_EXIT_USAGE;
        else if (id == O_HELP)
            rc = -1;
        else if (id == 0)
            files[nfiles++] = arg;
        else if (id == O_DONE)
            done = 1;
        else if (cli_common_opt(c, id, arg) < 0)
            rc = CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i], "-") == 0)
            stdin_uses++;
    if (rc == CLI_OK && stdin_uses > 1)
        rc = cli_usage_error(c, "standard input can be read only once");
    if (rc != CLI_OK) {
        free(files);
        return rc < 0 ? cli_help(c) : rc;
    }
    r.info = calloc(STANZAS_MAX, sizeof *r.info);
    if (r.info == NULL) {
        free(files);
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    r.first_json = 1;
    esession_receiver *rcv = NULL;
    rc = cli_open_keystore(c);
    if (rc == CLI_OK) {
        esession_status st = esession_receiver_new(c->ctx, c->ks, &rcv);
        if (st != ESESSION_OK)
            rc = cli_fail(c, st, "cannot start receiving");
    }
    if (rc == CLI_OK && c->json)
        printf("[");
    /* First what an interrupted run opened but never printed. */
    size_t pending = 0;
    if (rc == CLI_OK) {
        esession_status st = esession_receiver_pending(rcv, &pending);
        rc = st == ESESSION_OK ? deliver(&r, rcv) : cli_fail(c, st, "cannot read the inbox");
    }
    if (rc == CLI_OK && pending > 0)
        cli_warn(c, "%zu message%s opened by an earlier run printed again (same id)", pending,
                 pending == 1 ? "" : "s");
    size_t inputs = nfiles ? nfiles : 1;
    for (size_t i = 0; rc == CLI_OK && i < inputs; i++) {
        const char *path = nfiles ? files[i] : "-";
        char *text = NULL;
        size_t len = 0;
        rc = cli_read_input(c, path, CLI_INPUT_MAX, &text, &len);
        if (rc == CLI_OK)
            rc = feed_text(&r, rcv, strcmp(path, "-") == 0 ? "stdin" : path, text, len);
        free(text);
    }
    if (c->json && c->ks != NULL)
        printf("]\n");
    size_t held = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.info[i].final == ESESSION_RESULT_HELD)
            held++;
    if (rc == CLI_OK && held > 0) {
        cli_warn(c, "%zu stanza%s could not be placed in its session yet (held); open %s again "
                    "together with the stanzas that precede %s", held, held == 1 ? "" : "s",
                 held == 1 ? "it" : "them", held == 1 ? "it" : "them");
        if (r.rc == CLI_OK)
            r.rc = CLI_EXIT_REJECTED;
    }
    if (c->alerts & ESESSION_ALERT_JID_NEW_KEY)
        cli_warn(c, "a contact presented a key other than the one you trust for it");
    if (c->alerts & ESESSION_ALERT_KEY_OTHER_JID)
        cli_warn(c, "a key you trust for one JID was presented by another JID");
    if (rc == CLI_OK && done)
        rc = cli_queue_done(c);
    if (rc == CLI_OK)
        rc = r.rc;
    esession_receiver_free(rcv);
    free(r.info);
    free(files);
    return cli_end(c, rc);
}
