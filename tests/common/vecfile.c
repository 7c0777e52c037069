/* SPDX-License-Identifier: ISC */
#include "vecfile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vec_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        if (got == 0)
            break;
        n += got;
    }
    if (buf != NULL && ferror(fp)) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int vec_file_load(vec_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->text = vec_read_file(path, NULL);
    if (f->text == NULL)
        return -1;
    size_t cap = 0;
    vec_record *cur = NULL;
    unsigned lineno = 0;
    char *save = NULL;
    /* Split by hand: strtok would merge blank lines, which end records. */
    for (char *line = f->text; line != NULL; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        char *t = trim(line);
        if (*t == '#')
            continue;
        if (*t == '\0') {
            cur = NULL;
            continue;
        }
        char *eq = strchr(t, '=');
        if (eq == NULL)
            goto bad;
        *eq = '\0';
        if (cur == NULL) {
            if (f->count == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                vec_record *nr = realloc(f->records, ncap * sizeof *nr);
                if (nr == NULL)
                    goto bad;
                f->records = nr;
                cap = ncap;
            }
            cur = &f->records[f->count++];
            memset(cur, 0, sizeof *cur);
            cur->line = lineno;
        }
        if (cur->count == VEC_MAX_FIELDS)
            goto bad;
        cur->fields[cur->count].name = trim(t);
        cur->fields[cur->count].value = trim(eq + 1);
        cur->count++;
    }
    return 0;
bad:
    vec_file_free(f);
    return -1;
}

void vec_file_free(vec_file *f)
{
    free(f->records);
    free(f->text);
    memset(f, 0, sizeof *f);
}

const char *vec_get(const vec_record *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

uint8_t *vec_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0)
        return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}
