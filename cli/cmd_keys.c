/* SPDX-License-Identifier: ISC */
/* Signing key commands: genkey, keys, fingerprint, export, import, delkey. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KS_OPTS "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE)\n"   \
                "  --passphrase-fd N       read the passphrase from the first line of fd N\n" \
                "  --passphrase-file PATH  read it from the first line of PATH\n"

static const char genkey_usage[] =
    "Usage: esessionctl genkey [-k PATH] [rsa|dsa] [BITS]\n"
    "Generate a signing key in the keystore and print its fingerprint.\n"
    "  rsa BITS   2048, 3072 (default) or 4096\n"
    "  dsa BITS   2048 or 3072 (N = 256)\n" KS_OPTS;

static const char keys_usage[] =
    "Usage: esessionctl keys [-k PATH] [--json]\n"
    "List the signing keys: type, size and fingerprint. Private parts are never shown.\n" KS_OPTS
    "  --json                  a JSON array\n";

static const char fingerprint_usage[] =
    "Usage: esessionctl fingerprint [--json] [FILE|-]\n"
    "Print the fingerprint (SHA-256 of the normalized <KeyValue>) of a key read from\n"
    "FILE or stdin: a <KeyValue>, a public key PEM or a private key PEM.\n"
    "  --json                  one JSON object\n";

static const char export_usage[] =
    "Usage: esessionctl export [-k PATH] [--keyvalue | --pem | --private] [-o FILE] [FINGERPRINT]\n"
    "Print a signing key's public part, as the normalized <KeyValue> (default) or\n"
    "as SubjectPublicKeyInfo PEM. FINGERPRINT (or a unique prefix) picks the key;\n"
    "it may be left out when the keystore holds one key.\n"
    "  --private               the private key (PKCS#8 PEM): refused for a file that\n"
    "                          others can access; -o creates FILE with mode 600\n"
    "  -o, --output FILE       write to a new FILE instead of stdout\n" KS_OPTS;

static const char import_usage[] =
    "Usage: esessionctl import [-k PATH] [FILE|-]\n"
    "Add a private signing key (PKCS#8 PEM, RSA 2048..8192 or DSA 2048/3072 with\n"
    "N = 256) read from FILE or stdin, and print its fingerprint.\n" KS_OPTS;

static const char delkey_usage[] =
    "Usage: esessionctl delkey [-k PATH] FINGERPRINT\n"
    "Delete a signing key (FINGERPRINT: all of it or a unique prefix of at least\n"
    "8 hex digits). Its private part is wiped.\n" KS_OPTS;

static const char *type_name(const esession_key *k)
{
    return esession_key_get_type(k) == ESESSION_KEY_DSA ? "dsa" : "rsa";
}

/* Pick the signing key named by a fingerprint prefix (or the only one). */
static int select_key(cli *c, const char *fp_arg, size_t min_digits, esession_key **out,
                      uint8_t fp[ESESSION_FINGERPRINT_BYTES])
{
    uint8_t want[ESESSION_FINGERPRINT_BYTES];
    size_t nd = 0;
    size_t n = esession_keystore_key_count(c->ks);
    if (fp_arg != NULL && (cli_fp_parse(fp_arg, want, &nd) != 0 || nd < min_digits)) {
        cli_err(c, "'%s' is not a fingerprint or a prefix of at least %zu hex digits", fp_arg,
                min_digits);
        return CLI_EXIT_USAGE;
    }
    if (n == 0) {
        cli_err(c, "the keystore has no signing key (create one with 'esessionctl genkey')");
        return CLI_EXIT_CONFLICT;
    }
    if (fp_arg == NULL && n > 1) {
        cli_err(c, "the keystore holds %zu keys: name one by fingerprint (see 'esessionctl keys')", n);
        return CLI_EXIT_USAGE;
    }
    esession_key *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < n; i++) {
        esession_key *k = NULL;
        uint8_t f[ESESSION_FINGERPRINT_BYTES];
        esession_status st = esession_keystore_key_at(c->ks, i, &k);
        if (st == ESESSION_OK)
            st = esession_key_fingerprint(c->ctx, k, f);
        if (st != ESESSION_OK) {
            esession_key_free(k);
            esession_key_free(found);
            return cli_fail(c, st, "cannot read a signing key");
        }
        if (fp_arg == NULL || cli_fp_prefix_match(f, want, nd)) {
            matches++;
            if (found == NULL) {
                found = k;
                memcpy(fp, f, sizeof f);
                continue;
            }
        }
        esession_key_free(k);
    }
    if (matches != 1) {
        esession_key_free(found);
        if (matches == 0)
            cli_err(c, "no signing key has the fingerprint %s", fp_arg);
        else
            cli_err(c, "%zu signing keys match %s: give more digits", matches, fp_arg);
        return matches == 0 ? CLI_EXIT_CONFLICT : CLI_EXIT_USAGE;
    }
    *out = found;
    return CLI_OK;
}

