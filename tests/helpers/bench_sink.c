/* Measures a byte stream for `make bench`: reads stdin to EOF and prints
 * "bytes=N seconds=S" where S runs from the first byte read to the last,
 * so the receiver's idle timeout at the end is not counted. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	static char buf[1 << 20];
	unsigned long long total = 0;
	double first = 0, last = 0;
	ssize_t n;
	while ((n = read(0, buf, sizeof buf)) > 0) {
		last = now();
		if (total == 0)
			first = last;
		total += (unsigned long long)n;
	}
	printf("bytes=%llu seconds=%.6f\n", total, total ? last - first : 0.0);
	return 0;
}
