/* SPDX-License-Identifier: ISC */
/* A file-backed stand-in for Alice's server, for the demo and tests: the
 * PEP nodes (XEP-0163) her publish IQs write and Bob's items request reads,
 * and the offline store (XEP-0160) that keeps Bob's stanzas, stamped with
 * an XEP-0203 delay, until she comes back. Not a server: no network, no
 * access control, one directory. Only in the test tool (esessionctl-test,
 * built with ESESSIONCTL_TESTING), never in the installed esessionctl. */
#include "../../cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char server_usage[] =
    "Usage: esessionctl-test server -d DIR publish --jid JID [FILE...|-]\n"
    "       esessionctl-test server -d DIR answer [--to JID] [FILE|-]\n"
    "       esessionctl-test server -d DIR deliver [--from FULLJID] [--domain DOMAIN] [FILE...|-]\n"
    "       esessionctl-test server -d DIR queue JID\n"
    "       esessionctl-test server -d DIR flush JID\n"
    "A stand-in for a server's PEP nodes and offline store, kept in DIR, for trying\n"
    "the offline flow without a server.\n"
    "  publish   take the IQs JID sends to her own account (node creation, publication\n"
    "            of an item, the empty item) and print the server's answers\n"
    "  answer    answer an items request (from 'esessionctl fetch') with the stored\n"
    "            item: an IQ result from the JID asked, with the request's id\n"
    "  deliver   keep <message/> stanzas for their recipient, offline: each gets a\n"
    "            <delay xmlns='urn:xmpp:delay' from=DOMAIN stamp=NOW/> and is stored as\n"
    "            DIR/offline/JID/NNNNNN.xml; the paths are printed\n"
    "  queue     list the stored stanzas of JID, oldest first\n"
    "  flush     print the stored stanzas of JID, each followed by a newline, and\n"
    "            remove them\n"
    "  -d, --dir DIR           the directory (created if missing)\n"
    "  --jid JID               the account publishing\n"
    "  --to JID                the requester's JID, the 'to' of the answer\n"
    "  --from FULLJID          the sender's full JID, stamped when a stanza has none\n"
    "  --domain DOMAIN         the server's domain in <delay from=''> (default: the\n"
    "                          recipient's domain)\n";

enum { O_DIR = 1, O_JID, O_TO, O_FROM, O_DOMAIN };

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NODE_PRESENCE "http://www.xmpp.org/extensions/xep-0187.html#ns"
#define NODE_OPEN "http://www.xmpp.org/extensions/xep-0116.html#ns"
#define QUEUE_MAX 100000u

typedef struct srv {
    cli c;
    const char *dir, *jid, *to, *from, *domain;
    const char *args[256];
    size_t nargs;
} srv;

static const char *node_file(const char *node)
{
    if (strcmp(node, NODE_PRESENCE) == 0)
        return "presence";
    if (strcmp(node, NODE_OPEN) == 0)
        return "open";
    return NULL;
}

static int jid_dir_ok(const char *jid)
{
    return cli_bare_jid_ok(jid) && jid[0] != '.';
}

static int mkdirs(const cli *c, const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        cli_err(c, "path too long");
        return CLI_EXIT_USAGE;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                cli_err(c, "cannot create %s: %s", buf, strerror(errno));
                return CLI_EXIT_IO;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return CLI_OK;
}

static int path_of(const srv *s, char *out, size_t n, const char *a, const char *b, const char *c)
{
    int k = snprintf(out, n, "%s/%s/%s%s%s", s->dir, a, b, c ? "/" : "", c ? c : "");
    if (k < 0 || (size_t)k >= n) {
        cli_err(&s->c, "path too long");
        return CLI_EXIT_USAGE;
    }
    return CLI_OK;
}

static int escape_attr(const cli *c, const char *v, char **out)
{
    size_t n;
    if (cli_xml_escape(v, strlen(v), 1, out, &n) != 0) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    return CLI_OK;
}

/* The inputs of publish and deliver: the arguments, or stdin if none. */
static size_t input_count(const srv *s)
{
    return s->nargs ? s->nargs : 1;
}

static int read_nth_input(const srv *s, size_t i, char **text, size_t *len)
{
    return cli_read_input(&s->c, s->nargs ? s->args[i] : "-", CLI_INPUT_MAX, text, len);
}

