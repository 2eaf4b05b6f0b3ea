/* fuzz_key_text.c - the key texts on arbitrary text: group keys
 * (seal_key_from_text), identity private keys (what seal_ident_load does
 * with a file's bytes once seal_key_read_secret_file has stripped one
 * "\n" and one "\r": seal_key_decode_b64 of whatever length is left, then
 * seal_ident_from_bytes), and public keys (seal_ident_pub_parse).
 *
 * Besides not crashing: an accepted text must be the one canonical form
 * of its key (seal_key_format writes it back byte for byte, newline
 * optional on input), and a refusal must be UDP_ESEAL_KEYFILE_FORMAT or,
 * for no bytes at all, UDP_ESEAL_KEYFILE_EMPTY.  The input is copied
 * into a buffer of exactly its size, so the parser reading one byte too
 * many is an ASan report.  The three accept the same texts: one key, one
 * text, whichever file it sits in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "seal_ident.h"
#include "seal_key.h"

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seal_key *k = NULL;
	char *text = malloc(size ? size : 1);
	check(text);
	memcpy(text, data, size);
	int rc = seal_key_from_text(&k, size ? text : NULL, size);
	if (rc == 0) {
		char out[SEAL_KEY_TEXT_SIZE];
		check(k != NULL);
		check(size == SEAL_KEY_B64_LEN || size == SEAL_KEY_B64_LEN + 1);
		check(seal_key_format(k, out, sizeof out) == SEAL_KEY_B64_LEN + 1);
		check(memcmp(out, text, SEAL_KEY_B64_LEN) == 0 && out[SEAL_KEY_B64_LEN] == '\n');
		if (size == SEAL_KEY_B64_LEN + 1)
			check(text[SEAL_KEY_B64_LEN] == '\n');
		/* the key id is derived from the key: must not crash either */
		(void)seal_key_id(k);
	} else {
		check(k == NULL);
		check(rc == (size ? UDP_ESEAL_KEYFILE_FORMAT : UDP_ESEAL_KEYFILE_EMPTY));
	}

	/* the public key text: the same texts as a group key, the same bytes */
	uint8_t pub[SEAL_IDENT_KEY], priv[SEAL_KEY_BYTES];
	int prc = seal_ident_pub_parse(pub, size ? text : NULL, size);
	check(prc == 0 || prc == UDP_ESEAL_KEYFILE_FORMAT);
	check((prc == 0) == (rc == 0));
	if (prc == 0) {
		char b64[SEAL_IDENT_TEXT_SIZE];
		check(seal_ident_pub_format(pub, b64, sizeof b64) == SEAL_IDENT_B64_LEN);
		check(memcmp(b64, text, SEAL_IDENT_B64_LEN) == 0);
	}

	/* the identity file's text, after the reader's stripping */
	size_t len = size;
	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	if (len) {
		memset(priv, 0xa5, sizeof priv);
		int irc = seal_key_decode_b64(priv, text, len);
		check(irc == 0 || irc == UDP_ESEAL_KEYFILE_FORMAT);
		/* a refusal leaves nothing half-decoded: wiped, or (a wrong
		 * length, refused before decoding) untouched */
		if (irc < 0) {
			uint8_t z[SEAL_KEY_BYTES] = {0}, u[SEAL_KEY_BYTES];
			memset(u, 0xa5, sizeof u);
			check(memcmp(priv, z, sizeof z) == 0 || memcmp(priv, u, sizeof u) == 0);
		}
		/* no CR: exactly the group key texts; with one, their CRLF twins */
		int plain = len == size || (len + 1 == size && text[len] == '\n');
		if (plain)
			check((irc == 0) == (rc == 0));
		if (irc == 0) {
			check(len == SEAL_IDENT_B64_LEN);
			if (prc == 0)
				check(memcmp(priv, pub, SEAL_KEY_BYTES) == 0);
			struct seal_ident *id = NULL;
			check(seal_ident_from_bytes(&id, priv) == 0);
			check(memcmp(seal_ident_private(id), priv, SEAL_IDENT_KEY) == 0);
			seal_ident_free(id);
		}
	}
	seal_key_free(k);
	free(text);
	return 0;
}
