/* SPDX-License-Identifier: ISC */
/* The unit tests' shared set-up (fixture.h). */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../forms/normalize.h"
#include "../../pep/pep.h"
#include "../common/vecfile.h"

esession_ctx *fx_ctx_new(void)
{
    esession_ctx *ctx = NULL;
    cr_assert_eq(esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR, ESESSION_VERSION_MINOR),
                 ESESSION_OK);
    return ctx;
}

xmlDocPtr fx_parse(esession_ctx *ctx, const char *text)
{
    xmlDocPtr doc = NULL;
    cr_assert_eq(es_xml_parse(ctx, text, strlen(text), &doc), ESESSION_OK, "%s (%s)",
                 esession_ctx_error_detail(ctx), text);
    cr_assert_not_null(doc);
    return doc;
}

xmlNodePtr fx_find_x(xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        if (es_xml_is(n, "x", ES_XDATA_NS))
            return n;
        xmlNodePtr r = fx_find_x(n->children);
        if (r != NULL)
            return r;
    }
    return NULL;
}

char *fx_data(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/%s", name);
    char *text = vec_read_file(path, len);
    cr_assert_not_null(text, "fixture %s", path);
    return text;
}

esession_key *fx_key(esession_ctx *ctx, const char *name)
{
    size_t len;
    char *pem = fx_data(name, &len);
    esession_key *k = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &k, pem, len), ESESSION_OK, "%s: %s", name,
                 esession_ctx_error_detail(ctx));
    free(pem);
    return k;
}

char *fx_items_result(const char *from, const char *to, const char *id, const char *form)
{
    static const char head[] =
        "<iq type='result' from='%s' to='%s' id='%s'>"
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
        "<items node='" ES_PEP_NODE_SUBSCRIBERS_NAME "'><item id='current'>%s</item></items>"
        "</pubsub></iq>";
    size_t n = strlen(head) + strlen(from) + strlen(to) + strlen(id) + strlen(form) + 1;
    char *s = malloc(n);
    cr_assert_not_null(s);
    snprintf(s, n, head, from, to, id, form);
    return s;
}