static void print_key_line(const esession_key *k, const uint8_t fp[ESESSION_FINGERPRINT_BYTES])
{
    char text[CLI_FP_TEXT];
    cli_fp_text(fp, text);
    printf("%s %-4u  %s\n", type_name(k), esession_key_bits(k), text);
}

int cmd_genkey(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_END};
    cli c;
    const char *pos[2] = {NULL, NULL};
    size_t got;
    cli_begin(&c, "genkey", genkey_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 2, &got, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    esession_key_type type = ESESSION_KEY_RSA;
    unsigned bits = 3072;
    if (got >= 1) {
        if (strcmp(pos[0], "rsa") == 0)
            type = ESESSION_KEY_RSA;
        else if (strcmp(pos[0], "dsa") == 0)
            type = ESESSION_KEY_DSA, bits = 2048;
        else
            return cli_usage_error(&c, "key type is rsa or dsa, not '%s'", pos[0]);
    }
    if (got == 2) {
        unsigned long long v;
        if (cli_parse_uint(pos[1], 1, 100000, &v) != 0)
            return cli_usage_error(&c, "'%s' is not a key size", pos[1]);
        bits = (unsigned)v;
    }
    if ((type == ESESSION_KEY_RSA && bits != 2048 && bits != 3072 && bits != 4096) ||
        (type == ESESSION_KEY_DSA && bits != 2048 && bits != 3072))
        return cli_usage_error(&c, "%s keys are %s bits", type == ESESSION_KEY_RSA ? "rsa" : "dsa",
                               type == ESESSION_KEY_RSA ? "2048, 3072 or 4096" : "2048 or 3072");
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key *k = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    esession_status st = esession_key_generate(c.ctx, &k, type, bits);
    if (st == ESESSION_OK)
        st = esession_keystore_add_key(c.ks, k);
    if (st == ESESSION_OK)
        st = esession_key_fingerprint(c.ctx, k, fp);
    if (st == ESESSION_OK)
        print_key_line(k, fp);
    else
        rc = cli_fail(&c, st, "cannot generate the key");
    esession_key_free(k);
    return cli_end(&c, rc);
}

int cmd_keys(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_JSON, CLI_OPT_END};
    cli c;
    size_t got;
    cli_begin(&c, "keys", keys_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, &got, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_open_keystore_read(&c)) != CLI_OK)
        return cli_end(&c, rc);
    size_t n = esession_keystore_key_count(c.ks);
    if (c.json)
        printf("[");
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        esession_key *k = NULL;
        uint8_t fp[ESESSION_FINGERPRINT_BYTES];
        esession_status st = esession_keystore_key_at(c.ks, i, &k);
        if (st == ESESSION_OK)
            st = esession_key_fingerprint(c.ctx, k, fp);
        if (st != ESESSION_OK) {
            rc = cli_fail(&c, st, "cannot read a signing key");
        } else if (c.json) {
            char hex[2 * ESESSION_FINGERPRINT_BYTES + 1];
            cli_hex(fp, sizeof fp, hex);
            printf("%s{\"fingerprint\":\"%s\",\"type\":\"%s\",\"bits\":%u}", i ? "," : "", hex,
                   type_name(k), esession_key_bits(k));
        } else {
            print_key_line(k, fp);
        }
        esession_key_free(k);
    }
    if (c.json)
        printf("]\n");
    return cli_end(&c, rc);
}

