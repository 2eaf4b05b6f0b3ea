/* udpnetsim - runs an unmodified, dynamically linked program with its UDP
 * traffic passed through netsim: `udpnetsim --netsim 'loss 5%' -- dig ...`.
 *
 * This file only checks the command line and sets the scene: the specs go
 * to the environment (each with a seed, so every run can be repeated), the
 * preload library (tools/preload/) goes into LD_PRELOAD, and the program
 * replaces us with exec, so its exit status is ours and nothing sits
 * between it and its terminal.  The library does the impairing. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "tool_common.h"
#include "netsim.h"

#define PRELOAD_NAME "libudpkit-netsim-preload.so"

_Noreturn static void usage(void)
{
	printf("usage: udpnetsim [options] [--] PROGRAM [ARGS...]\n"
	       "Runs PROGRAM with its UDP datagrams impaired by netsim (no root, no relay).\n"
	       "      --netsim SPEC    impair what PROGRAM sends, tc-netem words: 'loss 5%% delay 20ms'\n"
	       "      --netsim-in SPEC impair what PROGRAM receives\n"
	       "      --stats          counters per socket and direction on stderr when PROGRAM exits\n"
	       "  -v, --verbose        print the specs (with their seeds) and the library used\n"
	       "  -h, --help           this text\n"
	       "      --version        print the version\n"
	       "A spec without 'seed N' gets a random seed, shown by -v and --stats.\n"
	       "Environment: UDPNETSIM_PRELOAD overrides the library's path.\n"
	       "Exit status: PROGRAM's; 2 bad usage, 126/127 PROGRAM cannot be run.\n");
	exit(TOOL_EXIT_OK);
}

/* Checks spec now (a typo is a usage error, not a silent pass-through) and
 * returns it with a seed, or NULL when it impairs nothing. */
static char *seeded(const char *opt, const char *spec, uint64_t salt)
{
	struct netsim_config cfg;
	char err[256];
	if (netsim_parse(&cfg, spec, err, sizeof err) < 0)
		tool_usage_die("%s: %s", opt, err);
	if (!(cfg.given & NETSIM_GIVEN_SEED)) {
		uint64_t seed;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
			seed = (uint64_t)(tool_now() * 1e9) ^ ((uint64_t)getpid() << 32);
		cfg.seed = seed ^ salt; /* the two directions are not mirror images */
		cfg.given |= NETSIM_GIVEN_SEED;
	}
	char *text = malloc(NETSIM_DESCRIBE_MAX);
	if (!text || netsim_config_describe(&cfg, text, NETSIM_DESCRIBE_MAX) < 0)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	return text;
}

/* The library: $UDPNETSIM_PRELOAD, else ../lib/ next to this binary (the
 * build tree and `make install` both lay it out so). */
static char *find_preload(void)
{
	const char *env = getenv("UDPNETSIM_PRELOAD");
	char self[PATH_MAX], path[PATH_MAX + 64];
	if (env && *env) {
		snprintf(path, sizeof path, "%s", env);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			tool_die(TOOL_EXIT_ERR, "cannot find my own path (set UDPNETSIM_PRELOAD)");
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		snprintf(path, sizeof path, "%s/../lib/%s", self, PRELOAD_NAME);
	}
	char *real = realpath(path, NULL);
	if (!real || access(real, R_OK) != 0)
		tool_die(TOOL_EXIT_ERR, "cannot use the preload library %s: %s (set UDPNETSIM_PRELOAD)",
			 path, strerror(errno));
	/* ld.so splits LD_PRELOAD at blanks and colons */
	if (strpbrk(real, " \t:"))
		tool_die(TOOL_EXIT_ERR, "the preload library's path has a blank or ':' in it: %s", real);
	return real;
}

static void set(const char *var, const char *val)
{
	if (setenv(var, val, 1) < 0)
		tool_die(TOOL_EXIT_ERR, "setenv %s: %s", var, strerror(errno));
}

int main(int argc, char **argv)
{
	enum { O_NETSIM = 0x100, O_NETSIM_IN, O_STATS, O_VERSION };
	static const struct option opts[] = {
		{ "netsim", required_argument, 0, O_NETSIM },
		{ "netsim-in", required_argument, 0, O_NETSIM_IN },
		{ "stats", no_argument, 0, O_STATS },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, O_VERSION },
		{ 0, 0, 0, 0 },
	};
	const char *spec[2] = { NULL, NULL };
	int stats = 0, c;
	tool_init("udpnetsim");
	opterr = 0;
	/* '+': the first word that is not an option is PROGRAM; its options
	 * are its own */
	while ((c = getopt_long(argc, argv, "+:hv", opts, NULL)) != -1) {
		switch (c) {
		case O_NETSIM: spec[0] = optarg; break;
		case O_NETSIM_IN: spec[1] = optarg; break;
		case O_STATS: stats = 1; break;
		case 'v': tool_verbosity++; break;
		case 'h': usage();
		case O_VERSION: tool_version();
		default: tool_bad_option(c, argv);
		}
	}
	if (optind >= argc)
		tool_usage_die("no program to run");

	static const char *var[2] = { "UDPNETSIM_OUT", "UDPNETSIM_IN" };
	for (int d = 0; d < 2; d++) {
		/* always set: an outer udpnetsim's specs must not apply in here */
		char *text = spec[d] ? seeded(d ? "--netsim-in" : "--netsim", spec[d],
					      d ? 0x696e696e696e696eull : 0) : NULL;
		set(var[d], text ? text : "");
		if (text)
			tool_debug("netsim %s: %s", d ? "in" : "out", text);
		free(text);
	}
	char *lib = find_preload();
	tool_debug("preload: %s", lib);
	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *pre = malloc(len);
	if (!pre)
		tool_die(TOOL_EXIT_ERR, "out of memory");
	snprintf(pre, len, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", lib);
	set("LD_PRELOAD", pre); /* setenv copies */
	free(pre);
	free(lib);
	if (stats)
		set("UDPNETSIM_STATS", "1");
	else
		unsetenv("UDPNETSIM_STATS");
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid()); /* exec keeps our pid */
	set("UDPNETSIM_TOP_PID", pid);

	execvp(argv[optind], argv + optind);
	int e = errno;
	tool_err("%s: %s", argv[optind], strerror(e));
	return e == ENOENT ? 127 : 126;
}
