/* SPDX-License-Identifier: ISC */
/* Bob's esession_sender_start over an arbitrary PEP items result: the IQ
 * and pubsub structure, the data form, the options checks, the signature
 * check against Alice's trusted keys (RSA and DSA), expiry at the fixed
 * clock, the choice of options and the key exchange. A start that
 * succeeds seals one message and terminates, and Bob's keystore is reset,
 * so that every input meets the same keystore. The IQ id is FZ_IQ_ID. */
#include "fuzz_common.h"

#include <string.h>

static fz_party bob;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned alerts;
    (void)argc;
    (void)argv;
    fz_reseed(5);
    bob = fz_bob("bob.ks");
    esession_key *dsa = fz_key(bob.ctx, "vec_dsa_alice.pem");
    fz_check(esession_trust_add(bob.ks, FZ_ALICE, dsa, "", &alerts), bob.ctx, "trust");
    esession_key_free(dsa);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char msg[] = "<message to='" FZ_ALICE "'><body>hi</body></message>";
    esession_sender_options o = ESESSION_SENDER_OPTIONS_INIT;
    esession_sender *s = NULL;
    esession_buf st = {NULL, 0, 0}, term = {NULL, 0, 0};

    fz_reseed(6);
    o.allow_weak_groups = 1;
    if (esession_sender_start(bob.ctx, bob.ks, FZ_BOB, FZ_ALICE, FZ_IQ_ID, (const char *)data,
                              size, &o, &s) != ESESSION_OK)
        return 0;
    if (esession_sender_seal(s, msg, sizeof msg - 1, &st) != ESESSION_OK)
        fz_die("seal after a successful start failed");
    if (esession_sender_terminate(s, &term) != ESESSION_OK)
        fz_die("terminate failed");
    esession_buf_free(&st);
    esession_buf_free(&term);
    esession_sender_free(s);
    fz_bob_reset(&bob);
    return 0;
}
