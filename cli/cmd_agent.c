/* SPDX-License-Identifier: ISC */
/* The agent command: ask a keystore's passphrase once, hand the key
 * derived from it to this user's agent (starting one if none runs); list,
 * forget, stop. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char agent_usage[] =
    "Usage: esessionctl agent [-k PATH] [--timeout TIME] [--passphrase-fd N | --passphrase-file PATH]\n"
    "       esessionctl agent --list\n"
    "       esessionctl agent --forget [-k PATH]\n"
    "       esessionctl agent --stop\n"
    "Ask the keystore's passphrase once and let a background agent (started if none\n"
    "runs) hold the key derived from it for TIME: meanwhile commands on this keystore\n"
    "ask for no passphrase. The agent holds no passphrase, writes nothing to disk,\n"
    "and answers only processes of this user, on a socket in $XDG_RUNTIME_DIR/esession/.\n"
    "  -k, --keystore PATH     the keystore (default: $ESESSION_KEYSTORE, else\n"
    "                          $XDG_DATA_HOME/esession/keystore)\n"
    "  --passphrase-fd N       read the passphrase from the first line of fd N\n"
    "  --passphrase-file PATH  read it from the first line of PATH\n"
    "  --timeout TIME          how long the key is held: N[s|m|h] (default 15m, at most 24h)\n"
    "  --list                  the keystores whose keys the agent holds, and for how long\n"
    "  --forget                drop the key of the keystore (-k PATH or the default)\n"
    "  --stop                  drop every key and end the agent\n";

enum { O_TIMEOUT = 1, O_LIST, O_FORGET, O_STOP };

typedef struct agent_opts {
    int64_t timeout;
    int timeout_set;
    int action; /* 0 (hold a key), O_LIST, O_FORGET or O_STOP */
} agent_opts;

static int agent_opt(cli *c, int id, const char *arg, void *u)
{
    agent_opts *o = u;
    switch (id) {
    case O_TIMEOUT:
        if (cli_parse_duration(arg, &o->timeout) != 0 || o->timeout > AGENT_TIMEOUT_MAX)
            return cli_usage_error(c, "--timeout is N[s|m|h], at most 24h");
        o->timeout_set = 1;
        return 0;
    case O_LIST:
    case O_FORGET:
    case O_STOP:
        if (o->action != 0 && o->action != id)
            return cli_usage_error(c, "--list, --forget and --stop go one at a time");
        o->action = id;
        return 0;
    default:
        return cli_common_opt(c, id, arg) < 0 ? CLI_EXIT_USAGE : 0;
    }
}

/* "15m", "1h30m", "45s". */
static void duration_text(int64_t s, char *out, size_t n)
{
    if (s >= 3600)
        snprintf(out, n, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60 && s % 60 != 0)
        snprintf(out, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s >= 60)
        snprintf(out, n, "%lldm", (long long)(s / 60));
    else
        snprintf(out, n, "%llds", (long long)s);
}

/* A socket bound to w->sock, replacing a stale one (its agent gone); the
 * agent itself listens on it. */
