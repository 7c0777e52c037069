/* SPDX-License-Identifier: ISC */
/* esession-vectors FILE...: run every known-answer vector file through the
 * library and report, per file, passed / failed / skipped cases.
 * Exit status: 0 all passed, 1 a failure (or an unusable file), 2 usage. */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_util.h"

static const struct {
    const char *schema;
    void (*run)(hv_report *r, json_t *root);
} json_families[] = {
    { "rsassa_pkcs1_verify_schema_v1.json", hv_wycheproof_rsa_verify },
    { "rsassa_pkcs1_generate_schema_v1.json", hv_wycheproof_rsa_generate },
    { "dsa_p1363_verify_schema_v1.json", hv_wycheproof_dsa_verify },
    { "mac_test_schema_v1.json", hv_wycheproof_mac },
    { "esession-offline-vectors-v1", hv_esession_offline },
    { "esession-vectors-v1.1", hv_esession_offline },
};

/* Record files are known by the start of their name. */
static const struct {
    const char *prefix;
    void (*run)(hv_report *r, const vec_file *f, const char *base);
} txt_families[] = {
    { "aes_ctr_", hv_txt_aes_ctr },
    { "hmac_", hv_txt_hmac },
    { "sha256", hv_txt_hash },
    { "whirlpool", hv_txt_hash },
    { "base64", hv_txt_base64 },
    { "modp_groups", hv_txt_modp },
    { "dsa_", hv_txt_dsa },
    { "xep0082_datetimes", hv_txt_datetime },
};

static void run_json(hv_report *r, const char *path)
{
    char err[256];
    json_t *root = ju_load(path, err, sizeof err);
    if (root == NULL) {
        hv_fail(r, "file", "%s", err);
        return;
    }
    const char *schema = ju_string(root, "schema");
    size_t i;
    for (i = 0; schema != NULL && i < sizeof json_families / sizeof json_families[0]; i++)
        if (strcmp(schema, json_families[i].schema) == 0)
            break;
    if (schema == NULL || i == sizeof json_families / sizeof json_families[0])
        hv_fail(r, "file", "unrecognised JSON schema \"%s\"", schema != NULL ? schema : "(none)");
    else
        json_families[i].run(r, root);
    json_decref(root);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void run_txt(hv_report *r, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t i;
    for (i = 0; i < sizeof txt_families / sizeof txt_families[0]; i++)
        if (strncmp(base, txt_families[i].prefix, strlen(txt_families[i].prefix)) == 0)
            break;
    if (!has_suffix(base, ".txt") || i == sizeof txt_families / sizeof txt_families[0]) {
        hv_fail(r, "file", "unrecognised file (neither a known JSON schema nor a record file)");
        return;
    }
    vec_file f;
    if (vec_file_load(&f, path) != 0) {
        hv_fail(r, "file", "cannot read or parse the record file");
        return;
    }
    if (f.count == 0)
        hv_fail(r, "file", "no records");
    else
        txt_families[i].run(r, &f, base);
    vec_file_free(&f);
}

/* JSON if the first non-blank octet is '{'; -1 if unreadable. */
static int looks_like_json(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return -1;
    }
    /* Vector files are small; this only guards against a wrong argument. */
    if (st.st_size < 0 || (unsigned long long)st.st_size > JU_MAX_FILE_BYTES) {
        snprintf(err, errlen, "file too large for a vector file");
        return -1;
    }
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    int c;
    while ((c = fgetc(fp)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        snprintf(err, errlen, "read error");
        return -1;
    }
    return c == '{';
}

static void run_file(esession_ctx *ctx, const char *path, int verbose, unsigned long tot[3])
{
    hv_report r;
    hv_report_init(&r, path, ctx, verbose);
    if (verbose)
        printf("%s:\n", path);
    char err[256];
    int kind = looks_like_json(path, err, sizeof err);
    if (kind < 0)
        hv_fail(&r, "file", "%s", err);
    else if (kind == 1)
        run_json(&r, path);
    else
        run_txt(&r, path);
    hv_report_print(&r, stdout);
    tot[0] += r.passed;
    tot[1] += r.failed;
    tot[2] += r.skipped;
    hv_report_free(&r);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: esession-vectors [-v] FILE...\n"
                 "  Runs Wycheproof JSON, ESession protocol JSON and vectors/*.txt record\n"
                 "  files through the library. -v prints every case.\n");
}

int main(int argc, char **argv)
{
    int verbose = 0, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        }
        if (strcmp(argv[first], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (first == argc) {
        usage(stderr);
        return 2;
    }

    esession_ctx *ctx = NULL;
    esession_status st = esession_ctx_new(&ctx, NULL, ESESSION_VERSION_MAJOR,
                                          ESESSION_VERSION_MINOR);
    if (st != ESESSION_OK) {
        fprintf(stderr, "esession-vectors: esession_ctx_new: %s\n", esession_status_name(st));
        return 1;
    }
    unsigned long tot[3] = { 0, 0, 0 };
    for (int i = first; i < argc; i++)
        run_file(ctx, argv[i], verbose, tot);
    esession_ctx_free(ctx);

    printf("%lu passed, %lu failed, %lu skipped\n", tot[0], tot[1], tot[2]);
    if (fflush(stdout) != 0)
        return 1;
    return tot[1] != 0 ? 1 : 0;
}
