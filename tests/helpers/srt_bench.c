/* srt_bench.c - SRT's file mode, the comparison row of `make bench`
 * (issue 16): the same stdin-to-stdout transfer as udpsend -r | udprecv -r,
 * on libsrt's own API rather than its CLI (srt-file-transmit), so the
 * figures are SRT's protocol and not the tool's buffering.
 *
 *   srt_bench recv [HOST]          listens on HOST:0 (127.0.0.1), says
 *                                  "port N" on stderr, writes what one
 *                                  connection sends to stdout, exits at EOF
 *   srt_bench send HOST PORT       sends stdin, then closes; SRT's linger
 *                                  (file mode: on) waits until all was
 *                                  delivered, so the exit means "done"
 *
 * File mode (SRTT_FILE) is SRT's reliable bulk transfer: stream API, no
 * latency-based dropping, its own congestion control (FileCC).  Bounded:
 * SRT's own connect and peer-idle timeouts end a stuck run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <srt/srt.h>

#define CHUNK (64 * 1024)

static int die(const char *what)
{
	fprintf(stderr, "srt_bench: %s: %s\n", what, srt_getlasterror_str());
	srt_cleanup();
	return 1;
}

static SRTSOCKET file_socket(void)
{
	SRTSOCKET s = srt_create_socket();
	if (s == SRT_INVALID_SOCK)
		return s;
	int tt = SRTT_FILE;
	if (srt_setsockflag(s, SRTO_TRANSTYPE, &tt, sizeof tt) == SRT_ERROR) {
		srt_close(s);
		return SRT_INVALID_SOCK;
	}
	return s;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int do_recv(const char *host)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "srt_bench: not an IPv4 address: %s\n", host);
		return 2;
	}
	SRTSOCKET ls = file_socket();
	if (ls == SRT_INVALID_SOCK || srt_bind(ls, (struct sockaddr *)&sa, sizeof sa) == SRT_ERROR ||
	    srt_listen(ls, 1) == SRT_ERROR)
		return die("listen");
	int len = sizeof sa;
	if (srt_getsockname(ls, (struct sockaddr *)&sa, &len) == SRT_ERROR)
		return die("getsockname");
	fprintf(stderr, "port %d\n", ntohs(sa.sin_port));
	fflush(stderr);
	struct sockaddr_storage peer;
	int plen = sizeof peer;
	SRTSOCKET s = srt_accept(ls, (struct sockaddr *)&peer, &plen);
	if (s == SRT_INVALID_SOCK)
		return die("accept");
	static char buf[CHUNK];
	for (;;) {
		int n = srt_recv(s, buf, sizeof buf);
		if (n == SRT_ERROR) {
			/* the sender's close after everything was delivered */
			if (srt_getlasterror(NULL) == SRT_ECONNLOST)
				break;
			return die("recv");
		}
		if (n == 0)
			break;
		if (write_all(1, buf, (size_t)n) < 0) {
			fprintf(stderr, "srt_bench: write: %s\n", strerror(errno));
			return 1;
		}
	}
	srt_close(s);
	srt_close(ls);
	srt_cleanup();
	return 0;
}

static int do_send(const char *host, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "srt_bench: not an IPv4 address: %s\n", host);
		return 2;
	}
	SRTSOCKET s = file_socket();
	if (s == SRT_INVALID_SOCK || srt_connect(s, (struct sockaddr *)&sa, sizeof sa) == SRT_ERROR)
		return die("connect");
	static char buf[CHUNK];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "srt_bench: read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			int w = srt_send(s, buf + off, (int)(n - off));
			if (w == SRT_ERROR)
				return die("send");
			off += w;
		}
	}
	srt_close(s); /* lingers until the peer has everything */
	srt_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	if (srt_startup() < 0) {
		fprintf(stderr, "srt_bench: srt_startup failed\n");
		return 1;
	}
	if (argc >= 2 && !strcmp(argv[1], "recv") && argc <= 3)
		return do_recv(argc == 3 ? argv[2] : "127.0.0.1");
	if (argc == 4 && !strcmp(argv[1], "send"))
		return do_send(argv[2], argv[3]);
	fprintf(stderr, "usage: srt_bench recv [HOST] | srt_bench send HOST PORT\n");
	srt_cleanup();
	return 2;
}
