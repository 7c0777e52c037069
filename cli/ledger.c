/* SPDX-License-Identifier: ISC */
/* The option set ledger: KEYSTORE.optsets, a small text file beside the
 * keystore listing what this tool published (node, N_A, times, state) and
 * what it saw while opening (sessions accepted, replays refused). Nothing
 * in it is secret (N_A is published); the secrets stay in the keystore.
 * It exists because the public API lists no option sets; the library's own
 * expiry and destruction do not depend on it. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_MAX 4096u
#define LEDGER_HEADER "# esessionctl option sets: node nonce created expires state sessions replays\n"

static int ledger_path(cli *c, char *out, size_t n)
{
    const char *ks = c->ks_path;
    if (ks == NULL)
        ks = cli_keystore_path(c);
    int k = snprintf(out, n, "%s.optsets", ks);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

int ledger_add(ledger *l, const ledger_entry *e)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 8;
        if (ncap > LEDGER_MAX)
            return -1;
        ledger_entry *ne = realloc(l->e, ncap * sizeof *ne);
        if (ne == NULL)
            return -1;
        l->e = ne;
        l->cap = ncap;
    }
    l->e[l->n++] = *e;
    return 0;
}

ledger_entry *ledger_find(ledger *l, const char *nonce)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->e[i].nonce, nonce) == 0)
            return &l->e[i];
    return NULL;
}

void ledger_free(ledger *l)
{
    free(l->e);
    memset(l, 0, sizeof *l);
}

int ledger_load(cli *c, ledger *l)
{
    char path[4200];
    memset(l, 0, sizeof *l);
    if (ledger_path(c, path, sizeof path) != 0) {
        cli_err(c, "keystore path too long");
        return CLI_EXIT_USAGE;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return CLI_OK;
        cli_err(c, "cannot read %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    char line[512];
    int rc = CLI_OK;
    size_t lineno = 0;
    while (rc == CLI_OK && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        ledger_entry e;
        long long created, expires;
        memset(&e, 0, sizeof e);
        if (sscanf(line, "%15s %95s %lld %lld %15s %lu %lu", e.node, e.nonce, &created, &expires,
                   e.state, &e.sessions, &e.replays) != 7) {
            cli_warn(c, "%s:%zu: unreadable line ignored", path, lineno);
            continue;
        }
        e.created = created;
        e.expires = expires;
        if (ledger_add(l, &e) != 0) {
            cli_err(c, "%s: too many entries", path);
            rc = CLI_EXIT_INTERNAL;
        }
    }
    fclose(f);
    if (rc != CLI_OK)
        ledger_free(l);
    return rc;
}

int ledger_save(cli *c, const ledger *l)
{
    char path[4200];
    if (ledger_path(c, path, sizeof path) != 0) {
        cli_err(c, "keystore path too long");
        return CLI_EXIT_USAGE;
    }
    size_t cap = sizeof LEDGER_HEADER + l->n * 256, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    n += (size_t)snprintf(buf, cap, "%s", LEDGER_HEADER);
    for (size_t i = 0; i < l->n; i++) {
        const ledger_entry *e = &l->e[i];
        int k = snprintf(buf + n, cap - n, "%s %s %lld %lld %s %lu %lu\n", e->node, e->nonce,
                         (long long)e->created, (long long)e->expires, e->state, e->sessions,
                         e->replays);
        if (k < 0 || (size_t)k >= cap - n) {
            free(buf);
            cli_err(c, "ledger line too long");
            return CLI_EXIT_INTERNAL;
        }
        n += (size_t)k;
    }
    int rc = cli_write_replace(c, path, buf, n);
    free(buf);
    return rc;
}