static int bind_at(const cli *c, const agent_where *w)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, w->sock, strlen(w->sock) + 1);
    if (unlink(w->sock) != 0 && errno != ENOENT) {
        cli_err(c, "cannot replace %s: %s", w->sock, strerror(errno));
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(077);
    int r = fd >= 0 ? bind(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
    umask(old);
    if (r != 0) {
        cli_err(c, "cannot bind %s: %s", w->sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Connect to the running agent, or start one holding key (then *started). */
static int reach_or_start(const cli *c, const agent_where *w, const char *canon, uint8_t *key,
                          uint32_t seconds, pid_t *pid, int *started)
{
    int fd = agent_connect(c, w, pid);
    *started = 0;
    if (fd >= 0)
        return fd;
    /* Two commands starting an agent at once: one starts it, the other
     * finds it. */
    char lock[sizeof w->dir + 16];
    snprintf(lock, sizeof lock, "%s/agent.lock", w->dir);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        cli_err(c, "cannot lock %s: %s", lock, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return -2;
    }
    fd = agent_connect(c, w, pid);
    if (fd < 0) {
        int sfd = bind_at(c, w);
        if (sfd < 0 || agent_spawn(c, w, sfd, canon, key, seconds, pid) != 0)
            fd = -2;
        else
            *started = 1;
        if (sfd >= 0)
            close(sfd);
    }
    close(lfd); /* releases the lock */
    return fd;
}

static int hold_key(cli *c, const agent_opts *o)
{
    const char *path = cli_keystore_path(c);
    char canon[AGENT_PATH_MAX];
    agent_where w;
    if (agent_canon(path, canon) != 0) {
        cli_err(c, "no keystore at %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    /* The agent's directory first: no passphrase is asked for nothing. */
    if (agent_where_get(c, &w) != 0 || agent_dir_ok(c, &w, 1) != 0)
        return CLI_EXIT_IO;
    /* This process holds the key for a moment too. */
    agent_harden();
    int rc = cli_ctx(c);
    if (rc != CLI_OK)
        return rc;
    cli_pass pass = {0};
    if ((rc = cli_pass_get(c, &pass)) != CLI_OK)
        return rc;
    uint8_t *key = sodium_malloc(ESESSION_KEYSTORE_KEY_BYTES);
    esession_status st = key == NULL ? ESESSION_ERR_NO_MEMORY
                                     : esession_keystore_derive_key(c->ctx, path, pass.data,
                                                                    pass.len, key);
    cli_pass_free(&pass);
    if (st != ESESSION_OK) {
        if (key != NULL)
            sodium_free(key);
        return cli_open_failed(c, path, st);
    }
    uint32_t seconds = (uint32_t)(o->timeout_set ? o->timeout : AGENT_TIMEOUT_DEFAULT);
    pid_t pid = 0;
    int started;
    int fd = reach_or_start(c, &w, canon, key, seconds, &pid, &started);
    if (fd >= 0) {
        uint8_t secs[4] = {(uint8_t)(seconds >> 24), (uint8_t)(seconds >> 16),
                           (uint8_t)(seconds >> 8), (uint8_t)seconds};
        if (agent_request(fd, AGENT_ADD, secs, 4, key, canon, strlen(canon), NULL, NULL) !=
            AGENT_R_OK) {
            cli_err(c, "the agent (pid %ld) refused the key", (long)pid);
            fd = -2;
        }
    } else if (fd == -1 && !started) {
        fd = -2; /* neither reached nor started */
    }
    sodium_free(key); /* wipes */
    if (fd == -2)
        return CLI_EXIT_IO;
    char t[32];
    duration_text(seconds, t, sizeof t);
    printf("%s: key held for %s by the agent (pid %ld%s)\n", canon, t, (long)pid,
           started ? ", started" : "");
    return CLI_OK;
}

static int list_keys(const cli *c, const agent_where *w)
{
    pid_t pid = 0;
    char *text = NULL;
    int fd = agent_connect(c, w, &pid);
    if (fd < 0) {
        cli_err(c, "no agent is running");
        return CLI_EXIT_CONFLICT;
    }
    if (agent_request(fd, AGENT_LIST, NULL, 0, NULL, NULL, 0, NULL, &text) != AGENT_R_OK) {
        cli_err(c, "the agent (pid %ld) did not answer", (long)pid);
        return CLI_EXIT_IO;
    }
    printf("agent: pid %ld, socket %s\n", (long)pid, w->sock);
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (tab == NULL)
            continue;
        *tab = '\0';
        char t[32];
        duration_text(strtoll(line, NULL, 10), t, sizeof t);
        printf("%s  %s left\n", tab + 1, t);
    }
    free(text);
    return CLI_OK;
}

static int forget_or_stop(cli *c, const agent_where *w, int action)
{
    char canon[AGENT_PATH_MAX];
    if (action == O_FORGET && agent_canon(cli_keystore_path(c), canon) != 0) {
        cli_err(c, "no keystore at %s: %s", cli_keystore_path(c), strerror(errno));
        return CLI_EXIT_IO;
    }
    int fd = agent_connect(c, w, NULL);
    if (fd < 0) {
        cli_err(c, "no agent is running");
        return CLI_EXIT_CONFLICT;
    }
    int r = action == O_STOP
                ? agent_request(fd, AGENT_STOP, NULL, 0, NULL, NULL, 0, NULL, NULL)
                : agent_request(fd, AGENT_FORGET, canon, strlen(canon), NULL, NULL, 0, NULL, NULL);
    if (r == AGENT_R_NONE) {
        cli_err(c, "the agent holds no key for %s", canon);
        return CLI_EXIT_CONFLICT;
    }
    if (r != AGENT_R_OK) {
        cli_err(c, "the agent did not answer");
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

int cmd_agent(int argc, char **argv)
{
    static const cli_optdef defs[] = {CLI_OPT_HELP, CLI_OPT_KEYSTORE, CLI_OPT_PASS_FD,
                                      CLI_OPT_PASS_FILE,
                                      {"timeout", 0, OPT_ARG_REQUIRED, O_TIMEOUT},
                                      {"list", 0, OPT_ARG_NONE, O_LIST},
                                      {"forget", 0, OPT_ARG_NONE, O_FORGET},
                                      {"stop", 0, OPT_ARG_NONE, O_STOP},
                                      CLI_OPT_END};
    cli c;
    agent_opts o;
    memset(&o, 0, sizeof o);
    cli_begin(&c, "agent", agent_usage);
    int rc = cli_parse_args(&c, argc, argv, defs, NULL, 0, NULL, agent_opt, &o);
    if (rc != CLI_OK)
        return cli_parse_exit(&c, rc);
    if (o.action != 0 && (o.timeout_set || c.pass_fd >= 0 || c.pass_file != NULL))
        return cli_usage_error(&c, "--timeout and a passphrase go with holding a key only");
    if ((o.action == O_LIST || o.action == O_STOP) && c.ks_path != NULL)
        return cli_usage_error(&c, "--list and --stop concern every keystore: no -k");
    if (o.action == 0)
        return cli_end(&c, hold_key(&c, &o));
    agent_where w;
    if (agent_where_get(&c, &w) != 0)
        return CLI_EXIT_IO;
    rc = o.action == O_LIST ? list_keys(&c, &w) : forget_or_stop(&c, &w, o.action);
    return cli_end(&c, rc);
}
