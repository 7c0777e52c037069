/* SPDX-License-Identifier: ISC */
/* Trust store commands (XEP-0116 Key Associations): trust, peers, verify,
 * untrust. A JID that presents a different key, or a key that appears
 * under another JID, is refused loudly unless --force. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define KS_OPTS "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE)\n"   \
                "  --passphrase-fd N       read the passphrase from the first line of fd N\n" \
                "  --passphrase-file PATH  read it from the first line of PATH\n"

static const char trust_usage[] =
    "Usage: esessionctl trust [-k PATH] [-n PETNAME] [--force] JID [FILE|-]\n"
    "Trust a peer's public key (<KeyValue> or PEM, from FILE or stdin) for the bare\n"
    "JID. The key is recorded unverified; compare its fingerprint with the peer out\n"
    "of band, then run 'esessionctl verify'.\n"
    "If JID already has a different key, or the key is trusted for another JID\n"
    "(XEP-0116 Key Associations), nothing is recorded and the exit status is 3,\n"
    "unless --force is given.\n"
    "  -n, --name PETNAME      your name for the peer\n"
    "  --force                 record the association despite the warning\n" KS_OPTS;

static const char peers_usage[] =
    "Usage: esessionctl peers [-k PATH] [--json] [JID]\n"
    "List the trusted keys (of JID only, if given): JID, petname, verified or not,\n"
    "and fingerprint.\n" KS_OPTS "  --json                  a JSON array\n";

static const char verify_usage[] =
    "Usage: esessionctl verify [-k PATH] [--unset] JID FINGERPRINT\n"
    "Mark JID's trusted key FINGERPRINT (all of it, or a unique prefix of at least 8\n"
    "hex digits) as verified out of band, or with --unset as not verified.\n" KS_OPTS;

static const char untrust_usage[] =
    "Usage: esessionctl untrust [-k PATH] JID [FINGERPRINT]\n"
    "Stop trusting JID's key FINGERPRINT (may be left out when JID has one key).\n" KS_OPTS;

enum { O_NAME = 1, O_FORCE, O_UNSET };

typedef struct trust_opts {
    const char *name;
    int force;
    int unset;
} trust_opts;

static int trust_opt(cli *c, int id, const char *arg, void *u)
{
    trust_opts *o = u;
    if (id == O_NAME)
        o->name = arg;
    else if (id == O_FORCE)
        o->force = 1;
    else if (id == O_UNSET)
        o->unset = 1;
    else if (cli_common_opt(c, id, arg) < 0)
        return CLI_EXIT_USAGE;
    return 0;
}

/* The peer's bare JID, the first argument; hint ends the message. */
static int peer_arg(const cli *c, size_t got, const char *jid, const char *hint)
{
    if (got < 1)
        return cli_usage_error(c, "whose key? give the peer's bare JID");
    if (!cli_bare_jid_ok(jid))
        return cli_usage_error(c, "'%s' is not a bare JID%s", jid, hint);
    return CLI_OK;
}

static void banner(const char *title)
{
    fprintf(stderr, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
                    "@    WARNING: %-58s@\n"
                    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n",
            title);
}

static void print_entry_stderr(const esession_trust_entry *e)
{
    char fpt[CLI_FP_TEXT];
    cli_fp_text(e->fingerprint, fpt);
    fprintf(stderr, "    %s%s%s%s  %s\n      %s\n", e->jid, e->petname[0] ? " (" : "", e->petname,
            e->petname[0] ? ")" : "", e->verified ? "verified" : "not verified", fpt);
}

