/* SPDX-License-Identifier: ISC */
/* Keystore commands: init, passwd, status. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASS_OPTS "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE, else\n" \
                  "                          $XDG_DATA_HOME/esession/keystore)\n"              \
                  "  --passphrase-fd N       read the passphrase from the first line of fd N\n" \
                  "  --passphrase-file PATH  read it from the first line of PATH\n"

static const char init_usage[] =
    "Usage: esessionctl init [-k PATH] [--kdf-cost COST] [--passphrase-fd N | --passphrase-file PATH]\n"
    "Create a new, empty keystore (mode 600). An existing file is never overwritten.\n"
    "On a terminal the passphrase is asked twice, without echo.\n" PASS_OPTS
    "  --kdf-cost COST         Argon2id cost: min, interactive, moderate (default) or\n"
    "                          sensitive; min is for throw-away keystores only\n"
    "                          (default also from $ESESSIONCTL_KDF_COST); min warns\n";

static const char passwd_usage[] =
    "Usage: esessionctl passwd [-k PATH] [--passphrase-fd N | --passphrase-file PATH]\n"
    "                          [--new-passphrase-fd N | --new-passphrase-file PATH] [--kdf-cost COST]\n"
    "Re-encrypt the keystore under a new passphrase (and optionally a new KDF cost).\n" PASS_OPTS
    "  --new-passphrase-fd N, --new-passphrase-file PATH\n"
    "                          where to read the new passphrase (else asked twice)\n"
    "  --kdf-cost COST         new Argon2id cost (default: keep the current one)\n";

static const char status_usage[] =
    "Usage: esessionctl status [-k PATH] [--passphrase-fd N | --passphrase-file PATH] [--json]\n"
    "Open the keystore (checking passphrase and integrity) and show what it holds.\n" PASS_OPTS
    "  --json                  one JSON object\n";

/* Create the missing directories above path (mode 700). */
static int make_parents(const cli *c, const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir)
        return CLI_OK; /* the library reports the path */
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return CLI_OK;
    *slash = '\0';
    struct stat sb;
    if (stat(dir, &sb) == 0)
        return CLI_OK;
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            cli_err(c, "cannot create directory %s: %s", dir, strerror(errno));
            return CLI_EXIT_IO;
        }
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cli_err(c, "cannot create directory %s: %s", dir, strerror(errno));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

int cmd_init(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_KDF_COST, CLI_OPT_END};
    cli c;
    int rc;
    cli_begin(&c, "init", init_usage);
    rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_kdf_from_env(&c)) != CLI_OK)
        return rc;
    cli_kdf_warn(&c);
    const char *path = cli_keystore_path(&c);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        cli_err(&c, "%s already exists; it is never overwritten", path);
        return CLI_EXIT_CONFLICT;
    }
    if ((rc = make_parents(&c, path)) != CLI_OK)
        return rc;
    if ((rc = cli_ctx(&c)) != CLI_OK)
        return cli_end(&c, rc);
    char prompt[4200];
    snprintf(prompt, sizeof prompt, "New passphrase for %s: ", path);
    cli_pass pass = {0};
    rc = cli_pass_new(&c, c.pass_fd, c.pass_file, prompt, &pass);
    if (rc != CLI_OK)
        return cli_end(&c, rc);
    esession_status st = esession_keystore_create(c.ctx, &c.ks, path, pass.data, pass.len, &c.kdf);
    cli_pass_free(&pass);
    if (st != ESESSION_OK) {
        char what[4200];
        snprintf(what, sizeof what, "cannot create %s", path);
        rc = cli_fail(&c, st, what);
    }
    return cli_end(&c, rc);
}

enum { O_NEW_FD = 1, O_NEW_FILE };

typedef struct new_pass {
    int fd; /* -1 if not given */
    const char *file;
} new_pass;

