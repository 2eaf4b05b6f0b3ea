/* netsim_err.c - the one-line error messages of the netsim parsers. */
#include <stdarg.h>
#include <stdio.h>

#include "netsim_int.h"

int netsim_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
