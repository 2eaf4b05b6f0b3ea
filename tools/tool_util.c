/* tool_util.c - messages, exit codes, numbers, signals and the clock. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_common.h"
#include "udpkit_version.h"

const char *tool_name = "udpkit";
int tool_verbosity;
volatile sig_atomic_t tool_stop_signal, tool_report_signal;
static int sig_pipe[2] = { -1, -1 };

void tool_init(const char *name)
{
	tool_name = name;
}

static void vmsg(const char *fmt, va_list ap)
{
	/* one write per line so lines from several processes don't mix */
	char line[1024];
	int n = snprintf(line, sizeof line, "%s: ", tool_name);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void tool_err(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	errno = saved;
}

void tool_info(const char *fmt, ...)
{
	if (tool_verbosity < 0)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	errno = saved;
}

void tool_debug(const char *fmt, ...)
{
	if (tool_verbosity < 1)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	errno = saved;
}

void tool_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}

void tool_usage_die(const char *fmt, ...)
{
	char text[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	tool_die(TOOL_EXIT_USAGE, "%s (try '%s --help')", text, tool_name);
}

void tool_bad_option(int c, char **argv)
{
	/* getopt_long runs with opterr = 0 and a leading ':' in optstring */
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	if (c == ':') {
		if (optopt && strncmp(arg, "--", 2) != 0)
			tool_usage_die("option '-%c' needs an argument", optopt);
		tool_usage_die("option '%s' needs an argument", arg);
	}
	if (optopt && strncmp(arg, "--", 2) != 0)
		tool_usage_die("unknown option '-%c'", optopt);
	if (optopt) /* a long option that takes no argument was given one */
		tool_usage_die("option '%s' takes no argument", arg);
	tool_usage_die("unknown option '%s'", arg);
}

void tool_version(void)
{
	printf("%s (udpkit) %s\n", tool_name, udpkit_version());
	exit(TOOL_EXIT_OK);
}

void tool_base_option(int c)
{
	switch (c) {
	case TOOL_O_VERSION: tool_version();
	case 'v': tool_verbosity++; break;
	case 'q': tool_verbosity = -1; break;
	}
}

unsigned long long tool_parse_uint(const char *opt, const char *s,
				   unsigned long long min, unsigned long long max)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		tool_usage_die("bad number for %s: '%s'", opt, s ? s : "");
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		tool_usage_die("bad number for %s: '%s'", opt, s);
	if (v < min || v > max)
		tool_usage_die("bad number for %s: '%s' (allowed %llu-%llu)", opt,
			       s, min, max);
	return v;
}

double tool_parse_secs(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == ' ')
		tool_usage_die("bad time for %s: '%s' (seconds, e.g. 0.5)", opt,
			       s ? s : "");
	double v = strtod(s, &end);
	if (*end || errno || !isfinite(v) || v < 0 || v > 31536000.0)
		tool_usage_die("bad time for %s: '%s' (seconds, e.g. 0.5)", opt, s);
	return v;
}

double tool_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGUSR1)
		tool_report_signal = 1;
	else
		tool_stop_signal = sig;
	if (sig_pipe[1] >= 0) {
		ssize_t w = write(sig_pipe[1], "", 1);
		(void)w;
	}
	errno = saved;
}

void tool_signals_init(void)
{
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		tool_die(TOOL_EXIT_ERR, "pipe: %s", strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a blocking read or write returns EINTR; the second
	 * signal gets the default action, so a stuck tool still dies */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void tool_signals_report(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* stays installed: a report may be asked for any number of times */
	sigaction(SIGUSR1, &sa, NULL);
}

int tool_signal_fd(void)
{
	return sig_pipe[0];
}

void tool_signal_drain(void)
{
	char b[64];
	while (sig_pipe[0] >= 0 && read(sig_pipe[0], b, sizeof b) > 0)
		;
}

int tool_wait(int fd, short events, double timeout)
{
	double deadline = timeout >= 0 ? tool_now() + timeout : 0;
	for (;;) {
		if (tool_stop_signal)
			return -1;
		struct pollfd p[2];
		nfds_t n = 0;
		if (fd >= 0)
			p[n++] = (struct pollfd){ .fd = fd, .events = events };
		if (sig_pipe[0] >= 0)
			p[n++] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		int ms = -1;
		if (timeout >= 0) {
			double left = deadline - tool_now();
			if (left <= 0)
				return 0;
			ms = (int)ceil(left * 1000.0);
		}
		int r = poll(p, n, ms);
		if (tool_stop_signal)
			return -1;
		if (r < 0 && errno != EINTR)
			return 1; /* let the caller's I/O call report it */
		if (r > 0 && fd >= 0 && p[0].revents)
			return 1;
		if (r > 0 && n && p[n - 1].fd == sig_pipe[0] && p[n - 1].revents)
			tool_signal_drain(); /* SIGUSR1: not a reason to stop waiting */
	}
}
