"""Identity sessions of the udpkit Python module (identity=, peer_key=,
allowed_keys=, rekey_after=; peer_key(), recvfrom_key()).  unittest, run
with test_udpkit.py (which imports these classes) by tests/e2e/python.sh,
or alone.  Only 127.0.0.1; every wait is bounded: refusals within the
session timeout given (1 s), everything else within a 5 s socket timeout."""
import base64
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.environ.get("UDPKIT_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("UDPKIT_BIN") or os.path.join(TOP, "build", "bin")
if os.path.join(TOP, "python") not in sys.path:
    sys.path.insert(0, os.path.join(TOP, "python"))
import udpkit  # noqa: E402

SEQ = udpkit.SOCK_SEQPACKET
LOCAL = ("127.0.0.1", 0)


def secret_file(d, name, data, mode=0o600):
    path = os.path.join(d, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, data)
    os.close(fd)
    os.chmod(path, mode)
    return path


class IdentBase(unittest.TestCase):
    def setUp(self):
        self.socks = []
        self.server_sec, self.server_pub = udpkit.generate_identity()
        self.alice_sec, self.alice_pub = udpkit.generate_identity()
        self.bob_sec, self.bob_pub = udpkit.generate_identity()
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        for s in self.socks:
            s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sock(self, typ=SEQ, bind=False, **kw):
        s = udpkit.socket(udpkit.AF_INET, typ, timeout=kw.pop("timeout", 1.0), **kw)
        self.socks.append(s)
        if bind:
            s.bind(LOCAL)
        s.settimeout(5)
        return s

    def server(self, **kw):
        kw.setdefault("identity", self.server_sec)
        kw.setdefault("allowed_keys", [(self.alice_pub, "alice")])
        return self.sock(bind=True, **kw)

    def client(self, **kw):
        kw.setdefault("identity", self.alice_sec)
        kw.setdefault("peer_key", self.server_pub)
        return self.sock(**kw)


class TestIdentity(IdentBase):
    def test_round_trip_peer_keys_visible(self):
        srv = self.server(typ=udpkit.SOCK_RDM)
        cli = self.client(typ=udpkit.SOCK_RDM, peer_key=udpkit.key_text(self.server_pub))
        cli.connect(srv.getsockname())
        self.assertEqual(cli.peer_key(), self.server_pub)
        self.assertEqual(cli.peer_key(srv.getsockname()), self.server_pub)
        cli.send(b"hello")
        data, addr, key = srv.recvfrom_key(100)
        self.assertEqual((data, key), (b"hello", self.alice_pub))
        self.assertEqual(srv.peer_key(addr), self.alice_pub)
        srv.sendto(b"thank you!", addr)
        self.assertEqual(cli.recvfrom(100), (b"thank you!", srv.getsockname()))  # standard
        self.assertIsNone(srv.peer_key(("127.0.0.1", 9)))  # no session there
        cli.flush(5)
        st = srv.stats()
        self.assertEqual((st["handshakes"], st["refused_unknown"], st["refused_auth"]), (1, 0, 0))
        self.assertEqual(st["sealed"], 0)  # the sessions seal themselves, not the socket

    def test_key_stays_with_the_message_after_the_session_ends(self):
        srv = self.server()
        cli = self.client()
        cli.sendto(b"last words", srv.getsockname())
        cli.close()  # flushes, closes the session gracefully
        deadline = time.monotonic() + 5
        while srv.stats()["sessions"] and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(srv.stats()["sessions"], 0)
        data, addr, key = srv.recvfrom_key(100)
        self.assertEqual((data, key), (b"last words", self.alice_pub))
        self.assertIsNone(srv.peer_key(addr))  # nobody holds that address now

    def test_unlisted_client_refused_and_counted(self):
        srv = self.server()
        bob = self.client(identity=self.bob_sec)
        t0 = time.monotonic()
        with self.assertRaises(udpkit.IdentityRefusedError) as cm:
            bob.connect(srv.getsockname())
        self.assertLess(time.monotonic() - t0, 4.5)  # the session timeout, not the socket's
        e = cm.exception
        self.assertIsInstance(e, ConnectionRefusedError)
        self.assertEqual(e.errno, errno.ECONNREFUSED)
        self.assertIn("not answered", str(e))
        self.assertIn(udpkit.fingerprint(self.server_pub), str(e))
        st = srv.stats()
        self.assertGreaterEqual(st["refused_unknown"], 1)
        self.assertEqual((st["handshakes"], st["sessions_opened"]), (0, 0))
        with self.assertRaises(BlockingIOError):
            srv.recvfrom(100, udpkit.MSG_DONTWAIT)  # nothing got through

    def test_unlisted_client_sendto_then_flush_refused(self):
        srv = self.server(allowed_keys=[])
        cli = self.client()
        cli.sendto(b"x", srv.getsockname())  # queued until the handshake
        with self.assertRaises(udpkit.IdentityRefusedError) as cm:
            cli.flush(5)
        self.assertIn("1 messages lost", str(cm.exception))
        self.assertGreaterEqual(srv.stats()["refused_unknown"], 1)

    def test_wrong_server_key_refused(self):
        srv = self.server()
        cli = self.client(peer_key=self.bob_pub)  # not the server's key
        with self.assertRaises(udpkit.IdentityRefusedError) as cm:
            cli.connect(srv.getsockname())
        self.assertIn(udpkit.fingerprint(self.bob_pub), str(cm.exception))
        st = srv.stats()
        self.assertGreaterEqual(st["refused_auth"], 1)  # message 1 was not for its key
        self.assertEqual(st["handshakes"], 0)

    def test_client_without_peer_key_refused(self):
        srv = self.server()
        cli = self.client(peer_key=None)
        with self.assertRaises(udpkit.IdentityRefusedError) as cm:
            cli.connect(srv.getsockname())
        self.assertIn("no peer_key=", str(cm.exception))

    def test_plain_client_cannot_reach_identity_server(self):
        srv = self.server()
        plain = self.sock()
        plain.settimeout(2)
        # A plain client is never let in.  It is not told so either: the
        # core takes the server's COOKIEs as a sign of life of a plain
        # session, so with this module's 1 s retransmission cap it retries
        # until the call's own timeout (reported as a core issue).
        with self.assertRaises((ConnectionRefusedError, TimeoutError)) as cm:
            plain.connect(srv.getsockname())
        self.assertNotIsInstance(cm.exception, udpkit.IdentityRefusedError)
        self.assertEqual(srv.stats()["sessions_opened"], 0)

    def test_allowed_keys_and_identity_files(self):
        spath = secret_file(self.dir, "server.key", base64.b64encode(bytes(self.server_sec)) + b"\n")
        apath = secret_file(self.dir, "alice.key", base64.b64encode(bytes(self.alice_sec)) + b"\n")
        allowed = secret_file(self.dir, "allowed", ("# who may send\n%s alice\n\n%s bob\n" % (
            udpkit.key_text(self.alice_pub), udpkit.key_text(self.bob_pub))).encode(), 0o644)
        self.assertEqual(udpkit.public_key(spath), self.server_pub)
        srv = self.server(identity=spath, allowed_keys=allowed)
        cli = self.client(identity=apath, peer_key=udpkit.key_text(self.server_pub) + "\n")
        cli.connect(srv.getsockname())
        cli.send(b"from a file")
        self.assertEqual(srv.recvfrom_key(100)[::2], (b"from a file", self.alice_pub))

    def test_file_permissions_refused(self):
        open_key = secret_file(self.dir, "open.key", base64.b64encode(bytes(self.server_sec)) + b"\n", 0o644)
        with self.assertRaises(PermissionError) as cm:
            self.sock(identity=open_key, allowed_keys=[])
        self.assertIn("open.key", str(cm.exception))
        good = secret_file(self.dir, "s.key", base64.b64encode(bytes(self.server_sec)) + b"\n")
        writable = secret_file(self.dir, "allowed", b"", 0o664)
        with self.assertRaises(PermissionError) as cm:
            self.sock(identity=good, allowed_keys=writable)
        self.assertIn("writable by group or other", str(cm.exception))
        with self.assertRaises(FileNotFoundError):
            self.sock(identity=os.path.join(self.dir, "missing.key"))

    def test_bad_allowed_lists(self):
        bad = secret_file(self.dir, "bad", ("%s alice\nnot a key\n" % udpkit.key_text(self.alice_pub)).encode(), 0o644)
        with self.assertRaisesRegex(ValueError, r"allowed_keys '.*bad' line 2: not"):
            self.sock(identity=self.server_sec, allowed_keys=bad)
        with self.assertRaisesRegex(ValueError, "allowed_keys item 2: this key is listed twice"):
            self.sock(identity=self.server_sec, allowed_keys=[self.alice_pub, self.alice_pub])
        with self.assertRaisesRegex(ValueError, "allowed_keys item 2: not a public key"):
            self.sock(identity=self.server_sec, allowed_keys=[self.alice_pub, b"short"])
        with self.assertRaisesRegex(ValueError, "allowed_keys item 1: the name"):
            self.sock(identity=self.server_sec, allowed_keys=[(self.alice_pub, "a#b")])
        with self.assertRaisesRegex(ValueError, "allowed_keys item 1: the name"):
            self.sock(identity=self.server_sec, allowed_keys=[(self.alice_pub, "x\nevil")])

    def test_argument_errors_name_the_argument(self):
        cases = [
            (TypeError, "identity must be", dict(identity=32)),
            (ValueError, "identity must be 32 bytes, not 31", dict(identity=bytes(31))),
            (TypeError, "peer_key must be", dict(identity=self.alice_sec, peer_key=1.5)),
            (ValueError, "peer_key: not a public key .* got 31 bytes",
             dict(identity=self.alice_sec, peer_key=bytes(31))),
            (ValueError, "peer_key: not a public key", dict(identity=self.alice_sec, peer_key="nokey")),
            (ValueError, "peer_key: not a public key", dict(identity=self.alice_sec, peer_key="\u00e9" * 44)),
            (TypeError, "allowed_keys must be", dict(identity=self.alice_sec, allowed_keys=5)),
            (TypeError, "allowed_keys must be .* list", dict(identity=self.alice_sec, allowed_keys=self.bob_pub)),
            (TypeError, "rekey_after packets must be an integer",
             dict(identity=self.alice_sec, rekey_after="10")),
            (ValueError, "rekey_after packets must be 1 to", dict(identity=self.alice_sec, rekey_after=0)),
            (ValueError, "rekey_after seconds", dict(identity=self.alice_sec, rekey_after=(10, 0))),
            (TypeError, "rekey_after must be", dict(identity=self.alice_sec, rekey_after=(1, 2, 3))),
            (ValueError, "peer_key= needs identity=", dict(peer_key=self.server_pub)),
            (ValueError, "allowed_keys= needs identity=", dict(allowed_keys=[])),
            (ValueError, "rekey_after= needs identity=", dict(rekey_after=10)),
        ]
        for exc, msg, kw in cases:
            with self.subTest(kw=kw):
                with self.assertRaisesRegex(exc, msg):
                    udpkit.socket(udpkit.AF_INET, SEQ, **kw)
        with self.assertRaisesRegex(ValueError, "identity= needs SOCK_RDM or SOCK_SEQPACKET"):
            udpkit.socket(udpkit.AF_INET, udpkit.SOCK_DGRAM, identity=self.alice_sec)
        for f in (udpkit.fingerprint, udpkit.key_text):
            with self.assertRaisesRegex(ValueError, "key: not a public key"):
                f(b"abc")
            with self.assertRaises(TypeError):
                f(None)
        with self.assertRaisesRegex(ValueError, "identity must be 32 bytes"):
            udpkit.public_key(b"x")
        with self.assertRaises(TypeError):
            udpkit.public_key(7)

    def test_group_key_admits_psk2(self):
        group, other = os.urandom(32), os.urandom(32)
        srv = self.server(key=group)
        cli = self.client(key=bytearray(group))
        cli.connect(srv.getsockname())
        cli.send(b"admitted")
        self.assertEqual(srv.recvfrom_key(100)[::2], (b"admitted", self.alice_pub))
        self.assertEqual((srv.stats()["sealed"], srv.stats()["opened"]), (0, 0))  # admission only
        for kw in (dict(key=other), {}):
            with self.subTest(client_key=bool(kw)):
                c = self.client(**kw)
                with self.assertRaises(udpkit.IdentityRefusedError):
                    c.connect(srv.getsockname())
                # another group key: the server answered alice's first message
                # (psk2 is mixed in by the answer) but no authentic packet came
                # back, so that session names nobody
                self.assertIsNone(srv.peer_key(("127.0.0.1", c.getsockname()[1])))
        with self.assertRaises(BlockingIOError):
            srv.recvfrom(100, udpkit.MSG_DONTWAIT)
        # a group key alone is not an identity the server allows
        bob = self.client(identity=self.bob_sec, key=group)
        with self.assertRaises(udpkit.IdentityRefusedError):
            bob.connect(srv.getsockname())
        self.assertGreaterEqual(srv.stats()["refused_unknown"], 1)

    def test_unconfirmed_session_names_nobody(self):
        # The server answers the first message of a client with another
        # group key (psk2 is mixed in by the answer): it holds a session
        # whose peer proved a static key but nothing more.  That key must
        # not be named (the same holds for a replayed first message).
        srv = self.server(key=os.urandom(32), timeout=10, linger=0.5)
        cli = self.client(key=os.urandom(32))
        with self.assertRaises(udpkit.IdentityRefusedError) as cm:
            cli.connect(srv.getsockname())
        self.assertIn("failed authentication", str(cm.exception))  # the answer did not open
        st = srv.stats()
        self.assertGreaterEqual((st["sessions"], st["handshakes"]), (1, 1))
        self.assertIsNone(srv.peer_key(("127.0.0.1", cli.getsockname()[1])))

    def test_passphrase_admits_psk2(self):
        pw = "correct horse battery staple"
        srv = self.server(passphrase=pw, group="py-ident")
        cli = self.client(passphrase=pw, group="py-ident")
        cli.connect(srv.getsockname())
        self.assertEqual(cli.peer_key(), self.server_pub)

    def test_rekey_after_packets(self):
        srv = self.server(rekey_after=(8, 60))
        cli = self.client(rekey_after=8)
        cli.connect(srv.getsockname())
        for i in range(60):
            cli.send(b"%d" % i)
        self.assertEqual([srv.recv(10) for _ in range(60)], [b"%d" % i for i in range(60)])
        cli.flush(5)
        self.assertGreater(cli.stats()["rekeys"], 0)
        self.assertGreater(srv.stats()["rekeys"], 0)
        self.assertEqual(srv.stats()["ident_drop_auth"], 0)

    def test_generate_public_key_fingerprint(self):
        sec, pub = udpkit.generate_identity()
        self.assertIsInstance(sec, bytearray)
        self.assertEqual((len(sec), len(pub)), (32, 32))
        self.assertEqual(udpkit.public_key(sec), pub)
        self.assertEqual(udpkit.public_key(memoryview(bytes(sec))), pub)
        text = udpkit.key_text(pub)
        self.assertEqual(base64.b64decode(text), pub)
        self.assertRegex(udpkit.fingerprint(text), r"^[0-9a-f]{4}(-[0-9a-f]{4}){3}$")
        self.assertEqual(udpkit.fingerprint(pub), udpkit.fingerprint(text.encode()))
        self.assertNotEqual(udpkit.generate_identity()[1], pub)
        sec[:] = bytes(32)  # the caller can wipe it

    def test_no_identity_socket_has_no_keys(self):
        srv = self.sock(bind=True)
        cli = self.sock()
        cli.connect(srv.getsockname())
        cli.send(b"x")
        data, addr, key = srv.recvfrom_key(10)
        self.assertIsNone(key)
        self.assertIsNone(srv.peer_key(addr))
        self.assertIsNone(cli.peer_key())
        self.assertNotIn("handshakes", srv.stats())

    def test_peer_key_unconnected_and_closed(self):
        s = self.client()
        with self.assertRaises(OSError) as cm:
            s.peer_key()
        self.assertEqual(cm.exception.errno, errno.ENOTCONN)
        s.close()
        with self.assertRaises(OSError) as cm:
            s.peer_key(("127.0.0.1", 9))
        self.assertEqual(cm.exception.errno, errno.EBADF)

    def test_docstring_example_runs(self):
        doc = udpkit.__doc__
        start = doc.index("Example (tests/python/test_ident.py runs it):")
        block = []
        for line in doc[start:].splitlines()[1:]:
            if line and not line.startswith("    "):
                break
            block.append(line[4:])
        code = "\n".join(block).strip()
        self.assertIn("recvfrom_key", code)
        exec(compile(code, "udpkit.__doc__", "exec"), {})


@unittest.skipUnless(os.access(os.path.join(BIN, "udpkey"), os.X_OK), "no C tools (make)")
class TestIdentityTools(IdentBase):
    """The module against the C tools: the same key texts, fingerprints,
    and handshakes (IK and IKpsk2 with the group key)."""

    def udpkey(self, *args):
        r = subprocess.run([os.path.join(BIN, "udpkey")] + list(args), capture_output=True,
                           text=True, timeout=20, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_keys_and_fingerprints_agree(self):
        pub = self.udpkey("genkey", "--identity", "-o", "me.key")
        self.assertEqual(udpkit.key_text(udpkit.public_key(os.path.join(self.dir, "me.key"))), pub)
        self.assertEqual(udpkit.fingerprint(pub), self.udpkey("fingerprint", pub))

    def udpsend(self, port, extra, data=b"from udpsend\n"):
        return subprocess.run([os.path.join(BIN, "udpsend"), "-r", "--timeout", "2", "--identity",
                               "alice.key", "--peer-key", udpkit.key_text(self.server_pub)]
                              + extra + ["127.0.0.1", str(port)], input=data, cwd=self.dir,
                              capture_output=True, timeout=30)

    def test_udpsend_identity_into_python(self):
        alice = self.udpkey("genkey", "--identity", "-o", "alice.key")
        self.udpkey("genkey", "-o", "group.key")
        group = os.path.join(self.dir, "group.key")
        for extra, kw in (([], {}), (["-k", "group.key"], dict(key=group))):
            with self.subTest(psk=bool(extra)):
                srv = self.server(allowed_keys=[(alice, "alice")], **kw)
                r = self.udpsend(srv.getsockname()[1], extra)
                self.assertEqual(r.returncode, 0, r.stderr)
                data, _, key = srv.recvfrom_key(100)
                self.assertEqual((data, key), (b"from udpsend", udpkit._raw_public(alice, "k")))
        # the group key admits: udpsend without it is refused, and says so
        srv = self.server(allowed_keys=[alice], key=group)
        r = self.udpsend(srv.getsockname()[1], [])
        self.assertNotEqual(r.returncode, 0)
        self.assertGreaterEqual(srv.stats()["refused_auth"], 1)

    def test_python_into_udprecv_identity(self):
        self.udpkey("genkey", "--identity", "-o", "server.key")
        spub = udpkit.public_key(os.path.join(self.dir, "server.key"))
        secret_file(self.dir, "allowed", (udpkit.key_text(self.alice_pub) + " alice\n").encode(), 0o644)
        p = subprocess.Popen([os.path.join(BIN, "udprecv"), "-r", "-c", "3", "--identity",
                              "server.key", "--allowed-keys", "allowed", "127.0.0.1", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.dir)
        try:
            m = re.search(r":(\d+)\s*$", p.stdout.readline())
            self.assertTrue(m)
            cli = self.client(peer_key=spub)
            cli.connect(("127.0.0.1", int(m.group(1))))
            self.assertEqual(cli.peer_key(), spub)
            for i in range(3):
                cli.send(b"msg %d" % i)
            cli.flush(10)
            out, _ = p.communicate(timeout=20)
        finally:
            p.kill()
            p.wait()
        self.assertEqual(p.returncode, 0, out)
        self.assertEqual([l for l in out.splitlines() if l.startswith("msg")], ["msg 0", "msg 1", "msg 2"])


if __name__ == "__main__":
    unittest.main()
