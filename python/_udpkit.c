/* _udpkit.c - the CPython glue of the udpkit module: the type
 * _udpkit.Socket over the engine of uk.h.  Arguments arrive normalised by
 * udpkit/__init__.py (host, port, scope; timeouts as seconds, -1 for
 * none); every engine call runs with the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "uk.h"

typedef struct {
	PyObject_HEAD
	struct uk *u;
	int family;
} SockObject;

static PyObject *gaierror; /* socket.gaierror */
static PyObject *IdentityRefused; /* udpkit.IdentityRefusedError */

/* Raises the Python exception for an engine or library code. */
static PyObject *raise_code(int rc, const char *text)
{
	const char *msg = text ? text : uk_strerror(rc);
	int e;
	if (rc == UK_ETIMEDOUT) {
		PyErr_SetString(PyExc_TimeoutError, "timed out");
		return NULL;
	}
	if (rc == UDP_ENOMEM)
		return PyErr_NoMemory();
	if (rc <= UDP_EADDR_EMPTY && rc >= UDP_EADDR_HOST) {
		PyObject *args = Py_BuildValue("(is)", EAI_NONAME, msg);
		if (args) {
			PyErr_SetObject(gaierror, args);
			Py_DECREF(args);
		}
		return NULL;
	}
	if ((rc <= UDP_ENETSIM_WORD && rc >= UDP_ENETSIM_NEEDS) ||
	    rc == UDP_ESEAL_KEYFILE_FORMAT || rc == UDP_ESEAL_KEYFILE_EMPTY ||
	    rc == UDP_ESEAL_PASSPHRASE || rc == UDP_ESEAL_PASSPHRASE_SHORT ||
	    rc == UDP_ESEAL_GROUP || rc == UDP_ESEAL_ALLOWED_LINE || rc == UDP_ESEAL_ALLOWED_DUP) {
		PyErr_SetString(PyExc_ValueError, msg);
		return NULL;
	}
	if (rc <= -2000) {
		e = -2000 - rc;
	} else {
		switch (rc) {
		case UDP_EAGAIN: e = EAGAIN; break;
		case UK_ECLOSED: e = EBADF; break;
		case UK_EDEAD: e = ECONNABORTED; break;
		case UK_EREFUSED: e = ECONNREFUSED; break;
		case UK_ENOTCONN: case REL_ENOTCONN: case REL_ENOPEER: e = ENOTCONN; break;
		case REL_ECLOSED: e = EPIPE; break;
		case REL_EPEERS: case REL_EFULL: e = ENOBUFS; break;
		case UDP_ETOOBIG: case REL_ETOOBIG: e = EMSGSIZE; break;
		case UDP_ESEAL_KEYFILE_EXISTS: e = EEXIST; break;
		case UDP_ENOTSUP: e = EOPNOTSUPP; break;
		case UDP_EFAMILY: e = EAFNOSUPPORT; break;
		case UDP_ESEAL_KEYFILE_PERM: case UDP_ESEAL_KEYFILE_OWNER: e = EACCES; break;
		case UDP_ESEAL_KEYFILE_LINK: e = ELOOP; break;
		case UDP_EINVAL: case UDP_ESEAL_KEYFILE_TYPE: e = EINVAL; break;
		default: e = EPROTO; break;
		}
	}
	PyObject *args = Py_BuildValue("(is)", e, msg);
	if (args) {
		PyErr_SetObject(PyExc_OSError, args); /* OSError picks the subclass */
		Py_DECREF(args);
	}
	return NULL;
}

/* A handshake of an identity socket that did not complete: its own
 * ConnectionRefusedError, saying what may have refused it. */
static PyObject *raise_refused(SockObject *s, int rc, const char *suffix)
{
	if (rc != UK_EREFUSED || !uk_has_ident(s->u))
		return raise_code(rc, NULL);
	char msg[400];
	size_t n;
	uk_refusal(s->u, msg, sizeof msg);
	n = strlen(msg);
	if (suffix)
		snprintf(msg + n, sizeof msg - n, "%s", suffix);
	PyObject *args = Py_BuildValue("(is)", ECONNREFUSED, msg);
	if (args) {
		PyErr_SetObject(IdentityRefused, args);
		Py_DECREF(args);
	}
	return NULL;
}

