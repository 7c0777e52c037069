/* SPDX-License-Identifier: ISC */
/* Per-file bookkeeping: counts, failure texts, skip reasons. */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void hv_report_init(hv_report *r, const char *path, esession_ctx *ctx, int verbose)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->ctx = ctx;
    r->verbose = verbose;
}

void hv_report_free(hv_report *r)
{
    for (size_t i = 0; i < r->nfailures; i++)
        free(r->failures[i]);
    free(r->failures);
    for (size_t i = 0; i < r->nskips; i++)
        free(r->skips[i].text);
    free(r->skips);
    memset(r, 0, sizeof *r);
}

void hv_pass(hv_report *r, const char *id)
{
    r->passed++;
    if (r->verbose)
        printf("  %s: pass\n", id);
}

void hv_fail(hv_report *r, const char *id, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);

    r->failed++;
    if (r->verbose)
        printf("  %s: FAIL %s\n", id, why);

    size_t need = strlen(id) + 2 + strlen(why) + 1;
    char *text = malloc(need);
    if (text == NULL) {
        r->unrecorded++;
        return;
    }
    snprintf(text, need, "%s: %s", id, why);
    if (r->nfailures == r->capfailures) {
        size_t ncap = r->capfailures ? r->capfailures * 2 : 16;
        char **nf = realloc(r->failures, ncap * sizeof *nf);
        if (nf == NULL) {
            free(text);
            r->unrecorded++;
            return;
        }
        r->failures = nf;
        r->capfailures = ncap;
    }
    r->failures[r->nfailures++] = text;
}

void hv_skip(hv_report *r, const char *id, const char *reason)
{
    r->skipped++;
    if (r->verbose)
        printf("  %s: skip (%s)\n", id, reason);
    for (size_t i = 0; i < r->nskips; i++) {
        if (strcmp(r->skips[i].text, reason) == 0) {
            r->skips[i].count++;
            return;
        }
    }
    if (r->nskips == r->capskips) {
        size_t ncap = r->capskips ? r->capskips * 2 : 8;
        hv_reason *ns = realloc(r->skips, ncap * sizeof *ns);
        if (ns == NULL)
            return; /* still counted; the summary just lacks this reason */
        r->skips = ns;
        r->capskips = ncap;
    }
    size_t n = strlen(reason) + 1;
    char *text = malloc(n);
    if (text == NULL)
        return;
    memcpy(text, reason, n);
    r->skips[r->nskips].text = text;
    r->skips[r->nskips].count = 1;
    r->nskips++;
}

void hv_acceptable(hv_report *r, const char *id, int accepted)
{
    r->passed++;
    r->acceptable++;
    if (accepted)
        r->accepted++;
    else
        r->rejected++;
    if (r->verbose)
        printf("  %s: pass (acceptable, %s)\n", id, accepted ? "accepted" : "rejected");
}

void hv_report_print(const hv_report *r, FILE *out)
{
    fprintf(out, "%s: %u passed, %u failed, %u skipped\n", r->path, r->passed, r->failed,
            r->skipped);
    for (size_t i = 0; i < r->nfailures; i++)
        fprintf(out, "  FAIL %s\n", r->failures[i]);
    if (r->unrecorded > 0)
        fprintf(out, "  FAIL (%u more failures not recorded: out of memory)\n", r->unrecorded);
    if (r->acceptable > 0)
        fprintf(out, "  acceptable: %u, accepted %u, rejected %u\n", r->acceptable, r->accepted,
                r->rejected);
    for (size_t i = 0; i < r->nskips; i++)
        fprintf(out, "  skipped %u: %s\n", r->skips[i].count, r->skips[i].text);
}

void hv_status_text(char *out, size_t cap, esession_ctx *ctx, esession_status st)
{
    const char *detail = esession_ctx_error_detail(ctx);
    if (detail[0] != '\0')
        snprintf(out, cap, "%s: %s", esession_status_name(st), detail);
    else
        snprintf(out, cap, "%s", esession_status_name(st));
}

void hv_record_id(char *out, size_t cap, const vec_record *rec, const char *field)
{
    const char *name = vec_get(rec, field);
    if (name != NULL && name[0] != '\0')
        snprintf(out, cap, "line %u (%s)", rec->line, name);
    else
        snprintf(out, cap, "line %u", rec->line);
}