/* The loud part: what is already trusted, and what is new. */
static void warn_associations(const cli *c, const char *jid,
                              const uint8_t fp[ESESSION_FINGERPRINT_BYTES], unsigned alerts,
                              int recorded)
{
    char fpt[CLI_FP_TEXT];
    cli_fp_text(fp, fpt);
    size_t n = esession_trust_count(c->ks);
    if (alerts & ESESSION_ALERT_JID_NEW_KEY) {
        banner("THIS JID PRESENTS A DIFFERENT KEY");
        fprintf(stderr, "You already trust for %s:\n", jid);
        for (size_t i = 0; i < n; i++) {
            esession_trust_entry e;
            if (esession_trust_at(c->ks, i, &e) == ESESSION_OK && strcmp(e.jid, jid) == 0 &&
                memcmp(e.fingerprint, fp, sizeof e.fingerprint) != 0)
                print_entry_stderr(&e);
        }
        fprintf(stderr, "and are asked to trust for it this other key:\n      %s\n"
                        "Someone may be impersonating %s, or the contact has a new key.\n",
                fpt, jid);
    }
    if (alerts & ESESSION_ALERT_KEY_OTHER_JID) {
        banner("THIS KEY IS ALREADY TRUSTED FOR ANOTHER JID");
        fprintf(stderr, "The key\n      %s\nis already trusted for:\n", fpt);
        for (size_t i = 0; i < n; i++) {
            esession_trust_entry e;
            if (esession_trust_at(c->ks, i, &e) == ESESSION_OK && strcmp(e.jid, jid) != 0 &&
                memcmp(e.fingerprint, fp, sizeof e.fingerprint) == 0)
                print_entry_stderr(&e);
        }
        fprintf(stderr, "One person may use several accounts, or one account may be posing as\n"
                        "another.\n");
    }
    if (recorded)
        fprintf(stderr, "Recorded anyway (--force), not verified.\n");
    else
        fprintf(stderr, "Nothing was recorded. Compare the fingerprint with %s out of band\n"
                        "(in person, by phone); if it matches, run again with --force.\n",
                jid);
    (void)c;
}

int cmd_trust(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE,
                                      {"name", 'n', OPT_ARG_REQUIRED, O_NAME},
                                      {"force", 0, OPT_ARG_NONE, O_FORCE},
                                      CLI_OPT_END};
    cli c;
    trust_opts o = {NULL, 0, 0};
    const char *pos[2] = {NULL, NULL};
    size_t got;
    cli_begin(&c, "trust", trust_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 2, &got, trust_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = peer_arg(&c, got, pos[0], " (user@domain, no resource)")) != CLI_OK)
        return rc;
    if (o.name != NULL && (strlen(o.name) > 1024 || strchr(o.name, '\n') != NULL))
        return cli_usage_error(&c, "the petname is one line of at most 1024 octets");
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key *k = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    esession_status st;
    if ((rc = cli_read_key(&c, pos[1], 0, &k, fp, &st)) != CLI_OK)
        return cli_end(&c, rc);
    if (st != ESESSION_OK) {
        esession_key_free(k);
        return cli_end(&c, cli_fail(&c, st, "not a usable public key (expected <KeyValue> or PEM)"));
    }
    /* Look before recording: a conflicting association is refused unless
     * forced, so nothing changes on a mistake. */
    unsigned alerts = 0;
    size_t n = esession_trust_count(c.ks);
    for (size_t i = 0; i < n; i++) {
        esession_trust_entry e;
        if (esession_trust_at(c.ks, i, &e) != ESESSION_OK)
            continue;
        int same_jid = strcmp(e.jid, pos[0]) == 0;
        int same_key = memcmp(e.fingerprint, fp, sizeof fp) == 0;
        if (same_jid && same_key) {
            esession_key_free(k);
            cli_err(&c, "%s is already trusted with this key", pos[0]);
            return cli_end(&c, CLI_EXIT_CONFLICT);
        }
        if (same_jid)
            alerts |= ESESSION_ALERT_JID_NEW_KEY;
        if (same_key)
            alerts |= ESESSION_ALERT_KEY_OTHER_JID;
    }
    if (alerts != 0 && !o.force) {
        warn_associations(&c, pos[0], fp, alerts, 0);
        esession_key_free(k);
        return cli_end(&c, CLI_EXIT_TRUST);
    }
    unsigned recorded_alerts = 0;
    st = esession_trust_add(c.ks, pos[0], k, o.name ? o.name : "", &recorded_alerts);
    esession_key_free(k);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "cannot record the key"));
    if ((alerts | recorded_alerts) != 0)
        warn_associations(&c, pos[0], fp, alerts | recorded_alerts, 1);
    return cli_end(&c, CLI_OK);
}