static int live(SockObject *s)
{
	if (!s->u) {
		raise_code(UK_ECLOSED, NULL);
		return 0;
	}
	return 1;
}

/* (host, port, scope) -> address; host "" with passive is the wildcard.
 * The resolver may take time: no GIL. */
static int to_addr(SockObject *s, PyObject *host, int port, unsigned scope, int passive,
		   struct udp_addr *a)
{
	const char *h = PyUnicode_AsUTF8(host);
	if (!h)
		return -1;
	int flags = s->family == AF_INET ? UDP_ADDR_V4 : s->family == AF_INET6 ? UDP_ADDR_V6 : 0;
	if (passive)
		flags |= UDP_ADDR_PASSIVE;
	char pbuf[16], ubuf[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	int rc;
	if (s->family == AF_UNIX) {
		if (strlen(h) + 6 > sizeof ubuf) {
			PyErr_SetString(PyExc_OSError, "AF_UNIX path too long");
			return -1;
		}
		snprintf(ubuf, sizeof ubuf, "unix:%s", h);
		rc = udp_addr_from_host_port(a, ubuf, NULL, 0);
	} else {
		snprintf(pbuf, sizeof pbuf, "%d", port);
		Py_BEGIN_ALLOW_THREADS
		rc = udp_addr_from_host_port(a, *h || !passive ? h : NULL, pbuf, flags);
		Py_END_ALLOW_THREADS
		if (rc == 0 && scope && a->u.sa.sa_family == AF_INET6)
			a->u.in6.sin6_scope_id = scope;
	}
	if (rc < 0) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s: %s", h, udpkit_strerror(rc));
		raise_code(rc, msg);
		return -1;
	}
	return 0;
}

static PyObject *from_addr(const struct udp_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	switch (a->len ? a->u.sa.sa_family : AF_UNSPEC) {
	case AF_INET:
		inet_ntop(AF_INET, &a->u.in4.sin_addr, buf, sizeof buf);
		return Py_BuildValue("(si)", buf, ntohs(a->u.in4.sin_port));
	case AF_INET6:
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, buf, sizeof buf);
		return Py_BuildValue("(siII)", buf, ntohs(a->u.in6.sin6_port),
				     (unsigned)ntohl(a->u.in6.sin6_flowinfo),
				     (unsigned)a->u.in6.sin6_scope_id);
	case AF_UNIX: {
		size_t off = offsetof(struct sockaddr_un, sun_path);
		if (a->len <= off)
			return PyUnicode_FromString("");
		if (a->u.un.sun_path[0] == 0) /* abstract: bytes, as socket does */
			return PyBytes_FromStringAndSize(a->u.un.sun_path, (Py_ssize_t)(a->len - off));
		return PyUnicode_DecodeFSDefault(a->u.un.sun_path);
	}
	}
	Py_RETURN_NONE;
}

static void Sock_dealloc(SockObject *s)
{
	if (s->u) {
		struct uk *u = s->u;
		s->u = NULL;
		Py_BEGIN_ALLOW_THREADS
		uk_free(u);
		Py_END_ALLOW_THREADS
	}
	Py_TYPE(s)->tp_free((PyObject *)s);
}

