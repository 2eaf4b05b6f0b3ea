/* udpkit.h - everything a program needs from udpkit, in one include:
 *
 *   #include <udpkit.h>      then   cc prog.c $(pkg-config --cflags --libs udpkit)
 *
 * Each part can also be included alone as <udpkit/NAME.h>.  Only the
 * headers under include/udpkit/ are the library's interface (and its ABI,
 * abi/libudpkit.abi); every other header of the source tree is internal,
 * is not installed, and may change in any release. */
#ifndef UDPKIT_H
#define UDPKIT_H

#include "udpkit/udpkit_version.h"

/* datagram layer: error codes, addresses, sockets */
#include "udpkit/udp_err.h"
#include "udpkit/udp_addr.h"
#include "udpkit/udp_sock.h"
/* loss simulator: the model and its tc-netem words, and on a socket */
#include "udpkit/netsim.h"
#include "udpkit/netsim_schedule.h"
#include "udpkit/netsim_sock.h"
/* sealing: keys, the AEAD sealer, and on a socket */
#include "udpkit/seal_key.h"
#include "udpkit/seal.h"
#include "udpkit/seal_sock.h"
#include "udpkit/seal_ident.h"
/* reliable messaging: the sans-I/O core, congestion controllers, the driver */
#include "udpkit/rel.h"
#include "udpkit/rel_bbr.h"
#include "udpkit/rel_drv.h"
#include "udpkit/rel_ident.h"

#endif
