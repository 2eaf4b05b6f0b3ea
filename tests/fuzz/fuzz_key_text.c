/* fuzz_key_text.c - seal_key_from_text on arbitrary text.
 *
 * Besides not crashing: an accepted text must be the one canonical form
 * of its key (seal_key_format writes it back byte for byte, newline
 * optional on input), and a refusal must be UDP_ESEAL_KEYFILE_FORMAT or,
 * for no bytes at all, UDP_ESEAL_KEYFILE_EMPTY.  The input is copied
 * into a buffer of exactly its size, so the parser reading one byte too
 * many is an ASan report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
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
	seal_key_free(k);
	free(text);
	return 0;
}
