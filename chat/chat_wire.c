/* chat_wire.c - udpchat packets and peer lists (see chat_wire.h).  All
 * parsing goes through udp_wire. */
#include <string.h>

#include "chat_wire.h"
#include "udp_err.h"
#include "udp_wire.h"

int chat_nick_valid(const char *nick, size_t len)
{
	if (!nick || len == 0 || len > CHAT_NICK_MAX || nick[0] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)nick[i];
		/* bytes >= 0x80 are allowed so UTF-8 nicks work */
		if (c <= ' ' || c == 0x7f || c == '#' || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

static int type_valid(uint8_t t)
{
	return t >= CHAT_BEACON && t <= CHAT_FILE_CANCEL;
}

int chat_type_has_key(uint8_t type)
{
	return type == CHAT_BEACON || type == CHAT_LEAVE || type == CHAT_HELLO;
}

static int key_zero(const uint8_t *k)
{
	uint8_t acc = 0;
	for (int i = 0; i < CHAT_KEY_LEN; i++)
		acc |= k[i];
	return acc == 0;
}

int chat_type_is_line(uint8_t type)
{
	return type == CHAT_MSG || type == CHAT_ME || type == CHAT_PRIV;
}

/* One canonical form per packet: a decoded packet that passes this
 * encodes back to the same bytes (tests/fuzz/fuzz_chat.c checks it). */
static int ext_valid(const struct chat_pkt *p)
{
	if (p->ident > 1 || (p->ident && chat_type_has_key(p->type) && key_zero(p->key)))
		return 0;
	if (chat_type_is_line(p->type))
		return p->seq != 0 && (p->flags == 0 || p->flags == CHAT_LINE_LATE ||
				       p->flags == CHAT_LINE_HISTORY);
	if (p->type == CHAT_HISTORY)
		return p->count >= 1 && p->count <= CHAT_HISTORY_MAX;
	if (p->type >= CHAT_FILE_OFFER && p->fid == 0)
		return 0;
	if (p->type == CHAT_FILE_OFFER) /* a name, and nothing past its end */
		return p->text_len >= 1 && p->text_len <= CHAT_FILE_NAME_MAX;
	if (p->type == CHAT_FILE_ACCEPT)
		return p->text_len == 0;
	if (p->type == CHAT_FILE_DATA) /* no empty chunks: each one moves off on */
		return p->text_len >= 1 && p->off <= UINT64_MAX - p->text_len;
	if (p->type == CHAT_FILE_CANCEL)
		return p->text_len == 0 && p->mine <= 1 && p->reason >= 1 &&
		       p->reason <= CHAT_FILE_WIRE_MAX;
	return 1;
}

static void put_ext(struct udp_wire_writer *w, const struct chat_pkt *p)
{
	if (p->type == CHAT_HELLO) {
		udp_wire_put_u64(w, p->start);
	} else if (chat_type_is_line(p->type)) {
		udp_wire_put_u64(w, p->seq);
		udp_wire_put_u64(w, p->ts);
		udp_wire_put_u8(w, p->flags);
	} else if (p->type == CHAT_HISTORY) {
		udp_wire_put_u16(w, p->count);
	} else if (p->type >= CHAT_FILE_OFFER) {
		udp_wire_put_u32(w, p->fid);
		if (p->type == CHAT_FILE_OFFER) {
			udp_wire_put_u64(w, p->size);
			udp_wire_put_bytes(w, p->sha256, CHAT_SHA256_LEN);
		} else if (p->type == CHAT_FILE_DATA) {
			udp_wire_put_u64(w, p->off);
		} else if (p->type == CHAT_FILE_CANCEL) {
			udp_wire_put_u8(w, p->mine);
			udp_wire_put_u8(w, p->reason);
		}
	}
	if (p->ident && chat_type_has_key(p->type))
		udp_wire_put_bytes(w, p->key, CHAT_KEY_LEN);
}

static void get_ext(struct udp_wire_reader *r, struct chat_pkt *p)
{
	if (p->type == CHAT_HELLO) {
		p->start = udp_wire_get_u64(r);
	} else if (chat_type_is_line(p->type)) {
		p->seq = udp_wire_get_u64(r);
		p->ts = udp_wire_get_u64(r);
		p->flags = udp_wire_get_u8(r);
	} else if (p->type == CHAT_HISTORY) {
		p->count = udp_wire_get_u16(r);
	} else if (p->type >= CHAT_FILE_OFFER) {
		p->fid = udp_wire_get_u32(r);
		if (p->type == CHAT_FILE_OFFER) {
			p->size = udp_wire_get_u64(r);
			udp_wire_get_bytes(r, p->sha256, CHAT_SHA256_LEN);
		} else if (p->type == CHAT_FILE_DATA) {
			p->off = udp_wire_get_u64(r);
		} else if (p->type == CHAT_FILE_CANCEL) {
			p->mine = udp_wire_get_u8(r);
			p->reason = udp_wire_get_u8(r);
		}
	}
	if (p->ident && chat_type_has_key(p->type))
		udp_wire_get_bytes(r, p->key, CHAT_KEY_LEN);
}

int chat_pkt_encode(const struct chat_pkt *p, void *buf, size_t cap)
{
	size_t nlen = strnlen(p->nick, sizeof p->nick);
	if (!type_valid(p->type) || !chat_nick_valid(p->nick, nlen) ||
	    !ext_valid(p) || p->text_len > CHAT_TEXT_MAX || (p->text_len && !p->text))
		return UDP_EINVAL;
	struct udp_wire_writer w;
	udp_wire_writer_init(&w, buf, cap);
	udp_wire_put_u32(&w, CHAT_MAGIC);
	udp_wire_put_u8(&w, p->ident ? CHAT_VERSION_IDENT : CHAT_VERSION);
	udp_wire_put_u8(&w, p->type);
	udp_wire_put_u64(&w, p->id);
	udp_wire_put_u16(&w, p->port);
	udp_wire_put_u8(&w, (uint8_t)nlen);
	udp_wire_put_bytes(&w, p->nick, nlen);
	put_ext(&w, p);
	udp_wire_put_u16(&w, (uint16_t)p->text_len);
	if (p->text_len)
		udp_wire_put_bytes(&w, p->text, p->text_len);
	if (udp_wire_writer_error(&w))
		return UDP_ENOSPACE;
	return (int)udp_wire_written(&w);
}

int chat_pkt_decode(struct chat_pkt *p, const void *buf, size_t len)
{
	struct udp_wire_reader r;
	memset(p, 0, sizeof *p);
	udp_wire_reader_init(&r, buf, len);
	uint32_t magic = udp_wire_get_u32(&r);
	uint8_t ver = udp_wire_get_u8(&r);
	p->type = udp_wire_get_u8(&r);
	p->id = udp_wire_get_u64(&r);
	p->port = udp_wire_get_u16(&r);
	uint8_t nlen = udp_wire_get_u8(&r);
	if (udp_wire_reader_error(&r))
		return UDP_ESHORT;
	/* cheap rejections first: foreign packets on a shared port */
	if (magic != CHAT_MAGIC || (ver != CHAT_VERSION && ver != CHAT_VERSION_IDENT) ||
	    !type_valid(p->type) || nlen == 0 || nlen > CHAT_NICK_MAX)
		return UDP_EINVAL;
	p->ident = ver == CHAT_VERSION_IDENT;
	udp_wire_get_bytes(&r, p->nick, nlen);
	get_ext(&r, p);
	uint16_t tlen = udp_wire_get_u16(&r);
	if (udp_wire_reader_error(&r))
		return UDP_ESHORT;
	p->text_len = tlen; /* ext_valid looks at it (FILE_*) */
	if (tlen > CHAT_TEXT_MAX || !ext_valid(p))
		return UDP_EINVAL;
	p->text = udp_wire_get_ptr(&r, tlen);
	if (udp_wire_reader_error(&r))
		return UDP_ESHORT;
	p->text_len = tlen;
	if (udp_wire_remaining(&r) != 0 || !chat_nick_valid(p->nick, nlen))
		return UDP_EINVAL;
	if (!tlen)
		p->text = NULL;
	return 0;
}

/* ---- peer lists ---- */

int chat_peers_put(struct udp_wire_writer *w, const struct chat_peer_addr *e)
{
	int fam = udp_addr_family(&e->addr);
	if (fam != AF_INET && fam != AF_INET6)
		return UDP_EFAMILY;
	udp_wire_put_u64(w, e->id);
	if (fam == AF_INET) {
		udp_wire_put_u8(w, 4);
		udp_wire_put_bytes(w, &e->addr.u.in4.sin_addr, 4);
	} else {
		udp_wire_put_u8(w, 6);
		udp_wire_put_bytes(w, &e->addr.u.in6.sin6_addr, 16);
	}
	udp_wire_put_u16(w, (uint16_t)udp_addr_port(&e->addr));
	if (e->has_key)
		udp_wire_put_bytes(w, e->key, CHAT_KEY_LEN);
	return udp_wire_writer_error(w) ? UDP_ENOSPACE : 0;
}

static int peers_next(struct udp_wire_reader *r, struct chat_peer_addr *e, int keyed)
{
	if (udp_wire_reader_error(r))
		return UDP_ESHORT;
	if (udp_wire_remaining(r) == 0)
		return 0;
	memset(e, 0, sizeof *e);
	e->id = udp_wire_get_u64(r);
	uint8_t fam = udp_wire_get_u8(r);
	if (udp_wire_reader_error(r))
		return UDP_ESHORT;
	if (fam == 4) {
		e->addr.u.in4.sin_family = AF_INET;
		udp_wire_get_bytes(r, &e->addr.u.in4.sin_addr, 4);
		e->addr.len = sizeof e->addr.u.in4;
	} else if (fam == 6) {
		e->addr.u.in6.sin6_family = AF_INET6;
		udp_wire_get_bytes(r, &e->addr.u.in6.sin6_addr, 16);
		e->addr.len = sizeof e->addr.u.in6;
	} else {
		return UDP_EINVAL;
	}
	uint16_t port = udp_wire_get_u16(r);
	if (udp_wire_reader_error(r))
		return UDP_ESHORT;
	udp_addr_set_port(&e->addr, port);
	if (keyed) {
		udp_wire_get_bytes(r, e->key, CHAT_KEY_LEN);
		if (udp_wire_reader_error(r))
			return UDP_ESHORT;
		if (key_zero(e->key))
			return UDP_EINVAL;
		e->has_key = 1;
	}
	return 1;
}

int chat_peers_next(struct udp_wire_reader *r, struct chat_peer_addr *e)
{
	return peers_next(r, e, 0);
}

int chat_peers_next_keyed(struct udp_wire_reader *r, struct chat_peer_addr *e)
{
	return peers_next(r, e, 1);
}
