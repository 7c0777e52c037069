/* SPDX-License-Identifier: ISC */
/* The vector harness itself: counting and reporting, the JSON accessors,
 * PEM wrapping, the Wycheproof verdict policy, and each family's handling
 * of good, bad, acceptable and unusable cases. The harness sources are
 * compiled in here (all but its main). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/esession_offline.c"
#include "../harness/esession_options.c"
#include "../harness/esession_session.c"
#include "../harness/esession_accept.c"
#include "../harness/json_util.c"
#include "../harness/keys.c"
#include "../harness/online_check.c"
#include "../harness/online_run.c"
#include "../harness/online_setup.c"
#include "../harness/rfc6979.c"
#include "../harness/report.c"
#include "../harness/txt_aes.c"
#include "../harness/txt_dsa.c"
#include "../harness/txt_hash.c"
#include "../harness/txt_misc.c"
#include "../harness/wycheproof.c"
#include "../harness/wycheproof_dsa.c"
#include "../harness/wycheproof_mac.c"
#include "../harness/wycheproof_rsa.c"
#include "fixture.h"

static esession_ctx *ctx;
static hv_report rep;

static void setup(void)
{
    ctx = fx_ctx_new();
    hv_report_init(&rep, "f", ctx, 0);
}

static void teardown(void)
{
    hv_report_free(&rep);
    esession_ctx_free(ctx);
}

/* A fresh report between parts of one test. */
static void reset(void)
{
    hv_report_free(&rep);
    hv_report_init(&rep, "f", ctx, 0);
}

/* The report block as printed. Caller frees. */
static char *printed(const hv_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    cr_assert_not_null(fp);
    hv_report_print(r, fp);
    fclose(fp);
    return buf;
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    cr_assert_not_null(root, "test JSON: %s", err.text);
    return root;
}

static void counts(unsigned passed, unsigned failed, unsigned skipped)
{
    char *text = printed(&rep);
    cr_expect_eq(rep.passed, passed, "passed %u, want %u\n%s", rep.passed, passed, text);
    cr_expect_eq(rep.failed, failed, "failed %u, want %u\n%s", rep.failed, failed, text);
    cr_expect_eq(rep.skipped, skipped, "skipped %u, want %u\n%s", rep.skipped, skipped, text);
    free(text);
}

/* ---- report ---------------------------------------------------------- */

static void report_counts_and_prints_failures_acceptable_and_skip_reasons(void)
{
    hv_pass(&rep, "tcId 1");
    hv_fail(&rep, "tcId 2", "tag %s", "mismatch");
    hv_skip(&rep, "tcId 3", "not base64");
    hv_skip(&rep, "tcId 4", "not base64");
    hv_skip(&rep, "tcId 5", "other");
    hv_acceptable(&rep, "tcId 6", 1);
    hv_acceptable(&rep, "tcId 7", 0);
    hv_acceptable(&rep, "tcId 8", 0);
    char *text = printed(&rep);
    cr_assert_str_eq(text, "f: 4 passed, 1 failed, 3 skipped\n"
                           "  FAIL tcId 2: tag mismatch\n"
                           "  acceptable: 3, accepted 1, rejected 2\n"
                           "  skipped 2: not base64\n"
                           "  skipped 1: other\n");
    free(text);
}

static void report_of_a_clean_file_is_one_line(void)
{
    hv_pass(&rep, "a");
    char *text = printed(&rep);
    cr_assert_str_eq(text, "f: 1 passed, 0 failed, 0 skipped\n");
    free(text);
}

static void record_id_names_line_and_name(void)
{
    char name[] = "name", value[] = "RFC 1", other[] = "x";
    vec_record rec;
    memset(&rec, 0, sizeof rec);
    rec.line = 12;
    rec.fields[0].name = name;
    rec.fields[0].value = value;
    rec.count = 1;
    char id[HV_ID_MAX];
    hv_record_id(id, sizeof id, &rec, "name");
    cr_assert_str_eq(id, "line 12 (RFC 1)");
    hv_record_id(id, sizeof id, &rec, other);
    cr_assert_str_eq(id, "line 12");
}

