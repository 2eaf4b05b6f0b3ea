/* tool_pcap.c - --pcap FILE for every tool: each datagram a socket sends or
 * receives becomes one frame of a classic pcap file (libpcap's dump API),
 * with the Ethernet, IP and UDP headers it had on the wire synthesised from
 * the socket's local address and the peer's, so Wireshark shows real flows.
 *
 * Datagrams are taken at the kernel's edge (udp_sock_set_tap), below the
 * sealing and netsim layers: sealed bytes as sent, only what the outgoing
 * netsim let through, and what arrived before the incoming one judged it.
 * Classic pcap has no interface ids or comments, so the fake Ethernet
 * addresses carry them (docs/NETSIM.md, "Capturing"):
 *   source      02:75:6b:00:00:SS  SS = side: 01 the tool's socket (the
 *                                  relay's client side), 02 the relay's
 *                                  target side
 *   destination 02:75:6b:00:00:00  on the wire
 *               02:75:6b:00:00:dd  dropped by the relay's model: written
 *                                  where it would have left, never sent
 * Only this file uses libpcap, so only the tools that reference it link it,
 * and udp/ stays free of it. */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "tool_common.h"
#include "tool_pcap.h"

#define ETH_LEN 14
#define IP6_LEN 40
#define UDP_LEN 8
#define MAX_PAYLOAD 65507 /* what fits an IPv4 packet: the larger never went over IP */

static pcap_t *pd;
static pcap_dumper_t *dumper;
static unsigned char frame[ETH_LEN + IP6_LEN + UDP_LEN + MAX_PAYLOAD];
static uint16_t ip_id;

static void pcap_close_at_exit(void)
{
	if (dumper)
		pcap_dump_close(dumper); /* flushes what stdio still holds */
	if (pd)
		pcap_close(pd);
	dumper = NULL;
	pd = NULL;
}

void tool_pcap_option(const char *path)
{
	if (dumper)
		tool_usage_die("--pcap given twice");
	if (!*path)
		tool_usage_die("--pcap: empty file name");
	pd = pcap_open_dead(DLT_EN10MB, (int)sizeof frame);
	if (!pd)
		tool_die(TOOL_EXIT_ERR, "--pcap: out of memory");
	/* opened now, so that an unwritable path fails before any traffic */
	dumper = pcap_dump_open(pd, path);
	if (!dumper)
		tool_die(TOOL_EXIT_ERR, "--pcap %s: %s", path, pcap_geterr(pd));
	atexit(pcap_close_at_exit);
}

int tool_pcap_on(void)
{
	return dumper != NULL;
}

/* ---- addresses ---- */

struct ip_end {
	int fam; /* AF_INET, AF_INET6; 0: not an IP address */
	unsigned char ip[16];
	uint16_t port; /* network order */
};

static struct ip_end ip_end(const struct udp_addr *a)
{
	struct ip_end e = { 0 };
	int fam = a && a->len ? udp_addr_family(a) : AF_UNSPEC;
	if (fam == AF_INET) {
		e.fam = AF_INET;
		memcpy(e.ip, &a->u.in4.sin_addr, 4);
		e.port = a->u.in4.sin_port;
	} else if (fam == AF_INET6) {
		e.port = a->u.in6.sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr)) {
			e.fam = AF_INET; /* a dual-stack socket's IPv4 peer went as IPv4 */
			memcpy(e.ip, a->u.in6.sin6_addr.s6_addr + 12, 4);
		} else {
			e.fam = AF_INET6;
			memcpy(e.ip, a->u.in6.sin6_addr.s6_addr, 16);
		}
	}
	return e;
}

static int is_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* A socket bound to the wildcard (0.0.0.0, ::) sends from the address of
 * the route to the peer; on loopback that is the peer's own loopback
 * address family: 127.0.0.1 or ::1.  Elsewhere the wildcard stays. */
static void fix_local(struct ip_end *l, const struct ip_end *peer)
{
	if (l->fam == AF_INET6 && peer->fam == AF_INET) {
		/* a dual-stack socket talking IPv4 */
		int wild = is_zero(l->ip, 16);
		memset(l->ip, 0, 16);
		l->fam = AF_INET;
		if (!wild)
			return;
	}
	if (l->fam != peer->fam)
		return;
	if (l->fam == AF_INET && is_zero(l->ip, 4) && peer->ip[0] == 127)
		memcpy(l->ip, peer->ip, 4);
	if (l->fam == AF_INET6 && is_zero(l->ip, 16) &&
	    IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)peer->ip))
		memcpy(l->ip, peer->ip, 16);
}

