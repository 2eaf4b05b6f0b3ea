/* netsim_int.h - what the netsim files share and callers do not see. */
#ifndef NETSIM_INT_H
#define NETSIM_INT_H

#include <stddef.h>

/* Writes one formatted line into err (when err && errlen > 0) and
 * returns code: the error style of every netsim parser. */
int netsim_errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