/* A key from text: PEM (public or private) or a normalized <KeyValue>. */
esession_status cli_key_from_text(esession_ctx *ctx, const char *text, size_t len,
                                  esession_key **out)
{
    size_t a = 0, b = len;
    while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r' || text[a] == '\n'))
        a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r' ||
                     text[b - 1] == '\n'))
        b--;
    if (b - a >= 10 && memcmp(text + a, "<KeyValue>", 10) == 0)
        return esession_key_from_keyvalue(ctx, out, text + a, b - a);
    if (b - a >= 10 && memcmp(text + a, "-----BEGIN", 10) == 0)
        return esession_key_from_pem(ctx, out, text, len);
    return ESESSION_ERR_MALFORMED;
}

int cli_read_key(const cli *c, const char *path, int pem_only, esession_key **k,
                 uint8_t fp[ESESSION_FINGERPRINT_BYTES], esession_status *st)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_input(c, path, 1u << 20, &text, &len);
    if (rc != CLI_OK)
        return rc;
    *st = pem_only ? esession_key_from_pem(c->ctx, k, text, len)
                   : cli_key_from_text(c->ctx, text, len, k);
    sodium_memzero(text, len); /* it may have been a private key */
    free(text);
    if (*st == ESESSION_OK && fp != NULL)
        *st = esession_key_fingerprint(c->ctx, *k, fp);
    return CLI_OK;
}

