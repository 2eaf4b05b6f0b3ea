/* enet_bench - the ENet side of `make bench`: a host pair on 127.0.0.1, one
 * thread each, the client sending 1200-byte reliable packets on channel 0
 * until BYTES have been received.  Loss is the same as udpkit's rows get
 * from --netsim-in on both ends: every host drops the given share of the
 * datagrams it receives (ENet's intercept hook, seeded PRNG), so data and
 * acks are both lost.
 *
 *   enet_bench BYTES LOSS_PERCENT [TIMEOUT_SECS [SEED]]
 *
 * Prints "enet bytes=N seconds=S finished=0|1": bytes received, seconds
 * from the first to the last packet received (or to the timeout). */
#include <enet/enet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEN 1200
#define AHEAD 4096 /* packets queued beyond what was received */

static double loss;
static uint64_t total_pkts;
static double timeout_s;
static atomic_uint_fast64_t received;
static atomic_int port_ready, stop;
static atomic_uint port;
static double t_first, t_last;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: one stream per host, seeded from the command line */
static uint64_t next_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng[2];
static ENetHost *srv_host; /* the intercept tells the hosts apart by this */

/* Returning 1 tells ENet the datagram was dealt with: it is dropped. */
static int ENET_CALLBACK drop(ENetHost *host, ENetEvent *ev)
{
	(void)ev;
	uint64_t *r = host == srv_host ? &rng[1] : &rng[0];
	return (double)(next_rand(r) >> 11) / 9007199254740992.0 < loss;
}

static void *server(void *arg)
{
	(void)arg;
	ENetAddress a = {.host = ENET_HOST_ANY, .port = 0};
	enet_address_set_host(&a, "127.0.0.1");
	ENetHost *h = enet_host_create(&a, 1, 1, 0, 0);
	if (!h) {
		fprintf(stderr, "enet_bench: cannot create the server host\n");
		exit(1);
	}
	srv_host = h;
	h->intercept = drop;
	atomic_store(&port, h->address.port);
	atomic_store(&port_ready, 1);
	uint64_t got = 0;
	while (!atomic_load(&stop)) {
		ENetEvent ev;
		int r = enet_host_service(h, &ev, 1);
		while (r > 0) {
			if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
				double t = now_s();
				if (!got)
					t_first = t;
				t_last = t;
				got++;
				atomic_store(&received, got);
				enet_packet_destroy(ev.packet);
			}
			r = enet_host_check_events(h, &ev);
		}
		if (got >= total_pkts)
			atomic_store(&stop, 1);
	}
	enet_host_flush(h);
	enet_host_destroy(h);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: enet_bench BYTES LOSS_PERCENT [TIMEOUT_SECS [SEED]]\n");
		return 2;
	}
	total_pkts = strtoull(argv[1], NULL, 10) / LEN;
	loss = atof(argv[2]) / 100;
	timeout_s = argc > 3 ? atof(argv[3]) : 60;
	uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 42;
	rng[0] = seed;
	rng[1] = seed ^ 0x5555555555555555ull;
	if (enet_initialize() != 0)
		return 1;
	pthread_t st;
	pthread_create(&st, NULL, server, NULL);
	while (!atomic_load(&port_ready))
		;
	ENetHost *c = enet_host_create(NULL, 1, 1, 0, 0);
	if (!c)
		return 1;
	c->intercept = drop;
	ENetAddress a = {.port = (enet_uint16)atomic_load(&port)};
	enet_address_set_host(&a, "127.0.0.1");
	ENetPeer *peer = enet_host_connect(c, &a, 1, 0);
	int connected = 0;
	uint64_t sent = 0;
	uint8_t buf[LEN];
	memset(buf, 0x42, sizeof buf);
	double t0 = now_s();
	while (!atomic_load(&stop)) {
		if (now_s() - t0 > timeout_s) {
			atomic_store(&stop, 1);
			break;
		}
		ENetEvent ev;
		/* 1 ms: returns as soon as an ack arrives, without spinning */
		int r = enet_host_service(c, &ev, 1);
		while (r > 0) {
			if (ev.type == ENET_EVENT_TYPE_CONNECT)
				connected = 1;
			else if (ev.type == ENET_EVENT_TYPE_RECEIVE)
				enet_packet_destroy(ev.packet);
			r = enet_host_check_events(c, &ev);
		}
		while (connected && sent < total_pkts && sent - atomic_load(&received) < AHEAD) {
			ENetPacket *p = enet_packet_create(buf, LEN, ENET_PACKET_FLAG_RELIABLE);
			if (!p || enet_peer_send(peer, 0, p) < 0)
				break;
			sent++;
		}
		enet_host_flush(c);
	}
	pthread_join(st, NULL);
	uint64_t got = atomic_load(&received);
	int finished = got >= total_pkts;
	double secs = got ? t_last - t_first : 0;
	if (!finished && got)
		secs = now_s() - t_first;
	printf("enet bytes=%llu seconds=%.6f finished=%d\n",
	       (unsigned long long)(got * LEN), secs, finished);
	enet_host_destroy(c);
	enet_deinitialize();
	return 0;
}
