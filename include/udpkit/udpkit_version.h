/* udpkit_version.h - the version of the headers a program was compiled
 * with (the macros) and of the library it runs with (udpkit_version()).
 *
 * The three numbers are the one place the version is written: the
 * Makefile reads them for the package version and the shared library's
 * file name.  The soname follows the ABI, not these numbers (see
 * README, "The library"). */
#ifndef UDPKIT_VERSION_H
#define UDPKIT_VERSION_H

#include "udpkit_api.h"

#define UDPKIT_VERSION_MAJOR 0
#define UDPKIT_VERSION_MINOR 1
#define UDPKIT_VERSION_PATCH 0

/* Two levels, so that the numbers are expanded before they are quoted. */
#define UDPKIT_STR_(x) #x
#define UDPKIT_STR(x) UDPKIT_STR_(x)
/* "MAJOR.MINOR.PATCH" */
#define UDPKIT_VERSION                                                      \
	UDPKIT_STR(UDPKIT_VERSION_MAJOR) "." UDPKIT_STR(UDPKIT_VERSION_MINOR) \
	"." UDPKIT_STR(UDPKIT_VERSION_PATCH)
/* One number that compares in order: 0x00MMmmpp. */
#define UDPKIT_VERSION_NUMBER                                             \
	((UDPKIT_VERSION_MAJOR << 16) | (UDPKIT_VERSION_MINOR << 8) |     \
	 UDPKIT_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library actually linked (for a shared library, the
 * one loaded at run time), "MAJOR.MINOR.PATCH"; compare with
 * UDPKIT_VERSION to see a program built against other headers.  Never
 * NULL, static storage. */
UDPKIT_API const char *udpkit_version(void);

#ifdef __cplusplus
}
#endif

#endif
