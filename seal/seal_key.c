/* seal_key.c - key files, passphrase keys, subkeys.  See seal_key.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "udp_err.h"
#include "seal_key.h"
#include "udp_wire.h"

#define KDF_CONTEXT "udpkit01" /* exactly crypto_kdf_CONTEXTBYTES */
#define SALT_CONTEXT "udpkit group salt v1"

struct seal_key {
	uint8_t k[SEAL_KEY_BYTES];
};

static int key_alloc(struct seal_key **out)
{
	*out = NULL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	struct seal_key *k = sodium_malloc(sizeof *k);
	if (!k)
		return UDP_ENOMEM;
	*out = k;
	return 0;
}

/* Key bytes are written once, then the page is made read-only. */
static int key_done(struct seal_key **out, struct seal_key *k, int rc)
{
	if (rc < 0) {
		seal_key_free(k);
		*out = NULL;
		return rc;
	}
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

void seal_key_free(struct seal_key *k)
{
	if (!k)
		return;
	sodium_mprotect_readwrite(k);
	sodium_memzero(k, sizeof *k);
	sodium_free(k);
}

int seal_key_generate(struct seal_key **out)
{
	struct seal_key *k;
	int rc = key_alloc(&k);
	if (rc < 0)
		return rc;
	randombytes_buf(k->k, sizeof k->k);
	return key_done(out, k, 0);
}

int seal_key_from_bytes(struct seal_key **out, const uint8_t bytes[SEAL_KEY_BYTES])
{
	struct seal_key *k;
	if (!out || !bytes)
		return UDP_EINVAL;
	int rc = key_alloc(&k);
	if (rc < 0)
		return rc;
	memcpy(k->k, bytes, sizeof k->k);
	return key_done(out, k, 0);
}

int seal_key_decode_b64(uint8_t out[SEAL_KEY_BYTES], const char *text, size_t len)
{
	if (!out || !text)
		return UDP_EINVAL;
	if (len != SEAL_KEY_B64_LEN)
		return UDP_ESEAL_KEYFILE_FORMAT;
	size_t binlen = 0;
	const char *end = NULL;
	int rc = 0;
	/* sodium's decoder rejects bad characters, missing padding and
	 * non-zero leftover bits, so each key has one text form. */
	if (sodium_base642bin(out, SEAL_KEY_BYTES, text, SEAL_KEY_B64_LEN, NULL, &binlen,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen != SEAL_KEY_BYTES || end != text + SEAL_KEY_B64_LEN)
		rc = UDP_ESEAL_KEYFILE_FORMAT;
	/* ...but libsodium 1.0.18 also takes some bytes >= 0x80 as '/' or
	 * letters (its constant-time compare assumes 0..255 and a signed
	 * char is negative).  Encoding back and comparing, in constant
	 * time, keeps exactly one text per key whatever the decoder lets
	 * through. */
	char canon[SEAL_KEY_B64_LEN + 1];
	if (rc == 0) {
		sodium_bin2base64(canon, sizeof canon, out, SEAL_KEY_BYTES,
				  sodium_base64_VARIANT_ORIGINAL);
		if (sodium_memcmp(canon, text, SEAL_KEY_B64_LEN) != 0)
			rc = UDP_ESEAL_KEYFILE_FORMAT;
		sodium_memzero(canon, sizeof canon);
	}
	if (rc < 0)
		sodium_memzero(out, SEAL_KEY_BYTES);
	return rc;
}

int seal_key_from_text(struct seal_key **out, const char *text, size_t len)
{
	struct seal_key *k;
	if (!out || (!text && len))
		return UDP_EINVAL;
	if (len == 0)
		return UDP_ESEAL_KEYFILE_EMPTY;
	if (!(len == SEAL_KEY_B64_LEN ||
	      (len == SEAL_KEY_B64_LEN + 1 && text[SEAL_KEY_B64_LEN] == '\n')))
		return UDP_ESEAL_KEYFILE_FORMAT;
	int rc = key_alloc(&k);
	if (rc < 0)
		return rc;
	rc = seal_key_decode_b64(k->k, text, SEAL_KEY_B64_LEN);
	return key_done(out, k, rc);
}

/* Opens a secret file refusing symlinks, non-regular files, files of
 * another owner (someone else could swap the key) and any group/other
 * permission bit.  Returns the fd or a negative code. */
static int open_secret(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? UDP_ESEAL_KEYFILE_LINK : UDP_ESYS;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = UDP_ESYS;
	else if (!S_ISREG(st.st_mode))
		rc = UDP_ESEAL_KEYFILE_TYPE;
	else if (st.st_uid != geteuid())
		rc = UDP_ESEAL_KEYFILE_OWNER;
	else if (st.st_mode & 077)
		rc = UDP_ESEAL_KEYFILE_PERM;
	if (rc < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	return fd;
}

/* Reads up to cap bytes; returns the count, or cap + 1 if there is more. */
static long read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		char extra;
		char *dst = got < cap ? buf + got : &extra;
		size_t want = got < cap ? cap - got : 1;
		ssize_t n = read(fd, dst, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return UDP_ESYS;
		}
		if (n == 0)
			return (long)got;
		if (got >= cap)
			return (long)cap + 1;
		got += (size_t)n;
	}
}

int seal_key_load(struct seal_key **out, const char *path)
{
	if (!out || !path)
		return UDP_EINVAL;
	*out = NULL;
	if (sodium_init() < 0)
		return UDP_ESEAL_SODIUM;
	int fd = open_secret(path);
	if (fd < 0)
		return fd;
	enum { CAP = 64 };
	char *text = sodium_malloc(CAP);
	if (!text) {
		close(fd);
		return UDP_ENOMEM;
	}
	long n = read_all(fd, text, CAP);
	int e = errno;
	close(fd);
	int rc;
	if (n < 0) {
		errno = e;
		rc = (int)n;
	} else if (n > CAP) {
		rc = UDP_ESEAL_KEYFILE_FORMAT;
	} else {
		rc = seal_key_from_text(out, text, (size_t)n);
	}
	sodium_memzero(text, CAP);
	sodium_free(text);
	return rc;
}

int seal_key_read_secret_file(const char *path, char *buf, size_t cap)
{
	if (!path || !buf || cap < 2)
		return UDP_EINVAL;
	buf[0] = '\0';
	int fd = open_secret(path);
	if (fd < 0)
		return fd;
	long n = read_all(fd, buf, cap - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return (int)n;
	}
	if ((size_t)n > cap - 1) {
		sodium_memzero(buf, cap);
		return UDP_ESEAL_PASSPHRASE;
	}
	size_t len = (size_t)n;
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	sodium_memzero(buf + len, cap - len);
	if (len == 0)
		return UDP_ESEAL_KEYFILE_EMPTY;
	return (int)len;
}

int seal_key_format(const struct seal_key *k, char *buf, size_t cap)
{
	if (!k || !buf || cap < SEAL_KEY_TEXT_SIZE)
		return UDP_ENOSPACE;
	sodium_bin2base64(buf, SEAL_KEY_B64_LEN + 1, k->k, sizeof k->k,
			  sodium_base64_VARIANT_ORIGINAL);
	buf[SEAL_KEY_B64_LEN] = '\n';
	buf[SEAL_KEY_B64_LEN + 1] = '\0';
	return SEAL_KEY_B64_LEN + 1;
}

int seal_key_save(const struct seal_key *k, const char *path)
{
	if (!k || !path)
		return UDP_EINVAL;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return errno == EEXIST ? UDP_ESEAL_KEYFILE_EXISTS : UDP_ESYS;
	char text[SEAL_KEY_TEXT_SIZE];
	int len = seal_key_format(k, text, sizeof text);
	int rc = 0;
	/* 0600 whatever the umask was (it can only have narrowed it). */
	if (fchmod(fd, 0600) < 0)
		rc = UDP_ESYS;
	for (int off = 0; rc == 0 && off < len;) {
		ssize_t n = write(fd, text + off, (size_t)(len - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = UDP_ESYS;
			break;
		}
		off += (int)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = UDP_ESYS;
	int e = errno;
	sodium_memzero(text, sizeof text);
	if (close(fd) < 0 && rc == 0) {
		e = errno;
		rc = UDP_ESYS;
	}
	if (rc < 0)
		unlink(path);
	errno = e;
	return rc;
}

int seal_key_derive(struct seal_key **out, const char *group,
		   const char *passphrase, size_t passlen)
{
	if (!out || !group || (!passphrase && passlen))
		return UDP_EINVAL;
	*out = NULL;
	size_t glen = strlen(group);
	if (glen == 0 || glen > SEAL_KEY_GROUP_MAX)
		return UDP_ESEAL_GROUP;
	if (passlen == 0 || passlen > SEAL_KEY_PASSPHRASE_MAX)
		return UDP_ESEAL_PASSPHRASE;
	if (passlen < SEAL_KEY_PASSPHRASE_MIN)
		return UDP_ESEAL_PASSPHRASE_SHORT;
	struct seal_key *k;
	int rc = key_alloc(&k);
	if (rc < 0)
		return rc;
	/* salt = BLAKE2b-256(context NUL group)[0..16) */
	uint8_t hash[crypto_generichash_BYTES];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof hash);
	crypto_generichash_update(&st, (const uint8_t *)SALT_CONTEXT, sizeof SALT_CONTEXT);
	crypto_generichash_update(&st, (const uint8_t *)group, glen);
	crypto_generichash_final(&st, hash, sizeof hash);
	uint8_t salt[crypto_pwhash_SALTBYTES];
	memcpy(salt, hash, sizeof salt);
	if (crypto_pwhash(k->k, sizeof k->k, passphrase, passlen, salt,
			  crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		rc = UDP_ENOMEM; /* Argon2 fails only when it cannot allocate */
	return key_done(out, k, rc);
}

int seal_key_subkey(const struct seal_key *k, uint64_t id, uint8_t *out, size_t len)
{
	if (!k || !out || len < crypto_kdf_BYTES_MIN || len > crypto_kdf_BYTES_MAX)
		return UDP_EINVAL;
	if (crypto_kdf_derive_from_key(out, len, id, KDF_CONTEXT, k->k) != 0)
		return UDP_EINVAL;
	return 0;
}

uint32_t seal_key_id(const struct seal_key *k)
{
	uint8_t sub[crypto_kdf_BYTES_MIN];
	if (seal_key_subkey(k, SEAL_KEY_SUB_KEYID, sub, sizeof sub) < 0)
		return 0;
	struct udp_wire_reader r;
	udp_wire_reader_init(&r, sub, sizeof sub);
	uint32_t id = udp_wire_get_u32(&r);
	sodium_memzero(sub, sizeof sub);
	return id;
}

int seal_key_protect_process(void)
{
	struct rlimit rl = {0, 0};
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return UDP_ESYS;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return UDP_ESYS;
	return 0;
}
