/* Baseline sender for `make bench`: reads stdin in CHUNK-byte pieces and
 * sends each with one plain sendto(), the way a simple program would.
 * usage: bench_raw_send HOST PORT CHUNK  (numeric IPv4/IPv6 host) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_raw_send HOST PORT CHUNK\n");
		return 2;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(argv[2]));
		sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(argv[2]));
		sl = sizeof *s6;
	} else {
		fprintf(stderr, "bench_raw_send: bad host '%s'\n", argv[1]);
		return 2;
	}
	size_t chunk = (size_t)atoi(argv[3]);
	if (chunk == 0 || chunk > 65507)
		return 2;
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	char *buf = malloc(chunk);
	size_t n;
	while ((n = read_full(0, buf, chunk)) > 0) {
		while (sendto(fd, buf, n, 0, (struct sockaddr *)&ss, sl) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				struct pollfd p = {.fd = fd, .events = POLLOUT};
				poll(&p, 1, 100);
				continue;
			}
			if (errno != EINTR) {
				perror("sendto");
				return 1;
			}
		}
		if (n < chunk)
			break;
	}
	free(buf);
	close(fd);
	return 0;
}
