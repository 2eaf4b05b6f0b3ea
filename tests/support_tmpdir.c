/* support_tmpdir.c - see support_tmpdir.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_tmpdir.h"

char tmpdir_dir[64];

int tmpdir_setup(void **state)
{
	(void)state;
	strcpy(tmpdir_dir, "/tmp/udpkit-test-XXXXXX");
	return mkdtemp(tmpdir_dir) ? 0 : -1;
}

int tmpdir_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_dir);
	return system(cmd) == 0 ? 0 : -1;
}

const char *tmpdir_path(const char *name)
{
	static char p[128];
	snprintf(p, sizeof p, "%s/%s", tmpdir_dir, name);
	return p;
}
