/* netsim_sock.h - the loss simulator on a socket.
 *
 * A socket can carry a netsim per direction: every datagram sent goes
 * through the outgoing model before it reaches the kernel, and every
 * datagram received goes through the incoming model before the caller (or
 * sealing, which sits above) sees it, whichever of
 * send/send_batch/recv/recv_batch is used.  See docs/NETSIM.md, "At the
 * socket".
 *
 * In a program that links this file, udp_sock_open*() attach the models
 * named by UDPKIT_NETSIM (outgoing) and UDPKIT_NETSIM_IN (incoming) when
 * set; a malformed spec makes the open fail with its UDP_ENETSIM_* code.
 * A spec without `seed` gets a random one (netsim_sock_get() +
 * netsim_seed() shows it).
 *
 * Sending: the datagram is pushed into the model and whatever is due is
 * sent at once.  Dropped, queued or delayed datagrams still count as sent
 * (their length is returned), as on a real network.  Delayed ones go out on
 * a later send or udp_sock_flush().
 * Receiving: what the kernel has is pushed into the model and what is due
 * is handed back; UDP_EAGAIN when nothing is due, even on a blocking socket
 * if datagrams are held back by a delay.  A caller whose models delay must
 * therefore poll() with a timeout from udp_sock_next_due() and call
 * udp_sock_flush() and its receive when it passes.
 * A receive buffer too small still gets UDP_MSG_TRUNC and wire_len as
 * without netsim.  GRO is off while an incoming model is attached (each
 * datagram must be impaired on its own); GSO keeps working for sends.
 * A model that changes nothing (netsim_is_passthrough()) is kept but
 * bypassed: it costs nothing per call and its counters stay zero.
 * The models run on the socket's clock (udp_sock_set_clock). */
#ifndef NETSIM_SOCK_H
#define NETSIM_SOCK_H

#include <stddef.h>

#include "netsim.h"
#include "udp_sock.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Attaches models (NULL: none for that direction), replacing and freeing
 * any attached before (datagrams they still held are dropped).  The socket
 * owns them from this call on, also when it fails.  Returns 0, UDP_EINVAL
 * or UDP_ENOMEM.  Turns GRO off when in impairs; turn it back on with
 * udp_sock_set_gro() after detaching. */
UDPKIT_API int netsim_sock_attach(struct udp_sock *s, struct netsim *out,
		       struct netsim *in);
/* The attached models, for netsim_seed()/describe()/counters (NULL:
 * none).  Either pointer may be NULL. */
UDPKIT_API void netsim_sock_get(const struct udp_sock *s, const struct netsim **out,
		     const struct netsim **in);
/* Counters of each direction (zeros where no model is attached or it is
 * bypassed as passthrough).  Either pointer may be NULL. */
UDPKIT_API void netsim_sock_counters(const struct udp_sock *s,
			  struct netsim_counters *out,
			  struct netsim_counters *in);
/* Parses UDPKIT_NETSIM and UDPKIT_NETSIM_IN without opening anything.
 * Returns 0 when both are unset or valid, else the UDP_ENETSIM_* code with
 * one line in err such as "UDPKIT_NETSIM: unknown word 'lose'". */
UDPKIT_API int netsim_sock_env_check(char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