/* ---- frames ---- */

static uint32_t sum16(uint32_t sum, const unsigned char *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* One frame: src -> dst carrying len bytes of buf. */
static void write_frame(int side, int dropped, const struct ip_end *src,
			const struct ip_end *dst, const unsigned char *buf, size_t len)
{
	if (!dumper || src->fam != dst->fam || !src->fam || len > MAX_PAYLOAD)
		return; /* not IP (AF_UNIX): nothing a pcap of IP could show */
	static const unsigned char mac[5] = { 0x02, 0x75, 0x6b, 0x00, 0x00 };
	unsigned char *f = frame;
	memcpy(f, mac, 5);
	f[5] = dropped ? 0xdd : 0x00;
	memcpy(f + 6, mac, 5);
	f[11] = (unsigned char)side;
	int v4 = src->fam == AF_INET;
	put16(f + 12, v4 ? 0x0800 : 0x86dd);
	unsigned char *ip = f + ETH_LEN;
	size_t ulen = UDP_LEN + len, iplen = v4 ? 20 : IP6_LEN;
	uint32_t pseudo;
	if (v4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (unsigned)(20 + ulen));
		put16(ip + 4, ip_id++);
		put16(ip + 6, 0x4000); /* DF: udpkit never relies on fragments */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, src->ip, 4);
		memcpy(ip + 16, dst->ip, 4);
		put16(ip + 10, fold(sum16(0, ip, 20)));
		pseudo = sum16(sum16(0, ip + 12, 8), (const unsigned char[]){ 0, 17 }, 2);
	} else {
		memset(ip, 0, IP6_LEN);
		ip[0] = 0x60;
		put16(ip + 4, (unsigned)ulen);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, src->ip, 16);
		memcpy(ip + 24, dst->ip, 16);
		pseudo = sum16(sum16(0, ip + 8, 32), (const unsigned char[]){ 0, 17 }, 2);
	}
	pseudo += (uint32_t)ulen;
	unsigned char *u = ip + iplen;
	memcpy(u, &src->port, 2);
	memcpy(u + 2, &dst->port, 2);
	put16(u + 4, (unsigned)ulen);
	put16(u + 6, 0);
	memcpy(u + UDP_LEN, buf, len);
	uint16_t ck = fold(sum16(pseudo, u, ulen));
	put16(u + 6, ck ? ck : 0xffff); /* 0 would mean "no checksum" */
	struct pcap_pkthdr h;
	gettimeofday(&h.ts, NULL);
	h.caplen = h.len = (bpf_u_int32)(ETH_LEN + iplen + ulen);
	pcap_dump((u_char *)dumper, &h, frame);
}

/* The socket's two ends as IP endpoints (peer NULL: the connected one). */
static int ends(const struct udp_sock *s, const struct udp_addr *peer,
		struct ip_end *local, struct ip_end *remote)
{
	struct udp_addr l, p;
	if (udp_sock_local_addr(s, &l) < 0)
		return -1;
	if (!peer || !peer->len) {
		if (udp_sock_peer_addr(s, &p) < 0)
			return -1;
		peer = &p;
	}
	*local = ip_end(&l);
	*remote = ip_end(peer);
	fix_local(local, remote);
	return 0;
}

static void tap(void *ctx, const struct udp_sock *s, int dir,
		const struct udp_msg *msgs, unsigned n)
{
	int side = (int)(uintptr_t)ctx;
	for (unsigned i = 0; i < n; i++) {
		const struct udp_msg *m = &msgs[i];
		struct ip_end local, remote;
		if (ends(s, &m->addr, &local, &remote) < 0)
			continue;
		/* a GRO message is several datagrams: one frame each */
		size_t seg = dir && m->seg_size ? m->seg_size : m->len;
		size_t off = 0;
		do {
			size_t len = m->len - off < seg ? m->len - off : seg;
			const unsigned char *b = (const unsigned char *)m->buf + off;
			if (dir)
				write_frame(side, 0, &remote, &local, b, len);
			else
				write_frame(side, 0, &local, &remote, b, len);
			off += len;
		} while (off < m->len && seg);
	}
}

void tool_pcap_attach(struct udp_sock *s, int side)
{
	if (dumper)
		udp_sock_set_tap(s, tap, (void *)(uintptr_t)side);
}

void tool_pcap_dropped(const struct udp_sock *s, int side, const struct udp_addr *to,
		       const void *buf, size_t len)
{
	struct ip_end local, remote;
	if (dumper && ends(s, to, &local, &remote) == 0)
		write_frame(side, 1, &local, &remote, buf, len);
}
