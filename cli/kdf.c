/* SPDX-License-Identifier: ISC */
/* Argon2id costs by name, and the warnings of the weakest one: a keystore
 * at cost min is cheap to attack for anyone with a copy, so every command
 * that sets that cost says so, and status shows it. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct kdf_level {
    const char *name;
    uint64_t ops;
    size_t mem;
} kdf_level;

/* libsodium's named levels, and the smallest it allows (throw-away
 * keystores in tests and the demo only). */
static const kdf_level levels[] = {
    {"min", 1, 8192},
    {"interactive", 2, 64u << 20},
    {"moderate", 3, 256u << 20},
    {"sensitive", 4, 1u << 30},
};

int cli_kdf_by_name(const char *name, esession_keystore_options *o)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(name, levels[i].name) == 0) {
            esession_keystore_options k = ESESSION_KEYSTORE_OPTIONS_INIT;
            k.kdf_opslimit = levels[i].ops;
            k.kdf_memlimit = levels[i].mem;
            *o = k;
            return 0;
        }
    }
    return -1;
}

const char *cli_kdf_name(uint64_t ops, uint64_t mem)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (ops == levels[i].ops && mem == levels[i].mem)
            return levels[i].name;
    return NULL;
}

int cli_kdf_weakest(uint64_t ops, uint64_t mem)
{
    return ops <= levels[0].ops && mem <= levels[0].mem;
}

int cli_kdf_from_env(cli *c)
{
    const char *e = getenv("ESESSIONCTL_KDF_COST");
    if (c->kdf_set || e == NULL || e[0] == '\0')
        return CLI_OK;
    if (cli_common_opt(c, O_KDF_COST, e) < 0)
        return CLI_EXIT_USAGE;
    c->kdf_from_env = 1;
    /* An override from the environment is easy to forget: say so. */
    if (!cli_kdf_weakest(c->kdf.kdf_opslimit, c->kdf.kdf_memlimit))
        cli_warn(c, "ESESSIONCTL_KDF_COST=%s sets this keystore's Argon2id cost", e);
    return CLI_OK;
}

void cli_kdf_warn(const cli *c)
{
    if (!c->kdf_set || !cli_kdf_weakest(c->kdf.kdf_opslimit, c->kdf.kdf_memlimit))
        return;
    fprintf(stderr,
            "esessionctl %s: WARNING: %s: the weakest Argon2id cost (1 pass, 8 KiB).\n"
            "  Anyone with a copy of this keystore can try passphrases very fast.\n"
            "  For throw-away keystores (tests, demonstrations) only; raise it with\n"
            "  'esessionctl passwd --kdf-cost moderate'.\n",
            c->cmd, c->kdf_from_env ? "ESESSIONCTL_KDF_COST=min is set" : "--kdf-cost min");
}
