"""udpkit: reliable messages over UDP, shaped like the socket module.

    import udpkit
    s = udpkit.socket(udpkit.AF_INET, udpkit.SOCK_RDM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2.0)
    data, addr = s.recvfrom(65536)

Types:
  SOCK_DGRAM      plain UDP datagrams (lossy), optionally sealed
  SOCK_RDM        reliable messages: each delivered once, whole, any order
  SOCK_SEQPACKET  reliable messages in the order they were sent

A reliable socket talks to many peers over one UDP port, one session per
peer.  sendto(data, addr) starts a session (handshake) when none exists and
returns once the message is queued; flush() waits until every message was
acknowledged; close() flushes and closes each session gracefully, for at
most `linger` seconds.  Anyone may open a session to a socket (as anyone
may send to a UDP port); recvfrom() returns (data, peer address).

When a peer closes its session (its socket was closed), the next sendto()
to its address raises BrokenPipeError once -- what was sent before was
delivered -- and the sendto() after that opens a new session, to whatever
socket listens there now (a restarted server).  A socket that connect()ed
reads the end of the stream instead, as TCP: once the peer closed and its
messages were all read, recv() returns b"" and recvfrom() (b"", None), on
every call, and send() raises BrokenPipeError.  (An empty message is a
message: recvfrom() tells the two apart, its address is not None.)

Options socket() takes beyond the standard ones (keywords):
  key=        32 raw bytes, or the path of a key file (udpkey), to seal
  passphrase= str or bytes, at least 12 bytes (Argon2id), with
  group=      the group's name (required with passphrase=: it salts it)
  netsim=, netsim_in=  loss simulation words, as tc-netem ("loss 20%")
  timeout=    seconds a silent peer is given before its session is dead
  linger=     seconds close() may spend delivering and closing (10)

Identities (reliable sockets; the Noise IK handshake of udpsend -r
--identity, man rel_ident.3): each end has a static X25519 key pair; the
client must name the server's public key and the server lets in only the
client keys on its list.  Options:
  identity=     our secret key: an identity key file (udpkey genkey
                --identity, mode 0600) or its 32 raw bytes
  peer_key=     the server's public key that sessions we start must prove:
                32 bytes, or the 44-character text udpkey pub prints
  allowed_keys= the clients let in: an allowed-keys file ("<key> [name]"
                lines, not writable by group or other), or an iterable of
                keys or (key, name) pairs.  None: nobody gets in
  rekey_after=  new session keys after this many packets, or (packets,
                seconds); default (2**30, 120)
With key= or passphrase= as well, the group key does not seal the socket
but admits (Noise IKpsk2): a peer needs the group key and an allowed
identity, as the tools do.

peer_key(address=None) is the public key the peer at that address proved
(None: no session there now, no identity=, or a session a client opened
that has not yet sent an authentic packet: its first handshake message
proves its key but could be a replay, and does not prove the group key);
recvfrom_key(bufsize) is recvfrom with the sender's key as a third item,
bound to the message: the way to know who sent what.
A handshake that does not complete raises IdentityRefusedError (a
ConnectionRefusedError, errno ECONNREFUSED) from connect() or flush():
a server stays silent to a client it refuses, so the client cannot tell an
unlisted key from a server with another key or none; the server counts
its refusals in stats() (refused_unknown, refused_auth).
generate_identity() -> (secret, public); public_key(identity);
key_text(pub) and fingerprint(pub) ("3f2a-9c01-77be-d4e0", for people).
Example (tests/python/test_ident.py runs it):

    import udpkit
    server_secret, server_pub = udpkit.generate_identity()
    alice_secret, alice_pub = udpkit.generate_identity()
    srv = udpkit.socket(udpkit.AF_INET, udpkit.SOCK_SEQPACKET,
                        identity=server_secret,
                        allowed_keys=[(alice_pub, "alice")])
    srv.bind(("127.0.0.1", 0))
    cli = udpkit.socket(udpkit.AF_INET, udpkit.SOCK_SEQPACKET,
                        identity=alice_secret, peer_key=server_pub)
    srv.settimeout(5)
    cli.settimeout(5)
    cli.connect(srv.getsockname())   # the server proved server_pub
    cli.send(b"hello")
    data, addr, key = srv.recvfrom_key(1024)
    assert (data, key) == (b"hello", alice_pub)
    assert srv.peer_key(addr) == alice_pub and cli.peer_key() == server_pub
    cli.close()
    srv.close()

Secrets: identity= bytes go from the caller's buffer straight into
libsodium's guarded memory (no copy is made on the way) and key files are
read in C; but a bytes object, and the bytearray generate_identity()
returns, are the caller's and stay in Python's memory until freed (wipe a
bytearray: secret[:] = bytes(32)); Python may have copied them before.  A
key file is the way to keep a secret out of Python's memory.

fileno(): on a reliable socket, a descriptor that is readable exactly
while a message (or the end of the stream) waits.  On a datagram socket,
an epoll descriptor that is readable when a call may make progress: a
datagram arrived, or one of the loss simulator's delays is due.  An event
loop that watches it calls recv/recvfrom (non-blocking) when it is
readable and treats BlockingIOError as "nothing for you yet".  With asyncio:

    loop.add_reader(s.fileno(), on_readable)   # on_readable calls s.recvfrom

Threads: a socket may be shared; every wait releases the GIL.  A reliable
socket (and a datagram socket with a loss simulator that holds datagrams
back) has a driver thread of its own that runs the protocol while no call
is waiting -- acks, retransmissions, keepalives -- as the kernel does for
TCP.  Retransmission timers back off to at most 1 s; a peer is given up on
after `timeout` seconds of silence.
"""
import errno as _errno
import os as _os
import socket as _socket

