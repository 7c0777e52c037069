/* SPDX-License-Identifier: ISC */
/* xmpp-publish: Alice, before going offline (XEP-0187 §3.1), over a real
 * server: create and configure the PEP node, publish signed options. */
#include "xcmd.h"

#include <string.h>

static const char usage[] =
    "Usage: esessionctl xmpp-publish -j JID [account options] [-k PATH]\n"
    "                                [publication options]\n"
    "Before going offline: log in, draw a new option set (stored encrypted in the\n"
    "keystore), create and configure both PEP nodes (presence subscribers', open) if\n"
    "they do not exist yet, publish the signed options, and log out.\n" CLI_PUB_OPTHELP XOPT_HELP XCMD_KS_HELP;

typedef struct xpub {
    cli_pub_opts pub;
    xopts x;
} xpub;

static int opt(cli *c, int id, const char *arg, void *u)
{
    xpub *o = u;
    int r = xopts_take(c, &o->x, id, arg);
    return r >= 0 ? r : cli_pub_opt(c, id, arg, &o->pub);
}

static int create_other_node(cli *c, xconn *x, int open_node)
{
    esession_buf iq = {0};
    char id[ESESSION_IQ_ID_MAX];
    esession_status st = esession_node_create_iq(c->ctx, open_node, &iq, id);
    if (st != ESESSION_OK)
        return cli_fail(c, st, "cannot build the node creation");
    xconn_answer ans;
    int rc = xconn_iq(x, iq.data, iq.len, id, &ans);
    esession_buf_free(&iq);
    if (rc != CLI_OK)
        return rc;
    if (ans.is_error && strcmp(ans.condition, "conflict") != 0)
        rc = xcmd_refused(c, open_node ? "creating the open PEP node"
                                       : "creating the subscribers' PEP node", &ans);
    xconn_answer_free(&ans);
    return rc;
}

int cmd_xmpp_publish(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_PUB_OPTDEFS, XOPT_DEFS, CLI_OPT_END};
    cli c;
    xpub o;
    cli_pub_opts_init(&o.pub);
    xopts_init(&o.x);
    cli_begin(&c, "xmpp-publish", usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, opt, &o);
    if (rc == CLI_OK)
        rc = xopts_check(&c, &o.x);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    xconn *x = NULL;
    if ((rc = cli_open_keystore(&c)) != CLI_OK || (rc = xopts_connect(&c, &o.x, &x)) != CLI_OK)
        return cli_end(&c, rc);

    /* XEP-0187 3.1 SHOULD: only the resource that will read them, by
     * default the one named in --jid (a resource the server picks would
     * differ at the next login). */
    const char *slash = strchr(o.x.conn.jid, '/');
    if (o.pub.po.match_resource == NULL && !o.pub.any_resource && slash != NULL)
        o.pub.po.match_resource = slash + 1;
    esession_publication pub;
    memset(&pub, 0, sizeof pub);
    esession_status st = esession_publish(c.ctx, c.ks, &o.pub.po, &pub);
    if (st != ESESSION_OK) {
        xconn_close(x);
        if (st == ESESSION_ERR_STATE) {
            cli_err(&c, "cannot publish: %s (create a key with 'esessionctl genkey')",
                    esession_ctx_error_detail(c.ctx));
            return cli_end(&c, CLI_EXIT_CONFLICT);
        }
        return cli_end(&c, cli_fail(&c, st, "cannot publish"));
    }
    /* Both nodes (XEP-0187 §3.1), the one published to first; either may
     * exist from an earlier publication: conflict is fine. */
    xconn_answer ans;
    rc = xconn_iq(x, pub.create_iq.data, pub.create_iq.len, pub.create_id, &ans);
    if (rc == CLI_OK) {
        if (ans.is_error && strcmp(ans.condition, "conflict") != 0)
            rc = xcmd_refused(&c, "creating the PEP node", &ans);
        xconn_answer_free(&ans);
    }
    if (rc == CLI_OK)
        rc = create_other_node(&c, x, !o.pub.po.open_node);
    if (rc == CLI_OK)
        rc = xconn_iq(x, pub.publish_iq.data, pub.publish_iq.len, pub.publish_id, &ans);
    if (rc == CLI_OK) {
        if (ans.is_error)
            rc = xcmd_refused(&c, "publishing the options", &ans);
        xconn_answer_free(&ans);
    }
    if (rc == CLI_OK) {
        char when[40];
        cli_time_text(pub.expires, when, sizeof when);
        printf("published offline options for %s (%s node), valid until %s\n", xconn_jid(x),
               o.pub.po.open_node ? "open" : "presence subscribers'", when);
        if (o.pub.po.match_resource != NULL)
            printf("only the resource '%s' may read what is sent under them "
                   "(--any-resource: any)\n", o.pub.po.match_resource);
    } else {
        cli_warn(&c, "the new option set stays in the keystore unpublished; it expires unused");
    }
    esession_publication_free(&pub);
    xconn_close(x);
    return cli_end(&c, rc);
}
