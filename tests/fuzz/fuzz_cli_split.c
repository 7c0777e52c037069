/* SPDX-License-Identifier: ISC */
/* The CLI's scanner of serialized XML (cli/xmlscan.c), which cuts stanzas
 * and forms out of files byte for byte: xs_split over arbitrary text,
 * then xs_attr and xs_find on every element it reports. The offsets it
 * returns must be ordered, inside the text and on tag boundaries; the
 * attribute values it writes must fit their buffer. */
#include "../../cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ELEMS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cli_split: %s\n", what);
        abort();
    }
}

static void check_elem(const char *text, size_t lo, size_t hi, const xs_elem *e)
{
    check(lo <= e->start && e->start < e->inner && e->inner <= e->inner_end &&
              e->inner_end <= e->end && e->end <= hi,
          "element offsets out of order or out of range");
    if (e->empty)
        check(e->inner_end == e->end, "empty element with content");
    else
        check(e->inner_end < e->end && text[e->inner_end] == '<', "end tag misplaced");
    check(text[e->start] == '<' && text[e->inner - 1] == '>' && text[e->end - 1] == '>',
          "element not on tag boundaries");
}

static void attrs(const char *text, const xs_elem *e)
{
    static const char *const names[] = {"id", "type", "from", "to", "xmlns", "node", "var"};
    char big[256], small[4];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (xs_attr(text, e, names[i], big, sizeof big))
            check(strlen(big) < sizeof big, "attribute value overflows");
        if (xs_attr(text, e, names[i], small, sizeof small))
            check(strlen(small) < sizeof small, "attribute value overflows");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const locals[] = {"body", "x", "item", "c", "init", "field"};
    const char *text = (const char *)data;
    xs_elem v[MAX_ELEMS], found;
    int n = xs_split(text, size, v, MAX_ELEMS);
    if (n < 0)
        return 0;
    for (int i = 0; i < n && i < MAX_ELEMS; i++) {
        check_elem(text, i > 0 ? v[i - 1].end : 0, size, &v[i]);
        attrs(text, &v[i]);
        for (size_t k = 0; k < sizeof locals / sizeof locals[0]; k++) {
            if (xs_find(text, &v[i], locals[k], &found)) {
                check_elem(text, v[i].inner, v[i].inner_end, &found);
                attrs(text, &found);
            }
        }
    }
    return 0;
}
