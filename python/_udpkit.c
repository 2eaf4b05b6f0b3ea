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
	    rc == UDP_ESEAL_GROUP) {
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
		case UDP_ENOTSUP: e = EOPNOTSUPP; break;
		case UDP_EFAMILY: e = EAFNOSUPPORT; break;
		case UDP_ESEAL_KEYFILE_PERM: e = EACCES; break;
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
			       "netsim", "netsim_in", "session_timeout", "linger", NULL };
	struct uk_opts o;
	memset(&o, 0, sizeof o);
	Py_buffer key = { 0 }, pass = { 0 };
	PyObject *key_path = NULL;
	o.session_timeout = 10;
	o.linger = 10;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "ii|z*O&z*zzzdd", kwl, &o.family, &o.kind,
					 &key, PyUnicode_FSConverter, &key_path, &pass,
					 &o.group, &o.netsim, &o.netsim_in,
					 &o.session_timeout, &o.linger))
		return -1;
	int ok = 0;
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
	Py_XDECREF(key_path);
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
		return raise_code(rc, NULL);
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

/* recvfrom(bufsize, timeout) -> (bytes, address) */
static PyObject *Sock_recvfrom(SockObject *s, PyObject *args)
{
	Py_ssize_t cap;
	double timeout;
	if (!PyArg_ParseTuple(args, "nd", &cap, &timeout) || !live(s))
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
	PyObject *ret = addr && data ? PyTuple_Pack(2, data, addr) : NULL;
	Py_XDECREF(addr);
	Py_XDECREF(data);
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
		snprintf(msg, sizeof msg, "%s (%llu messages lost)", uk_strerror(rc),
			 (unsigned long long)lost);
		return raise_code(rc, msg);
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

static PyMethodDef mod_methods[] = {
	{ "strerror", mod_strerror, METH_VARARGS, "strerror(code): udpkit's words for a code" },
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
	PyObject *m = PyModule_Create(&moddef);
	if (!m)
		return NULL;
	Py_INCREF(&SockType);
	if (PyModule_AddObject(m, "Socket", (PyObject *)&SockType) < 0 ||
	    PyModule_AddIntConstant(m, "RDM", UK_RDM) < 0 ||
	    PyModule_AddIntConstant(m, "SEQPACKET", UK_SEQPACKET) < 0 ||
	    PyModule_AddIntConstant(m, "DGRAM", UK_DGRAM) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
