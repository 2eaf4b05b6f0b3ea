/* seal_sock.h - sealing on a socket.
 *
 * With a seal attached (a group key), every datagram sent by any of
 * send/send_batch is sealed (plaintext + SEAL_OVERHEAD bytes on the
 * wire) before the outgoing netsim and the kernel, and every datagram
 * received goes kernel -> incoming netsim -> seal_open().  The caller
 * only ever sees authenticated plaintext with the sender's address: a
 * datagram that fails to open (plaintext, wrong key, forged, corrupt,
 * replayed, ...) is dropped and counted under its reason, never returned,
 * so nothing above the socket can answer it.  Lengths and wire_len the
 * caller sees are plaintext lengths; a plaintext longer than the buffer is
 * truncated with UDP_MSG_TRUNC as usual.  When a receive drops everything
 * it got, a non-blocking socket returns UDP_EAGAIN and a blocking one waits
 * for the next datagram (an SO_RCVTIMEO then starts again).
 * GSO applies to runs of equal-size sealed datagrams and GRO (when turned
 * on) to receives: a coalesced run is opened one datagram at a time and
 * handed out as separate messages (seg_size stays 0), so caller buffers
 * need not be UDP_GRO_MIN_CAP.  Datagrams of a run beyond the caller's n
 * wait in the socket for the next receive; udp_sock_next_due() then says
 * "now", so a caller polling the descriptor must also honour it (or call
 * receive again whenever the last one filled all n).  No allocation per
 * datagram: the scratch areas are allocated on first use and reused.
 *
 * A socket without a seal drops what looks sealed (udp_sock_sealed_seen,
 * udp_sock_set_pass_sealed in udp_sock.h). */
#ifndef SEAL_SOCK_H
#define SEAL_SOCK_H

#include "seal.h"
#include "udp_sock.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Attaches a sealer; the socket owns it from this call on, also when the
 * call fails, and frees it with the socket or the next attach.  NULL
 * removes sealing (and its counters).  Returns 0, UDP_EINVAL or
 * UDP_ENOMEM. */
UDPKIT_API int seal_sock_attach(struct udp_sock *s, struct seal *seal);
/* The attached sealer (NULL: none), e.g. for seal_get_key_id(). */
UDPKIT_API const struct seal *seal_sock_get(const struct udp_sock *s);
/* The sealer's counters (seal_get_stats), with drop_nospace also
 * counting sealed datagrams too large for the socket's scratch (only
 * possible on AF_UNIX).  Zeros without a key.  Returns 1 when a key is
 * attached, 0 when not, UDP_EINVAL. */
UDPKIT_API int seal_sock_stats(const struct udp_sock *s, struct seal_stats *out);

#ifdef __cplusplus
}
#endif

#endif
