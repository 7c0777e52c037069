/* SPDX-License-Identifier: ISC */
/* The account and connection options every xmpp-* command takes. */
#ifndef ESESSIONCTL_XOPTS_H
#define ESESSIONCTL_XOPTS_H

#include "xconn.h"

/* Option ids 2000.. (publication options use 1..99, common ones 1000..). */
enum {
    XO_JID = 2000,
    XO_PW_FILE,
    XO_PW_FD,
    XO_HOST,
    XO_PORT,
    XO_CAFILE,
    XO_TIMEOUT,
    XO_VERBOSE
};

#define XOPT_DEFS                                          \
    {"jid", 'j', OPT_ARG_REQUIRED, XO_JID},                \
    {"password-file", 0, OPT_ARG_REQUIRED, XO_PW_FILE},    \
    {"password-fd", 0, OPT_ARG_REQUIRED, XO_PW_FD},        \
    {"host", 0, OPT_ARG_REQUIRED, XO_HOST},                \
    {"port", 0, OPT_ARG_REQUIRED, XO_PORT},                \
    {"cafile", 0, OPT_ARG_REQUIRED, XO_CAFILE},            \
    {"timeout", 0, OPT_ARG_REQUIRED, XO_TIMEOUT},          \
    {"verbose", 'v', OPT_ARG_NONE, XO_VERBOSE}

#define XOPT_HELP                                                                        \
    "Account and connection (TLS is required; the certificate is checked against\n"     \
    "the system's trust anchors, or --cafile):\n"                                        \
    "  -j, --jid JID           your account, e.g. alice@example.org (required)\n"        \
    "  --password-file PATH    the account password: first line of PATH\n"              \
    "  --password-fd N         ... or of file descriptor N (else asked on the terminal)\n" \
    "  --host HOST             connect to HOST instead of the JID's domain (DNS SRV)\n"  \
    "  --port N                the client port (default 5222)\n"                         \
    "  --cafile PATH           trust the certificates in PATH (a test or private CA)\n"  \
    "  --timeout SECONDS       the longest wait for the server (default 30)\n"           \
    "  -v, --verbose           show the XMPP library's warnings\n"

typedef struct xopts {
    xconn_opts conn;
    const char *pw_file;
    int pw_fd;
} xopts;

void xopts_init(xopts *o);
/* An option above: 0 if taken, an exit code after a usage error, or -1 if
 * id is not one of them. */
int xopts_take(cli *c, xopts *o, int id, const char *arg);
/* The required options are there: call right after parsing. */
int xopts_check(cli *c, const xopts *o);
/* Read the password and connect (after xopts_check). */
int xopts_connect(cli *c, xopts *o, xconn **out);

#endif