static int read_file_opt(const srv *s, const char *path, char **text, size_t *len, int *exists)
{
    struct stat sb;
    *exists = stat(path, &sb) == 0;
    if (!*exists)
        return CLI_OK;
    return cli_read_input(&s->c, path, CLI_INPUT_MAX, text, len);
}

/* ---- publish */

static int publish_one(srv *s, const char *text, const xs_elem *iq)
{
    char id[128] = "", node[256] = "", type[16] = "";
    xs_elem pubsub, op, item;
    if (!xs_attr(text, iq, "type", type, sizeof type) || strcmp(type, "set") != 0 ||
        !xs_attr(text, iq, "id", id, sizeof id) || !xs_find(text, iq, "pubsub", &pubsub)) {
        cli_err(&s->c, "not a PEP IQ set");
        return CLI_EXIT_REJECTED;
    }
    char *eid = NULL;
    int rc = escape_attr(&s->c, id, &eid);
    if (rc != CLI_OK)
        return rc;
    char dir[4200], path[4200];
    int is_create = xs_find(text, &pubsub, "create", &op);
    if (!is_create && !xs_find(text, &pubsub, "publish", &op)) {
        free(eid);
        cli_err(&s->c, "the IQ neither creates a node nor publishes");
        return CLI_EXIT_REJECTED;
    }
    const char *file = xs_attr(text, &op, "node", node, sizeof node) ? node_file(node) : NULL;
    if (file == NULL) {
        printf("<iq type='error' id='%s'><error type='cancel'><item-not-found "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>\n", eid);
        free(eid);
        return CLI_OK;
    }
    rc = path_of(s, dir, sizeof dir, "pep", s->jid, NULL);
    if (rc == CLI_OK)
        rc = mkdirs(&s->c, dir);
    char created[4300];
    if (rc == CLI_OK && snprintf(created, sizeof created, "%s/%s.node", dir, file) >= (int)sizeof created)
        rc = CLI_EXIT_USAGE;
    struct stat sb;
    if (rc == CLI_OK && is_create) {
        if (stat(created, &sb) == 0) {
            printf("<iq type='error' id='%s'><error type='cancel'><conflict "
                   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>\n", eid);
        } else {
            /* The configuration is accepted as sent; only its existence matters here. */
            rc = cli_write_replace(&s->c, created, text + iq->start, iq->end - iq->start);
            if (rc == CLI_OK)
                printf("<iq type='result' id='%s'/>\n", eid);
        }
    } else if (rc == CLI_OK) {
        /* PEP creates a node on first publish (XEP-0163 §3). */
        if (stat(created, &sb) != 0)
            rc = cli_write_replace(&s->c, created, "", 0);
        if (rc == CLI_OK && !xs_find(text, &op, "item", &item)) {
            cli_err(&s->c, "publish without an item");
            rc = CLI_EXIT_REJECTED;
        }
        if (rc == CLI_OK && snprintf(path, sizeof path, "%s/%s.item", dir, file) >= (int)sizeof path)
            rc = CLI_EXIT_USAGE;
        /* The payload is kept as written: it is signed as sent. */
        if (rc == CLI_OK)
            rc = cli_write_replace(&s->c, path, text + item.inner, item.inner_end - item.inner);
        if (rc == CLI_OK)
            printf("<iq type='result' id='%s'/>\n", eid);
    }
    free(eid);
    return rc;
}

static int do_publish(srv *s)
{
    if (s->jid == NULL || !jid_dir_ok(s->jid))
        return cli_usage_error(&s->c, "publish needs --jid with the publishing bare JID");
    size_t n = input_count(s);
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        rc = read_nth_input(s, i, &text, &len);
        xs_elem e[16];
        int k = rc == CLI_OK ? xs_split(text, len, e, 16) : 0;
        if (rc == CLI_OK && (k < 0 || k > 16)) {
            cli_err(&s->c, "the input is not a sequence of IQs");
            rc = CLI_EXIT_REJECTED;
        }
        for (int j = 0; rc == CLI_OK && j < k; j++)
            rc = publish_one(s, text, &e[j]);
        free(text);
    }
    return rc;
}

/* ---- answer */

static int do_answer(srv *s)
{
    if (s->nargs > 1)
        return cli_usage_error(&s->c, "answer takes one request");
    if (s->to != NULL && !cli_bare_jid_ok(s->to) && !cli_full_jid_ok(s->to))
        return cli_usage_error(&s->c, "--to needs a JID");
    char *text = NULL, *item = NULL;
    size_t len = 0, ilen = 0;
    int rc = cli_read_input(&s->c, s->nargs ? s->args[0] : "-", 1u << 16, &text, &len);
    if (rc != CLI_OK)
        return rc;
    xs_elem iq, pubsub, items;
    char id[128] = "", to[CLI_JID_MAX + 1] = "", node[256] = "", type[16] = "";
    if (xs_split(text, len, &iq, 1) != 1 || !xs_attr(text, &iq, "type", type, sizeof type) ||
        strcmp(type, "get") != 0 || !xs_attr(text, &iq, "id", id, sizeof id) ||
        !xs_attr(text, &iq, "to", to, sizeof to) || !jid_dir_ok(to) ||
        !xs_find(text, &iq, "pubsub", &pubsub) || !xs_find(text, &pubsub, "items", &items) ||
        !xs_attr(text, &items, "node", node, sizeof node)) {
        free(text);
        cli_err(&s->c, "not an items request (IQ get to a bare JID, pubsub items node)");
        return CLI_EXIT_REJECTED;
    }
    free(text);
    char *eid = NULL, *eto = NULL, *efrom = NULL, *enode = NULL;
    rc = escape_attr(&s->c, id, &eid);
    if (rc == CLI_OK)
        rc = escape_attr(&s->c, to, &efrom);
    if (rc == CLI_OK)
        rc = escape_attr(&s->c, node, &enode);
    if (rc == CLI_OK && s->to != NULL)
        rc = escape_attr(&s->c, s->to, &eto);
    const char *file = node_file(node);
    char path[4200], name[64];
    int exists = 0, created = 0;
    if (rc == CLI_OK && file != NULL) {
        snprintf(name, sizeof name, "%s.node", file);
        struct stat sb;
        rc = path_of(s, path, sizeof path, "pep", to, name);
        created = rc == CLI_OK && stat(path, &sb) == 0;
        snprintf(name, sizeof name, "%s.item", file);
        if (rc == CLI_OK)
            rc = path_of(s, path, sizeof path, "pep", to, name);
        if (rc == CLI_OK && created)
            rc = read_file_opt(s, path, &item, &ilen, &exists);
    }
    if (rc == CLI_OK) {
        printf("<iq type='%s' from='%s'", created ? "result" : "error", efrom);
        if (eto != NULL)
            printf(" to='%s'", eto);
        printf(" id='%s'>", eid);
        if (!created)
            printf("<error type='cancel'><item-not-found "
                   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>\n");
        else if (!exists)
            printf("<pubsub xmlns='" NS_PUBSUB "'><items node='%s'/></pubsub></iq>\n", enode);
        else if (ilen == 0)
            printf("<pubsub xmlns='" NS_PUBSUB "'><items node='%s'><item id='current'/></items>"
                   "</pubsub></iq>\n", enode);
        else
            printf("<pubsub xmlns='" NS_PUBSUB "'><items node='%s'><item id='current'>%s</item>"
                   "</items></pubsub></iq>\n", enode, item);
    }
    free(item);
    free(eid);
    free(eto);
    free(efrom);
    free(enode);
    return rc;
}

/* ---- offline store */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The queued file names of jid, sorted; *n of them. */
static int list_queue(srv *s, const char *jid, char ***names, size_t *n)
{
    char dir[4200];
    *names = NULL;
    *n = 0;
    int rc = path_of(s, dir, sizeof dir, "offline", jid, NULL);
    if (rc != CLI_OK)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? CLI_OK : (cli_err(&s->c, "cannot read %s: %s", dir, strerror(errno)),
                                           CLI_EXIT_IO);
    size_t cap = 0;
    struct dirent *e;
    while (rc == CLI_OK && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l != 10 || strcmp(e->d_name + 6, ".xml") != 0)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = ncap <= QUEUE_MAX ? realloc(*names, ncap * sizeof *nn) : NULL;
            if (nn == NULL) {
                rc = CLI_EXIT_INTERNAL;
                break;
            }
            *names = nn;
            cap = ncap;
        }
        char *copy = malloc(l + 1);
        if (copy == NULL) {
            rc = CLI_EXIT_INTERNAL;
            break;
        }
        memcpy(copy, e->d_name, l + 1);
        (*names)[(*n)++] = copy;
    }
    closedir(d);
    if (*n > 1)
        qsort(*names, *n, sizeof **names, cmp_names);
    if (rc != CLI_OK)
        cli_err(&s->c, "out of memory");
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int deliver_one(srv *s, const char *text, const xs_elem *m)
{
    char to[CLI_JID_MAX + 1], from[CLI_JID_MAX + 1] = "", bare[CLI_JID_MAX + 1];
    if (!xs_attr(text, m, "to", to, sizeof to) || m->empty) {
        cli_err(&s->c, "a stanza without 'to' or content");
        return CLI_EXIT_REJECTED;
    }
    memcpy(bare, to, strlen(to) + 1);
    char *slash = strchr(bare, '/');
    if (slash != NULL)
        *slash = '\0';
    if (!jid_dir_ok(bare)) {
        cli_err(&s->c, "'%s' is not a JID", to);
        return CLI_EXIT_REJECTED;
    }
    int has_from = xs_attr(text, m, "from", from, sizeof from);
    if (!has_from && s->from == NULL) {
        cli_err(&s->c, "the stanza has no 'from': give the sender with --from");
        return CLI_EXIT_USAGE;
    }
    if (has_from && s->from != NULL && strcmp(from, s->from) != 0) {
        cli_err(&s->c, "the stanza claims to be from %s, not %s: refused", from, s->from);
        return CLI_EXIT_REJECTED;
    }
    const char *domain = s->domain;
    if (domain == NULL) {
        domain = strchr(bare, '@');
        domain = domain ? domain + 1 : bare;
    }
    char stamp[40];
    cli_time_text(cli_now(), stamp, sizeof stamp);
    char *edomain = NULL, *efrom = NULL;
    int rc = escape_attr(&s->c, domain, &edomain);
    if (rc == CLI_OK && !has_from)
        rc = escape_attr(&s->c, s->from, &efrom);
    /* The stanza is kept byte for byte; only the server's additions are
     * inserted: 'from' after the element name, <delay/> before the end tag. */
    size_t name_end = m->start + 1;
    while (name_end < m->inner && text[name_end] != ' ' && text[name_end] != '>' &&
           text[name_end] != '/' && text[name_end] != '\t' && text[name_end] != '\n' &&
           text[name_end] != '\r')
        name_end++;
    size_t cap = (m->end - m->start) + strlen(edomain ? edomain : "") +
                 strlen(efrom ? efrom : "") + 128;
    char *out = rc == CLI_OK ? malloc(cap) : NULL;
    if (rc == CLI_OK && out == NULL) {
        cli_err(&s->c, "out of memory");
        rc = CLI_EXIT_INTERNAL;
    }
    size_t n = 0;
    if (rc == CLI_OK) {
        memcpy(out, text + m->start, name_end - m->start);
        n = name_end - m->start;
        if (efrom != NULL)
            n += (size_t)snprintf(out + n, cap - n, " from='%s'", efrom);
        memcpy(out + n, text + name_end, m->inner_end - name_end);
        n += m->inner_end - name_end;
        n += (size_t)snprintf(out + n, cap - n,
                              "<delay xmlns='urn:xmpp:delay' from='%s' stamp='%s'/>", edomain, stamp);
        memcpy(out + n, text + m->inner_end, m->end - m->inner_end);
        n += m->end - m->inner_end;
    }
    free(edomain);
    free(efrom);
    char dir[4200], path[4300];
    char **names = NULL;
    size_t count = 0;
    if (rc == CLI_OK)
        rc = path_of(s, dir, sizeof dir, "offline", bare, NULL);
    if (rc == CLI_OK)
        rc = mkdirs(&s->c, dir);
    if (rc == CLI_OK)
        rc = list_queue(s, bare, &names, &count);
    if (rc == CLI_OK) {
        unsigned long next = count ? strtoul(names[count - 1], NULL, 10) + 1 : 1;
        if (next > 999999) {
            cli_err(&s->c, "the offline queue of %s is full", bare);
            rc = CLI_EXIT_CONFLICT;
        } else {
            snprintf(path, sizeof path, "%s/%06lu.xml", dir, next);
            rc = cli_write_new_file(&s->c, path, out, n);
        }
    }
    if (rc == CLI_OK)
        printf("%s\n", path);
    free_names(names, count);
    free(out);
    return rc;
}

static int do_deliver(srv *s)
{
    if (s->from != NULL && !cli_full_jid_ok(s->from) && !cli_bare_jid_ok(s->from))
        return cli_usage_error(&s->c, "--from needs a JID");
    size_t n = input_count(s);
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        rc = read_nth_input(s, i, &text, &len);
        int k = rc == CLI_OK ? xs_split(text, len, NULL, 0) : 0;
        xs_elem *e = NULL;
        if (rc == CLI_OK && (k < 0 || k > 100000)) {
            cli_err(&s->c, "the input is not a sequence of stanzas");
            rc = CLI_EXIT_REJECTED;
        } else if (rc == CLI_OK && (e = calloc((size_t)k + 1, sizeof *e)) == NULL) {
            cli_err(&s->c, "out of memory");
            rc = CLI_EXIT_INTERNAL;
        } else if (rc == CLI_OK) {
            (void)xs_split(text, len, e, (size_t)k);
        }
        for (int j = 0; rc == CLI_OK && j < k; j++)
            rc = deliver_one(s, text, &e[j]);
        free(e);
        free(text);
    }
    return rc;
}

