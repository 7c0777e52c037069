/* SPDX-License-Identifier: ISC */
/* xmpp-raw: send stanzas printed by the offline commands (fetch, publish,
 * online, seal, terminate) as they are, and print the answers to IQs. */
#include "xcmd.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: esessionctl xmpp-raw -j JID [account options] FILE...|-\n"
    "Log in and send the stanzas each FILE holds, as they are (for example the\n"
    "output of 'fetch', 'publish', 'online', 'seal' or 'terminate', made while\n"
    "offline). Each IQ waits for its answer, printed on a line of its own; an\n"
    "error answer is reported and ends the run. Nothing is encrypted here.\n" XOPT_HELP;

#define RAW_STANZAS_MAX 4096

static int send_file(cli *c, xconn *x, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_input(c, path, CLI_INPUT_MAX, &text, &len);
    if (rc != CLI_OK)
        return rc;
    int n = xs_split(text, len, NULL, 0);
    xs_elem *e = n > 0 && n <= RAW_STANZAS_MAX ? calloc((size_t)n, sizeof *e) : NULL;
    if (e == NULL) {
        cli_err(c, "%s: %s", path, n <= 0 || n > RAW_STANZAS_MAX
                                       ? "not a sequence of at most 4096 XML elements"
                                       : "out of memory");
        free(text);
        return n <= 0 || n > RAW_STANZAS_MAX ? CLI_EXIT_REJECTED : CLI_EXIT_INTERNAL;
    }
    (void)xs_split(text, len, e, (size_t)n);
    for (int i = 0; rc == CLI_OK && i < n; i++) {
        const char *s = text + e[i].start;
        size_t slen = e[i].end - e[i].start;
        char id[ESESSION_IQ_ID_MAX + 1];
        if (strncmp(s, "<iq", 3) != 0) {
            rc = xconn_send(x, s, slen);
            continue;
        }
        if (!xs_attr(text, &e[i], "id", id, sizeof id) || id[0] == '\0') {
            cli_err(c, "%s: an IQ without an id", path);
            rc = CLI_EXIT_REJECTED;
            break;
        }
        xconn_answer ans;
        rc = xconn_iq(x, s, slen, id, &ans);
        if (rc != CLI_OK)
            break;
        printf("%s\n", ans.text);
        if (ans.is_error) {
            char what[64];
            snprintf(what, sizeof what, "the IQ %.40s", id);
            rc = xcmd_refused(c, what, &ans);
        }
        xconn_answer_free(&ans);
    }
    free(e);
    free(text);
    return rc;
}

static int opt(cli *c, int id, const char *arg, void *u)
{
    int r = xopts_take(c, u, id, arg);
    return r >= 0 ? r : cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
}

int cmd_xmpp_raw(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, XOPT_DEFS, CLI_OPT_END};
    cli c;
    xopts o;
    xopts_init(&o);
    cli_begin(&c, "xmpp-raw", usage);
    const char **files = calloc((size_t)(argc > 0 ? argc : 1), sizeof *files);
    if (files == NULL) {
        cli_err(&c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    size_t n = 0, stdin_uses = 0;
    int rc = cli_parse_args(&c, argc, argv, defs, files, (size_t)argc, &n, opt, &o);
    for (size_t i = 0; i < n; i++)
        stdin_uses += strcmp(files[i], "-") == 0;
    if (rc == CLI_OK)
        rc = xopts_check(&c, &o);
    if (rc == CLI_OK && n == 0)
        rc = cli_usage_error(&c, "no FILE to send");
    if (rc == CLI_OK && stdin_uses > 1)
        rc = cli_usage_error(&c, "standard input can be read only once");
    if (rc != CLI_OK) {
        free(files);
        return cli_parse_exit(&c, rc);
    }
    xconn *x = NULL;
    rc = xopts_connect(&c, &o, &x);
    for (size_t i = 0; rc == CLI_OK && i < n; i++)
        rc = send_file(&c, x, files[i]);
    if (x != NULL) {
        int r = xconn_sync(x);
        if (rc == CLI_OK)
            rc = r;
    }
    if (rc == CLI_OK && xconn_message_errors(x) > 0) {
        cli_err(&c, "the server bounced %zu stanza%s", xconn_message_errors(x),
                xconn_message_errors(x) == 1 ? "" : "s");
        rc = CLI_EXIT_IO;
    }
    xconn_close(x);
    free(files);
    return cli_end(&c, rc);
}
