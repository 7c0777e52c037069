/* SPDX-License-Identifier: ISC */
/* ESession protocol vectors (schemas esession-offline-vectors-v1 and
 * esession-vectors-v1.1). Each group
 * type has a runner; a type whose runner is not there yet has its tests
 * skipped. A runner receives the whole group and records one result per
 * test, identified as "group G tcId N". */
#include "harness.h"

#include <string.h>

#include "esession_session.h"
#include "json_util.h"

typedef void (*esv_runner)(hv_report *r, json_t *group, size_t gi);

static void skip_group(hv_report *r, json_t *tests, size_t gi, const char *reason);

/* Step (1), Alice's options form, then steps (2) and (3): Bob seals,
 * Alice opens. */
static void run_session(hv_report *r, json_t *group, size_t gi)
{
    hv_esession_options(r, group, gi);
    hv_esession_session(r, group, gi);
}

static const struct {
    const char *type;
    esv_runner run; /* NULL: the protocol engine is not available yet */
} runners[] = {
    { "OfflineSession", run_session },
    { "OfflineAccept", hv_esession_accept },
    { "OnlineSession", hv_esession_online },
    { "OnlineNegative", hv_esession_online },
};

static void skip_group(hv_report *r, json_t *tests, size_t gi, const char *reason)
{
    size_t ti;
    json_t *test;
    json_array_foreach(tests, ti, test) {
        char id[HV_ID_MAX];
        long long tc;
        if (ju_integer(test, "tcId", &tc) != 0) {
            snprintf(id, sizeof id, "group %zu test %zu", gi, ti);
            hv_fail(r, id, "test without a tcId");
            continue;
        }
        snprintf(id, sizeof id, "group %zu tcId %lld", gi, tc);
        hv_skip(r, id, reason);
    }
}

void hv_esession_offline(hv_report *r, json_t *root)
{
    json_t *groups = ju_array(root, "testGroups");
    if (groups == NULL) {
        hv_fail(r, "file", "no testGroups array");
        return;
    }
    size_t gi;
    json_t *group;
    json_array_foreach(groups, gi, group) {
        char gid[48];
        snprintf(gid, sizeof gid, "group %zu", gi);
        const char *type = ju_string(group, "type");
        json_t *tests = ju_array(group, "tests");
        if (type == NULL || tests == NULL) {
            hv_fail(r, gid, "group without a type or a tests array");
            continue;
        }
        size_t k;
        for (k = 0; k < sizeof runners / sizeof runners[0]; k++)
            if (strcmp(runners[k].type, type) == 0)
                break;
        if (k == sizeof runners / sizeof runners[0])
            hv_fail(r, gid, "unknown group type \"%s\"", type);
        else if (runners[k].run == NULL)
            skip_group(r, tests, gi, "protocol engine not available");
        else
            runners[k].run(r, group, gi);
    }
}
