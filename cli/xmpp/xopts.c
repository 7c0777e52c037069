/* SPDX-License-Identifier: ISC */
/* Account and connection options of the xmpp-* commands. */
#include "xopts.h"

#include <string.h>

void xopts_init(xopts *o)
{
    memset(o, 0, sizeof *o);
    o->pw_fd = -1;
    o->conn.timeout_ms = 30000;
}

int xopts_take(cli *c, xopts *o, int id, const char *arg)
{
    unsigned long long v;
    switch (id) {
    case XO_JID:
        if (!cli_full_jid_ok(arg) && !cli_bare_jid_ok(arg))
            return cli_usage_error(c, "--jid: '%s' is not a JID", arg);
        o->conn.jid = arg;
        return 0;
    case XO_PW_FILE:
        o->pw_file = arg;
        return 0;
    case XO_PW_FD:
        if (cli_parse_uint(arg, 0, 1024, &v) != 0)
            return cli_usage_error(c, "--password-fd needs a file descriptor number");
        o->pw_fd = (int)v;
        return 0;
    case XO_HOST:
        if (arg[0] == '\0')
            return cli_usage_error(c, "--host needs a host name or address");
        o->conn.host = arg;
        return 0;
    case XO_PORT:
        if (cli_parse_uint(arg, 1, 65535, &v) != 0)
            return cli_usage_error(c, "--port is a number from 1 to 65535");
        o->conn.port = (unsigned)v;
        return 0;
    case XO_CAFILE:
        o->conn.cafile = arg;
        return 0;
    case XO_TIMEOUT:
        if (cli_parse_uint(arg, 1, 3600, &v) != 0)
            return cli_usage_error(c, "--timeout is a number of seconds from 1 to 3600");
        o->conn.timeout_ms = (unsigned)v * 1000u;
        return 0;
    case XO_VERBOSE:
        o->conn.verbose = 1;
        return 0;
    default:
        return -1;
    }
}

int xopts_check(cli *c, const xopts *o)
{
    if (o->conn.jid == NULL)
        return cli_usage_error(c, "--jid is required");
    if (o->pw_fd >= 0 && o->pw_file != NULL)
        return cli_usage_error(c, "give --password-file or --password-fd, not both");
    return CLI_OK;
}

int xopts_connect(cli *c, xopts *o, xconn **out)
{
    /* xopts_check ran after parsing. The library context initializes
     * libsodium (guarded memory, random). */
    int rc = c->ctx == NULL ? cli_ctx(c) : CLI_OK;
    if (rc != CLI_OK)
        return rc;
    char prompt[CLI_JID_MAX + 32];
    snprintf(prompt, sizeof prompt, "Password for %s: ", o->conn.jid);
    cli_pass pw = {0};
    rc = cli_secret_read(c, o->pw_fd, o->pw_file, prompt, &pw);
    if (rc != CLI_OK)
        return rc;
    o->conn.password = pw.data;
    rc = xconn_open(c, &o->conn, out);
    o->conn.password = NULL;
    cli_pass_free(&pw);
    return rc;
}