from . import _udpkit

__all__ = ["socket", "error", "timeout", "gaierror", "AF_INET", "AF_INET6",
           "AF_UNIX", "SOCK_DGRAM", "SOCK_RDM", "SOCK_SEQPACKET", "MSG_DONTWAIT",
           "IdentityRefusedError", "generate_identity", "public_key", "key_text",
           "fingerprint"]

AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6
AF_UNIX = _socket.AF_UNIX
SOCK_DGRAM = _socket.SOCK_DGRAM
SOCK_RDM = _socket.SOCK_RDM
SOCK_SEQPACKET = _socket.SOCK_SEQPACKET
MSG_DONTWAIT = _socket.MSG_DONTWAIT

error = OSError
timeout = TimeoutError
gaierror = _socket.gaierror
IdentityRefusedError = _udpkit.IdentityRefusedError

_KIND = {SOCK_DGRAM: _udpkit.DGRAM, SOCK_RDM: _udpkit.RDM,
         SOCK_SEQPACKET: _udpkit.SEQPACKET}
_FAMILY_NAME = {AF_INET: "AF_INET", AF_INET6: "AF_INET6", AF_UNIX: "AF_UNIX"}
_TYPE_NAME = {SOCK_DGRAM: "SOCK_DGRAM", SOCK_RDM: "SOCK_RDM",
              SOCK_SEQPACKET: "SOCK_SEQPACKET"}


def _index(value, what):
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s must be an integer, not %s" % (what, type(value).__name__))
    return value.__index__()


def _seconds(value, what):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number or None, not %s" % (what, type(value).__name__))
    value = float(value)
    if value != value or value < 0:
        raise ValueError("%s value out of range" % what)
    return value


_BYTES = (bytes, bytearray, memoryview)
_REKEY_PKTS_MAX = 1 << 60
_REKEY_SECS = (0.001, 86400.0 * 365)


def _raw_public(value, what):
    """A public key as its 32 bytes: 32 bytes, or its text (str or bytes,
    44 base64 characters and at most one newline, as udpkey pub prints)."""
    if isinstance(value, str):
        try:
            value = value.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("%s: not a public key (44 base64 characters)" % what) from None
    elif not isinstance(value, _BYTES):
        raise TypeError("%s must be 32 bytes or the key's text (str), not %s"
                        % (what, type(value).__name__))
    try:
        return _udpkit.key_text(value)[2]
    except ValueError:
        n = memoryview(value).nbytes
        raise ValueError("%s: not a public key (32 bytes, or the 44 base64 characters "
                         "udpkey pub prints; got %d bytes)" % (what, n)) from None


def _allowed_text(keys):
    """allowed_keys= as an iterable: the allowed-keys text, one line each."""
    lines = []
    for i, item in enumerate(keys, 1):
        what = "allowed_keys item %d" % i
        name = ""
        if isinstance(item, tuple):
            if len(item) != 2:
                raise TypeError("%s: a key or a (key, name) pair" % what)
            item, name = item
            if not isinstance(name, str):
                raise TypeError("%s: the name must be a str, not %s"
                                % (what, type(name).__name__))
            # the text form would cut a name at '#' or split it at a newline
            if any(c == "#" or ord(c) < 32 or ord(c) == 127 for c in name) or \
                    len(name.strip().encode()) > 64 or name != name.strip():
                raise ValueError("%s: the name must be at most 64 bytes, without '#', "
                                 "control characters or surrounding blanks" % what)
        key = _udpkit.key_text(_raw_public(item, what))[0]
        lines.append(key + (" " + name if name else "") + "\n")
    return "".join(lines).encode()


