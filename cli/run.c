/* SPDX-License-Identifier: ISC */
/* The run of one command: common options, the library context and its
 * host hooks, the keystore, messages and exit codes. */
#include "agent.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void cli_begin(cli *c, const char *cmd, const char *usage)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->usage = usage;
    c->pass_fd = -1;
    esession_keystore_options k = ESESSION_KEYSTORE_OPTIONS_INIT;
    c->kdf = k;
}

int cli_common_opt(cli *c, int id, const char *arg)
{
    unsigned long long v;
    switch (id) {
    case O_KEYSTORE:
        if (arg[0] == '\0') {
            cli_usage_error(c, "--keystore needs a path");
            return -1;
        }
        c->ks_path = arg;
        return 1;
    case O_PASS_FD:
        if (cli_parse_uint(arg, 0, 1023, &v) != 0) {
            cli_usage_error(c, "--passphrase-fd needs a file descriptor number");
            return -1;
        }
        c->pass_fd = (int)v;
        return 1;
    case O_PASS_FILE:
        c->pass_file = arg;
        return 1;
    case O_JSON:
        c->json = 1;
        return 1;
    case O_KDF_COST:
        if (cli_kdf_by_name(arg, &c->kdf) != 0) {
            cli_usage_error(c, "--kdf-cost is min, interactive, moderate or sensitive");
            return -1;
        }
        c->kdf_set = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_help(const cli *c)
{
    fputs(c->usage, stdout);
    return fflush(stdout) == 0 ? CLI_OK : CLI_EXIT_IO;
}

int cli_usage_error(const cli *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "esessionctl %s: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", c->usage);
    return CLI_EXIT_USAGE;
}

void cli_err(const cli *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "esessionctl %s: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_warn(const cli *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "esessionctl %s: warning: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_code(esession_status st)
{
    switch (st) {
    case ESESSION_OK:
        return CLI_OK;
    case ESESSION_ERR_INVALID_ARGUMENT:
        return CLI_EXIT_USAGE;
    case ESESSION_ERR_BAD_PASSPHRASE:
    case ESESSION_ERR_CORRUPT:
        return CLI_EXIT_KEYSTORE;
    case ESESSION_ERR_UNTRUSTED_KEY:
    case ESESSION_ERR_BAD_SIGNATURE:
    case ESESSION_ERR_BAD_IDENTITY_MAC:
    case ESESSION_ERR_BAD_MAC:
    case ESESSION_ERR_BAD_COMMITMENT:
        return CLI_EXIT_TRUST;
    case ESESSION_ERR_MALFORMED:
    case ESESSION_ERR_UNKNOWN_OPTIONS:
    case ESESSION_ERR_EXPIRED:
    case ESESSION_ERR_UNSUPPORTED_OPTION:
    case ESESSION_ERR_INVALID_DH_VALUE:
    case ESESSION_ERR_REPLAY:
    case ESESSION_ERR_NO_OPTIONS:
    case ESESSION_ERR_PUBSUB:
    case ESESSION_ERR_BAD_KEY:
    case ESESSION_ERR_BAD_PEM:
    case ESESSION_ERR_UNSUPPORTED:
    case ESESSION_ERR_LIMIT:
    case ESESSION_ERR_DECLINED:
    case ESESSION_ERR_REFUSED:
    case ESESSION_ERR_PEER_ERROR:
        return CLI_EXIT_REJECTED;
    case ESESSION_ERR_IO:
        return CLI_EXIT_IO;
    case ESESSION_ERR_STATE:
    case ESESSION_ERR_NO_SESSION:
    case ESESSION_ERR_COUNTER_EXHAUSTED:
        return CLI_EXIT_CONFLICT;
    default:
        return CLI_EXIT_INTERNAL;
    }
}

int cli_fail(const cli *c, esession_status st, const char *what)
{
    const char *detail = c->ctx != NULL ? esession_ctx_error_detail(c->ctx) : "";
    if (detail[0] != '\0')
        cli_err(c, "%s: %s (%s: %s)", what, esession_status_string(st), esession_status_name(st),
                detail);
    else
        cli_err(c, "%s: %s (%s)", what, esession_status_string(st), esession_status_name(st));
    return cli_exit_code(st);
}

int64_t cli_now(void)
{
    int64_t now = (int64_t)time(NULL);
#ifdef ESESSIONCTL_TESTING
    /* The test tool only, for tests of expiry: ESESSIONCTL_NOW is seconds
     * since the epoch, or +N / -N seconds from now. */
    const char *e = getenv("ESESSIONCTL_NOW");
    if (e == NULL || e[0] == '\0')
        return now;
    int sign = 0;
    if (e[0] == '+' || e[0] == '-') {
        sign = e[0] == '+' ? 1 : -1;
        e++;
    }
    unsigned long long v;
    if (cli_parse_uint(e, 0, 253402300799ull, &v) != 0)
        return now; /* ignored when unusable */
    return sign == 0 ? (int64_t)v : now + sign * (int64_t)v;
#else
    return now;
#endif
}

static int64_t hook_now(void *user)
{
    (void)user;
    return cli_now();
}

static void hook_event(void *user, const esession_event *ev)
{
    cli *c = user;
    if (ev->type == ESESSION_EVENT_KEY_ALERT)
        c->alerts |= ev->alerts;
    else if (ev->type == ESESSION_EVENT_EXPIRED)
        c->expired_events++;
}

/* Remember which key the library is asking about, so that a refusal can
 * name it; the decision stays with the keystore's trust store. */
static int hook_trust(void *user, const char *bare_jid, const esession_key *key)
{
    cli *c = user;
    esession_ctx *fctx = NULL;
    if (bare_jid == NULL || key == NULL || strlen(bare_jid) > CLI_JID_MAX)
        return -1;
    if (esession_ctx_new(&fctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR) != ESESSION_OK)
        return -1;
    if (esession_key_fingerprint(fctx, key, c->seen.fp) == ESESSION_OK) {
        memcpy(c->seen.jid, bare_jid, strlen(bare_jid) + 1);
        c->seen.set = 1;
    }
    esession_ctx_free(fctx);
    return -1;
}

int cli_ctx(cli *c)
{
    static const esession_host_ops ops = {.now = hook_now, .event = hook_event, .trust = hook_trust};
    esession_ctx_options o = ESESSION_CTX_OPTIONS_INIT;
    o.ops = &ops;
    o.user = c;
    esession_status st = esession_ctx_new(&c->ctx, &o, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot start the library");
    return CLI_OK;
}

const char *cli_keystore_path(cli *c)
{
    if (c->ks_path != NULL)
        return c->ks_path;
    const char *e = getenv("ESESSION_KEYSTORE");
    if (e != NULL && e[0] != '\0')
        return e;
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(c->ks_default, sizeof c->ks_default, "%s/esession/keystore", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(c->ks_default, sizeof c->ks_default, "%s/.local/share/esession/keystore", home);
    else
        n = snprintf(c->ks_default, sizeof c->ks_default, "esession.keystore");
    if (n < 0 || (size_t)n >= sizeof c->ks_default)
        return "esession.keystore";
    return c->ks_default;
}

int cli_open_keystore_read(cli *c)
{
    int rc = cli_open_keystore(c);
    if (rc != CLI_OK)
        return rc;
    /* One snapshot for the whole listing, whatever other processes write
     * meanwhile; closing the keystore ends it. */
    esession_status st = esession_keystore_begin_read(c->ks);
    return st == ESESSION_OK ? CLI_OK : cli_fail(c, st, "cannot read the keystore");
}

int cli_open_failed(const cli *c, const char *path, esession_status st)
{
    switch (st) {
    case ESESSION_ERR_BAD_PASSPHRASE:
        cli_err(c, "%s: wrong passphrase, or the file was altered (nothing was changed)", path);
        return CLI_EXIT_KEYSTORE;
    case ESESSION_ERR_CORRUPT:
        cli_err(c, "%s: not a keystore, or damaged or truncated (nothing was changed): %s", path,
                c->ctx != NULL ? esession_ctx_error_detail(c->ctx) : "");
        return CLI_EXIT_KEYSTORE;
    default: {
        char what[4200];
        snprintf(what, sizeof what, "cannot open keystore %s", path);
        return cli_fail(c, st, what);
    }
    }
}

/* Open with the key the agent holds for path: CLI_OK, an exit code, or -1
 * when there is none to use (then the passphrase is asked). */
static int open_from_agent(cli *c, const char *path)
{
    uint8_t *key = sodium_malloc(ESESSION_KEYSTORE_KEY_BYTES);
    if (key == NULL)
        return -1;
    int got = agent_key_get(c, path, key);
    esession_status st =
        got ? esession_keystore_open_with_key(c->ctx, &c->ks, path, key, NULL) : ESESSION_OK;
    sodium_free(key); /* wipes */
    if (!got)
        return -1;
    if (st == ESESSION_OK)
        return CLI_OK;
    if (st == ESESSION_ERR_BAD_PASSPHRASE || st == ESESSION_ERR_STATE) {
        /* The passphrase changed, or another store is at path now. */
        (void)agent_key_forget(c, path);
        cli_warn(c, "the agent's key no longer opens %s (was its passphrase changed?); "
                    "the agent dropped it",
                 path);
        return -1;
    }
    return cli_open_failed(c, path, st);
}

int cli_open_keystore(cli *c)
{
    int rc = c->ctx == NULL ? cli_ctx(c) : CLI_OK;
    if (rc != CLI_OK)
        return rc;
    const char *path = cli_keystore_path(c);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            cli_err(c, "no keystore at %s (create one with 'esessionctl init')", path);
        else
            cli_err(c, "cannot open keystore %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    /* A passphrase given on purpose is used; else the agent's key, if it
     * holds one for this keystore; else the terminal. */
    if (c->pass_fd < 0 && c->pass_file == NULL && (rc = open_from_agent(c, path)) >= 0)
        return rc;
    cli_pass pass = {0};
    rc = cli_pass_get(c, &pass);
    if (rc != CLI_OK)
        return rc;
    esession_status st = esession_keystore_open(c->ctx, &c->ks, path, pass.data, pass.len);
    cli_pass_free(&pass);
    return st == ESESSION_OK ? CLI_OK : cli_open_failed(c, path, st);
}

int cli_end(cli *c, int rc)
{
    esession_keystore_free(c->ks);
    esession_ctx_free(c->ctx);
    c->ks = NULL;
    c->ctx = NULL;
    if (fflush(stdout) != 0 && rc == CLI_OK) {
        fprintf(stderr, "esessionctl %s: cannot write the output: %s\n", c->cmd, strerror(errno));
        rc = CLI_EXIT_IO;
    }
    return rc;
}