int cmd_fingerprint(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_JSON, CLI_OPT_END};
    cli c;
    const char *pos[1] = {NULL};
    size_t got;
    cli_begin(&c, "fingerprint", fingerprint_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 1, &got, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if ((rc = cli_ctx(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key *k = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    esession_status st;
    if ((rc = cli_read_key(&c, pos[0], 0, &k, fp, &st)) != CLI_OK)
        return cli_end(&c, rc);
    if (st != ESESSION_OK) {
        rc = cli_fail(&c, st, "not a usable key (expected a <KeyValue> or a PEM key)");
    } else if (c.json) {
        char hex[2 * ESESSION_FINGERPRINT_BYTES + 1];
        cli_hex(fp, sizeof fp, hex);
        printf("{\"fingerprint\":\"%s\",\"type\":\"%s\",\"bits\":%u,\"private\":%s}\n", hex,
               type_name(k), esession_key_bits(k), esession_key_has_private(k) ? "true" : "false");
    } else {
        print_key_line(k, fp);
    }
    esession_key_free(k);
    return cli_end(&c, rc);
}

typedef struct export_opts {
    int form; /* 0 keyvalue, 1 pem, 2 private */
    const char *output;
} export_opts;

enum { O_KEYVALUE = 1, O_PEM, O_PRIVATE, O_OUTPUT };

/* One output form; asking for two (say --private --pem) is a usage error
 * rather than a silent choice, since one of them is a secret. */
static int set_form(cli *c, export_opts *o, int form)
{
    if (o->form != -1 && o->form != form)
        return cli_usage_error(c, "--keyvalue, --pem and --private exclude each other");
    o->form = form;
    return 0;
}

static int export_extra(cli *c, int id, const char *arg, void *u)
{
    export_opts *o = u;
    switch (id) {
    case O_KEYVALUE: return set_form(c, o, 0);
    case O_PEM: return set_form(c, o, 1);
    case O_PRIVATE: return set_form(c, o, 2);
    case O_OUTPUT: o->output = arg; return 0;
    default: return cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
    }
}

int cmd_export(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE,
                                      {"keyvalue", 0, OPT_ARG_NONE, O_KEYVALUE},
                                      {"pem", 0, OPT_ARG_NONE, O_PEM},
                                      {"private", 0, OPT_ARG_NONE, O_PRIVATE},
                                      {"output", 'o', OPT_ARG_REQUIRED, O_OUTPUT},
                                      CLI_OPT_END};
    cli c;
    export_opts o = {-1, NULL};
    const char *pos[1] = {NULL};
    size_t got;
    cli_begin(&c, "export", export_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 1, &got, export_extra, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if (o.form == -1)
        o.form = 0; /* <KeyValue> by default */
    /* Check where a private key would go before unlocking anything. */
    if (o.form == 2 && o.output == NULL &&
        (rc = cli_secret_fd_ok(&c, STDOUT_FILENO, "a private key")) != CLI_OK)
        return rc;
    if ((rc = cli_open_keystore_read(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key *k = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    if ((rc = select_key(&c, pos[0], 1, &k, fp)) != CLI_OK)
        return cli_end(&c, rc);
    esession_buf out = {0};
    esession_status st;
    if (o.form == 0)
        st = esession_key_to_keyvalue(c.ctx, k, &out);
    else
        st = esession_key_to_pem(c.ctx, k, o.form == 2, &out);
    esession_key_free(k);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "cannot export the key"));
    int nl = out.len == 0 || out.data[out.len - 1] != '\n';
    if (o.output != NULL) {
        if (nl) {
            /* The buffer has its NUL after len: room for the newline. */
            out.data[out.len] = '\n';
            rc = cli_write_new_file(&c, o.output, out.data, out.len + 1);
            out.data[out.len] = '\0';
        } else {
            rc = cli_write_new_file(&c, o.output, out.data, out.len);
        }
    } else {
        rc = cli_write_stdout(&c, out.data, out.len);
        if (rc == CLI_OK && nl)
            rc = cli_write_stdout(&c, "\n", 1);
    }
    esession_buf_free(&out);
    return cli_end(&c, rc);
}

int cmd_import(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_END};
    cli c;
    const char *pos[1] = {NULL};
    size_t got;
    cli_begin(&c, "import", import_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 1, &got, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    /* The passphrase first: with --passphrase-fd 0 it is the first line of
     * stdin and the key follows. */
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key *k = NULL;
    esession_status st;
    if ((rc = cli_read_key(&c, pos[0], 1, &k, NULL, &st)) != CLI_OK)
        return cli_end(&c, rc);
    if (st != ESESSION_OK)
        return cli_end(&c, cli_fail(&c, st, "not a usable private key (PKCS#8 PEM expected)"));
    if (!esession_key_has_private(k)) {
        esession_key_free(k);
        cli_err(&c, "this is a public key; a peer's key is trusted with 'esessionctl trust'");
        return cli_end(&c, CLI_EXIT_REJECTED);
    }
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    st = esession_keystore_add_key(c.ks, k);
    if (st == ESESSION_OK)
        st = esession_key_fingerprint(c.ctx, k, fp);
    if (st == ESESSION_OK)
        print_key_line(k, fp);
    else if (st == ESESSION_ERR_STATE)
        cli_err(&c, "this key is already in the keystore"), rc = CLI_EXIT_CONFLICT;
    else
        rc = cli_fail(&c, st, "cannot import the key");
    esession_key_free(k);
    return cli_end(&c, rc);
}

int cmd_delkey(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE, CLI_OPT_END};
    cli c;
    const char *pos[1] = {NULL};
    size_t got;
    cli_begin(&c, "delkey", delkey_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, pos, 1, &got, NULL, NULL);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if (got != 1)
        return cli_usage_error(&c, "which key? give its fingerprint");
    if ((rc = cli_open_keystore(&c)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key *k = NULL;
    uint8_t fp[ESESSION_FINGERPRINT_BYTES];
    if ((rc = select_key(&c, pos[0], 8, &k, fp)) != CLI_OK)
        return cli_end(&c, rc);
    esession_key_free(k);
    esession_status st = esession_keystore_delete_key(c.ks, fp);
    if (st != ESESSION_OK)
        rc = cli_fail(&c, st, "cannot delete the key");
    return cli_end(&c, rc);
}
