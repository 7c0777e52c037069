/* SPDX-License-Identifier: ISC */
/* Shared pieces of the xmpp-* commands. */
#ifndef ESESSIONCTL_XCMD_H
#define ESESSIONCTL_XCMD_H

#include "xopts.h"

#define XCMD_KS_HELP                                                                 \
    "Keystore:\n"                                                                    \
    "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE)\n"         \
    "  --passphrase-fd N       read its passphrase from the first line of fd N\n"    \
    "  --passphrase-file PATH  read it from the first line of PATH\n"

/* The server answered an IQ with an error: say what was refused and why;
 * the exit code. */
int xcmd_refused(const cli *c, const char *what, const xconn_answer *ans);

/* The bare part of a JID, into out (n octets). */
void xcmd_bare(const char *jid, char *out, size_t n);
/* text (a <message/>) with its from attribute replaced by from (escaped):
 * *out is malloc()ed. -1 without a from attribute or memory. */
int xcmd_restamp(const char *text, size_t len, const char *from, char **out, size_t *outlen);

/* Hand an opened message to durable output: cmd run by /bin/sh with the
 * plaintext on stdin and ESESSION_FROM, ESESSION_FROM_BARE, ESESSION_THREAD,
 * ESESSION_POSITION, ESESSION_CREATED, ESESSION_DELAY set (exit status 0:
 * stored), or, cmd NULL, standard output (synced if a file). */
int xdeliver(const cli *c, const char *cmd, const char *source, const esession_result *res);

#endif