static int Sock_init(SockObject *s, PyObject *args, PyObject *kw)
{
	static char *kwl[] = { "family", "kind", "key", "key_path", "passphrase", "group",
			       "netsim", "netsim_in", "session_timeout", "linger",
			       "identity", "identity_path", "peer_key", "allowed_path",
			       "allowed_text", "rekey_pkts", "rekey_us", NULL };
	struct uk_opts o;
	memset(&o, 0, sizeof o);
	Py_buffer key = { 0 }, pass = { 0 }, ident = { 0 }, peer = { 0 }, allowed = { 0 };
	PyObject *key_path = NULL, *ident_path = NULL, *allowed_path = NULL;
	unsigned long long rekey_pkts = 0, rekey_us = 0;
	o.session_timeout = 10;
	o.linger = 10;
	/* identity= arrives as the caller's own buffer (no copy made here):
	 * its bytes go straight into libsodium's guarded memory */
	if (!PyArg_ParseTupleAndKeywords(args, kw, "ii|z*O&z*zzzddz*O&z*O&z*KK", kwl,
					 &o.family, &o.kind, &key, PyUnicode_FSConverter,
					 &key_path, &pass, &o.group, &o.netsim, &o.netsim_in,
					 &o.session_timeout, &o.linger, &ident,
					 PyUnicode_FSConverter, &ident_path, &peer,
					 PyUnicode_FSConverter, &allowed_path, &allowed,
					 &rekey_pkts, &rekey_us))
		return -1;
	int ok = 0;
	if (ident.buf && ident.len != 32) {
		PyErr_Format(PyExc_ValueError, "identity must be 32 bytes, not %zd", ident.len);
		goto out;
	}
	o.ident = ident.buf;
	o.ident_path = ident_path ? PyBytes_AS_STRING(ident_path) : NULL;
	o.peer_key = peer.buf;
	o.peer_key_len = peer.buf ? (size_t)peer.len : 0;
	o.allowed_path = allowed_path ? PyBytes_AS_STRING(allowed_path) : NULL;
	o.allowed_text = allowed.buf;
	o.allowed_len = allowed.buf ? (size_t)allowed.len : 0;
	o.rekey_pkts = rekey_pkts;
	o.rekey_us = rekey_us;
	if (key.buf && key.len != 32) {
		PyErr_Format(PyExc_ValueError, "key must be 32 bytes, not %zd", key.len);
		goto out;
	}
	o.key = key.buf;
	o.key_path = key_path && key_path != Py_None ? PyBytes_AS_STRING(key_path) : NULL;
	o.pass = pass.buf;
	o.passlen = pass.buf ? (size_t)pass.len : 0;
	if (s->u) {
		PyErr_SetString(PyExc_RuntimeError, "already initialised");
		goto out;
	}
	char err[300];
	struct uk *u = NULL;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = uk_new(&u, &o, err, sizeof err);
	Py_END_ALLOW_THREADS
	if (rc < 0) {
		raise_code(rc, err);
		goto out;
	}
	s->u = u;
	s->family = o.family;
	ok = 1;
out:
	if (key.buf)
		PyBuffer_Release(&key);
	if (pass.buf)
		PyBuffer_Release(&pass);
	Py_buffer *bufs[] = { &ident, &peer, &allowed };
	for (size_t i = 0; i < 3; i++)
		if (bufs[i]->buf)
			PyBuffer_Release(bufs[i]);
	Py_XDECREF(key_path);
	Py_XDECREF(ident_path);
	Py_XDECREF(allowed_path);
	return ok ? 0 : -1;
}

