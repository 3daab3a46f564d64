/*
 * subreaper: run a command as a child subreaper, with an optional time limit.
 *
 *   subreaper [-t SECONDS] [--] COMMAND [ARG...]
 *
 * Marks itself PR_SET_CHILD_SUBREAPER, so every process the command leaves
 * behind (double-forked daemons such as recvtty, container inits whose
 * runtime exited) is re-parented here instead of to the machine's pid 1,
 * which reaps orphans lazily; zombies are reaped at once. When COMMAND
 * exits, or when the time limit (if any) passes, every process still
 * below this one gets SIGTERM, then SIGKILL after 3 seconds, and is
 * reaped. Exits with COMMAND's status (128+N for a signal), or 124 when
 * the time limit was hit, as timeout(1) does.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_alarm, got_term;
static void on_alarm(int sig) { (void)sig; got_alarm = 1; }
static void on_term(int sig) { (void)sig; got_term = 1; }

/* Signal every process whose parent is this one; returns how many. */
static int signal_children(int sig)
{
    pid_t self = getpid();
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[64], buf[512];
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        char *p = strrchr(buf, ')'); /* comm may hold spaces */
        char state;
        int ppid;
        if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
            continue;
        if (ppid == self && state != 'Z') {
            kill(pid, sig);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void reap_all(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Terminate and reap everything left below us. */
static void cleanup(void)
{
    for (int round = 0; round < 100; round++) {
        reap_all();
        int n = signal_children(round < 30 ? SIGTERM : SIGKILL);
        if (n == 0 && round > 0)
            break;
        if (n == 0) {
            /* one more pass after a short pause for late re-parenting */
            sleep_ms(100);
            continue;
        }
        sleep_ms(100);
    }
    reap_all();
}

int main(int argc, char **argv)
{
    int limit = 0, i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-t") == 0) {
        limit = atoi(argv[i + 1]);
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        fprintf(stderr, "usage: subreaper [-t SECONDS] [--] COMMAND [ARG...]\n");
        return 125;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        perror("subreaper: prctl(PR_SET_CHILD_SUBREAPER)");
        return 125;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    pid_t child = fork();
    if (child < 0) {
        perror("subreaper: fork");
        return 125;
    }
    if (child == 0) {
        signal(SIGALRM, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execvp(argv[i], argv + i);
        fprintf(stderr, "subreaper: exec %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    if (limit > 0)
        alarm((unsigned)limit);

    int status = 0, rc = -1, timed_out = 0;
    for (;;) {
        if (got_alarm || got_term) {
            timed_out = got_alarm;
            got_alarm = got_term = 0;
            kill(child, SIGTERM);
            /* give the command 5 s to finish its own teardown */
            for (int k = 0; k < 50 && rc < 0; k++) {
                pid_t p;
                while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                    if (p == child)
                        rc = status;
                if (rc < 0)
                    sleep_ms(100);
            }
            if (rc < 0) {
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
                rc = status;
            }
            break;
        }
        pid_t p = waitpid(-1, &status, 0);
        if (p == child) {
            rc = status;
            break;
        }
        if (p < 0 && errno == ECHILD)
            break;
    }
    cleanup();
    if (timed_out)
        return 124;
    if (rc < 0)
        return 125;
    if (WIFEXITED(rc))
        return WEXITSTATUS(rc);
    if (WIFSIGNALED(rc))
        return 128 + WTERMSIG(rc);
    return 125;
}
