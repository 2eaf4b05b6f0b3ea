/* udpkit_version.c - udpkit_version(): the library's own version, compiled
 * in here so that a program can tell at run time which libudpkit.so it got,
 * whatever headers it was built with.  In udp/, the bottom room, because
 * every program that links udpkit links udp/. */
#include "udpkit_version.h"

const char *udpkit_version(void)
{
	return UDPKIT_VERSION;
}
