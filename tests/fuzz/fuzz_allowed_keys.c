/* fuzz_allowed_keys.c - seal_allowed_parse on arbitrary text.
 *
 * Besides not crashing: a refusal names a line that exists and is one of
 * the parser's codes; an accepted list holds keys whose canonical text is
 * in the input, each found again at its own index.  The input is copied
 * into a buffer of exactly its size, so reading past it is an ASan
 * report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_err.h"
#include "seal_ident.h"

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	check(text);
	memcpy(text, data, size);
	size_t lines = 1;
	for (size_t k = 0; k < size; k++)
		lines += text[k] == '\n';
	struct seal_allowed *a = NULL;
	size_t bad = 0;
	int rc = seal_allowed_parse(&a, size ? text : NULL, size, &bad);
	if (rc < 0) {
		check(rc == UDP_ESEAL_ALLOWED_LINE || rc == UDP_ESEAL_ALLOWED_DUP ||
		      rc == UDP_ENOMEM || rc == UDP_ETOOBIG);
		check(a == NULL);
		check(bad >= 1 && bad <= lines);
	} else {
		check(a != NULL && bad == 0);
		size_t n = seal_allowed_count(a);
		check(n <= lines);
		for (size_t k = 0; k < n; k++) {
			uint8_t pub[SEAL_IDENT_KEY];
			const char *name = NULL;
			char b64[SEAL_IDENT_TEXT_SIZE];
			check(seal_allowed_get(a, k, pub, &name) == 0);
			check(name && strlen(name) <= SEAL_IDENT_NAME_MAX);
			check(seal_ident_pub_format(pub, b64, sizeof b64) == SEAL_IDENT_B64_LEN);
			check(memmem(text, size, b64, SEAL_IDENT_B64_LEN) != NULL);
			check(seal_allowed_find(a, pub, NULL) == (int)k);
		}
	}
	seal_allowed_free(a);
	free(text);
	return 0;
}
