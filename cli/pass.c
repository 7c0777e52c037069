/* SPDX-License-Identifier: ISC */
/* Passphrases: from the terminal with echo off, a file descriptor or a
 * file; never from the command line. Held in guarded memory and wiped. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* The keystore's limit (docs/keystore.md). */
#define PASS_MAX 4096u

/* A signal that arrived while the terminal's echo was off: the terminal is
 * restored before the signal takes its course. */
static volatile sig_atomic_t caught_signal;

static void on_signal(int sig)
{
    caught_signal = sig;
}

static int pass_alloc(const cli *c, cli_pass *p)
{
    p->data = sodium_malloc(PASS_MAX + 2);
    p->len = 0;
    if (p->data == NULL) {
        cli_err(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    return CLI_OK;
}

void cli_pass_free(cli_pass *p)
{
    if (p->data != NULL)
        sodium_free(p->data); /* wipes */
    p->data = NULL;
    p->len = 0;
}

/* One line from fd, read an octet at a time so that what follows the line
 * stays for whoever reads fd next (a passphrase on the first line of
 * stdin, the data after it). */
static int read_line_fd(const cli *c, int fd, const char *what, cli_pass *p)
{
    int rc = pass_alloc(c, p);
    if (rc != CLI_OK)
        return rc;
    size_t n = 0;
    int got_any = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR && caught_signal == 0)
            continue;
        if (r < 0 && caught_signal != 0) {
            cli_pass_free(p);
            return CLI_EXIT_USAGE;
        }
        if (r < 0) {
            cli_err(c, "cannot read the passphrase from %s: %s", what, strerror(errno));
            cli_pass_free(p);
            return CLI_EXIT_IO;
        }
        if (r == 0)
            break;
        got_any = 1;
        if (ch == '\n')
            break;
        if (n >= PASS_MAX) {
            cli_err(c, "the passphrase from %s is longer than %u octets", what, PASS_MAX);
            sodium_memzero(&ch, sizeof ch);
            cli_pass_free(p);
            return CLI_EXIT_USAGE;
        }
        p->data[n++] = ch;
    }
    if (!got_any) {
        cli_err(c, "no passphrase on %s", what);
        cli_pass_free(p);
        return CLI_EXIT_USAGE;
    }
    if (n > 0 && p->data[n - 1] == '\r')
        n--;
    p->data[n] = '\0';
    p->len = n;
    return CLI_OK;
}

static int read_from_fd(const cli *c, int fd, cli_pass *p)
{
    char what[32];
    snprintf(what, sizeof what, "file descriptor %d", fd);
    if (fcntl(fd, F_GETFD) < 0) {
        cli_err(c, "file descriptor %d is not open", fd);
        return CLI_EXIT_USAGE;
    }
    return read_line_fd(c, fd, what, p);
}

static int read_from_file(const cli *c, const char *path, cli_pass *p)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cli_err(c, "cannot open the passphrase file %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        cli_warn(c, "%s holds a secret but can be read by others (chmod 600 it)", path);
    int rc = read_line_fd(c, fd, path, p);
    close(fd);
    return rc;
}

/* Ask on the terminal with echo off. */
static int ask_tty(const cli *c, const char *prompt, cli_pass *p)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
    struct sigaction sa, old_sa[sizeof sigs / sizeof sigs[0]];
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cli_err(c, "no terminal to ask the passphrase on; use --passphrase-fd or --passphrase-file");
        return CLI_EXIT_USAGE;
    }
    struct termios old, quiet;
    if (tcgetattr(fd, &old) != 0) {
        cli_err(c, "cannot set up the terminal: %s", strerror(errno));
        close(fd);
        return CLI_EXIT_IO;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    /* No SA_RESTART: a signal interrupts the read. Suspending is refused
     * while echo is off. */
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    caught_signal = 0;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sa.sa_handler = sigs[i] == SIGTSTP ? SIG_IGN : on_signal;
        sigaction(sigs[i], &sa, &old_sa[i]);
    }
    int rc;
    if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        if (caught_signal == 0)
            cli_err(c, "cannot set up the terminal: %s", strerror(errno));
        (void)tcsetattr(fd, TCSAFLUSH, &old);
        rc = CLI_EXIT_IO;
    } else {
        rc = read_line_fd(c, fd, "the terminal", p);
        (void)tcsetattr(fd, TCSAFLUSH, &old);
        if (write(fd, "\n", 1) < 0) {
            /* the prompt's line stays open; nothing else to do */
        }
    }
    close(fd);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &old_sa[i], NULL);
    if (caught_signal != 0)
        raise(caught_signal);
    return rc;
}

int cli_pass_get(const cli *c, cli_pass *out)
{
    if (c->pass_fd >= 0)
        return read_from_fd(c, c->pass_fd, out);
    if (c->pass_file != NULL)
        return read_from_file(c, c->pass_file, out);
    char prompt[4200];
    snprintf(prompt, sizeof prompt, "Passphrase for %s: ", c->ks_path ? c->ks_path : "the keystore");
    return ask_tty(c, prompt, out);
}

int cli_pass_new(const cli *c, int fd, const char *file, const char *prompt, cli_pass *out)
{
    cli_pass p = {0};
    int rc;
    if (fd >= 0) {
        rc = read_from_fd(c, fd, &p);
    } else if (file != NULL) {
        rc = read_from_file(c, file, &p);
    } else {
        cli_pass again = {0};
        rc = ask_tty(c, prompt, &p);
        if (rc == CLI_OK)
            rc = ask_tty(c, "Repeat it: ", &again);
        if (rc == CLI_OK &&
            (again.len != p.len || sodium_memcmp(again.data, p.data, p.len) != 0)) {
            cli_err(c, "the passphrases do not match; nothing was changed");
            rc = CLI_EXIT_KEYSTORE;
        }
        cli_pass_free(&again);
    }
    if (rc == CLI_OK && p.len == 0) {
        cli_err(c, "an empty passphrase is not accepted");
        rc = CLI_EXIT_USAGE;
    }
    if (rc != CLI_OK) {
        cli_pass_free(&p);
        return rc;
    }
    *out = p;
    return CLI_OK;
}

int cli_secret_read(const cli *c, int fd, const char *file, const char *prompt, cli_pass *out)
{
    if (fd >= 0)
        return read_from_fd(c, fd, out);
    if (file != NULL)
        return read_from_file(c, file, out);
    return ask_tty(c, prompt, out);
}
