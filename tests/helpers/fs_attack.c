/* fs_attack - forward secrecy of identity sessions, shown on a capture.
 *
 *   fs_attack CAPTURE.pcap --server-priv FILE --client-priv FILE [--psk-key FILE]
 *             [--client-ephemeral HEX]
 *   fs_attack --print-ephemeral SEED   (the client's first ephemeral key
 *             under UDPKIT_TEST_IDENT_SEED=SEED, in hex)
 *
 * CAPTURE is what a tool's --pcap wrote for one identity session
 * (udpsend -r --identity ... --pcap).  The program plays the attacker who
 * recorded the session and later stole both long-term private keys (and
 * the group key, when the session was admitted with one):
 *
 *   1. With the server's private key it opens the static-key field of
 *      Noise message 1 in the captured CONNECT: the client's public key
 *      comes out.  That proves the capture holds the real handshake and
 *      that this program parses it right.
 *   2. It then tries everything the long-term keys allow: it answers the
 *      captured message 1 as the server would (its own ephemeral key, as
 *      the real server's is gone), and replays the client's side against
 *      the captured message 2; every SEALED packet is tried under every
 *      transport key that yields, at every key phase.  None may open: the
 *      session keys came from ephemeral keys that were never stored.
 *   3. Given the client's ephemeral private key (a TESTS-ONLY hook of the
 *      tools reproduces it), the same program recomputes message 1 byte for
 *      byte, reads the captured message 2 and opens the SEALED packets:
 *      the capture is complete, and step 2 failed for want of that key.
 *
 * Output: key=value lines on stdout; the test script judges them.  Exit 0
 * when the capture could be analysed, 1 otherwise.
 *
 * Wire layout: docs/PROTOCOL.md sections 2 and 9. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal_ident.h"
#include "seal_key.h"
#include "seal_noise.h"

#define MAX_PKTS 400000
#define REL_MAGIC 0x75
#define T_CONNECT 3
#define T_ACCEPT 4
#define T_SEALED 12
#define F_NOISE 0x10
#define CONNECT_FIELDS 40 /* header + cookie + parameters, before message 1 */
#define ACCEPT_FIELDS 28
#define MSG1_LEN 96
#define MSG2_LEN (48 + ACCEPT_FIELDS)
#define SEALED_HDR 20
#define PROLOGUE_LABEL "udpkit-rel-1"
#define MAX_PHASES 4 /* key turns tried per direction in step 2 */

struct pkt {
	uint8_t *d;
	size_t len;
	uint16_t sport;
};

static struct pkt *pkts;
static size_t npkts;

