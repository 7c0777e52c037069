/* SPDX-License-Identifier: ISC */
/* Handing an opened message to durable output: a delivery command (plaintext
 * on its standard input, metadata in its environment; exit status 0 means
 * stored), or standard output, synced when it is a file. Only after this
 * succeeds may the stanza leave the server. */
#include "xcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Metadata of an opened message, as text. */
typedef struct xdeliver_meta {
    char position[33];
    char created[40];
    char delay[40];
    char key[2 * ESESSION_FINGERPRINT_BYTES + 1];
} xdeliver_meta;

static int plain(const esession_result *res)
{
    return res->kind == ESESSION_RESULT_PLAIN;
}

static void meta(const esession_result *res, xdeliver_meta *m)
{
    memset(m, 0, sizeof *m);
    if (!plain(res)) {
        cli_hex(res->counter, sizeof res->counter, m->position);
        cli_hex(res->key_fingerprint, sizeof res->key_fingerprint, m->key);
    }
    if (res->has_created)
        cli_time_text(res->created, m->created, sizeof m->created);
    if (res->has_delay)
        cli_time_text(res->delay, m->delay, sizeof m->delay);
}

static void child_env(const esession_result *res, const xdeliver_meta *m)
{
    setenv("ESESSION_FROM", res->from.data ? res->from.data : "", 1);
    setenv("ESESSION_FROM_BARE", res->from_bare.data ? res->from_bare.data : "", 1);
    setenv("ESESSION_THREAD", res->thread.data ? res->thread.data : "", 1);
    setenv("ESESSION_POSITION", m->position, 1);
    setenv("ESESSION_CREATED", m->created, 1);
    setenv("ESESSION_DELAY", m->delay, 1);
    setenv("ESESSION_ID", res->id, 1);
    setenv("ESESSION_ENCRYPTED", plain(res) ? "0" : "1", 1);
    setenv("ESESSION_KEY", m->key, 1);
    setenv("ESESSION_KEY_STATE", plain(res) ? "" : cli_key_state_name(res->key_state), 1);
}

/* Write into the empty pipe what fits without blocking; how much went. */
static size_t prefill(int fd, const char *data, size_t len)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return 0;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    (void)fcntl(fd, F_SETFL, flags);
    return done;
}

static int run_command(const cli *c, const char *cmd, const esession_result *res)
{
    xdeliver_meta m;
    meta(res, &m);
    const char *text = res->plaintext.data ? res->plaintext.data : "";
    int p[2];
    if (pipe(p) != 0) {
        cli_err(c, "cannot start the delivery command: %s", strerror(errno));
        return CLI_EXIT_IO;
    }
    /* The message is in the pipe before the command starts (all of it
     * unless it exceeds the pipe's capacity, 64 KiB on Linux): if we die
     * while the command runs, it still reads the whole message, never a
     * cut one it would store as if complete. */
    size_t pre = prefill(p[1], text, res->plaintext.len);
    pid_t pid = fork();
    if (pid < 0) {
        cli_err(c, "cannot start the delivery command: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return CLI_EXIT_IO;
    }
    if (pid == 0) {
        close(p[1]);
        if (dup2(p[0], STDIN_FILENO) < 0)
            _exit(126);
        close(p[0]);
        /* Nothing else of ours (the server connection, files) goes along. */
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = STDERR_FILENO + 1; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close(fd);
        child_env(res, &m);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    /* A command that stops reading must not kill us: SIGPIPE is ignored
     * for the write, and the exit status decides. */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    int wrc = cli_write_all(p[1], text + pre, res->plaintext.len - pre);
    close(p[1]);
    sigaction(SIGPIPE, &old, NULL);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            cli_err(c, "the delivery command: %s", strerror(errno));
            return CLI_EXIT_IO;
        }
    }
    if (wrc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cli_err(c, "the delivery command failed (%s %d); the message stays on the server",
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

static int print_stdout(const cli *c, const char *source, const esession_result *res)
{
    xdeliver_meta m;
    meta(res, &m);
    if (plain(res)) {
        printf("== %s: NOT ENCRYPTED (sender and content not authenticated)\nid:       %s\n"
               "from:     %s\n", source, res->id, res->from.data ? res->from.data : "");
        if (res->thread.len > 0)
            printf("thread:   %s\n", res->thread.data);
    } else {
        char fpt[CLI_FP_TEXT];
        cli_fp_text(res->key_fingerprint, fpt);
        printf("== %s: opened\nid:       %s\nfrom:     %s\nthread:   %s\nposition: %s\n"
               "key:      %s (%s)\n", source, res->id, res->from.data ? res->from.data : "",
               res->thread.data ? res->thread.data : "", m.position, fpt,
               cli_key_state_word(res->key_state));
    }
    if (res->has_created)
        printf("created:  %s (signed by the sender)\n", m.created);
    if (res->has_delay)
        printf("delay:    %s (server stamp, not authenticated)\n", m.delay);
    printf("%s\n", res->plaintext.data ? res->plaintext.data : "");
    /* Durable before the server may drop its copy. A pipe or terminal
     * cannot be synced; that is the caller's choice of output. */
    if (fflush(stdout) != 0 ||
        (fsync(STDOUT_FILENO) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)) {
        cli_err(c, "cannot write the output: %s; the message stays on the server",
                strerror(errno));
        return CLI_EXIT_IO;
    }
    return CLI_OK;
}

int xdeliver(const cli *c, const char *cmd, const char *source, const esession_result *res)
{
    return cmd != NULL ? run_command(c, cmd, res) : print_stdout(c, source, res);
}
