/* hello.c - a whole udpkit program: one datagram over 127.0.0.1, from a
 * socket of its own to a socket of its own, with the error handling a real
 * program needs.  Valid C11 and C++17, built against an installed udpkit:
 *
 *   cc  -o hello hello.c $(pkg-config --cflags --libs udpkit)
 *   c++ -x c++ -o hello hello.c $(pkg-config --cflags --libs udpkit)
 *   ./hello 'any text'        # prints: 127.0.0.1:PORT says: any text
 *
 * tests/e2e/install.sh builds and runs it exactly that way. */
#include <stdio.h>
#include <string.h>

#include <udpkit.h>

/* Every udpkit function returns a negative udp_err code on failure, and
 * udpkit_strerror() has words for each (for UDP_ESYS: errno's). */
static int fail(const char *what, int code)
{
	fprintf(stderr, "hello: %s: %s\n", what, udpkit_strerror(code));
	return 1;
}

int main(int argc, char **argv)
{
	const char *text = argc > 1 ? argv[1] : "hello, udpkit";
	struct udp_addr here, to;
	struct udp_sock *rx = NULL, *tx = NULL;
	int rc;

	/* The receiver: bound to 127.0.0.1, port 0 (the kernel picks one),
	 * then asked which port it got. */
	if ((rc = udp_addr_parse(&here, "127.0.0.1:0", UDP_ADDR_NUMERIC)) < 0)
		return fail("address", rc);
	if ((rc = udp_sock_open_bound(&rx, &here, 0)) < 0)
		return fail("receiver", rc);
	if ((rc = udp_sock_local_addr(rx, &to)) < 0 ||
	    (rc = udp_sock_set_recv_timeout(rx, 2000)) < 0) /* never hang */
		return fail("receiver", rc);

	/* The sender: an unbound socket of the same family. */
	if ((rc = udp_sock_open(&tx, udp_addr_family(&to), 0)) < 0)
		return fail("sender", rc);
	if ((rc = udp_sock_send(tx, text, strlen(text), &to)) < 0)
		return fail("send", rc);

	/* One datagram in; a longer one than the buffer would come back
	 * flagged UDP_MSG_TRUNC, never silently cut. */
	char buf[UDP_MAX_PAYLOAD];
	struct udp_msg m;
	memset(&m, 0, sizeof m);
	m.buf = buf;
	m.cap = sizeof buf;
	if ((rc = udp_sock_recv(rx, &m)) < 0)
		return fail("receive", rc);

	char from[UDP_ADDR_STRLEN];
	if (udp_addr_format(&m.addr, from, sizeof from) < 0)
		strcpy(from, "?");
	printf("%s says: %.*s\n", from, (int)m.len, buf);

	udp_sock_free(tx);
	udp_sock_free(rx);
	return 0;
}