static int do_queue(srv *s, int flush)
{
    if (s->nargs != 1 || !jid_dir_ok(s->args[0]))
        return cli_usage_error(&s->c, "give the recipient's bare JID");
    char **names = NULL;
    size_t n = 0;
    int rc = list_queue(s, s->args[0], &names, &n);
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        char path[4300];
        rc = path_of(s, path, sizeof path, "offline", s->args[0], names[i]);
        if (rc == CLI_OK && !flush) {
            printf("%s\n", path);
        } else if (rc == CLI_OK) {
            char *text = NULL;
            size_t len = 0;
            rc = cli_read_input(&s->c, path, CLI_INPUT_MAX, &text, &len);
            if (rc == CLI_OK)
                rc = cli_write_stdout(&s->c, text, len);
            if (rc == CLI_OK)
                rc = cli_write_stdout(&s->c, "\n", 1);
            if (rc == CLI_OK && fflush(stdout) == 0 && unlink(path) != 0) {
                cli_err(&s->c, "cannot remove %s: %s", path, strerror(errno));
                rc = CLI_EXIT_IO;
            }
            free(text);
        }
    }
    free_names(names, n);
    return rc;
}

int cmd_server(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP,
                                      {"dir", 'd', OPT_ARG_REQUIRED, O_DIR},
                                      {"jid", 0, OPT_ARG_REQUIRED, O_JID},
                                      {"to", 0, OPT_ARG_REQUIRED, O_TO},
                                      {"from", 0, OPT_ARG_REQUIRED, O_FROM},
                                      {"domain", 0, OPT_ARG_REQUIRED, O_DOMAIN},
                                      CLI_OPT_END};
    srv s;
    memset(&s, 0, sizeof s);
    cli_begin(&s.c, "server", server_usage);
    cli_parse p;
    const char *arg, *sub = NULL;
    int id;
    cli_parse_init(&p, argc, argv);
    while ((id = cli_next(&p, defs, &arg)) != -1) {
        switch (id) {
        case -2: return CLI_EXIT_USAGE;
        case O_HELP: return cli_help(&s.c);
        case O_DIR: s.dir = arg; break;
        case O_JID: s.jid = arg; break;
        case O_TO: s.to = arg; break;
        case O_FROM: s.from = arg; break;
        case O_DOMAIN: s.domain = arg; break;
        default:
            if (sub == NULL) {
                sub = arg;
            } else {
                if (s.nargs == sizeof s.args / sizeof s.args[0])
                    return cli_usage_error(&s.c, "too many arguments");
                s.args[s.nargs++] = arg;
            }
        }
    }
    if (sub == NULL)
        return cli_usage_error(&s.c, "which operation? publish, answer, deliver, queue or flush");
    if (s.dir == NULL || s.dir[0] == '\0')
        return cli_usage_error(&s.c, "give the server's directory with -d DIR");
    if (s.domain != NULL && !cli_bare_jid_ok(s.domain))
        return cli_usage_error(&s.c, "--domain needs a domain name");
    int rc = mkdirs(&s.c, s.dir);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(sub, "publish") == 0)
        rc = do_publish(&s);
    else if (strcmp(sub, "answer") == 0)
        rc = do_answer(&s);
    else if (strcmp(sub, "deliver") == 0)
        rc = do_deliver(&s);
    else if (strcmp(sub, "queue") == 0)
        rc = do_queue(&s, 0);
    else if (strcmp(sub, "flush") == 0)
        rc = do_queue(&s, 1);
    else
        return cli_usage_error(&s.c, "unknown operation '%s'", sub);
    return cli_end(&s.c, rc);
}
