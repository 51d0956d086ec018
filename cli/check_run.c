/*
 * check_run.c - run one shell command with a time limit and keep the
 * first bytes of what it prints (check_cmd.h): `explore --check-cmd`.
 *
 * The command runs through /bin/sh -c in a process group of its own, stdin
 * from /dev/null, stdout and stderr into one pipe. At the limit the whole
 * group is killed (a checker that forks is stopped with it), and so it is
 * once the shell has exited, so nothing it started outlives the state.
 */
#define _GNU_SOURCE
#include "check_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void child(const char *cmd, int out_fd)
{
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	/* The explorer's own files (the database) are none of the checker's business. */
	if (close_range(3, ~0u, 0))
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* Keep what fits in out->output, count the rest. 1: data read, 0: end of file, -1: nothing now. */
static int drain(int fd, struct check_run_result *out)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -1 : 0;
	if (n == 0)
		return 0;
	if (out->output_len < sizeof(out->output)) {
		size_t k = sizeof(out->output) - out->output_len;

		if (k > (size_t)n)
			k = (size_t)n;
		memcpy(out->output + out->output_len, buf, k);
		out->output_len += k;
	}
	out->output_bytes += (uint64_t)n;
	return 1;
}

int check_run(const char *cmd, double timeout_s, struct check_run_result *out)
{
	int pfd[2], status = 0, r;
	bool eof = false;
	double deadline;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->exit_status = -1;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0)
		child(cmd, pfd[1]);
	setpgid(pid, pid); /* also here: no race with the kill below */
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	deadline = mono_s() + timeout_s;
	for (;;) {
		double left = deadline - mono_s();
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int ms = eof ? 1 : left > 0.05 ? 50 : (int)(left * 1000) + 1;

		siginfo_t si = { 0 };

		/* Exited, not reaped yet: the group id stays the shell's until waitpid. */
		if (!waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid)
			break;
		if (left <= 0) {
			out->timed_out = true;
			break;
		}
		if (eof)
			poll(NULL, 0, ms);
		else if (poll(&p, 1, ms) > 0)
			while (!eof && (r = drain(pfd[0], out)) != -1)
				eof = r == 0;
	}
	/* Whatever the shell left behind holding the pipe goes with it. */
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	while (!eof && drain(pfd[0], out) == 1)
		;
	close(pfd[0]);
	if (out->timed_out)
		return 0;
	if (WIFEXITED(status))
		out->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		out->signal = WTERMSIG(status);
	return 0;
}
