/* SPDX-License-Identifier: ISC */
/* Alice's receiver fed arbitrary stanzas (esession_receiver_feed) on a
 * keystore holding a real option set and one open session.
 *
 * Input: up to MAX_STANZAS stanzas separated by NUL octets, fed in order
 * inside one keystore batch that is rolled back afterwards, so that every
 * input starts from the same stored state (the receiver notices the
 * rollback and reloads). Results are drained, messages confirmed, and the
 * unconfirmed inbox (the first message of the session) is read back with
 * esession_receiver_pending. */
#include "fuzz_common.h"

#include <string.h>

#define MAX_STANZAS 8

static fz_open_session session;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_open_session_make(&session);
    return 0;
}

static void drain(esession_receiver *r)
{
    esession_result res;
    while (esession_receiver_next(r, &res)) {
        if (res.kind == ESESSION_RESULT_MESSAGE &&
            esession_receiver_confirm(r, &res) != ESESSION_OK)
            fz_die("confirm failed");
        esession_result_free(&res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    esession_receiver *r = session.receiver;
    const char *text = (const char *)data;
    size_t start = 0;

    fz_reseed(2);
    fz_check(esession_keystore_begin(session.alice.ks), session.alice.ctx, "begin");
    for (size_t n = 0; n < MAX_STANZAS && start <= size; n++) {
        const char *nul = size > start ? memchr(text + start, '\0', size - start) : NULL;
        size_t end = nul != NULL ? (size_t)(nul - text) : size;
        if (esession_receiver_feed(r, text + start, end - start, n) != ESESSION_OK)
            fz_die("receiver_feed refused a stanza");
        drain(r);
        start = end + 1;
    }
    size_t pending = 0;
    if (esession_receiver_pending(r, &pending) == ESESSION_OK)
        drain(r);
    esession_keystore_rollback(session.alice.ks);
    return 0;
}
