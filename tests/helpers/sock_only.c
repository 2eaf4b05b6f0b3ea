/* A program that uses only udp_sock and udp_addr, for tests/e2e/layers.sh
 * to link statically against libudpkit.a with nothing but libc: if the
 * socket still pulled in sealing or the simulator, that link would miss
 * libsodium's and libm's symbols.
 *
 * It binds 127.0.0.1:0, sends itself a datagram that looks sealed (which
 * must be dropped and counted even though no seal code is linked) and a
 * plain one (which must come back intact), and exits 0; anything else
 * exits 1 with one line on stderr.  Every wait is bounded by a receive
 * timeout. */
#include <stdio.h>
#include <string.h>

#include "udp_addr.h"
#include "udp_err.h"
#include "udp_sock.h"

static int fail(const char *what, int rc)
{
	fprintf(stderr, "sock_only: %s: %s\n", what, udpkit_strerror(rc));
	return 1;
}

int main(void)
{
	struct udp_addr local;
	struct udp_sock *s;
	int rc = udp_addr_parse(&local, "127.0.0.1:0", UDP_ADDR_NUMERIC);
	if (rc < 0)
		return fail("parse", rc);
	if ((rc = udp_sock_open_bound(&s, &local, 0)) < 0)
		return fail("open", rc);
	if ((rc = udp_sock_local_addr(s, &local)) < 0 ||
	    (rc = udp_sock_set_recv_timeout(s, 2000)) < 0) {
		udp_sock_free(s);
		return fail("setup", rc);
	}

	/* The sealed header's signature: magic 0xC553, version 1, and at least
	 * the 48 bytes of header and tag. */
	unsigned char sealed[64] = { 0xC5, 0x53, 0x01 };
	const char plain[] = "hello from a socket-only program";
	unsigned char buf[256];
	struct udp_msg m = { .buf = buf, .cap = sizeof buf };
	int ok = 0;
	if ((rc = udp_sock_send(s, sealed, sizeof sealed, &local)) < 0 ||
	    (rc = udp_sock_send(s, plain, sizeof plain, &local)) < 0)
		fail("send", rc);
	else if ((rc = udp_sock_recv(s, &m)) < 0)
		fail("recv", rc);
	else if (m.len != sizeof plain || memcmp(buf, plain, sizeof plain) != 0)
		fprintf(stderr, "sock_only: received %zu bytes, not the datagram sent\n", m.len);
	else if (udp_sock_sealed_seen(s) != 1)
		fprintf(stderr, "sock_only: sealed-looking datagrams dropped: %llu, not 1\n",
			(unsigned long long)udp_sock_sealed_seen(s));
	else
		ok = 1;
	udp_sock_free(s);
	if (ok)
		printf("sock_only: ok\n");
	return ok ? 0 : 1;
}
