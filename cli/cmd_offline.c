/* SPDX-License-Identifier: ISC */
/* Alice's offline options (XEP-0187 §3.1, §3.4): publish, online, optsets,
 * purge. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define KS_OPTS "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE)\n"   \
                "  --passphrase-fd N       read the passphrase from the first line of fd N\n" \
                "  --passphrase-file PATH  read it from the first line of PATH\n"

static const char publish_usage[] =
    "Usage: esessionctl publish [-k PATH] [-l LIFETIME] [--groups LIST] [--ciphers LIST]\n"
    "                           [--hashes LIST] [--rekey-freq N] [--match-resource RES]\n"
    "                           [--open-node] [--allow-weak-groups] [--create | --no-create]\n"
    "                           [--json]\n"
    "Draw a new option set (nonce and one Diffie-Hellman exponent per group), store\n"
    "it encrypted in the keystore, sign it with every signing key, and print the PEP\n"
    "IQs to send, each followed by a newline: the node creation (first publication\n"
    "only) and the publication of the item.\n"
    CLI_PUB_OPTHELP
    "  --create, --no-create   print the node creation IQ or not (default: only when\n"
    "                          the keystore holds no option set yet)\n" KS_OPTS
    "  --json                  one JSON object: IQs, their ids, nonce, expiry\n";

static const char online_usage[] =
    "Usage: esessionctl online [-k PATH] [--json]\n"
    "Alice is back: print the IQ publishing the empty item (the published options\n"
    "stop being offered) and destroy expired option sets. The exponents of the\n"
    "withdrawn sets stay until the offline queue is processed ('open --done' or\n"
    "'purge --withdrawn').\n" KS_OPTS "  --json                  one JSON object\n";

static const char optsets_usage[] =
    "Usage: esessionctl optsets [-k PATH] [--json]\n"
    "List the option sets the keystore holds: nonce, expiry, state (offered,\n"
    "withdrawn, destroyed), groups, and the sessions accepted under each (the\n"
    "entries of its replay memory, kept until it expires).\n" KS_OPTS
    "  --json                  a JSON array\n";

static const char purge_usage[] =
    "Usage: esessionctl purge [-k PATH] [--withdrawn]\n"
    "Destroy the option sets whose expiry has passed (exponents and replay memory).\n"
    "  --withdrawn             also destroy the exponents of the sets withdrawn by\n"
    "                          'online' (do this once the offline queue is opened)\n" KS_OPTS;

/* N_A in base64 (96 octets hold the largest, 64 octets), as published. */
#define NONCE_TEXT 96
static void nonce_text(const uint8_t *nonce, size_t len, size_t cap, char out[NONCE_TEXT])
{
    sodium_bin2base64(out, NONCE_TEXT, nonce, len <= cap ? len : cap,
                      sodium_base64_VARIANT_ORIGINAL);
}

static void print_iq_json(FILE *f, int *first, const char *key, const esession_buf *iq)
{
    json_key(f, first, key);
    json_strn(f, iq->data, iq->len);
}

int cmd_publish(int argc, char **argv)
{
    static const cli_optdef defs[] = {
        CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD, CLI_OPT_PASS_FILE, CLI_OPT_JSON,
        CLI_PUB_OPTDEFS,
        {"create", 0, OPT_ARG_NONE, PO_CREATE},
        {"no-create", 0, OPT_ARG_NONE, PO_NO_CREATE},
        CLI_OPT_END};
    cli c;
    cli_pub_opts o;
    cli_pub_opts_init(&o);
    cli_begin(&c, "publish", publish_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, cli_pub_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    const char *node = o.po.open_node ? "open" : "presence";
    /* The keystore does not record nodes: an empty one has never published
     * (or every set has expired since, and creating the node again is
     * harmless). */
    if (o.create < 0)
        o.create = esession_optset_count(c.ks) == 0;
    esession_publication pub;
    memset(&pub, 0, sizeof pub);
    esession_status st = esession_publish(c.ctx, c.ks, &o.po, &pub);
    if (st != ESESSION_OK) {
        if (st == ESESSION_ERR_STATE)
            cli_err(&c, "cannot publish: %s (create a key with 'esessionctl genkey')",
                    esession_ctx_error_detail(c.ctx));
        else
            rc = cli_fail(&c, st, "cannot publish");
        return cli_end(&c, st == ESESSION_ERR_STATE ? CLI_EXIT_CONFLICT : rc);
    }
    if (c.json) {
        char nonce[NONCE_TEXT];
        nonce_text(pub.nonce, pub.nonce_len, sizeof pub.nonce, nonce);
        int first = 1;
        char when[40];
        cli_time_text(pub.expires, when, sizeof when);
        printf("{");
        if (o.create) {
            print_iq_json(stdout, &first, "create_iq", &pub.create_iq);
            json_key(stdout, &first, "create_id");
            json_str(stdout, pub.create_id);
        }
        print_iq_json(stdout, &first, "publish_iq", &pub.publish_iq);
        json_key(stdout, &first, "publish_id");
        json_str(stdout, pub.publish_id);
        json_key(stdout, &first, "node");
        json_str(stdout, node);
        json_key(stdout, &first, "nonce");
        json_str(stdout, nonce);
        json_key(stdout, &first, "expires");
        json_str(stdout, when);
        printf("}\n");
    } else {
        if (o.create)
            printf("%s\n", pub.create_iq.data);
        printf("%s\n", pub.publish_iq.data);
    }
    esession_publication_free(&pub);
    return cli_end(&c, rc);
}

int cmd_online(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON, CLI_OPT_END};
    cli c;
    cli_begin(&c, "online", online_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    size_t removed = 0;
    esession_status st = esession_online(c.ctx, c.ks, &iq, id);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "cannot withdraw the options"));
    st = esession_purge_expired(c.ctx, c.ks, &removed);
    if (st != ESESSION_OK)
        rc = cli_fail(&c, st, "cannot destroy the expired option sets");
    if (c.json) {
        int first = 1;
        printf("{");
        print_iq_json(stdout, &first, "iq", &iq);
        json_key(stdout, &first, "id");
        json_str(stdout, id);
        printf(",\"expired_destroyed\":%zu}\n", removed);
    } else {
        printf("%s\n", iq.data);
    }
    esession_buf_free(&iq);
    return cli_end(&c, rc);
}

