/* rel_drv.h - the thin driver that binds a reliable core (rel.h) to a
 * datagram socket (udp_sock.h) and the monotonic clock.  It is the only
 * rel_ file that does I/O; the core stays sans-I/O.
 *
 * The driver borrows the core and the socket: the caller creates both,
 * frees the driver first (rel_drv_free) and then them.  The socket is put
 * in non-blocking mode.  Addresses: the core's peer blob is the bytes of
 * struct udp_addr's sockaddr (addr.u, addr.len). */
#ifndef REL_DRV_H
#define REL_DRV_H

#include <stdint.h>

#include "rel.h"
#include "udp_addr.h"
#include "udp_sock.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rel_drv;

struct rel_drv_stats {
	uint64_t recv_calls, send_calls, dgrams_in, dgrams_out;
	uint64_t send_errors, truncated, gated;
};

/* Returns 0, UDP_EINVAL or UDP_ENOMEM. */
UDPKIT_API int rel_drv_new(struct rel_drv **out, struct rel_core *core, struct udp_sock *sock);
UDPKIT_API void rel_drv_free(struct rel_drv *d); /* NULL is a no-op */

/* CLOCK_MONOTONIC in microseconds: the default clock of a socket, so the
 * driver's time when none was set with udp_sock_set_clock(). */
UDPKIT_API uint64_t rel_drv_now(void);
/* The time the driver feeds the core: the socket's clock (udp_sock_now()).
 * Pass it to rel_send/rel_close too, so one time base runs everything.
 * rel_drv_run_once() waits (dl - now) of real time: with a clock of one's
 * own that does not follow real time, use rel_drv_service() instead. */
UDPKIT_API uint64_t rel_drv_time(const struct rel_drv *d);

/* Starts a session with peer (rel_connect with the address blob). */
UDPKIT_API int rel_drv_connect(struct rel_drv *d, const struct udp_addr *peer, uint32_t *id);
/* The same with an argument for the core's crypto hook (rel_connect_ex). */
UDPKIT_API int rel_drv_connect_ex(struct rel_drv *d, const struct udp_addr *peer,
				  const void *crypto_arg, uint32_t *id);
/* The address of a session. */
UDPKIT_API int rel_drv_peer_addr(const struct rel_drv *d, uint32_t peer, struct udp_addr *out);

/* Sends what the core has queued, in batches (sendmmsg/GSO).  Returns the
 * datagrams sent; what the socket would not take stays queued.  A datagram
 * the kernel refuses with an error other than "would block" is dropped
 * (UDP is lossy; the core retransmits) and counted. */
UDPKIT_API int rel_drv_flush(struct rel_drv *d);

/* One turn of an event loop: flush, wait for input until the core's next
 * deadline (at most max_wait_ms; -1 = no extra limit), feed every datagram
 * received, run the timers, flush.  Returns 0, or a negative code when the
 * socket failed (poll or receive errors other than would-block). */
UDPKIT_API int rel_drv_run_once(struct rel_drv *d, int max_wait_ms);

/* For an event loop of the caller's own (epoll, libuv, ...): watch this
 * descriptor for input (and for output while rel_out_pending()), wake at
 * rel_drv_next_deadline() (us on rel_drv_time()'s clock; 0: now,
 * UINT64_MAX: no timer), then call rel_drv_run_once(d, 0).  A turn takes
 * at most ~1 MiB or 1024 datagrams, so the descriptor may stay readable:
 * watch it level-triggered. */
UDPKIT_API int rel_drv_fd(const struct rel_drv *d);
UDPKIT_API uint64_t rel_drv_next_deadline(const struct rel_drv *d);

UDPKIT_API void rel_drv_stats(const struct rel_drv *d, struct rel_drv_stats *out);
/* One turn without waiting, for a caller's own poll loop: flush, read what
 * the socket holds (and what a netsim model has due), run the timers,
 * flush.  Returns as rel_drv_run_once. */
UDPKIT_API int rel_drv_service(struct rel_drv *d);
/* An output gate: called for each datagram before it is sent; returning 0
 * drops it as if lost on the way (the core's timers resend), 1 sends it.
 * For policies the core does not know, e.g. udpchat's limit on what an
 * unverified address may draw.  NULL removes it. */
typedef int (*rel_drv_gate_fn)(void *ctx, const struct rel_dgram *g);
UDPKIT_API void rel_drv_set_gate(struct rel_drv *d, rel_drv_gate_fn gate, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
