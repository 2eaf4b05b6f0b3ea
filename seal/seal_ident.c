/* seal_ident.c - identity key pairs, their texts, the allowed-keys list.
 * See seal_ident.h.  Files go through seal_key's checked helpers. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_ident.h"
#include "seal_key.h"
#include "seal_noise.h"

struct seal_ident {
	uint8_t priv[SEAL_IDENT_KEY];
	uint8_t pub[SEAL_IDENT_KEY];
};

void seal_ident_free(struct seal_ident *id)
{
	if (!id)
		return;
	sodium_mprotect_readwrite(id);
	sodium_memzero(id, sizeof *id);
	sodium_free(id);
}

int seal_ident_from_bytes(struct seal_ident **out, const uint8_t priv[SEAL_IDENT_KEY])
{
	if (!out || !priv)
		return UDP_EINVAL;
	*out = NULL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	struct seal_ident *id = sodium_malloc(sizeof *id);
	if (!id)
		return UDP_ENOMEM;
	memcpy(id->priv, priv, SEAL_IDENT_KEY);
	int rc = seal_noise_public(id->pub, id->priv);
	if (rc < 0) {
		seal_ident_free(id);
		return rc;
	}
	sodium_mprotect_readonly(id);
	*out = id;
	return 0;
}

int seal_ident_generate(struct seal_ident **out)
{
	if (!out)
		return UDP_EINVAL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	uint8_t priv[SEAL_IDENT_KEY];
	randombytes_buf(priv, sizeof priv);
	int rc = seal_ident_from_bytes(out, priv);
	sodium_memzero(priv, sizeof priv);
	return rc;
}

int seal_ident_load(struct seal_ident **out, const char *path)
{
	if (!out || !path)
		return UDP_EINVAL;
	*out = NULL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	/* seal_key's reader: no symlink, regular, our own, mode 0600; it
	 * strips the newline.  A longer file fails as too long. */
	enum { CAP = 64 };
	char *text = sodium_malloc(CAP);
	uint8_t *priv = sodium_malloc(SEAL_IDENT_KEY);
	int rc = text && priv ? 0 : UDP_ENOMEM;
	int n = rc == 0 ? seal_key_read_secret_file(path, text, CAP) : rc;
	if (n == UDP_ESEAL_PASSPHRASE)
		rc = UDP_ESEAL_KEYFILE_FORMAT;
	else if (n < 0)
		rc = n;
	else
		rc = seal_key_decode_b64(priv, text, (size_t)n);
	if (rc == 0)
		rc = seal_ident_from_bytes(out, priv);
	if (text) {
		sodium_memzero(text, CAP);
		sodium_free(text);
	}
	if (priv) {
		sodium_memzero(priv, SEAL_IDENT_KEY);
		sodium_free(priv);
	}
	return rc;
}

int seal_ident_save(const struct seal_ident *id, const char *path)
{
	if (!id || !path)
		return UDP_EINVAL;
	/* The file text is exactly a group key's: reuse its careful writer. */
	struct seal_key *k;
	int rc = seal_key_from_bytes(&k, id->priv);
	if (rc < 0)
		return rc;
	rc = seal_key_save(k, path);
	seal_key_free(k);
	return rc;
}

const uint8_t *seal_ident_private(const struct seal_ident *id)
{
	return id ? id->priv : NULL;
}

const uint8_t *seal_ident_public(const struct seal_ident *id)
{
	return id ? id->pub : NULL;
}

int seal_ident_pub_format(const uint8_t pub[SEAL_IDENT_KEY], char *buf, size_t cap)
{
	if (!pub || !buf)
		return UDP_EINVAL;
	if (cap < SEAL_IDENT_TEXT_SIZE)
		return UDP_ENOSPACE;
	sodium_bin2base64(buf, SEAL_IDENT_TEXT_SIZE, pub, SEAL_IDENT_KEY,
			  sodium_base64_VARIANT_ORIGINAL);
	return SEAL_IDENT_B64_LEN;
}

int seal_ident_pub_parse(uint8_t pub[SEAL_IDENT_KEY], const char *text, size_t len)
{
	if (!pub || (!text && len))
		return UDP_EINVAL;
	if (len == SEAL_IDENT_B64_LEN + 1 && text[SEAL_IDENT_B64_LEN] == '\n')
		len--;
	if (len != SEAL_IDENT_B64_LEN)
		return UDP_ESEAL_KEYFILE_FORMAT;
	return seal_key_decode_b64(pub, text, len);
}

int seal_ident_fingerprint(const uint8_t pub[SEAL_IDENT_KEY], char *buf, size_t cap)
{
	if (!pub || !buf)
		return UDP_EINVAL;
	if (cap < SEAL_IDENT_FPR_SIZE)
		return UDP_ENOSPACE;
	uint8_t h[32];
	crypto_generichash_blake2b(h, sizeof h, pub, SEAL_IDENT_KEY, NULL, 0);
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 8; i++) {
		if (i && i % 2 == 0)
			buf[o++] = '-';
		buf[o++] = hex[h[i] >> 4];
		buf[o++] = hex[h[i] & 15];
	}
	buf[o] = '\0';
	return (int)o;
}
