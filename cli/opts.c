/* SPDX-License-Identifier: ISC */
/* Command-line options: --name value, --name=value, -x value; options and
 * arguments may be mixed; "--" ends the options. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cli_parse_init(cli_parse *p, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->argc = argc;
    p->argv = argv;
    p->i = 1;
    p->cmd = argc > 0 ? argv[0] : "?";
}

static int bad(const cli_parse *p, const char *what, const char *opt)
{
    fprintf(stderr, "esessionctl %s: %s '%s' (see 'esessionctl %s --help')\n", p->cmd, what, opt,
            p->cmd);
    return -2;
}

int cli_next(cli_parse *p, const cli_optdef *defs, const char **arg)
{
    *arg = NULL;
    if (p->i >= p->argc)
        return -1;
    char *a = p->argv[p->i++];
    if (p->no_more || a[0] != '-' || a[1] == '\0') {
        *arg = a; /* "-" alone means stdin: an argument */
        return 0;
    }
    if (strcmp(a, "--") == 0) {
        p->no_more = 1;
        return cli_next(p, defs, arg);
    }
    const cli_optdef *d = NULL;
    const char *inline_val = NULL;
    if (a[1] == '-') {
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        for (const cli_optdef *x = defs; x->name != NULL; x++) {
            if (strlen(x->name) == nl && strncmp(x->name, name, nl) == 0) {
                d = x;
                break;
            }
        }
        if (d == NULL)
            return bad(p, "unknown option", a);
        if (eq != NULL) {
            if (d->has_arg == OPT_ARG_NONE)
                return bad(p, "option takes no value", a);
            inline_val = eq + 1;
        }
    } else {
        if (a[2] != '\0')
            return bad(p, "unknown option", a);
        for (const cli_optdef *x = defs; x->name != NULL; x++) {
            if (x->short_name != 0 && x->short_name == a[1]) {
                d = x;
                break;
            }
        }
        if (d == NULL)
            return bad(p, "unknown option", a);
    }
    if (d->has_arg == OPT_ARG_REQUIRED) {
        if (inline_val != NULL) {
            *arg = inline_val;
        } else {
            if (p->i >= p->argc)
                return bad(p, "missing value for option", a);
            *arg = p->argv[p->i++];
        }
    }
    return d->id;
}

int cli_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_args(cli *c, int argc, char **argv, const cli_optdef *defs, const char **pos,
                   size_t npos, size_t *got, cli_opt_fn opt, void *u)
{
    cli_parse p;
    const char *arg;
    int id;
    if (got != NULL)
        *got = 0;
    cli_parse_init(&p, argc, argv);
    while ((id = cli_next(&p, defs, &arg)) != -1) {
        if (id == -2)
            return CLI_EXIT_USAGE;
        if (id == O_HELP)
            return -1;
        if (id == 0) {
            if (got == NULL || *got >= npos)
                return cli_usage_error(c, "unexpected argument '%s'", arg);
            pos[(*got)++] = arg;
            continue;
        }
        int r = opt != NULL ? opt(c, id, arg, u) : cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
        if (r != 0)
            return r;
    }
    return CLI_OK;
}

int cli_parse_exit(const cli *c, int rc)
{
    return rc < 0 ? cli_help(c) : rc;
}