/* ---- JSON accessors -------------------------------------------------- */

static void ju_load_refuses_missing_directories_and_bad_json(void)
{
    char err[256];
    cr_assert_null(ju_load("vectors/no-such-file.json", err, sizeof err));
    cr_assert(strstr(err, "cannot stat") != NULL, "%s", err);
    cr_assert_null(ju_load("vectors", err, sizeof err));
    cr_assert_str_eq(err, "not a regular file");

    char path[] = "/tmp/esession-harness-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *cases[] = { "{\"a\": ", "[1, 2]", "{\"a\": 1, \"a\": 2}" };
    const char *want[] = { "JSON error", "not an object", "JSON error" };
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(ftruncate(fd, 0), 0);
        cr_assert_eq(pwrite(fd, cases[i], strlen(cases[i]), 0), (ssize_t)strlen(cases[i]));
        cr_expect_null(ju_load(path, err, sizeof err), "%s", cases[i]);
        cr_expect(strstr(err, want[i]) != NULL, "%s: %s", cases[i], err);
    }
    close(fd);
    unlink(path);

    json_t *root = ju_load("vectors/wycheproof/hmac_sha256_test.json", err, sizeof err);
    cr_assert_not_null(root, "%s", err);
    cr_assert_str_eq(ju_string(root, "schema"), "mac_test_schema_v1.json");
    json_decref(root);
}

