/* support_tmpdir.h - a fresh directory under /tmp for tests of file
 * handling (key files, identities): made by the group setup, removed with
 * all it holds by the group teardown. */
#ifndef SUPPORT_TMPDIR_H
#define SUPPORT_TMPDIR_H

/* cmocka group setup/teardown; tmpdir_dir is the directory's path. */
int tmpdir_setup(void **state);
int tmpdir_teardown(void **state);
extern char tmpdir_dir[64];
/* tmpdir_dir/name, in a static buffer (valid until the next call). */
const char *tmpdir_path(const char *name);

#endif