int cmd_peers(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON, CLI_OPT_END};
    cli c;
    trust_opts o = {NULL, 0, 0};
    const char *pos[1] = {NULL};
    size_t got;
    cli_begin(&c, "peers", peers_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 1, &got, trust_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore_read(&c)) != CLI_OK)
        return cli_end(&c, rc);
    size_t n = esession_trust_count(c.ks);
    int first = 1;
    if (c.json)
        printf("[");
    for (size_t i = 0; i < n; i++) {
        esession_trust_entry e;
        esession_status st = esession_trust_at(c.ks, i, &e);
        if (st != ESESSION_OK) {
            rc = cli_fail(&c, st, "cannot read the trust store");
            break;
        }
        if (pos[0] != NULL && strcmp(pos[0], e.jid) != 0)
            continue;
        if (c.json) {
            char hex[2 * ESESSION_FINGERPRINT_BYTES + 1];
            cli_hex(e.fingerprint, sizeof e.fingerprint, hex);
            printf("%s{\"jid\":", first ? "" : ",");
            json_str(stdout, e.jid);
            printf(",\"petname\":");
            json_str(stdout, e.petname);
            printf(",\"fingerprint\":\"%s\",\"verified\":%s}", hex, e.verified ? "true" : "false");
        } else {
            char fpt[CLI_FP_TEXT];
            cli_fp_text(e.fingerprint, fpt);
            printf("%s%s%s%s  %s\n    %s\n", e.jid, e.petname[0] ? " (" : "", e.petname,
                   e.petname[0] ? ")" : "", e.verified ? "verified" : "not verified", fpt);
        }
        first = 0;
    }
    if (c.json)
        printf("]\n");
    return cli_end(&c, rc);
}

/* JID's trusted key matching a fingerprint prefix (or its only key). */
static int find_entry(cli *c, const char *jid, const char *fp_arg,
                      uint8_t out[ESESSION_FINGERPRINT_BYTES])
{
    uint8_t want[ESESSION_FINGERPRINT_BYTES];
    size_t nd = 0;
    if (fp_arg != NULL && (cli_fp_parse(fp_arg, want, &nd) != 0 || nd < 8)) {
        cli_err(c, "'%s' is not a fingerprint or a prefix of at least 8 hex digits", fp_arg);
        return CLI_EXIT_USAGE;
    }
    size_t n = esession_trust_count(c->ks), matches = 0, of_jid = 0;
    for (size_t i = 0; i < n; i++) {
        esession_trust_entry e;
        if (esession_trust_at(c->ks, i, &e) != ESESSION_OK || strcmp(e.jid, jid) != 0)
            continue;
        of_jid++;
        if (fp_arg == NULL || cli_fp_prefix_match(e.fingerprint, want, nd)) {
            if (matches++ == 0)
                memcpy(out, e.fingerprint, ESESSION_FINGERPRINT_BYTES);
        }
    }
    if (of_jid == 0) {
        cli_err(c, "no key is trusted for %s", jid);
        return CLI_EXIT_CONFLICT;
    }
    if (matches == 0) {
        cli_err(c, "no key trusted for %s has the fingerprint %s", jid, fp_arg);
        return CLI_EXIT_CONFLICT;
    }
    if (matches > 1) {
        cli_err(c, "%s has %zu keys: name one by fingerprint (see 'esessionctl peers %s')", jid,
                matches, jid);
        return CLI_EXIT_USAGE;
    }
    return CLI_OK;
}

int cmd_verify(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, {"unset", 0, OPT_ARG_NONE, O_UNSET},
                                      CLI_OPT_END};
    cli c;
    trust_opts o = {NULL, 0, 0};
    const char *pos[2] = {NULL, NULL};
    size_t got;
    cli_begin(&c, "verify", verify_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 2, &got, trust_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if (got != 2)
        return cli_usage_error(&c, "give the JID and the fingerprint you compared");
    if ((rc = peer_arg(&c, got, pos[0], "")) != CLI_OK)
        return rc;
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    if ((rc = find_entry(&c, pos[0], pos[1], fp)) != CLI_OK)
        return cli_end(&c, rc);
    esession_status st = esession_trust_set_verified(c.ks, pos[0], fp, !o.unset);
    if (st != ESESSION_OK)
        rc = cli_fail(&c, st, "cannot change the key");
    return cli_end(&c, rc);
}

int cmd_untrust(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_END};
    cli c;
    trust_opts o = {NULL, 0, 0};
    const char *pos[2] = {NULL, NULL};
    size_t got;
    cli_begin(&c, "untrust", untrust_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 2, &got, trust_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = peer_arg(&c, got, pos[0], "")) != CLI_OK)
        return rc;
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    if ((rc = find_entry(&c, pos[0], pos[1], fp)) != CLI_OK)
        return cli_end(&c, rc);
    esession_status st = esession_trust_remove(c.ks, pos[0], fp);
    if (st != ESESSION_OK)
        rc = cli_fail(&c, st, "cannot remove the key");
    return cli_end(&c, rc);
}