def _rekey(value):
    """rekey_after=: packets, or (packets, seconds)."""
    secs = None
    if isinstance(value, tuple):
        if len(value) != 2:
            raise TypeError("rekey_after must be packets or (packets, seconds)")
        value, secs = value
    pkts = _index(value, "rekey_after packets")
    if not 1 <= pkts <= _REKEY_PKTS_MAX:
        raise ValueError("rekey_after packets must be 1 to 2**60, not %d" % pkts)
    kw = {"rekey_pkts": pkts}
    if secs is not None:
        if isinstance(secs, bool) or not isinstance(secs, (int, float)):
            raise TypeError("rekey_after seconds must be a number, not %s"
                            % type(secs).__name__)
        if not _REKEY_SECS[0] <= secs <= _REKEY_SECS[1]:
            raise ValueError("rekey_after seconds must be 0.001 to a year (31536000)")
        kw["rekey_us"] = int(secs * 1e6)
    return kw


def _identity_kw(identity, peer_key, allowed_keys, rekey_after, kind):
    kw = {}
    if identity is None:
        for name, val in (("peer_key", peer_key), ("allowed_keys", allowed_keys),
                          ("rekey_after", rekey_after)):
            if val is not None:
                raise ValueError("%s= needs identity= (this socket's own key)" % name)
        return kw
    if kind == SOCK_DGRAM:
        raise ValueError("identity= needs SOCK_RDM or SOCK_SEQPACKET: identities are "
                         "checked by the reliable session's handshake")
    if isinstance(identity, _BYTES):
        n = memoryview(identity).nbytes
        if n != 32:
            raise ValueError("identity must be 32 bytes, not %d" % n)
        kw["identity"] = identity  # the caller's buffer, not a copy
    elif isinstance(identity, (str, _os.PathLike)):
        kw["identity_path"] = identity
    else:
        raise TypeError("identity must be a key file path or 32 bytes, not %s"
                        % type(identity).__name__)
    if peer_key is not None:
        kw["peer_key"] = _raw_public(peer_key, "peer_key")
    if isinstance(allowed_keys, (str, _os.PathLike)):
        kw["allowed_path"] = allowed_keys
    elif isinstance(allowed_keys, _BYTES):
        raise TypeError("allowed_keys must be a file path or an iterable of public keys "
                        "(put a single key in a list)")
    elif allowed_keys is not None:
        try:
            it = iter(allowed_keys)
        except TypeError:
            raise TypeError("allowed_keys must be a file path or an iterable of public "
                            "keys, not %s" % type(allowed_keys).__name__) from None
        kw["allowed_text"] = _allowed_text(it)
    if rekey_after is not None:
        kw.update(_rekey(rekey_after))
    return kw


def generate_identity():
    """A new identity key pair: (secret, public), 32 bytes each.  The
    secret is a bytearray so that it can be wiped once used
    (secret[:] = bytes(32)); a key file (udpkey genkey --identity) keeps
    it out of Python's memory altogether."""
    return _udpkit.generate_identity()


def public_key(identity):
    """The 32-byte public key of an identity: a key file path or the 32
    secret bytes (what udpkey pub prints, as bytes)."""
    if isinstance(identity, _BYTES):
        return _udpkit.public_key(identity)
    if isinstance(identity, (str, _os.PathLike)):
        return _udpkit.public_key(None, identity)
    raise TypeError("identity must be a key file path or 32 bytes, not %s"
                    % type(identity).__name__)


def key_text(pub):
    """A public key's text, the 44 characters udpkey pub prints (what
    allowed-keys files and peer_key= take)."""
    return _udpkit.key_text(_raw_public(pub, "key"))[0]


def fingerprint(pub):
    """A public key's fingerprint, "3f2a-9c01-77be-d4e0", for people to
    compare (programs compare whole keys)."""
    return _udpkit.key_text(_raw_public(pub, "key"))[1]