static _Noreturn void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "fs_attack: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static uint32_t rd16(const uint8_t *p, int swap)
{
	return swap ? (uint32_t)(p[0] << 8 | p[1]) : (uint32_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const uint8_t *p, int swap)
{
	return swap ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		    : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The UDP payloads of a classic pcap of Ethernet frames (tool_pcap.c). */
static void read_pcap(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s", path);
	uint8_t gh[24];
	if (fread(gh, 1, sizeof gh, f) != sizeof gh)
		die("%s: not a pcap file", path);
	int swap; /* big-endian file on this little-endian reader */
	if (rd32(gh, 0) == 0xa1b2c3d4)
		swap = 0;
	else if (rd32(gh, 1) == 0xa1b2c3d4)
		swap = 1;
	else
		die("%s: not a classic pcap file", path);
	if (rd32(gh + 20, swap) != 1)
		die("%s: not Ethernet frames", path);
	pkts = calloc(MAX_PKTS, sizeof *pkts);
	static uint8_t frame[70000];
	uint8_t rh[16];
	while (pkts && npkts < MAX_PKTS && fread(rh, 1, sizeof rh, f) == sizeof rh) {
		uint32_t incl = rd32(rh + 8, swap);
		if (incl > sizeof frame || fread(frame, 1, incl, f) != incl)
			die("%s: truncated record", path);
		if (incl < 14 + 20 + 8 || frame[5] == 0xdd) /* dropped by a relay's model */
			continue;
		uint32_t et = rd16(frame + 12, 1);
		size_t off;
		if (et == 0x0800)
			off = 14 + (size_t)(frame[14] & 15) * 4;
		else if (et == 0x86dd)
			off = 14 + 40;
		else
			continue;
		if (off + 8 > incl)
			continue;
		struct pkt *p = &pkts[npkts++];
		p->sport = (uint16_t)rd16(frame + off, 1);
		p->len = incl - off - 8;
		p->d = malloc(p->len ? p->len : 1);
		if (!p->d)
			die("%s", "out of memory");
		memcpy(p->d, frame + off + 8, p->len);
	}
	fclose(f);
	if (!pkts)
		die("%s", "out of memory");
}

static int is_type(const struct pkt *p, int type)
{
	return p->len >= 12 && p->d[0] == REL_MAGIC && p->d[1] == 1 && p->d[2] == type;
}

static uint32_t sid(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t counter(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void load_priv(const char *path, uint8_t out[32])
{
	struct seal_ident *id;
	int rc = seal_ident_load(&id, path);
	if (rc < 0)
		die("cannot load the identity key %s", path);
	memcpy(out, seal_ident_private(id), 32);
	seal_ident_free(id);
}

static void print_key(const char *name, const uint8_t *k)
{
	char t[SEAL_IDENT_TEXT_SIZE];
	seal_ident_pub_format(k, t, sizeof t);
	printf("%s=%s\n", name, t);
}

/* The session's captured pieces. */
static const struct pkt *connect_pkt, *accept_pkt;
static uint32_t client_sid, server_sid;
static uint8_t prologue[sizeof PROLOGUE_LABEL - 1 + CONNECT_FIELDS];
static size_t sealed_total;

static void find_handshake(void)
{
	for (size_t i = 0; i < npkts; i++) {
		const struct pkt *p = &pkts[i];
		if (!connect_pkt && is_type(p, T_CONNECT) && (p->d[3] & F_NOISE) &&
		    p->len == CONNECT_FIELDS + MSG1_LEN + 4) {
			connect_pkt = p;
			client_sid = sid(p->d + 8);
		}
		if (connect_pkt && !accept_pkt && is_type(p, T_ACCEPT) && (p->d[3] & F_NOISE) &&
		    p->len == ACCEPT_FIELDS + MSG2_LEN + 4 && sid(p->d + 4) == client_sid) {
			accept_pkt = p;
			server_sid = sid(p->d + 8);
		}
		if (is_type(p, T_SEALED) && p->len >= SEALED_HDR + 16)
			sealed_total++;
	}
	if (!connect_pkt)
		die("%s", "no CONNECT with a key exchange in the capture");
	memcpy(prologue, PROLOGUE_LABEL, sizeof PROLOGUE_LABEL - 1);
	memcpy(prologue + sizeof PROLOGUE_LABEL - 1, connect_pkt->d, CONNECT_FIELDS);
}

/* Direction of a SEALED packet: 1 client to server, 2 back, 0 not this
 * session's. */
static int direction(const struct pkt *p)
{
	uint32_t dst = sid(p->d + 4), src = sid(p->d + 8);
	if (dst == server_sid && src == client_sid)
		return 1;
	if (dst == client_sid && src == server_sid)
		return 2;
	return 0;
}

static int try_open(const struct seal_noise_cipher *c, const struct pkt *p)
{
	static uint8_t out[70000];
	return seal_noise_decrypt(c, counter(p->d + 12), p->d, SEALED_HDR, p->d + SEALED_HDR,
				  p->len - SEALED_HDR, out, sizeof out) >= 0;
}

/* Step 2: how many SEALED packets open under a pair of ciphers, at any of
 * MAX_PHASES key turns. */
static size_t open_any_phase(struct seal_noise_cipher *a, struct seal_noise_cipher *b)
{
	size_t opened = 0;
	struct seal_noise_cipher *cs[2] = { a, b };
	for (int phase = 0; phase < MAX_PHASES; phase++) {
		for (size_t i = 0; i < npkts; i++) {
			const struct pkt *p = &pkts[i];
			if (!is_type(p, T_SEALED) || p->len < SEALED_HDR + 16)
				continue;
			for (int k = 0; k < 2; k++)
				if (cs[k] && try_open(cs[k], p))
					opened++;
		}
		for (int k = 0; k < 2; k++)
			if (cs[k])
				seal_noise_rekey(cs[k]);
	}
	return opened;
}

/* The ephemeral key rel_ident draws for its first handshake under
 * test_seed (UDPKIT_TEST_IDENT_SEED): SplitMix64, as in rel_ident.c's
 * test_ephemeral().  If the library changes that, the control below fails
 * (message 1 is not rebuilt) and says so. */
static void test_ephemeral(uint64_t seed, uint8_t e[32])
{
	uint64_t x = seed + 0x9e3779b97f4a7c15ull * 1;
	for (int w = 0; w < 4; w++) {
		x += 0x9e3779b97f4a7c15ull;
		uint64_t z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		for (int b = 0; b < 8; b++)
			e[w * 8 + b] = (uint8_t)(z >> (8 * b));
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--print-ephemeral")) {
		uint8_t e[32];
		char hex[65];
		test_ephemeral(strtoull(argv[2], NULL, 0), e);
		printf("%s\n", sodium_bin2hex(hex, sizeof hex, e, sizeof e));
		return 0;
	}
	const char *cap = NULL, *spriv_path = NULL, *cpriv_path = NULL, *psk_path = NULL;
	const char *eph_hex = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--server-priv") && i + 1 < argc)
			spriv_path = argv[++i];
		else if (!strcmp(argv[i], "--client-priv") && i + 1 < argc)
			cpriv_path = argv[++i];
		else if (!strcmp(argv[i], "--psk-key") && i + 1 < argc)
			psk_path = argv[++i];
		else if (!strcmp(argv[i], "--client-ephemeral") && i + 1 < argc)
			eph_hex = argv[++i];
		else if (!cap && argv[i][0] != '-')
			cap = argv[i];
		else
			die("bad argument '%s' (see the comment at the top of fs_attack.c)", argv[i]);
	}
	if (!cap || !spriv_path || !cpriv_path)
		die("%s", "usage: fs_attack CAPTURE --server-priv F --client-priv F [--psk-key F] "
			  "[--client-ephemeral HEX]");
	if (sodium_init() < 0)
		die("%s", "libsodium");
	uint8_t spriv[32], cpriv[32], spub[32], cpub[32], psk[32], eph[32];
	load_priv(spriv_path, spriv);
	load_priv(cpriv_path, cpriv);
	seal_noise_public(spub, spriv);
	seal_noise_public(cpub, cpriv);
	int have_psk = 0;
	if (psk_path) {
		struct seal_key *k;
		if (seal_key_load(&k, psk_path) < 0)
			die("cannot load the group key %s", psk_path);
		seal_key_subkey(k, SEAL_KEY_SUB_PSK, psk, sizeof psk);
		seal_key_free(k);
		have_psk = 1;
	}
	read_pcap(cap);
	find_handshake();
	printf("datagrams=%zu\nsealed=%zu\naccept_found=%d\n", npkts, sealed_total,
	       accept_pkt != NULL);

	/* 1. message 1's static key, with the server's private key */
	const uint8_t *msg1 = connect_pkt->d + CONNECT_FIELDS;
	struct seal_noise_config rc;
	seal_noise_config_default(&rc);
	rc.role = SEAL_NOISE_RESPONDER;
	rc.static_priv = spriv;
	rc.psk = have_psk ? psk : NULL;
	rc.prologue = prologue;
	rc.prologue_len = sizeof prologue;
	struct seal_noise *resp;
	uint8_t buf[256], got[32];
	if (seal_noise_new(&resp, &rc) < 0)
		die("%s", "seal_noise_new");
	int r = seal_noise_read(resp, msg1, MSG1_LEN, buf, sizeof buf);
	printf("msg1_opened=%d\n", r >= 0);
	if (r >= 0 && seal_noise_remote_static(resp, got) == 0) {
		print_key("msg1_client_static", got);
		printf("msg1_client_static_matches=%d\n", sodium_memcmp(got, cpub, 32) == 0);
	}

	/* 2. everything the long-term keys give */
	size_t opened_static = 0;
	if (r >= 0) { /* answer as the server, with a new ephemeral key */
		uint8_t payload[ACCEPT_FIELDS] = { 0 };
		if (accept_pkt)
			memcpy(payload, accept_pkt->d, ACCEPT_FIELDS);
		if (seal_noise_write(resp, payload, sizeof payload, buf, sizeof buf) > 0) {
			struct seal_noise_cipher *tx, *rx;
			if (seal_noise_split(resp, &tx, &rx) == 0) {
				opened_static += open_any_phase(tx, rx);
				seal_noise_cipher_free(tx);
				seal_noise_cipher_free(rx);
			}
		}
	}
	seal_noise_free(resp);
	struct seal_noise_config ic;
	seal_noise_config_default(&ic);
	ic.role = SEAL_NOISE_INITIATOR;
	ic.static_priv = cpriv;
	ic.remote_static = spub;
	ic.psk = have_psk ? psk : NULL;
	ic.prologue = prologue;
	ic.prologue_len = sizeof prologue;
	int msg2_static = 0;
	if (accept_pkt) { /* the client's side again: its ephemeral key is gone */
		struct seal_noise *init;
		if (seal_noise_new(&init, &ic) == 0 &&
		    seal_noise_write(init, NULL, 0, buf, sizeof buf) == MSG1_LEN) {
			msg2_static = seal_noise_read(init, accept_pkt->d + ACCEPT_FIELDS, MSG2_LEN,
						      buf, sizeof buf) >= 0;
			struct seal_noise_cipher *tx, *rx;
			if (msg2_static && seal_noise_split(init, &tx, &rx) == 0) {
				opened_static += open_any_phase(tx, rx);
				seal_noise_cipher_free(tx);
				seal_noise_cipher_free(rx);
			}
			seal_noise_free(init);
		}
	}
	printf("static_msg2_opened=%d\nstatic_opened=%zu\n", msg2_static, opened_static);

	/* 3. the control: with the client's ephemeral key */
	if (eph_hex) {
		size_t elen = 0;
		if (sodium_hex2bin(eph, sizeof eph, eph_hex, strlen(eph_hex), NULL, &elen, NULL) != 0 ||
		    elen != 32)
			die("--client-ephemeral: '%s' is not 64 hex digits", eph_hex);
		ic.test_ephemeral = eph;
		struct seal_noise *init;
		size_t opened = 0, dir_total[3] = { 0 };
		int same1 = 0, msg2 = 0;
		if (seal_noise_new(&init, &ic) < 0)
			die("%s", "seal_noise_new");
		if (seal_noise_write(init, NULL, 0, buf, sizeof buf) == MSG1_LEN)
			same1 = memcmp(buf, msg1, MSG1_LEN) == 0;
		struct seal_noise_cipher *tx = NULL, *rx = NULL;
		if (accept_pkt)
			msg2 = seal_noise_read(init, accept_pkt->d + ACCEPT_FIELDS, MSG2_LEN, buf,
					       sizeof buf) >= 0;
		if (msg2 && seal_noise_split(init, &tx, &rx) == 0) {
			/* each direction follows its key phase bit */
			struct seal_noise_cipher *c[3] = { NULL, tx, rx };
			int phase[3] = { 0, 0, 0 };
			for (size_t i = 0; i < npkts; i++) {
				const struct pkt *p = &pkts[i];
				if (!is_type(p, T_SEALED) || p->len < SEALED_HDR + 16)
					continue;
				int d = direction(p);
				if (!d)
					continue;
				dir_total[d]++;
				if ((p->d[3] & 1) != phase[d]) {
					seal_noise_rekey(c[d]);
					phase[d] ^= 1;
				}
				opened += try_open(c[d], p);
			}
			seal_noise_cipher_free(tx);
			seal_noise_cipher_free(rx);
		}
		seal_noise_free(init);
		printf("eph_msg1_identical=%d\neph_msg2_opened=%d\neph_opened=%zu\n"
		       "eph_c2s=%zu\neph_s2c=%zu\n", same1, msg2, opened, dir_total[1], dir_total[2]);
	}
	sodium_memzero(spriv, sizeof spriv);
	sodium_memzero(cpriv, sizeof cpriv);
	sodium_memzero(psk, sizeof psk);
	for (size_t i = 0; i < npkts; i++)
		free(pkts[i].d);
	free(pkts);
	return 0;
}