static void remaining(int64_t secs, char *out, size_t n)
{
    if (secs < 0)
        snprintf(out, n, "expired");
    else if (secs >= 86400)
        snprintf(out, n, "%lldd%02lldh left", (long long)(secs / 86400),
                 (long long)(secs % 86400 / 3600));
    else if (secs >= 3600)
        snprintf(out, n, "%lldh%02lldm left", (long long)(secs / 3600),
                 (long long)(secs % 3600 / 60));
    else
        snprintf(out, n, "%lldm%02llds left", (long long)(secs / 60), (long long)(secs % 60));
}

const char *cli_optset_state(const esession_optset_info *info)
{
    if (info->secrets_destroyed)
        return "destroyed";
    return info->withdrawn ? "withdrawn" : "offered";
}

int cli_optsets_read(cli *c, esession_optset_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t count = esession_optset_count(c->ks);
    if (count == 0)
        return CLI_OK;
    esession_optset_info *v = calloc(count, sizeof *v);
    if (v == NULL) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < count; i++) {
        esession_status st = esession_optset_at(c->ks, i, &v[i]);
        if (st != ESESSION_OK) {
            free(v);
            return cli_fail(c, st, "cannot read the option sets");
        }
    }
    *out = v;
    *n = count;
    return CLI_OK;
}

/* "14,15,16" */
static void groups_text(const esession_optset_info *info, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < info->n_groups && i < sizeof info->groups / sizeof info->groups[0]; i++) {
        size_t k = strlen(out);
        snprintf(out + k, n - k, "%s%d", k ? "," : "", info->groups[i]);
    }
}

static void optset_json(const esession_optset_info *e, int64_t now)
{
    char nonce[NONCE_TEXT], created[40], expires[40];
    int first = 1;
    nonce_text(e->nonce, e->nonce_len, sizeof e->nonce, nonce);
    cli_time_text(e->created, created, sizeof created);
    cli_time_text(e->expires, expires, sizeof expires);
    printf("{");
    json_key(stdout, &first, "nonce");
    json_str(stdout, nonce);
    json_key(stdout, &first, "created");
    json_str(stdout, created);
    json_key(stdout, &first, "expires");
    json_str(stdout, expires);
    printf(",\"expired\":%s", e->expires < now ? "true" : "false");
    json_key(stdout, &first, "state");
    json_str(stdout, cli_optset_state(e));
    printf(",\"groups\":[");
    for (size_t i = 0; i < e->n_groups && i < sizeof e->groups / sizeof e->groups[0]; i++)
        printf("%s%d", i ? "," : "", e->groups[i]);
    printf("],\"sessions\":%zu,\"node\":\"%s\"}", e->sessions,
           e->open_node ? "open" : "subscribers");
}

static void optset_text(const esession_optset_info *e, int64_t now)
{
    char nonce[NONCE_TEXT], expires[40], left[40], groups[64];
    nonce_text(e->nonce, e->nonce_len, sizeof e->nonce, nonce);
    cli_time_text(e->expires, expires, sizeof expires);
    remaining(e->expires - now, left, sizeof left);
    groups_text(e, groups, sizeof groups);
    printf("%.12s…  %-9s  expires %s (%s)  groups %s  sessions %zu%s\n", nonce,
           cli_optset_state(e), expires, left, groups, e->sessions,
           e->open_node ? "  open node" : "");
}

int cmd_optsets(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON, CLI_OPT_END};
    cli c;
    cli_begin(&c, "optsets", optsets_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore_read(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_optset_info *sets;
    size_t n;
    if ((rc = cli_optsets_read(&c, &sets, &n)) != CLI_OK)
        return cli_end(&c, rc);
    int64_t now = cli_now();
    if (c.json)
        printf("[");
    for (size_t i = 0; i < n; i++) {
        if (c.json) {
            printf("%s", i ? "," : "");
            optset_json(&sets[i], now);
        } else {
            optset_text(&sets[i], now);
        }
    }
    if (c.json)
        printf("]\n");
    free(sets);
    return cli_end(&c, CLI_OK);
}

int cmd_purge(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE,
                                      {"withdrawn", 0, OPT_ARG_NONE, PO_WITHDRAWN}, CLI_OPT_END};
    cli c;
    cli_pub_opts o;
    memset(&o, 0, sizeof o);
    cli_begin(&c, "purge", purge_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, cli_pub_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    size_t removed = 0;
    esession_status st = esession_purge_expired(c.ctx, c.ks, &removed);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "cannot destroy the expired option sets"));
    if (o.withdrawn) {
        st = esession_offline_queue_done(c.ctx, c.ks);
        if (st != ESESSION_OK)
            return cli_end(&c, cli_fail(&c, st, "cannot destroy the withdrawn option sets"));
    }
    return cli_end(&c, CLI_OK);
}

int cli_queue_done(cli *c)
{
    esession_status st = esession_offline_queue_done(c->ctx, c->ks);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot destroy the withdrawn option sets");
    return CLI_OK;
}
