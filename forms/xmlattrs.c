/* SPDX-License-Identifier: ISC */
/* Counting the attributes of every start tag before libxml2 reads the
 * text. libxml2 checks each attribute of a tag against all earlier ones
 * (and builds the attribute list by walking it), so one tag with tens of
 * thousands of attributes costs time quadratic in their number; its SAX
 * start-element hook only runs once that work is done. This linear pass
 * refuses such a tag first.
 *
 * The pass follows the XML 1.0 markup of a well-formed document: start
 * and end tags, comments, CDATA sections and processing instructions
 * (the XML declaration included). Where the text is not well-formed, the
 * counts may differ from what libxml2 would see, but libxml2 stops at its
 * first error there (es_xml_parse stops the parser on any error), so the
 * tags it reads are the ones counted here. At "<!" other than a comment or
 * CDATA (a DOCTYPE) the pass stops: es_xml_parse refuses a DOCTYPE where it
 * starts, and anywhere else it is an error. */
#include "xmlattrs.h"

#include "xml.h"

#include <string.h>

/* Offset just past the first occurrence of end (len octets) at or after
 * from, or n if there is none. */
static size_t past(const char *s, size_t n, size_t from, const char *end, size_t len)
{
    for (size_t i = from; i + len <= n; i++) {
        const char *hit = memchr(s + i, end[0], n - i);
        if (hit == NULL)
            return n;
        i = (size_t)(hit - s);
        if (i + len <= n && memcmp(s + i, end, len) == 0)
            return i + len;
    }
    return n;
}

static int starts(const char *s, size_t n, size_t i, const char *with)
{
    size_t len = strlen(with);
    return n - i >= len && memcmp(s + i, with, len) == 0;
}

/* XML whitespace, '=', '/', '>' and the quotes: by a table, as every
 * octet of a tag is looked at twice. */
static const unsigned char delims[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['='] = 1, ['/'] = 1, ['>'] = 1, ['"'] = 1,
    ['\''] = 1,
};

static int is_delim(unsigned char c)
{
    return delims[c];
}

/* Is the name s[at .. at + len) a namespace declaration (xmlns, xmlns:p)? */
static int declares_ns(const char *s, size_t at, size_t len)
{
    return len >= 5 && memcmp(s + at, "xmlns", 5) == 0 && (len == 5 || s[at + 5] == ':');
}

/* The start tag at s[i] = '<': counts its attributes (each has exactly one
 * quoted value) and namespace declarations, and tells whether it is empty
 * ("/>"); returns the offset after it. */
static size_t start_tag(const char *s, size_t n, size_t i, es_xml_attr_count *c, int *empty)
{
    size_t tok = 0, tok_len = 0; /* the last name outside quotes */
    c->offset = i;
    c->attrs = 0;
    c->ns = 0;
    *empty = 0;
    for (i++; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b == '>') {
            *empty = s[i - 1] == '/';
            return i + 1;
        }
        if (b == '"' || b == '\'') {
            const char *close = memchr(s + i + 1, b, n - i - 1);
            c->attrs++;
            if (declares_ns(s, tok, tok_len))
                c->ns++;
            if (close == NULL)
                return n;
            i = (size_t)(close - s);
            tok_len = 0;
        } else if (!is_delim(b)) {
            if (is_delim((unsigned char)s[i - 1])) {
                tok = i;
                tok_len = 0;
            }
            tok_len++;
        }
    }
    return n;
}

enum { MK_NONE, MK_STOP, MK_END_TAG, MK_START_TAG };

/* The next tag at or after *i, comments, CDATA sections and processing
 * instructions passed over: MK_END_TAG with *i past it, MK_START_TAG with
 * *i at its '<', MK_STOP at a DOCTYPE, MK_NONE at the end. */
static int next_tag(const char *s, size_t n, size_t *i)
{
    while (*i < n) {
        const char *lt = memchr(s + *i, '<', n - *i);
        if (lt == NULL)
            return MK_NONE;
        *i = (size_t)(lt - s);
        if (starts(s, n, *i, "<!--")) {
            *i = past(s, n, *i + 4, "-->", 3);
        } else if (starts(s, n, *i, "<![CDATA[")) {
            *i = past(s, n, *i + 9, "]]>", 3);
        } else if (starts(s, n, *i, "<?")) {
            *i = past(s, n, *i + 2, "?>", 2);
        } else if (starts(s, n, *i, "<!")) {
            return MK_STOP;
        } else if (starts(s, n, *i, "</")) {
            const char *gt = memchr(s + *i, '>', n - *i);
            *i = gt != NULL ? (size_t)(gt - s) + 1 : n;
            return MK_END_TAG;
        } else {
            return MK_START_TAG;
        }
    }
    return MK_NONE;
}

size_t es_xml_child_spans(const char *s, size_t n, es_xml_span *out, size_t max)
{
    size_t depth = 0, i = 0, count = 0, open_at = 0;

    for (int k; (k = next_tag(s, n, &i)) == MK_END_TAG || k == MK_START_TAG;) {
        if (k == MK_END_TAG) {
            if (depth > 0 && --depth == 1) {
                if (count < max)
                    out[count] = (es_xml_span){open_at, i};
                count++;
            }
        } else {
            es_xml_attr_count c;
            int empty;
            size_t at = i;
            i = start_tag(s, n, i, &c, &empty);
            if (depth == 1 && empty) {
                if (count < max)
                    out[count] = (es_xml_span){at, i};
                count++;
            } else if (!empty) {
                if (depth == 1)
                    open_at = at;
                depth++;
            }
        }
    }
    return count;
}

int es_xml_attrs_ok(const char *s, size_t n, es_xml_attr_count *over)
{
    /* Declarations of each open element; deeper than ES_XML_MAX_DEPTH
     * es_xml_parse stops anyway. */
    size_t open_ns[ES_XML_MAX_DEPTH + 1];
    size_t depth = 0, in_scope = 0, i = 0;

    for (int k; (k = next_tag(s, n, &i)) != MK_NONE;) {
        if (k == MK_STOP) {
            return 1; /* a DOCTYPE: libxml2 stops here (see above) */
        } else if (k == MK_END_TAG) {
            if (depth > 0)
                in_scope -= open_ns[--depth];
        } else {
            es_xml_attr_count c;
            int empty;
            i = start_tag(s, n, i, &c, &empty);
            c.in_scope = in_scope + c.ns;
            if (c.attrs > ES_XML_MAX_ATTRS || c.ns > ES_XML_MAX_NS_DECLS ||
                c.in_scope > ES_XML_MAX_NS_IN_SCOPE) {
                if (over != NULL)
                    *over = c;
                return 0;
            }
            if (!empty) {
                if (depth == ES_XML_MAX_DEPTH + 1)
                    return 1; /* refused there for its depth */
                open_ns[depth++] = c.ns;
                in_scope = c.in_scope;
            }
        }
    }
    return 1;
}
