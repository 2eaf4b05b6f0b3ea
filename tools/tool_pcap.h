/* tool_pcap.h - --pcap FILE (tool_pcap.c): every datagram a tool's
 * sockets send or receive, as frames of a pcap file Wireshark reads. */
#ifndef TOOL_PCAP_H
#define TOOL_PCAP_H

#include <stddef.h>

#include "udp_sock.h"

/* Sides, in the fake Ethernet source address of each frame. */
enum { TOOL_PCAP_SIDE = 1, TOOL_PCAP_TARGET_SIDE = 2 };

/* From the option parser: opens FILE now (an unwritable one ends the
 * program, exit 1); closed and flushed at exit. */
void tool_pcap_option(const char *path);
int tool_pcap_on(void);
/* Captures what s sends and receives, as side (no-op without --pcap). */
void tool_pcap_attach(struct udp_sock *s, int side);
/* A datagram s would have sent to `to` (NULL: its connected peer) but a
 * model dropped: a frame marked dropped (destination MAC ..:dd). */
void tool_pcap_dropped(const struct udp_sock *s, int side, const struct udp_addr *to,
		       const void *buf, size_t len);

#endif