class socket:
    """A udpkit socket: socket(family=AF_INET, type=SOCK_RDM, proto=0, *, ...)."""

    def __init__(self, family=AF_INET, type=SOCK_RDM, proto=0, *, key=None,
                 passphrase=None, group=None, netsim=None, netsim_in=None,
                 timeout=None, linger=10.0, identity=None, peer_key=None,
                 allowed_keys=None, rekey_after=None):
        family = _index(family, "family")
        type = _index(type, "type")
        proto = _index(proto, "proto")
        if family not in _FAMILY_NAME:
            raise OSError(_errno.EAFNOSUPPORT, "address family not supported by udpkit")
        if type not in _KIND:
            raise OSError(_errno.ESOCKTNOSUPPORT, "socket type not supported by udpkit")
        if family == AF_UNIX and type != SOCK_DGRAM:
            raise OSError(_errno.ESOCKTNOSUPPORT, "AF_UNIX: only SOCK_DGRAM")
        if proto not in (0, _socket.IPPROTO_UDP):
            raise OSError(_errno.EPROTONOSUPPORT, "protocol not supported by udpkit")
        kw = _identity_kw(identity, peer_key, allowed_keys, rekey_after, type)
        if key is not None:
            if isinstance(key, (bytes, bytearray, memoryview)):
                kw["key"] = key  # the caller's buffer: no copy of the secret
            elif isinstance(key, (str, _os.PathLike)):
                kw["key_path"] = key
            else:
                raise TypeError("key must be 32 bytes or a key file path, not %s"
                                % key.__class__.__name__)
        if passphrase is not None:
            if key is not None:
                raise ValueError("give key= or passphrase=, not both")
            if isinstance(passphrase, str):
                passphrase = passphrase.encode()
            if not isinstance(passphrase, (bytes, bytearray)):
                raise TypeError("passphrase must be str or bytes")
            kw["passphrase"] = passphrase
        elif group is not None:
            raise ValueError("group= goes with passphrase=")
        for name, val in (("group", group), ("netsim", netsim), ("netsim_in", netsim_in)):
            if val is not None:
                if not isinstance(val, str):
                    raise TypeError("%s must be a str" % name)
                kw[name] = val
        st = _seconds(timeout, "timeout")
        if st is not None:
            if st == 0:
                raise ValueError("timeout (of a session) must be more than 0")
            kw["session_timeout"] = st
        linger = _seconds(linger, "linger")
        kw["linger"] = 0.0 if linger is None else linger
        self._family, self._type, self._proto = family, type, proto
        self._timeout = _socket.getdefaulttimeout()
        self._s = _udpkit.Socket(family, _KIND[type], **kw)

    # ---- attributes, as socket.socket ----
    family = property(lambda self: _socket.AddressFamily(self._family))
    type = property(lambda self: _socket.SocketKind(self._type))
    proto = property(lambda self: self._proto)
    max_msg = property(lambda self: self._s.max_msg,
                       doc="largest message send/sendto accept (bytes)")

    def __repr__(self):
        state = "closed" if self._s.closed else "fd=%d" % self.fileno()
        return "<udpkit.socket %s, family=%s, type=%s>" % (
            state, _FAMILY_NAME[self._family], _TYPE_NAME[self._type])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- addresses ----
    def _addr(self, address):
        """(host, port, scope) for the engine; checks as socket does."""
        fam = self._family
        if fam == AF_UNIX:
            if isinstance(address, (bytes, bytearray)):
                address = _os.fsdecode(bytes(address))
            elif isinstance(address, _os.PathLike):
                address = _os.fspath(address)
            if not isinstance(address, str):
                raise TypeError("AF_UNIX address must be str or bytes, not %s"
                                % address.__class__.__name__)
            return address, 0, 0
        name = _FAMILY_NAME[fam]
        if not isinstance(address, tuple):
            raise TypeError("%s address must be tuple, not %s"
                            % (name, address.__class__.__name__))
        n = len(address)
        if n != 2 and not (fam == AF_INET6 and 2 <= n <= 4):
            raise TypeError("%s address must be a pair (host, port)%s" % (
                name, " or (host, port, flowinfo, scope_id)" if fam == AF_INET6 else ""))
        host, port = address[0], address[1]
        if isinstance(host, (bytes, bytearray)):
            host = bytes(host).decode("idna")
        if not isinstance(host, str):
            raise TypeError("host must be str, not %s" % host.__class__.__name__)
        if "\0" in host:
            raise ValueError("host contains a null character")
        if host == "<broadcast>":
            raise OSError(_errno.EOPNOTSUPP, "broadcast is not supported")
        port = _index(port, "port")
        if not 0 <= port <= 65535:
            raise OverflowError("port must be 0-65535.")
        scope = 0
        if n >= 3:
            flow = _index(address[2], "flowinfo")
            if not 0 <= flow <= 0xFFFFF:
                raise OverflowError("flowinfo must be 0-1048575.")
        if n == 4:
            scope = _index(address[3], "scope_id")
            if not 0 <= scope <= 0xFFFFFFFF:
                raise OverflowError("scope_id must be 0-4294967295.")
        return host, port, scope

    def _wait(self):
        return -1.0 if self._timeout is None else self._timeout

    # ---- the socket API ----
    def bind(self, address):
        self._s.bind(*self._addr(address))

    def connect(self, address):
        """Datagram: default destination.  Reliable: handshake with the
        peer, then it is the default for send/recv's peer name; waits
        for the handshake (BlockingIOError EINPROGRESS when non-blocking,
        ConnectionRefusedError when nobody answers; IdentityRefusedError,
        a ConnectionRefusedError, on a socket with identity=)."""
        self._s.connect(*self._addr(address), self._wait())

    def connect_ex(self, address):
        try:
            self.connect(address)
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    def sendto(self, data, flags_or_addr, addr=None):
        if addr is None:
            flags, addr = 0, flags_or_addr
        else:
            flags = _index(flags_or_addr, "flags")
        timeout = self._flags_wait(flags)
        return self._s.sendto(data, *self._addr(addr), timeout)

    def send(self, data, flags=0):
        return self._s.sendto(data, None, 0, 0, self._flags_wait(_index(flags, "flags")))

    def sendall(self, data, flags=0):
        """One message, as send (messages are never split)."""
        self.send(data, flags)

    def recvfrom(self, bufsize, flags=0):
        """(data, address).  A message longer than bufsize is cut to it and
        the rest discarded, as SOCK_SEQPACKET and SOCK_DGRAM do."""
        bufsize = _index(bufsize, "bufsize")
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        return self._s.recvfrom(bufsize, self._flags_wait(_index(flags, "flags")))

    def recv(self, bufsize, flags=0):
        bufsize = _index(bufsize, "bufsize")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        return self._s.recvfrom(bufsize, self._flags_wait(_index(flags, "flags")))[0]

    def recv_into(self, buffer, nbytes=0, flags=0):
        data = self.recv(nbytes or len(buffer), flags)
        memoryview(buffer)[:len(data)] = data
        return len(data)

    def recvfrom_into(self, buffer, nbytes=0, flags=0):
        data, addr = self.recvfrom(nbytes or len(buffer), flags)
        memoryview(buffer)[:len(data)] = data
        return len(data), addr

    def recvfrom_key(self, bufsize, flags=0):
        """(data, address, key): recvfrom, and the sender's authenticated
        32-byte public key (None on a socket without identity=).  The key
        is the one of the session the message came in on, even when that
        session has ended and its address is someone else's since."""
        bufsize = _index(bufsize, "bufsize")
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom_key")
        return self._s.recvfrom(bufsize, self._flags_wait(_index(flags, "flags")), True)

    def peer_key(self, address=None):
        """The 32-byte public key the peer at address proved in its
        handshake (None: the connected peer), or None when there is no
        session with it now, it is not keyed yet, or the socket has no
        identity=.  It names whoever holds the session with that address
        now; recvfrom_key() names the sender of one message."""
        if address is None:
            return self._s.peer_key(None, 0, 0)
        return self._s.peer_key(*self._addr(address))

    def _flags_wait(self, flags):
        if flags & ~MSG_DONTWAIT:
            raise ValueError("udpkit supports only MSG_DONTWAIT in flags")
        return 0.0 if flags & MSG_DONTWAIT else self._wait()

    def flush(self, timeout=None):
        """Waits until every message sent was acknowledged by its peer
        (reliable), or until the loss simulator holds nothing (datagram).
        TimeoutError when timeout (seconds, None: the socket's timeout,
        or no limit) passes first; ConnectionAbortedError or
        ConnectionRefusedError when messages were lost since the last
        flush because a peer went silent or never answered."""
        t = _seconds(timeout, "timeout")
        if t is None:
            t = self._wait()
        self._s.flush(t)

    def settimeout(self, value):
        self._timeout = _seconds(value, "Timeout")

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0.0

    def getsockname(self):
        return self._s.getsockname()

    def getpeername(self):
        return self._s.getpeername()

    def fileno(self):
        return self._s.fileno()

    def close(self):
        self._s.close()

    @property
    def closed(self):
        return self._s.closed

    def stats(self):
        """Counters: messages, sessions, packets, retransmissions, the loss
        simulator's and the sealer's, as a dict of ints."""
        return self._s.stats()