static int passwd_opt(cli *c, int id, const char *arg, void *u)
{
    new_pass *np = u;
    unsigned long long v;
    if (id == O_NEW_FD) {
        if (cli_parse_uint(arg, 0, 1023, &v) != 0)
            return cli_usage_error(c, "--new-passphrase-fd needs a file descriptor number");
        np->fd = (int)v;
    } else if (id == O_NEW_FILE) {
        np->file = arg;
    } else if (cli_common_opt(c, id, arg) < 0) {
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cmd_passwd(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_KDF_COST,
                                      {"new-passphrase-fd", 0, OPT_ARG_REQUIRED, O_NEW_FD},
                                      {"new-passphrase-file", 0, OPT_ARG_REQUIRED, O_NEW_FILE},
                                      CLI_OPT_END};
    cli c;
    new_pass np = {-1, NULL};
    cli_begin(&c, "passwd", passwd_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, passwd_opt, &np);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    cli_kdf_warn(&c);
    cli_pass pass = {0};
    rc = cli_pass_new(&c, np.fd, np.file, "New passphrase: ", &pass);
    if (rc != CLI_OK)
        return cli_end(&c, rc);
    esession_status st = esession_keystore_change_passphrase(c.ks, pass.data, pass.len,
                                                             c.kdf_set ? &c.kdf : NULL);
    cli_pass_free(&pass);
    if (st != ESESSION_OK)
        rc = cli_fail(&c, st, "cannot change the passphrase (the old one still works)");
    else if (agent_key_forget(&c, cli_keystore_path(&c)))
        fprintf(stderr, "esessionctl passwd: the agent dropped the key of the old passphrase "
                        "('esessionctl agent' holds the new one)\n");
    return cli_end(&c, rc);
}

/* The file itself: size and mode (the store may keep a journal beside
 * it, counted too). */
typedef struct file_info {
    long long size;
    unsigned mode;
} file_info;

static int read_file_info(const char *path, file_info *f)
{
    static const char *const journals[] = {"-wal", "-shm"};
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    f->size = (long long)sb.st_size;
    f->mode = (unsigned)(sb.st_mode & 0777);
    for (size_t i = 0; i < sizeof journals / sizeof journals[0]; i++) {
        char p[4200];
        if ((size_t)snprintf(p, sizeof p, "%s%s", path, journals[i]) < sizeof p &&
            stat(p, &sb) == 0)
            f->size += (long long)sb.st_size;
    }
    return 0;
}

int cmd_status(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON, CLI_OPT_END};
    cli c;
    int rc;
    cli_begin(&c, "status", status_usage);
    rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore_read(&c)) != CLI_OK)
        return cli_end(&c, rc);
    const char *path = cli_keystore_path(&c);
    file_info h;
    esession_keystore_info info;
    memset(&h, 0, sizeof h);
    if (read_file_info(path, &h) != 0) {
        cli_err(&c, "cannot read %s: %s", path, strerror(errno));
        return cli_end(&c, CLI_EXIT_IO);
    }
    esession_status st = esession_keystore_get_info(c.ks, &info);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "cannot read the keystore"));
    size_t nkeys = esession_keystore_key_count(c.ks);
    size_t npeers = esession_trust_count(c.ks), nverified = 0;
    for (size_t i = 0; i < npeers; i++) {
        esession_trust_entry e;
        if (esession_trust_at(c.ks, i, &e) == ESESSION_OK && e.verified)
            nverified++;
    }
    esession_optset_info *sets;
    size_t nsets;
    if ((rc = cli_optsets_read(&c, &sets, &nsets)) != CLI_OK)
        return cli_end(&c, rc);
    size_t offered = 0, withdrawn = 0, destroyed = 0, expired = 0;
    int64_t now = cli_now();
    for (size_t i = 0; i < nsets; i++) {
        const char *state = cli_optset_state(&sets[i]);
        if (sets[i].expires < now)
            expired++;
        if (strcmp(state, "offered") == 0)
            offered++;
        else if (strcmp(state, "withdrawn") == 0)
            withdrawn++;
        else
            destroyed++;
    }
    free(sets);
    const char *cost = cli_kdf_name(info.kdf_opslimit, info.kdf_memlimit);
    int weakest = cli_kdf_weakest(info.kdf_opslimit, info.kdf_memlimit);
    if (c.json) {
        int first = 1;
        printf("{");
        json_key(stdout, &first, "path");
        json_str(stdout, path);
        printf(",\"size\":%lld,\"mode\":\"%03o\",\"format\":%u", h.size, h.mode, info.format);
        printf(",\"kdf\":{\"algorithm\":\"argon2id13\",\"opslimit\":%llu,\"memlimit\":%llu,"
               "\"cost\":\"%s\",\"weakest\":%s}",
               (unsigned long long)info.kdf_opslimit, (unsigned long long)info.kdf_memlimit,
               cost != NULL ? cost : "custom", weakest ? "true" : "false");
        printf(",\"commits\":%llu", (unsigned long long)info.commits);
        printf(",\"cipher\":\"xchacha20poly1305-ietf\",\"keys\":%zu,\"peers\":%zu,\"verified\":%zu",
               nkeys, npeers, nverified);
        printf(",\"optsets\":{\"offered\":%zu,\"withdrawn\":%zu,\"destroyed\":%zu,\"expired\":%zu}}\n",
               offered, withdrawn, destroyed, expired);
    } else {
        printf("keystore: %s (mode %03o, %lld octets)\n", path, h.mode, h.size);
        printf("format:   %u (SQLite records); Argon2id, %llu passes, %llu KiB%s%s%s; "
               "XChaCha20-Poly1305\n",
               info.format, (unsigned long long)info.kdf_opslimit,
               (unsigned long long)info.kdf_memlimit / 1024, cost != NULL ? " (" : "",
               cost != NULL ? cost : "", cost != NULL ? ")" : "");
        if (weakest)
            printf("WARNING:  the weakest Argon2id cost: anyone with a copy of this keystore can try\n"
                   "          passphrases very fast; for throw-away keystores only (raise it with\n"
                   "          'esessionctl passwd --kdf-cost moderate')\n");
        printf("keys:     %zu signing key%s (private parts: (hidden))\n", nkeys,
               nkeys == 1 ? "" : "s");
        printf("peers:    %zu trusted key%s (%zu verified)\n", npeers, npeers == 1 ? "" : "s",
               nverified);
        printf("optsets:  %zu offered, %zu withdrawn, %zu destroyed (%zu expired)\n", offered,
               withdrawn, destroyed, expired);
    }
    if (h.mode & 077)
        cli_warn(&c, "%s can be accessed by others (mode %03o)", path, h.mode);
    return cli_end(&c, CLI_OK);
}
