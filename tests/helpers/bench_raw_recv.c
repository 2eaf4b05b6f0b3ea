/* Baseline receiver for `make bench`: one plain recvfrom() per datagram,
 * payloads written to stdout, exits after IDLE_MS without a datagram.
 * usage: bench_raw_recv HOST PORT IDLE_MS   (prints "port N" on stderr) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_raw_recv HOST PORT IDLE_MS\n");
		return 2;
	}
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	struct sockaddr *sa;
	socklen_t sl;
	int family;
	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	if (inet_pton(AF_INET, argv[1], &s4.sin_addr) == 1) {
		s4.sin_family = family = AF_INET;
		s4.sin_port = htons((unsigned short)atoi(argv[2]));
		sa = (struct sockaddr *)&s4;
		sl = sizeof s4;
	} else if (inet_pton(AF_INET6, argv[1], &s6.sin6_addr) == 1) {
		s6.sin6_family = family = AF_INET6;
		s6.sin6_port = htons((unsigned short)atoi(argv[2]));
		sa = (struct sockaddr *)&s6;
		sl = sizeof s6;
	} else {
		return 2;
	}
	int idle = atoi(argv[3]);
	int fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, sa, sl) < 0) {
		perror("bind");
		return 1;
	}
	getsockname(fd, sa, &sl);
	fprintf(stderr, "port %d\n", ntohs(family == AF_INET ? s4.sin_port : s6.sin6_port));
	static char buf[65536];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, idle);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));
			if (w <= 0)
				return 1;
			off += w;
		}
	}
	close(fd);
	return 0;
}
