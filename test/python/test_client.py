"""End-to-end tests of Comet with Python's websockets client (10.x, asyncio).

Run by test/e2e with /usr/bin/python3 (the Debian python3-websockets
package); COMET_URL names the server under test. ShutdownTest needs a server
of its own that the harness stops with SIGTERM once COMET_READY_FILE exists.
"""

import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import unittest
import urllib.error
import urllib.request

try:
    import websockets
except ImportError as exc:  # a failure, not a skip
    raise ImportError(
        f"python module 'websockets' is missing for {sys.executable}: run make test-deps"
    ) from exc

TIMEOUT = 10.0  # generous: a loaded machine with a race-built server can stall
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def env_url(name="COMET_URL"):
    url = os.environ.get(name)
    if not url:
        raise AssertionError(f"{name} is not set: run these tests through test/e2e (go test ./test/e2e)")
    return url.rstrip("/").replace("ws://", "http://", 1)


def ws_url(base, path="/ws"):
    return base.replace("http://", "ws://", 1) + path


_counter = 0


def uniq(prefix):
    global _counter
    _counter += 1
    return f"{prefix}:py{os.getpid()}.{time.time_ns()}.{_counter}"


def api_publish(base, channel, data):
    """Publishes through the backend API; returns (status, seq)."""
    req = urllib.request.Request(
        base + "/api/publish",
        data=json.dumps({"channel": channel, "data": data}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Bearer " + os.environ["COMET_TEST_API_KEY"]},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        body = json.loads(resp.read())
        assert set(body) == {"seq", "epoch"} and body["epoch"], body
        return resp.status, body["seq"]


async def recv_json(ws, timeout=TIMEOUT):
    """The next message, past epoch events (a channel's stream began),
    which are checked and kept in ws.comet_epochs by channel."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(msg, str), f"expected a text message, got {msg!r}"
        m = json.loads(msg)
        if m.get("op") != "epoch":
            return m
        assert set(m) == {"op", "ch", "epoch"} and m["epoch"] and not m["epoch"].startswith("."), m
        if not hasattr(ws, "comet_epochs"):
            ws.comet_epochs = {}
        ws.comet_epochs[m["ch"]] = m["epoch"]


async def assert_silent(test, ws, seconds=0.2):
    try:
        msg = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    test.fail(f"unexpected message: {msg!r}")


def check_msg(test, m, ch, seq, data):
    test.assertIsInstance(m.get("ts"), int, m)
    test.assertLess(abs(m["ts"] - time.time() * 1000), 60_000, f"ts is not now in Unix ms: {m}")
    test.assertEqual(m, {"op": "msg", "ch": ch, "seq": seq, "ts": m["ts"], "data": data})


class ClientTest(unittest.IsolatedAsyncioTestCase):
    """The JSON protocol against a server with -history-size $COMET_TEST_HISTORY_SIZE."""

    def setUp(self):
        self.base = env_url()
        self.history = int(os.environ.get("COMET_TEST_HISTORY_SIZE", "100"))

    def connect(self, path="/ws"):
        return websockets.connect(ws_url(self.base, path), open_timeout=TIMEOUT, close_timeout=TIMEOUT)

    async def subscribe(self, ws, ch, id="s", **extra):
        await ws.send(json.dumps({"op": "sub", "ch": ch, "id": id, **extra}))
        reply = await recv_json(ws)
        self.assertEqual(reply.get("op"), "sub", reply)
        return reply

    async def test_round_trip(self):
        ch = uniq("room")
        async with self.connect() as ws:
            sub = await self.subscribe(ws, ch, id="s1")
            self.assertIsInstance(sub.get("epoch"), str)
            self.assertTrue(sub["epoch"])
            self.assertEqual(sub, {"op": "sub", "id": "s1", "ch": ch, "seq": 0, "epoch": sub["epoch"]})

            data = {"k": "välue ☄", "n": [1, 2.5, None, False]}
            await ws.send(json.dumps({"op": "pub", "ch": ch, "data": data, "id": "p1"}))
            got = [await recv_json(ws), await recv_json(ws)]
            ok = [m for m in got if m.get("op") == "ok"]
            msg = [m for m in got if m.get("op") == "msg"]
            self.assertEqual(ok, [{"op": "ok", "id": "p1", "seq": 1}], got)
            self.assertEqual(len(msg), 1, got)
            check_msg(self, msg[0], ch, 1, data)

            await ws.send(json.dumps({"op": "ping", "id": "pp"}))
            self.assertEqual(await recv_json(ws), {"op": "pong", "id": "pp"})
            await ws.close()
            self.assertEqual(ws.close_code, 1000)

    async def test_recovery_with_since_across_reconnect(self):
        ch = uniq("recover")
        async with self.connect() as ws:
            sub = await self.subscribe(ws, ch)
            epoch = sub["epoch"]
            for i in range(1, 4):
                await ws.send(json.dumps({"op": "pub", "ch": ch, "data": {"i": i}}))
            for i in range(1, 4):
                check_msg(self, await recv_json(ws), ch, i, {"i": i})
            # The channel had no stream when we joined (an empty epoch);
            # the stream's epoch came with its first message.
            self.assertTrue(epoch.startswith("."), epoch)
            epoch = ws.comet_epochs[ch]
        for i in range(4, 7):
            self.assertEqual(api_publish(self.base, ch, {"i": i}), (200, i))
        async with self.connect() as ws:
            reply = await self.subscribe(ws, ch, id="again", since=3, epoch=epoch)
            self.assertEqual(reply, {"op": "sub", "id": "again", "ch": ch, "seq": 6, "epoch": epoch, "recovered": True})
            for i in range(4, 7):
                check_msg(self, await recv_json(ws), ch, i, {"i": i})
            await assert_silent(self, ws)
            self.assertEqual(api_publish(self.base, ch, "live"), (200, 7))
            check_msg(self, await recv_json(ws), ch, 7, "live")

    async def test_recovery_fails_past_history(self):
        ch = uniq("lost")
        n = self.history + 5
        async with self.connect() as ws:
            sub = await self.subscribe(ws, ch)
        for i in range(1, n + 1):
            self.assertEqual(api_publish(self.base, ch, i), (200, i))
        async with self.connect() as ws:
            reply = await self.subscribe(ws, ch, since=1, epoch=sub["epoch"])
            self.assertEqual(reply["recovered"], False, reply)
            self.assertEqual(reply["seq"], n)
            # What history still keeps is replayed, in order, and nothing else.
            for seq in range(n - self.history + 1, n + 1):
                check_msg(self, await recv_json(ws), ch, seq, seq)
            await assert_silent(self, ws)

    async def test_upgrade_required(self):
        def get():
            try:
                urllib.request.urlopen(self.base + "/ws", timeout=TIMEOUT)
            except urllib.error.HTTPError as err:
                return err.code, err.headers.get("Upgrade")
            return None, None

        code, upgrade = await asyncio.to_thread(get)
        self.assertEqual(code, 426)
        self.assertEqual((upgrade or "").lower(), "websocket")


class RawSocket:
    """A hand-made WebSocket client that can break the protocol."""

    def __init__(self, base, path="/ws"):
        host, port = base.split("//", 1)[1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed during the handshake: {self.buf!r}")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise AssertionError(f"handshake refused: {head!r}")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise AssertionError(f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}, want {want!r}")

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload) if length is None else length
        if n < 126:
            hdr = bytes([b0, (0x80 if mask else 0) | n])
        elif n < 1 << 16:
            hdr = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack("!H", n)
        else:
            hdr = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            hdr += key
        self.sock.sendall(hdr + payload)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed with {len(self.buf)} of {n} bytes")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        b0, b1 = self._read(2)
        if b1 & 0x80:
            raise AssertionError("server frames must not be masked (RFC 6455 §5.1)")
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read(8))
        return b0 & 0x80 != 0, b0 & 0x0F, self._read(n)

    def read_close(self):
        """Reads frames up to the close frame; returns its status code."""
        while True:
            fin, op, payload = self.read_frame()
            if op == 0x8:
                if len(payload) < 2:
                    raise AssertionError(f"close frame without a status code: {payload!r}")
                return struct.unpack("!H", payload[:2])[0]

    def expect_eof(self):
        """The server must close the TCP connection."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(4096)
            except ConnectionResetError:
                return
            if not chunk:
                return
        raise AssertionError("server kept the TCP connection open after failing it")

    def close(self):
        self.sock.close()


class ProtocolErrorTest(unittest.TestCase):
    """Frames that break RFC 6455 fail the connection with close 1002."""

    def setUp(self):
        self.base = env_url()

    def assert_fails_with_1002(self, *frames):
        raw = RawSocket(self.base)
        try:
            for f in frames:
                raw.send_frame(**f)
            self.assertEqual(raw.read_close(), 1002)
            raw.expect_eof()
        finally:
            raw.close()

    def test_raw_socket_speaks_the_protocol(self):
        # The control case: the same client, following the rules, is answered.
        raw = RawSocket(self.base)
        try:
            raw.send_frame(0x1, b'{"op":"ping","id":"raw"}')
            fin, op, payload = raw.read_frame()
            self.assertEqual((fin, op, json.loads(payload)), (True, 0x1, {"op": "pong", "id": "raw"}))
            raw.send_frame(0x9, b"hi")
            self.assertEqual(raw.read_frame(), (True, 0xA, b"hi"))
            raw.send_frame(0x8, struct.pack("!H", 1000))
            self.assertEqual(raw.read_close(), 1000)
            raw.expect_eof()
        finally:
            raw.close()

    def test_unmasked_frame(self):
        self.assert_fails_with_1002(dict(opcode=0x1, payload=b'{"op":"ping","id":"u"}', mask=False))

    def test_reserved_bit(self):
        self.assert_fails_with_1002(dict(opcode=0x1, payload=b'{"op":"ping","id":"r"}', rsv=0b100))

    def test_reserved_opcode(self):
        self.assert_fails_with_1002(dict(opcode=0x3, payload=b"x"))

    def test_control_frame_over_125_bytes(self):
        self.assert_fails_with_1002(dict(opcode=0x9, payload=b"p" * 126))

    def test_fragmented_control_frame(self):
        self.assert_fails_with_1002(dict(opcode=0x9, payload=b"p", fin=False))

    def test_continuation_without_start(self):
        self.assert_fails_with_1002(dict(opcode=0x0, payload=b"orphan"))

    def test_new_message_inside_fragmented_one(self):
        self.assert_fails_with_1002(
            dict(opcode=0x1, payload=b'{"op":', fin=False),
            dict(opcode=0x1, payload=b'"ping"}'),
        )


class ShutdownTest(unittest.IsolatedAsyncioTestCase):
    """Needs a dedicated server: the harness sends it SIGTERM once
    COMET_READY_FILE exists, and every client must see close 1001."""

    async def test_sigterm_closes_with_1001(self):
        base = env_url("COMET_SHUTDOWN_URL")
        ready = os.environ.get("COMET_READY_FILE")
        if not ready:
            raise AssertionError("COMET_READY_FILE is not set: run this test through test/e2e")
        ch = uniq("shutdown")
        clients = []
        for i in range(3):
            ws = await websockets.connect(ws_url(base), open_timeout=TIMEOUT, close_timeout=TIMEOUT)
            clients.append(ws)
            await ws.send(json.dumps({"op": "sub", "ch": ch, "id": f"s{i}"}))
            self.assertEqual((await recv_json(ws))["op"], "sub")
        with open(ready + ".tmp", "w") as f:
            f.write("ready\n")
        os.rename(ready + ".tmp", ready)
        for ws in clients:
            await asyncio.wait_for(ws.wait_closed(), 15)
            self.assertEqual(ws.close_code, 1001, f"close {ws.close_code} {ws.close_reason!r}")
        # No new WebSocket is opened once draining began: the connection is
        # refused, or accepted and closed at once (the harness checks that
        # the process then exits 0).
        deadline = time.monotonic() + 15
        while True:
            try:
                ws = await websockets.connect(ws_url(base), open_timeout=1)
            except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake):
                break
            await ws.close()
            if time.monotonic() > deadline:
                self.fail("server still accepts WebSockets after SIGTERM")
            await asyncio.sleep(0.1)


if __name__ == "__main__":
    unittest.main()
