/* ident_gen - an identity key pair for the end-to-end tests, until
 * `udpkey genkey --identity` is everywhere:
 *
 *   ident_gen FILE      writes FILE (0600, never over an existing one),
 *                       prints "<base64 public key> <fingerprint>" */
#include <stdio.h>

#include "seal_ident.h"
#include "udp_err.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: ident_gen FILE\n");
		return 2;
	}
	struct seal_ident *id;
	int rc = seal_ident_generate(&id);
	if (rc == 0 && (rc = seal_ident_save(id, argv[1])) < 0)
		seal_ident_free(id);
	if (rc < 0) {
		fprintf(stderr, "ident_gen: %s: %s\n", argv[1], udpkit_strerror(rc));
		return 1;
	}
	char b64[SEAL_IDENT_TEXT_SIZE], fpr[SEAL_IDENT_FPR_SIZE];
	seal_ident_pub_format(seal_ident_public(id), b64, sizeof b64);
	seal_ident_fingerprint(seal_ident_public(id), fpr, sizeof fpr);
	printf("%s %s\n", b64, fpr);
	seal_ident_free(id);
	return 0;
}