static PyObject *Sock_bind(SockObject *s, PyObject *args)
{
	PyObject *host;
	int port;
	unsigned scope;
	struct udp_addr a;
	if (!PyArg_ParseTuple(args, "UiI", &host, &port, &scope) || !live(s) ||
	    to_addr(s, host, port, scope, 1, &a) < 0)
		return NULL;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = uk_bind(s->u, &a);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_code(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *Sock_connect(SockObject *s, PyObject *args)
{
	PyObject *host;
	int port;
	unsigned scope;
	double timeout;
	struct udp_addr a;
	if (!PyArg_ParseTuple(args, "UiId", &host, &port, &scope, &timeout) || !live(s) ||
	    to_addr(s, host, port, scope, 0, &a) < 0)
		return NULL;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = uk_connect(s->u, &a, timeout);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_refused(s, rc, NULL);
	Py_RETURN_NONE;
}

/* sendto(data, host or None, port, scope, timeout) -> len */
static PyObject *Sock_sendto(SockObject *s, PyObject *args)
{
	Py_buffer b;
	PyObject *host;
	int port;
	unsigned scope;
	double timeout;
	if (!PyArg_ParseTuple(args, "y*OiId", &b, &host, &port, &scope, &timeout))
		return NULL;
	PyObject *ret = NULL;
	struct udp_addr a;
	if (!live(s) || (host != Py_None && to_addr(s, host, port, scope, 0, &a) < 0))
		goto out;
	if ((size_t)b.len > uk_max_msg(s->u)) {
		PyErr_Format(PyExc_ValueError,
			     "message of %zd bytes is larger than the limit of %zu bytes",
			     b.len, uk_max_msg(s->u));
		goto out;
	}
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = uk_sendto(s->u, b.buf, (size_t)b.len, host == Py_None ? NULL : &a, timeout);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		raise_code(rc, NULL);
	else
		ret = PyLong_FromSsize_t(b.len);
out:
	PyBuffer_Release(&b);
	return ret;
}

static PyObject *key_or_none(const uint8_t *key, int has)
{
	if (!has)
		Py_RETURN_NONE;
	return PyBytes_FromStringAndSize((const char *)key, 32);
}

/* recvfrom(bufsize, timeout[, with_key]) -> (bytes, address[, key]) */
static PyObject *Sock_recvfrom(SockObject *s, PyObject *args)
{
	Py_ssize_t cap;
	double timeout;
	int with_key = 0;
	if (!PyArg_ParseTuple(args, "nd|p", &cap, &timeout, &with_key) || !live(s))
		return NULL;
	if (cap < 0) {
		PyErr_SetString(PyExc_ValueError, "negative buffersize in recvfrom");
		return NULL;
	}
	struct uk_msg m;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = uk_recvfrom(s->u, &m, (size_t)cap, timeout);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_code(rc, NULL);
	PyObject *addr;
	if (m.eof) { /* (b"", None), as a stream socket's recvfrom at EOF */
		addr = Py_None;
		Py_INCREF(addr);
	} else {
		addr = from_addr(&m.from);
	}
	PyObject *data = PyBytes_FromStringAndSize(m.data, (Py_ssize_t)m.len);
	uk_msg_free(&m);
	PyObject *key = with_key ? key_or_none(m.key, m.has_key) : NULL;
	PyObject *ret = NULL;
	if (addr && data && (key || !with_key))
		ret = with_key ? PyTuple_Pack(3, data, addr, key) : PyTuple_Pack(2, data, addr);
	Py_XDECREF(addr);
	Py_XDECREF(data);
	Py_XDECREF(key);
	return ret;
}

static PyObject *Sock_flush(SockObject *s, PyObject *args)
{
	double timeout;
	if (!PyArg_ParseTuple(args, "d", &timeout) || !live(s))
		return NULL;
	int rc;
	uint64_t lost = 0;
	Py_BEGIN_ALLOW_THREADS
	rc = uk_flush(s->u, timeout, &lost);
	Py_END_ALLOW_THREADS
	if (rc == UK_EDEAD || rc == UK_EREFUSED) {
		char msg[200];
		snprintf(msg, sizeof msg, " (%llu messages lost)", (unsigned long long)lost);
		if (rc == UK_EREFUSED && uk_has_ident(s->u))
			return raise_refused(s, rc, msg);
		char full[300];
		snprintf(full, sizeof full, "%s%s", uk_strerror(rc), msg);
		return raise_code(rc, full);
	}
	if (rc < 0)
		return raise_code(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *Sock_close(SockObject *s, PyObject *noargs)
{
	(void)noargs;
	if (s->u) {
		struct uk *u = s->u;
		Py_BEGIN_ALLOW_THREADS
		uk_close(u);
		Py_END_ALLOW_THREADS
	}
	Py_RETURN_NONE;
}

static PyObject *Sock_fileno(SockObject *s, PyObject *noargs)
{
	(void)noargs;
	if (!s->u)
		return PyLong_FromLong(-1);
	int fd = uk_fileno(s->u);
	if (fd < -1)
		return raise_code(fd, NULL);
	return PyLong_FromLong(fd);
}

static PyObject *name_of(SockObject *s, int peer)
{
	if (!live(s))
		return NULL;
	struct udp_addr a;
	int rc = peer ? uk_peername(s->u, &a) : uk_sockname(s->u, &a);
	if (rc < 0)
		return raise_code(rc, NULL);
	return from_addr(&a);
}

static PyObject *Sock_getsockname(SockObject *s, PyObject *noargs)
{
	(void)noargs;
	return name_of(s, 0);
}

static PyObject *Sock_getpeername(SockObject *s, PyObject *noargs)
{
	(void)noargs;
	return name_of(s, 1);
}

/* peer_key(host, port, scope) or peer_key(None, 0, 0): the connected peer */
static PyObject *Sock_peer_key(SockObject *s, PyObject *args)
{
	PyObject *host;
	int port;
	unsigned scope;
	struct udp_addr a;
	if (!PyArg_ParseTuple(args, "OiI", &host, &port, &scope) || !live(s))
		return NULL;
	if (host != Py_None && to_addr(s, host, port, scope, 0, &a) < 0)
		return NULL;
	uint8_t key[32];
	int rc = uk_peer_key(s->u, host == Py_None ? NULL : &a, key);
	if (rc < 0)
		return raise_code(rc, NULL);
	return key_or_none(key, rc);
}

static PyObject *Sock_stats(SockObject *s, PyObject *noargs)
{
	(void)noargs;
	if (!live(s))
		return NULL;
	struct uk_stat st[64];
	size_t n = uk_stats(s->u, st, 64);
	PyObject *d = PyDict_New();
	for (size_t i = 0; d && i < n; i++) {
		PyObject *v = PyLong_FromUnsignedLongLong(st[i].value);
		if (!v || PyDict_SetItemString(d, st[i].name, v) < 0) {
			Py_XDECREF(v);
			Py_CLEAR(d);
			break;
		}
		Py_DECREF(v);
	}
	return d;
}

static PyObject *Sock_closed(SockObject *s, void *closure)
{
	(void)closure;
	return PyBool_FromLong(!s->u || uk_is_closed(s->u));
}

static PyObject *Sock_max_msg(SockObject *s, void *closure)
{
	(void)closure;
	if (!live(s))
		return NULL;
	return PyLong_FromSize_t(uk_max_msg(s->u));
}

static PyMethodDef Sock_methods[] = {
	{ "bind", (PyCFunction)Sock_bind, METH_VARARGS, "bind(host, port, scope)" },
	{ "connect", (PyCFunction)Sock_connect, METH_VARARGS, "connect(host, port, scope, timeout)" },
	{ "sendto", (PyCFunction)Sock_sendto, METH_VARARGS, "sendto(data, host, port, scope, timeout)" },
	{ "recvfrom", (PyCFunction)Sock_recvfrom, METH_VARARGS, "recvfrom(bufsize, timeout)" },
	{ "flush", (PyCFunction)Sock_flush, METH_VARARGS, "flush(timeout)" },
	{ "close", (PyCFunction)Sock_close, METH_NOARGS, "close()" },
	{ "fileno", (PyCFunction)Sock_fileno, METH_NOARGS, "fileno()" },
	{ "getsockname", (PyCFunction)Sock_getsockname, METH_NOARGS, "getsockname()" },
	{ "getpeername", (PyCFunction)Sock_getpeername, METH_NOARGS, "getpeername()" },
	{ "stats", (PyCFunction)Sock_stats, METH_NOARGS, "stats() -> dict" },
	{ "peer_key", (PyCFunction)Sock_peer_key, METH_VARARGS, "peer_key(host, port, scope)" },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef Sock_getset[] = {
	{ "closed", (getter)Sock_closed, NULL, "closed", NULL },
	{ "max_msg", (getter)Sock_max_msg, NULL, "largest message accepted", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject SockType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "udpkit._udpkit.Socket",
	.tp_basicsize = sizeof(SockObject),
	.tp_dealloc = (destructor)Sock_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "The engine of udpkit.socket (use that class).",
	.tp_methods = Sock_methods,
	.tp_getset = Sock_getset,
	.tp_init = (initproc)Sock_init,
	.tp_new = PyType_GenericNew,
};

static PyObject *mod_strerror(PyObject *self, PyObject *args)
{
	(void)self;
	int code;
	if (!PyArg_ParseTuple(args, "i", &code))
		return NULL;
	return PyUnicode_FromString(uk_strerror(code));
}

/* generate_identity() -> (secret: bytearray, public: bytes).  The secret
 * is written straight into a bytearray, which the caller can wipe. */
static PyObject *mod_generate_identity(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	PyObject *priv = PyByteArray_FromStringAndSize(NULL, 32);
	if (!priv)
		return NULL;
	uint8_t pub[32];
	int rc = uk_ident_generate((uint8_t *)PyByteArray_AS_STRING(priv), pub);
	if (rc < 0) {
		Py_DECREF(priv);
		return raise_code(rc, NULL);
	}
	PyObject *ret = Py_BuildValue("(Oy#)", priv, (const char *)pub, (Py_ssize_t)32);
	Py_DECREF(priv);
	return ret;
}

/* public_key(secret_bytes_or_None, path_or_None) -> 32 bytes */
static PyObject *mod_public_key(PyObject *self, PyObject *args)
{
	(void)self;
	Py_buffer priv = { 0 };
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "z*|O&", &priv, PyUnicode_FSConverter, &path))
		return NULL;
	PyObject *ret = NULL;
	uint8_t pub[32];
	char err[300] = "";
	int rc;
	if (priv.buf && priv.len != 32) {
		PyErr_Format(PyExc_ValueError, "identity must be 32 bytes, not %zd", priv.len);
		goto out;
	}
	Py_BEGIN_ALLOW_THREADS
	rc = uk_ident_public(priv.buf, path ? PyBytes_AS_STRING(path) : NULL, pub, err, sizeof err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		raise_code(rc, err[0] ? err : NULL);
	else
		ret = PyBytes_FromStringAndSize((const char *)pub, 32);
out:
	if (priv.buf)
		PyBuffer_Release(&priv);
	Py_XDECREF(path);
	return ret;
}

/* key_text(pub) -> (44-character text, fingerprint); pub: 32 bytes or text */
static PyObject *mod_key_text(PyObject *self, PyObject *args)
{
	(void)self;
	Py_buffer b;
	if (!PyArg_ParseTuple(args, "y*", &b))
		return NULL;
	uint8_t pub[32];
	char text[64], fpr[32];
	PyObject *ret = NULL;
	if (uk_ident_parse_pub(pub, b.buf, (size_t)b.len) < 0)
		PyErr_SetString(PyExc_ValueError, "not a public key (32 bytes, or the 44 base64 "
				"characters udpkey pub prints)");
	else if (uk_ident_text(pub, text, sizeof text, fpr, sizeof fpr) < 0)
		PyErr_SetString(PyExc_ValueError, "cannot format the key");
	else
		ret = Py_BuildValue("(ssy#)", text, fpr, (const char *)pub, (Py_ssize_t)32);
	PyBuffer_Release(&b);
	return ret;
}

static PyMethodDef mod_methods[] = {
	{ "strerror", mod_strerror, METH_VARARGS, "strerror(code): udpkit's words for a code" },
	{ "generate_identity", mod_generate_identity, METH_NOARGS, "generate_identity() -> (secret, public)" },
	{ "public_key", mod_public_key, METH_VARARGS, "public_key(secret or None, path) -> bytes" },
	{ "key_text", mod_key_text, METH_VARARGS, "key_text(pub) -> (text, fingerprint, raw)" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef moddef = {
	PyModuleDef_HEAD_INIT, "_udpkit", "C engine of the udpkit module.", -1, mod_methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__udpkit(void)
{
	PyObject *sock = PyImport_ImportModule("socket");
	if (!sock)
		return NULL;
	gaierror = PyObject_GetAttrString(sock, "gaierror");
	Py_DECREF(sock);
	if (!gaierror || PyType_Ready(&SockType) < 0)
		return NULL;
	IdentityRefused = PyErr_NewExceptionWithDoc(
		"udpkit.IdentityRefusedError",
		"An identity handshake did not complete: the server did not prove the key "
		"expected, or did not answer (it stays silent to refused clients).",
		PyExc_ConnectionRefusedError, NULL);
	if (!IdentityRefused)
		return NULL;
	PyObject *m = PyModule_Create(&moddef);
	if (!m)
		return NULL;
	Py_INCREF(&SockType);
	Py_INCREF(IdentityRefused);
	if (PyModule_AddObject(m, "Socket", (PyObject *)&SockType) < 0 ||
	    PyModule_AddObject(m, "IdentityRefusedError", IdentityRefused) < 0 ||
	    PyModule_AddIntConstant(m, "RDM", UK_RDM) < 0 ||
	    PyModule_AddIntConstant(m, "SEQPACKET", UK_SEQPACKET) < 0 ||
	    PyModule_AddIntConstant(m, "DGRAM", UK_DGRAM) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
