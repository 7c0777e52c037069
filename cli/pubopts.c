/* SPDX-License-Identifier: ISC */
/* The options of an offline publication, for publish and xmpp-publish. */
#include "cli.h"

#include <string.h>

void cli_pub_opts_init(cli_pub_opts *o)
{
    esession_publish_options init = ESESSION_PUBLISH_OPTIONS_INIT;
    memset(o, 0, sizeof *o);
    o->po = init;
    o->create = -1;
}

int cli_parse_duration(const char *s, int64_t *out)
{
    char num[32];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof num)
        return -1;
    int64_t mult = 1;
    memcpy(num, s, n + 1);
    switch (num[n - 1]) {
    case 's': mult = 1; num[n - 1] = '\0'; break;
    case 'm': mult = 60; num[n - 1] = '\0'; break;
    case 'h': mult = 3600; num[n - 1] = '\0'; break;
    case 'd': mult = 86400; num[n - 1] = '\0'; break;
    default: break;
    }
    unsigned long long v;
    if (cli_parse_uint(num, 1, 400ull * 86400, &v) != 0 || v * (unsigned long long)mult > 400ull * 86400)
        return -1;
    *out = (int64_t)v * mult;
    return 0;
}

/* Split a comma list in place into at most CLI_LIST_MAX items. */
static int split_list(char *buf, const char **items, size_t *n)
{
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (*n == CLI_LIST_MAX)
            return -1;
        items[(*n)++] = t;
    }
    return *n == 0 ? -1 : 0;
}

int cli_pub_opt(cli *c, int id, const char *arg, void *u)
{
    cli_pub_opts *o = u;
    unsigned long long v;
    const char *items[CLI_LIST_MAX];
    size_t n;
    char tmp[256];
    switch (id) {
    case PO_LIFETIME:
        if (cli_parse_duration(arg, &o->po.lifetime) != 0)
            return cli_usage_error(c, "--lifetime is N[s|m|h|d], e.g. 12h");
        return 0;
    case PO_GROUPS:
        if (strlen(arg) >= sizeof tmp)
            return cli_usage_error(c, "--groups: list too long");
        memcpy(tmp, arg, strlen(arg) + 1);
        if (split_list(tmp, items, &n) != 0)
            return cli_usage_error(c, "--groups is a comma list of 1 to %d MODP groups", CLI_LIST_MAX);
        for (size_t i = 0; i < n; i++) {
            if (cli_parse_uint(items[i], 1, 18, &v) != 0)
                return cli_usage_error(c, "--groups: '%s' is not a MODP group number", items[i]);
            o->groups[i] = (int)v;
        }
        o->po.groups = o->groups;
        o->po.n_groups = n;
        return 0;
    case PO_CIPHERS:
    case PO_HASHES: {
        int which = id == PO_CIPHERS ? 0 : 1;
        if (strlen(arg) >= sizeof o->list_buf[which])
            return cli_usage_error(c, "list too long");
        memcpy(o->list_buf[which], arg, strlen(arg) + 1);
        const char **dst = which == 0 ? o->ciphers : o->hashes;
        if (split_list(o->list_buf[which], dst, &n) != 0)
            return cli_usage_error(c, "a comma list of 1 to %d names is expected", CLI_LIST_MAX);
        if (which == 0) {
            o->po.ciphers = o->ciphers;
            o->po.n_ciphers = n;
        } else {
            o->po.hashes = o->hashes;
            o->po.n_hashes = n;
        }
        return 0;
    }
    case PO_REKEY:
        if (cli_parse_uint(arg, 1, 0xffffffffull, &v) != 0)
            return cli_usage_error(c, "--rekey-freq is a number from 1 to 4294967295");
        o->po.rekey_freq = (uint32_t)v;
        return 0;
    case PO_MATCH:
        if (arg[0] == '\0' || strlen(arg) > 1023)
            return cli_usage_error(c, "--match-resource needs a resource");
        o->po.match_resource = arg;
        o->any_resource = 0;
        return 0;
    case PO_ANY_RESOURCE: o->any_resource = 1; o->po.match_resource = NULL; return 0;
    case PO_OPEN_NODE: o->po.open_node = 1; return 0;
    case PO_WEAK: o->po.allow_weak_groups = 1; return 0;
    case PO_CREATE: o->create = 1; return 0;
    case PO_NO_CREATE: o->create = 0; return 0;
    case PO_WITHDRAWN: o->withdrawn = 1; return 0;
    default:
        return cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
    }
}