static void ju_accessors_check_types(void)
{
    json_t *o = parse("{\"i\": 7, \"s\": \"256\", \"bad\": \"25x\", \"neg\": \"-3\","
                      " \"h\": \"0aFf\", \"odd\": \"abc\", \"nh\": \"zz\", \"e\": \"\","
                      " \"a\": [], \"o\": {}}");
    long long v = 0;
    cr_assert_eq(ju_integer(o, "i", &v), 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(ju_integer(o, "s", &v), 0);
    cr_assert_eq(v, 256);
    cr_assert_eq(ju_integer(o, "neg", &v), 0);
    cr_assert_eq(v, -3);
    cr_assert_eq(ju_integer(o, "bad", &v), -1);
    cr_assert_eq(ju_integer(o, "e", &v), -1);
    cr_assert_eq(ju_integer(o, "a", &v), -1);
    cr_assert_eq(ju_integer(o, "missing", &v), -1);
    cr_assert_null(ju_string(o, "i"));
    cr_assert_null(ju_array(o, "o"));
    cr_assert_not_null(ju_array(o, "a"));
    cr_assert_null(ju_object(o, "a"));
    cr_assert_not_null(ju_object(o, "o"));

    size_t n = 99;
    uint8_t *h = ju_hex(o, "h", &n);
    cr_assert_not_null(h);
    cr_assert_eq(n, 2);
    cr_assert_eq(h[0], 0x0a);
    cr_assert_eq(h[1], 0xff);
    free(h);
    h = ju_hex(o, "e", &n);
    cr_assert_not_null(h);
    cr_assert_eq(n, 0);
    free(h);
    cr_assert_null(ju_hex(o, "odd", &n));
    cr_assert_null(ju_hex(o, "nh", &n));
    cr_assert_null(ju_hex(o, "i", &n));
    json_decref(o);
}

/* ---- PEM ------------------------------------------------------------- */

static void pem_from_der_wraps_at_64_and_round_trips(void)
{
    uint8_t der[100];
    for (size_t i = 0; i < sizeof der; i++)
        der[i] = (uint8_t)(i * 7 + 1);
    char *pem = hv_pem_from_der("PUBLIC KEY", der, sizeof der);
    cr_assert_not_null(pem);
    const char *head = "-----BEGIN PUBLIC KEY-----\n";
    const char *foot = "-----END PUBLIC KEY-----\n";
    cr_assert_eq(strncmp(pem, head, strlen(head)), 0);
    size_t len = strlen(pem);
    cr_assert_str_eq(pem + len - strlen(foot), foot);
    /* 136 base64 characters: lines of 64, 64, 8. */
    const char *body = pem + strlen(head);
    cr_assert_eq(strchr(body, '\n') - body, 64);
    cr_assert_eq(strchr(body + 65, '\n') - (body + 65), 64);
    cr_assert_eq(strchr(body + 130, '\n') - (body + 130), 8);

    char b64[200];
    size_t k = 0;
    for (const char *p = body; p < pem + len - strlen(foot); p++)
        if (*p != '\n')
            b64[k++] = *p;
    uint8_t back[200];
    size_t got = 0;
    cr_assert_eq(es_base64_decode(back, sizeof back, &got, b64, k), ESESSION_OK);
    cr_assert_eq(got, sizeof der);
    cr_assert_eq(memcmp(back, der, sizeof der), 0);
    free(pem);
}

static void dsa_pem_refuses_bad_hex(void)
{
    cr_assert_null(hv_dsa_pem("zz", "03", "02", "04", NULL));
    cr_assert_null(hv_dsa_pem(NULL, "03", "02", "04", NULL));
}

/* ---- Wycheproof verdict policy --------------------------------------- */

static void verdict_policy(void)
{
    wp_verdict(&rep, "1", WP_VALID, 1, NULL);
    wp_verdict(&rep, "2", WP_INVALID, 0, "bad-signature");
    wp_verdict(&rep, "3", WP_ACCEPTABLE, 1, NULL);
    wp_verdict(&rep, "4", WP_ACCEPTABLE, 0, "x");
    counts(4, 0, 0);
    cr_assert_eq(rep.acceptable, 2);
    cr_assert_eq(rep.accepted, 1);
    cr_assert_eq(rep.rejected, 1);
    wp_verdict(&rep, "5", WP_VALID, 0, "bad-signature");
    wp_verdict(&rep, "6", WP_INVALID, 1, NULL);
    counts(4, 2, 0);
    cr_assert_str_eq(rep.failures[0], "5: valid case rejected (bad-signature)");
    cr_assert_str_eq(rep.failures[1], "6: invalid case accepted");
    wp_unusable(&rep, "7", WP_VALID, "key refused", "key refused (bad-key: 1024 bits)");
    wp_unusable(&rep, "8", WP_INVALID, "key refused", "d");
    wp_unusable(&rep, "9", WP_ACCEPTABLE, "key refused", "d");
    counts(4, 3, 2);
    cr_assert_str_eq(rep.failures[2], "7: valid case not run: key refused (bad-key: 1024 bits)");
    cr_assert_eq(rep.nskips, 1);
    cr_assert_eq(rep.skips[0].count, 2);
}

static void test_header_needs_tcid_and_known_result(void)
{
    json_t *a = parse("[{\"tcId\": 4, \"result\": \"invalid\"}, {\"result\": \"valid\"},"
                      " {\"tcId\": 5, \"result\": \"maybe\"}]");
    char id[HV_ID_MAX];
    wp_result res;
    cr_assert_eq(wp_test_header(&rep, json_array_get(a, 0), id, sizeof id, &res), 0);
    cr_assert_str_eq(id, "tcId 4");
    cr_assert_eq(res, WP_INVALID);
    cr_assert_eq(wp_test_header(&rep, json_array_get(a, 1), id, sizeof id, &res), -1);
    cr_assert_eq(wp_test_header(&rep, json_array_get(a, 2), id, sizeof id, &res), -1);
    counts(0, 2, 0);
    json_decref(a);
}

/* ---- MAC family ------------------------------------------------------ */

/* RFC 4231 test case 2 under HMAC-SHA256. */
#define JEFE_KEY "\"key\": \"4a656665\""
#define JEFE_MSG "\"msg\": \"7768617420646f2079612077616e7420666f72206e6f7468696e673f\""
#define JEFE_TAG "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
#define JEFE_BAD "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3842"
#define MAC_TEST(id, tag, result)                                                            \
    "{\"tcId\": " #id ", " JEFE_KEY ", " JEFE_MSG ", \"tag\": \"" tag "\", \"result\": \"" \
    result "\", \"flags\": []}"

static const char mac_json[] =
    "{\"schema\": \"mac_test_schema_v1.json\", \"algorithm\": \"HMACSHA256\","
    " \"numberOfTests\": 9, \"testGroups\": ["
    "{\"tagSize\": 256, \"tests\": [" MAC_TEST(1, JEFE_TAG, "valid") ","
    MAC_TEST(2, JEFE_BAD, "invalid") "," MAC_TEST(3, JEFE_BAD, "valid") ","
    MAC_TEST(4, JEFE_TAG, "acceptable") "]},"
    "{\"tagSize\": 128, \"tests\": [" MAC_TEST(5, "5bdcc146bf60754e6a042426089575c7", "valid") ","
    MAC_TEST(6, JEFE_TAG, "invalid") "," MAC_TEST(7, "5bdcc146bf60754e6a042426089575c6",
                                                  "acceptable") "]},"
    "{\"tagSize\": 12, \"tests\": [" MAC_TEST(8, JEFE_TAG, "valid") ","
    MAC_TEST(9, JEFE_TAG, "invalid") "]}]}";

static void mac_family_truncates_and_applies_the_policy(void)
{
    json_t *root = parse(mac_json);
    hv_wycheproof_mac(&rep, root);
    counts(6, 2, 1);
    cr_assert_eq(rep.accepted, 1);
    cr_assert_eq(rep.rejected, 1);
    cr_assert_str_eq(rep.failures[0], "tcId 3: valid case rejected (tag mismatch)");
    cr_assert_str_eq(rep.failures[1], "tcId 8: valid case not run: tag size 12 bits not usable");
    cr_assert_str_eq(rep.skips[0].text, "tag size 12 bits not usable");
    json_decref(root);
}

static void mac_family_checks_count_and_algorithm(void)
{
    json_t *root = parse(mac_json);
    cr_assert_eq(json_object_set_new(root, "numberOfTests", json_integer(10)), 0);
    hv_wycheproof_mac(&rep, root);
    counts(6, 3, 1);
    cr_assert_str_eq(rep.failures[2], "file: numberOfTests is 10 but the file holds 9 tests");

    reset();
    cr_assert_eq(json_object_set_new(root, "algorithm", json_string("HMACSHA1")), 0);
    hv_wycheproof_mac(&rep, root);
    counts(0, 1, 0);
    json_decref(root);
}

/* ---- signature families ---------------------------------------------- */

static void verify_family_unloadable_key_fails_valid_and_skips_others(void)
{
    json_t *root = parse(
        "{\"testGroups\": [{\"publicKeyPem\": \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n"
        "-----END PUBLIC KEY-----\\n\", \"tests\": ["
        "{\"tcId\": 1, \"msg\": \"\", \"sig\": \"00\", \"result\": \"valid\"},"
        "{\"tcId\": 2, \"msg\": \"\", \"sig\": \"00\", \"result\": \"invalid\"},"
        "{\"tcId\": 3, \"msg\": \"\", \"sig\": \"00\", \"result\": \"acceptable\"}]}]}");
    hv_wycheproof_rsa_verify(&rep, root);
    counts(0, 1, 2);
    cr_assert_eq(rep.nskips, 1);
    cr_assert(strncmp(rep.skips[0].text, "key refused by the library (", 28) == 0, "%s",
              rep.skips[0].text);
    json_decref(root);
}

/* A group of the real RSA-2048 file cut down to its first valid and first
 * invalid test; flipping their results must turn both into failures. */
static void verify_family_runs_real_cases_both_ways(void)
{
    char err[256];
    json_t *file = ju_load("vectors/wycheproof/rsa_signature_2048_sha256_test.json", err,
                           sizeof err);
    cr_assert_not_null(file, "%s", err);
    json_t *group = json_array_get(ju_array(file, "testGroups"), 0);
    json_t *tests = ju_array(group, "tests");
    json_t *valid = NULL, *invalid = NULL, *t;
    size_t i;
    json_array_foreach(tests, i, t) {
        const char *res = ju_string(t, "result");
        if (valid == NULL && strcmp(res, "valid") == 0)
            valid = t;
        if (invalid == NULL && strcmp(res, "invalid") == 0)
            invalid = t;
    }
    cr_assert(valid != NULL && invalid != NULL);
    json_t *mini = json_pack("{s:[{s:O,s:i,s:[O,O]}]}", "testGroups", "publicKeyPem",
                             json_object_get(group, "publicKeyPem"), "keySize", 2048, "tests",
                             valid, invalid);
    cr_assert_not_null(mini);
    hv_wycheproof_rsa_verify(&rep, mini);
    counts(2, 0, 0);

    reset();
    cr_assert_eq(json_object_set_new(valid, "result", json_string("invalid")), 0);
    cr_assert_eq(json_object_set_new(invalid, "result", json_string("valid")), 0);
    hv_wycheproof_rsa_verify(&rep, mini);
    counts(0, 2, 0);

    /* The same group announced as DSA: the key type does not match. */
    reset();
    hv_wycheproof_dsa_verify(&rep, mini);
    counts(0, 1, 1);
    cr_assert_str_eq(rep.skips[0].text, "key loaded with the wrong type");
    json_decref(mini);
    json_decref(file);
}

static void generate_family_skips_other_hashes_with_reason(void)
{
    json_t *root = parse("{\"testGroups\": [{\"sha\": \"SHA-384\", \"privateKeyPem\": \"x\","
                         " \"tests\": [{\"tcId\": 1, \"msg\": \"\", \"sig\": \"00\","
                         " \"result\": \"valid\"}]}]}");
    hv_wycheproof_rsa_generate(&rep, root);
    counts(0, 0, 1);
    cr_assert_str_eq(rep.skips[0].text, "group hash SHA-384: only SHA-256 is signed");
    json_decref(root);
}

/* ---- ESession protocol files ----------------------------------------- */

static void esession_every_test_gets_one_result_and_unknown_types_fail(void)
{
    json_t *root = parse("{\"schema\": \"esession-offline-vectors-v1\", \"testGroups\": ["
                         "{\"type\": \"OfflineSession\", \"tests\": [{\"tcId\": 1}]},"
                         "{\"type\": \"OfflineAccept\", \"tests\": [{\"tcId\": 1},"
                         " {\"tcId\": 2}]},"
                         "{\"type\": \"Bogus\", \"tests\": [{\"tcId\": 1}]},"
                         "{\"tests\": []}]}");
    hv_esession_offline(&rep, root);
    /* Every test of a known group type gets a verdict (here failures: the
     * groups lack alice and bob), none is skipped, and the two faulty
     * groups fail too. */
    cr_assert_eq(rep.skipped, 0);
    cr_assert_eq(rep.passed, 0);
    cr_assert_geq(rep.failed, 1 + 2 + 2);
    json_decref(root);
}

/* ---- record files ---------------------------------------------------- */

/* One record from name/value pairs (string literals are writable char[]). */
#define FILL(rec, kv, line) fill(rec, kv, sizeof kv / sizeof kv[0] / 2, line)
static void fill(vec_record *rec, char **kv, size_t n, unsigned line)
{
    memset(rec, 0, sizeof *rec);
    rec->line = line;
    for (size_t i = 0; i < n; i++) {
        rec->fields[i].name = kv[2 * i];
        rec->fields[i].value = kv[2 * i + 1];
    }
    rec->count = n;
}

static void base64_records_both_ways_and_skips_other_encodings(void)
{
    char *good[] = { "name", "g", "encoding", "base64", "input_hex", "666f6f62",
                     "output", "Zm9vYg==" };
    char *bad[] = { "name", "b", "encoding", "base64", "input_hex", "666f6f62",
                    "output", "Zm9vYw==" };
    char *b32[] = { "name", "t", "encoding", "base32", "input_hex", "66", "output", "MY======" };
    vec_record recs[3];
    FILL(&recs[0], good, 1);
    FILL(&recs[1], bad, 6);
    FILL(&recs[2], b32, 11);
    vec_file f = { recs, 3, NULL };
    hv_txt_base64(&rep, &f, "base64_x.txt");
    counts(1, 1, 1);
    cr_assert_str_eq(rep.skips[0].text, "not base64");
    cr_assert(strncmp(rep.failures[0], "line 6 (b): ", 12) == 0, "%s", rep.failures[0]);
}

static void datetime_records_rejections_and_profiles(void)
{
    char *ok[] = { "name", "a", "profile", "datetime", "input", "1969-07-20T21:56:15-05:00",
                   "utc", "1969-07-21T02:56:15Z", "unix_time", "-14159025" };
    char *off[] = { "name", "b", "profile", "datetime", "input", "2002-09-10T23:08:25Z",
                    "utc", "2002-09-10T23:08:25Z", "unix_time", "1031699306" };
    char *no[] = { "name", "c", "profile", "datetime", "input", "2004-05-10T11:00Z",
                   "xep0082_datetime", "no" };
    char *wrong_no[] = { "name", "d", "profile", "datetime", "input", "2004-05-10T11:00:00Z",
                         "xep0082_datetime", "no" };
    char *date[] = { "name", "e", "profile", "date", "input", "1776-07-04" };
    vec_record recs[5];
    FILL(&recs[0], ok, 1);
    FILL(&recs[1], off, 2);
    FILL(&recs[2], no, 3);
    FILL(&recs[3], wrong_no, 4);
    FILL(&recs[4], date, 5);
    vec_file f = { recs, 5, NULL };
    hv_txt_datetime(&rep, &f, "xep0082_datetimes.txt");
    counts(2, 2, 1);
    cr_assert_str_eq(rep.skips[0].text, "not a DateTime");
}

static void hash_records_expand_repeat_and_check_lengths(void)
{
    char *abc3[] = { "name", "a", "message", "616263", "repeat", "3", "len_bits", "72",
                     "digest", "76b99ab4be8521d78b19bcff7d1078aabeb477bd134f404094c92cd39f051c3e" };
    char *badlen[] = { "name", "b", "message", "616263", "repeat", "3", "len_bits", "24",
                       "digest",
                       "76b99ab4be8521d78b19bcff7d1078aabeb477bd134f404094c92cd39f051c3e" };
    /* "abc" with the last digest octet changed. */
    char *abc[] = { "name", "c", "message", "616263", "repeat", "1", "digest",
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae" };
    vec_record recs[3];
    FILL(&recs[0], abc3, 1);
    FILL(&recs[1], badlen, 2);
    FILL(&recs[2], abc, 3);
    vec_file f = { recs, 3, NULL };
    hv_txt_hash(&rep, &f, "sha256.txt");
    counts(1, 2, 0);
    cr_assert(strstr(rep.failures[0], "len_bits") != NULL, "%s", rep.failures[0]);
    cr_assert(strstr(rep.failures[1], "digest differs") != NULL, "%s", rep.failures[1]);

    reset();
    hv_txt_hash(&rep, &f, "md5.txt");
    counts(0, 1, 0);
}

static void aes_records_check_output_and_counter(void)
{
    /* SP 800-38A F.5.1, first block, and a copy with one ciphertext bit off. */
    char *good[] = { "name", "g", "key", "2b7e151628aed2a6abf7158809cf4f3c",
                     "icb", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                     "plaintext", "6bc1bee22e409f96e93d7e117393172a",
                     "ciphertext", "874d6191b620e3261bef6864990db6ce",
                     "counter_blocks", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff" };
    char *bad[] = { "name", "b", "key", "2b7e151628aed2a6abf7158809cf4f3c",
                    "icb", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                    "plaintext", "6bc1bee22e409f96e93d7e117393172a",
                    "ciphertext", "874d6191b620e3261bef6864990db6cf" };
    char *badctr[] = { "name", "c", "key", "2b7e151628aed2a6abf7158809cf4f3c",
                       "icb", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                       "plaintext", "6bc1bee22e409f96e93d7e117393172a",
                       "ciphertext", "874d6191b620e3261bef6864990db6ce",
                       "counter_blocks", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfe00" };
    char *badkey[] = { "name", "k", "key", "2b7e", "icb", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                       "plaintext", "", "ciphertext", "" };
    vec_record recs[4];
    FILL(&recs[0], good, 1);
    FILL(&recs[1], bad, 2);
    FILL(&recs[2], badctr, 3);
    FILL(&recs[3], badkey, 4);
    vec_file f = { recs, 4, NULL };
    hv_txt_aes_ctr(&rep, &f, "aes_ctr_x.txt");
    counts(1, 3, 0);
    cr_assert(strstr(rep.failures[0], "encrypt: output differs") != NULL, "%s",
              rep.failures[0]);
    cr_assert(strstr(rep.failures[1], "block 0: counter is") != NULL, "%s", rep.failures[1]);
}

static void counter_reference_carries_across_all_octets(void)
{
    uint8_t c[16];
    memset(c, 0xff, sizeof c);
    c[15] = 0xfe;
    ctr_add_ref(c, 3);
    for (size_t i = 0; i < 15; i++)
        cr_assert_eq(c[i], 0);
    cr_assert_eq(c[15], 1);
}

static void modp_records_against_the_library(void)
{
    char p1[] = "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a3620ffffffffffffffff";
    char *ok[] = { "group", "1", "bits", "768", "p", p1 };
    char *wrong_group[] = { "group", "2", "bits", "768", "p", p1 };
    char *wrong_bits[] = { "group", "1", "bits", "769", "p", p1 };
    char *not_modp[] = { "group", "3", "bits", "768", "p", p1 };
    vec_record recs[4];
    FILL(&recs[0], ok, 1);
    FILL(&recs[1], wrong_group, 2);
    FILL(&recs[2], wrong_bits, 3);
    FILL(&recs[3], not_modp, 4);
    vec_file f = { recs, 4, NULL };
    hv_txt_modp(&rep, &f, "modp_groups.txt");
    counts(1, 3, 0);
    cr_assert(strncmp(rep.failures[0], "line 2 (group 2): es_modp_bits", 30) == 0, "%s",
              rep.failures[0]);
}

/* The real RFC 6979 file with the first signature's last octet changed in
 * both sig and s: that verification fails, everything else is unchanged. */
static void dsa_records_verify_sign_and_skip(void)
{
    vec_file f;
    cr_assert_eq(vec_file_load(&f, "vectors/dsa_2048_256_sha256_rfc6979.txt"), 0);
    cr_assert_eq(f.count, 3);
    hv_txt_dsa(&rep, &f, "dsa_2048_256_sha256_rfc6979.txt");
    counts(4, 0, 2);
    cr_assert_str_eq(rep.skips[0].text, RESIGN_SKIP);

    reset();
    for (size_t i = 0; i < f.records[1].count; i++) {
        vec_field *fl = &f.records[1].fields[i];
        if (strcmp(fl->name, "sig") == 0 || strcmp(fl->name, "s") == 0) {
            char *last = fl->value + strlen(fl->value) - 1;
            *last = *last == '0' ? '1' : '0';
        }
    }
    hv_txt_dsa(&rep, &f, "dsa_2048_256_sha256_rfc6979.txt");
    counts(3, 1, 2);
    cr_assert(strstr(rep.failures[0], "verify: signature rejected (bad-signature") != NULL, "%s",
              rep.failures[0]);
    vec_file_free(&f);
}

/* ---- the tests: few processes, as each costs seconds under valgrind -- */

TestSuite(harness, .init = setup, .fini = teardown);

Test(harness, report_counts_prints_and_names_cases)
{
    report_counts_and_prints_failures_acceptable_and_skip_reasons();
    reset();
    report_of_a_clean_file_is_one_line();
    reset();
    record_id_names_line_and_name();
}

Test(harness, json_loading_and_accessors)
{
    ju_load_refuses_missing_directories_and_bad_json();
    reset();
    ju_accessors_check_types();
}

Test(harness, pem_building)
{
    pem_from_der_wraps_at_64_and_round_trips();
    reset();
    dsa_pem_refuses_bad_hex();
}

Test(harness, wycheproof_policy_and_headers)
{
    verdict_policy();
    reset();
    test_header_needs_tcid_and_known_result();
}

Test(harness, mac_family)
{
    mac_family_truncates_and_applies_the_policy();
    reset();
    mac_family_checks_count_and_algorithm();
}

Test(harness, signature_families)
{
    verify_family_unloadable_key_fails_valid_and_skips_others();
    reset();
    verify_family_runs_real_cases_both_ways();
    reset();
    generate_family_skips_other_hashes_with_reason();
}

Test(harness, esession_files)
{
    esession_every_test_gets_one_result_and_unknown_types_fail();
}

Test(harness, record_files)
{
    base64_records_both_ways_and_skips_other_encodings();
    reset();
    datetime_records_rejections_and_profiles();
    reset();
    hash_records_expand_repeat_and_check_lengths();
    reset();
    aes_records_check_output_and_counter();
    reset();
    counter_reference_carries_across_all_octets();
    reset();
    modp_records_against_the_library();
    reset();
    dsa_records_verify_sign_and_skip();
}

/* The vectors' DSA signer reproduces RFC 6979 A.2.2 (SHA-256) exactly. */
Test(harness, rfc6979_signer)
{
    vec_file f;
    cr_assert_eq(vec_file_load(&f, "vectors/dsa_2048_256_sha256_rfc6979.txt"), 0);
    const vec_record *kr = &f.records[0];
    char *pem = hv_dsa_pem(vec_get(kr, "p"), vec_get(kr, "q"), vec_get(kr, "g"), vec_get(kr, "y"),
                           vec_get(kr, "x"));
    cr_assert_not_null(pem);
    esession_key *k = NULL;
    cr_assert_eq(esession_key_from_pem(ctx, &k, pem, strlen(pem)), ESESSION_OK);
    free(pem);
    size_t checked = 0;
    for (size_t i = 1; i < f.count; i++) {
        const char *msg = vec_get(&f.records[i], "msg"), *want = vec_get(&f.records[i], "sig");
        if (msg == NULL || want == NULL)
            continue;
        json_t *o = json_pack("{ssss}", "m", msg, "s", want);
        size_t mn = 0, sn = 0, len = 0;
        uint8_t *m = ju_hex(o, "m", &mn), *s = ju_hex(o, "s", &sn);
        uint8_t sig[ES_SIG_MAX_BYTES];
        cr_assert_eq(hv_rfc6979_dsa_sign(k, m, mn, sig, &len), ESESSION_OK);
        cr_assert_eq(len, sn);
        cr_assert_arr_eq(sig, s, sn, "RFC 6979 signature of record %zu", i);
        cr_assert_eq(es_verify(ctx, k, m, mn, sig, len), ESESSION_OK);
        free(m);
        free(s);
        json_decref(o);
        checked++;
    }
    cr_assert_eq(checked, 2);
    /* Not for RSA keys. */
    esession_key *rsa = NULL;
    FILE *fp = fopen("tests/data/rsa2048.pem", "rb");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    cr_assert_eq(esession_key_from_pem(ctx, &rsa, buf, n), ESESSION_OK);
    size_t len = 0;
    uint8_t sig[ES_SIG_MAX_BYTES];
    cr_assert_eq(hv_rfc6979_dsa_sign(rsa, (const uint8_t *)"m", 1, sig, &len),
                 ESESSION_ERR_INTERNAL);
    esession_key_free(rsa);
    esession_key_free(k);
    vec_file_free(&f);
}
