"""permessage-deflate (RFC 7692) conformance against Comet's /echo.

The case tables of sections 12 and 13 of the Autobahn testsuite's
fuzzingclient, run with Python's websockets (10.x, Debian
python3-websockets) as the client: Autobahn itself is Python 2 software from
PyPI or a Docker image, which this machine reaches neither of. Then what no
client library sends (RFC 7692 §7.2.3's forms of a compressed message, and
the frames a server must fail), with a raw socket client built on Python's
zlib. See docs/PROTOCOL.md, "Compression", "Conformance".

Run by test/e2e TestDeflateMatrixPython with /usr/bin/python3, which sets
COMET_URL (a node with -echo and -ws-compression on), COMET_URL_OFF (a node
with -echo and compression off) and COMET_DEFLATE_DATA (the matrix: message
sizes and counts, and the payloads, written by test/e2e
deflate_matrix_test.go). COMET_DEFLATE_MESSAGES overrides every case's
message count (1000 is Autobahn's).
"""

import asyncio
import base64
import json
import os
import socket
import struct
import sys
import time
import unittest
import zlib

try:
    import websockets
    from websockets.exceptions import NegotiationError
    from websockets.extensions.base import ClientExtensionFactory
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.frames import Opcode
except ImportError as exc:  # a failure, not a skip
    raise ImportError(
        f"python module 'websockets' is missing for {sys.executable}: run make test-deps"
    ) from exc

TIMEOUT = 10.0  # generous: a loaded machine with a race-built server can stall
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# What Comet answers to every offer it accepts (docs/PROTOCOL.md,
# "Compression"), plus "; server_max_window_bits=N" when the offer had it.
DOCUMENTED_ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
# Comet sends shorter messages plain, and compresses longer ones when that
# makes them smaller (docs/PROTOCOL.md, "Server to client").
MIN_COMPRESSED = 64

# In flight at once: up to this many messages, and this many bytes.
# Autobahn sends one message and waits for its echo; a few in flight also
# tests that echoes come back in order.
BURST_MESSAGES = 8
BURST_BYTES = 256 << 10


def env(name):
    v = os.environ.get(name)
    if not v:
        raise AssertionError(f"{name} is not set: run this through test/e2e (go test ./test/e2e -run DeflateMatrix)")
    return v


def ws_url(name="COMET_URL", path="/echo"):
    return env(name).rstrip("/").replace("http://", "ws://", 1) + path


def load_matrix():
    """The manifest test/e2e wrote, with the payloads read in."""
    d = env("COMET_DEFLATE_DATA")
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    for s in m["sets"]:
        with open(os.path.join(d, s["file"]), "rb") as f:
            s["data"] = f.read()
    with open(os.path.join(d, m["section13"]), "rb") as f:
        m["data13"] = f.read()
    if os.environ.get("COMET_DEFLATE_MESSAGES"):
        for c in m["sizes"]:
            c["count"] = int(os.environ["COMET_DEFLATE_MESSAGES"])
    return m


def messages(data, length, count):
    """count slices of length bytes, read round-robin from data as Autobahn
    does (case12_x_x.py, sendOne)."""
    out, at = [], 0
    for _ in range(count):
        end = at + length
        if end <= len(data):
            out.append(data[at:end])
        else:
            end -= len(data)
            out.append(data[at:] + data[:end])
        at = end % len(data)
    return out


def shrinks_clearly(payload):
    """Whether payload compresses so well that any DEFLATE compressor,
    Comet's (Go's compress/flate, BestSpeed) included, makes its frame
    smaller: zlib's fastest level takes a tenth off with room to spare."""
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    n = len(c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)) - 4
    return len(payload) >= MIN_COMPRESSED and n < len(payload) * 0.9 - 16


# ---------------------------------------------------------------------------
# Negotiation: what RFC 7692 §7.1 allows a server to answer.


def parse_extensions(values):
    """Sec-WebSocket-Extensions field values -> [(name, [(param, value)])]."""
    out = []
    for v in values:
        for elem in v.split(","):
            if not elem.strip():
                continue
            parts = [p.strip() for p in elem.split(";")]
            params = []
            for p in parts[1:]:
                name, eq, value = p.partition("=")
                value = value.strip()
                if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                    value = value[1:-1].replace("\\", "")
                params.append((name.strip().lower(), value if eq else None))
            out.append((parts[0].lower(), params))
    return out


def bits(value):
    """A window-bits value (8 to 15, no leading zero), or None if invalid."""
    if value is None or not value.isdigit() or value.startswith("0"):
        return None
    n = int(value)
    return n if 8 <= n <= 15 else None


def rfc7692_problems(offer, answer):
    """What is wrong, by RFC 7692 §7.1, with answer (the parameters of a
    permessage-deflate response) as the acceptance of offer (the
    parameters of one offer). Empty when it is a valid acceptance."""
    problems = []
    names = [n for n, _ in answer]
    if len(set(names)) != len(names):
        problems.append("a parameter twice (§7.1)")
    offered = dict(offer)
    a = dict(answer)
    for name, value in answer:
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                problems.append(f"{name} with a value (§7.1.1)")
        elif name == "server_max_window_bits":
            n = bits(value)
            if n is None:
                problems.append(f"server_max_window_bits={value}: not 8 to 15 (§7.1.2.1)")
            elif bits(offered.get(name)) and n > bits(offered[name]):
                problems.append(f"server_max_window_bits={n} above the offer's {offered[name]} (§7.1.2.1)")
        elif name == "client_max_window_bits":
            n = bits(value)
            if "client_max_window_bits" not in offered:
                problems.append("client_max_window_bits the offer did not have (§7.1.2.2)")
            elif n is None:
                problems.append(f"client_max_window_bits={value}: not 8 to 15 (§7.1.2.2)")
            elif bits(offered[name]) and n > bits(offered[name]):
                problems.append(f"client_max_window_bits={n} above the offer's hint (§7.1.2.2)")
        else:
            problems.append(f"{name}: not a response parameter (§7.1)")
    if "server_no_context_takeover" in offered and "server_no_context_takeover" not in a:
        problems.append("the offer asked for server_no_context_takeover, the answer lacks it (§7.1.1.1)")
    if "server_max_window_bits" in offered and "server_max_window_bits" not in a:
        problems.append("the offer asked for server_max_window_bits, the answer lacks it (§7.1.2.1)")
    return problems


def offer_valid(offer):
    """Whether a server may accept offer at all (RFC 7692 §7.1: it must
    decline unknown parameters, invalid values and repeated ones)."""
    names = [n for n, _ in offer]
    if len(set(names)) != len(names):
        return False
    for name, value in offer:
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return False
        elif name == "server_max_window_bits":
            if bits(value) is None:
                return False
        elif name == "client_max_window_bits":
            if value is not None and bits(value) is None:
                return False
        else:
            return False
    return True


def documented_answer(offer):
    """Comet's answer to an offer it accepts (docs/PROTOCOL.md)."""
    n = bits(dict(offer).get("server_max_window_bits"))
    return DOCUMENTED_ANSWER + (f"; server_max_window_bits={n}" if n else "")


# ---------------------------------------------------------------------------
# Clients: websockets with extension factories that record what they see.


class Offer(ClientPerMessageDeflateFactory):
    """websockets' own permessage-deflate offer, whose extension records
    for every data message from the server whether it came compressed
    (RSV1 on its first frame): websockets does not say."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rsv1 = []
        self.accepted = False

    def process_response_params(self, params, accepted_extensions):
        ext = super().process_response_params(params, accepted_extensions)
        self.accepted = True
        self.window = ext.remote_max_window_bits
        decode, seen = ext.decode, self.rsv1

        def recording(frame, *, max_size=None):
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                seen.append(frame.rsv1)
            return decode(frame, max_size=max_size)

        ext.decode = recording
        return ext


class RawOffer(ClientExtensionFactory):
    """An offer of any parameters, ones websockets would refuse to build
    too; accepting it fails the handshake, so it is for the offers a
    server must decline."""

    name = "permessage-deflate"

    def __init__(self, params):
        self.params = params
        self.accepted = False
        self.rsv1 = []

    def get_request_params(self):
        return list(self.params)

    def process_response_params(self, params, accepted_extensions):
        raise NegotiationError(f"the server accepted {self.params} with {params}: RFC 7692 §7.1 says decline")


def offer_header(factories):
    return ", ".join(
        "; ".join([f.name] + [n if v is None else f"{n}={v}" for n, v in f.get_request_params()])
        for f in factories)


async def echo_case(url, factories, msgs, binary, frag, expect):
    """Opens url offering factories (in order), checks the 101, sends msgs
    (text or binary; frag > 0: in frames of frag bytes) a burst at a time,
    checks each echo is the message sent, in order, compressed when it
    must be, and closes with 1000. expect is "accept" or "decline".
    Returns a one-line summary; raises AssertionError on a failure."""
    where = f"offer {offer_header(factories)!r}"
    async with websockets.connect(url, extensions=factories, compression=None, open_timeout=TIMEOUT,
                                  close_timeout=TIMEOUT, ping_interval=None, max_size=1 << 20) as ws:
        answers = parse_extensions(ws.response_headers.get_all("Sec-WebSocket-Extensions"))
        accepted = [f for f in factories if f.accepted]
        if expect == "decline":
            assert answers == [] and accepted == [], f"{where}: must be declined, the 101 has {answers}"
            window = None
        else:
            assert len(answers) == 1 and answers[0][0] == "permessage-deflate" and len(accepted) == 1, \
                f"{where}: not accepted as one permessage-deflate: {answers}"
            offer = accepted[0].get_request_params()
            first_valid = next(f for f in factories if offer_valid(f.get_request_params()))
            assert accepted[0] is first_valid, f"{where}: the server took {offer}, not the first acceptable offer"
            problems = rfc7692_problems(offer, answers[0][1])
            assert not problems, f"{where}: answer {answers[0][1]}: {'; '.join(problems)}"
            got = ", ".join(ws.response_headers.get_all("Sec-WebSocket-Extensions"))
            assert got == documented_answer(offer), f"{where}: answer {got!r}, docs/PROTOCOL.md says {documented_answer(offer)!r}"
            window = accepted[0].window
        rsv1 = accepted[0].rsv1 if accepted else []
        burst = max(1, min(BURST_MESSAGES, BURST_BYTES // max(1, len(msgs[0]))))
        must, must_not = 0, 0
        for start in range(0, len(msgs), burst):
            batch = msgs[start:start + burst]
            for m in batch:
                out = m if binary else m.decode()
                if frag:
                    await ws.send([out[i:i + frag] for i in range(0, len(out), frag)])
                else:
                    await ws.send(out)
            for i, m in enumerate(batch):
                n = start + i
                got = await asyncio.wait_for(ws.recv(), TIMEOUT)
                assert isinstance(got, bytes) == binary, f"{where}: message {n} came back {'binary' if isinstance(got, bytes) else 'text'}"
                got = got if binary else got.encode()
                assert got == m, f"{where}: message {n} ({len(m)} bytes) came back as {len(got)} different bytes"
        if accepted:
            assert len(rsv1) == len(msgs), f"{where}: {len(rsv1)} data messages seen for {len(msgs)} sent"
            for n, (m, compressed) in enumerate(zip(msgs, rsv1)):
                if window != 15:
                    # A limited server window: sent plain (docs/PROTOCOL.md).
                    assert not compressed, f"{where}: message {n} compressed although the window is {window} bits"
                elif len(m) < MIN_COMPRESSED:
                    must_not += 1
                    assert not compressed, f"{where}: message {n} of {len(m)} bytes compressed (below {MIN_COMPRESSED})"
                elif shrinks_clearly(m):
                    must += 1
                    assert compressed, f"{where}: message {n} ({len(m)} bytes, compressible) echoed uncompressed"
        await ws.close(1000)
    assert ws.close_code == 1000 and ws.close_rcvd is not None, f"{where}: closed with {ws.close_code}, not a clean 1000"
    return f"{len(msgs)} messages, {sum(rsv1)} compressed ({must} had to be), window {window}"


# The offers of Autobahn's section 13 (case12_x_x.py, DEFLATE_PARAMS), as
# websockets parameters. Autobahn's PerMessageDeflateOffer() offers
# client_no_context_takeover and client_max_window_bits (it accepts both);
# requestNoContextTakeover is server_no_context_takeover and
# requestMaxWindowBits is server_max_window_bits.
def autobahn_offer(request_no_context=False, request_bits=None):
    return dict(client_no_context_takeover=True, client_max_window_bits=True,
                server_no_context_takeover=request_no_context, server_max_window_bits=request_bits)


SECTION13 = [
    ("13.1", [autobahn_offer()]),
    ("13.2", [autobahn_offer(True)]),
    ("13.3", [autobahn_offer(False, 8)]),
    ("13.4", [autobahn_offer(False, 15)]),
    ("13.5", [autobahn_offer(True, 8)]),
    ("13.6", [autobahn_offer(True, 15)]),
    ("13.7", [autobahn_offer(True, 8), autobahn_offer(True), autobahn_offer()]),
]

# Beyond Autobahn: each parameter alone, every window size a client may
# offer, as websockets builds them. client_max_window_bits=8 is left out:
# the client would then compress with a 256-byte window (RFC 7692 §7.1.2.2,
# websockets takes its own hint), which zlib refuses for raw DEFLATE
# ("Invalid initialization option"); node's ws covers 8.
PARAMS = (
    [("P.plain", dict(client_max_window_bits=None)),
     ("P.cnct", dict(client_no_context_takeover=True)),
     ("P.snct", dict(server_no_context_takeover=True))]
    + [(f"P.cmwb{n}", dict(client_max_window_bits=n)) for n in range(9, 16)]
    + [(f"P.smwb{n}", dict(server_max_window_bits=n)) for n in range(8, 16)]
)
# Sizes the parameter cases run: under and over 64 bytes, one frame and
# fragmented, up to the largest (indexes into the manifest's sizes).
PARAM_SIZES = [1, 4, 12]

# Offers a server must decline (RFC 7692 §7.1), as raw parameters.
DECLINED = [
    ("D.unknown", [("x_comet_unknown", None)]),
    ("D.smwb-none", [("server_max_window_bits", None)]),
    ("D.smwb7", [("server_max_window_bits", "7")]),
    ("D.smwb16", [("server_max_window_bits", "16")]),
    ("D.smwb08", [("server_max_window_bits", "08")]),
    ("D.cmwb7", [("client_max_window_bits", "7")]),
    ("D.cmwb16", [("client_max_window_bits", "16")]),
    ("D.snct-value", [("server_no_context_takeover", "1")]),
    ("D.cnct-twice", [("client_no_context_takeover", None), ("client_no_context_takeover", None)]),
    ("D.smwb-twice", [("server_max_window_bits", "10"), ("server_max_window_bits", "10")]),
]


class MatrixTest(unittest.TestCase):
    """Autobahn 12.1-12.5 and 13.1-13.7, then the parameters one by one
    and the offers to decline, each case on a connection of its own."""

    @classmethod
    def setUpClass(cls):
        cls.m = load_matrix()
        cls.url = ws_url()

    def run_cases(self, cases):
        """cases: (id, factories maker, payload, binary, size, expect)."""
        failures, started = [], time.monotonic()
        for case_id, make, data, binary, size, expect in cases:
            msgs = messages(data, size["len"], size["count"])
            t0 = time.monotonic()
            try:
                summary = asyncio.run(echo_case(self.url, make(), msgs, binary, size["frag"], expect))
                print(f"{case_id:<14} ok  {size['len']:>6} B frag {size['frag']:>5}: {summary} ({time.monotonic() - t0:.2f} s)")
            except Exception as e:  # every case runs; all failures are listed
                failures.append(f"{case_id} ({size['len']} B, frag {size['frag']}): {type(e).__name__}: {e}")
                print(f"{case_id:<14} FAIL {failures[-1]}")
        print(f"{len(cases)} cases in {time.monotonic() - started:.1f} s")
        self.assertEqual(failures, [], "\n".join(failures))

    def test_section12(self):
        """12.j.i: Autobahn's default offer, the five payloads, every size."""
        cases = []
        for s in self.m["sets"]:
            for i, size in enumerate(self.m["sizes"], 1):
                cases.append((f"{s['section']}.{i}", lambda: [Offer(**autobahn_offer())], s["data"], s["binary"], size, "accept"))
        self.run_cases(cases)

    def test_section13(self):
        """13.j.i: Autobahn's offers, the JSON payload (text), every size."""
        cases = []
        for sec, offers in SECTION13:
            for i, size in enumerate(self.m["sizes"], 1):
                cases.append((f"{sec}.{i}", lambda offers=offers: [Offer(**o) for o in offers], self.m["data13"], False, size, "accept"))
        self.run_cases(cases)

    def test_parameters(self):
        """Each offer parameter on its own, every window size."""
        cases = []
        for pid, kw in PARAMS:
            for i in PARAM_SIZES:
                size = self.m["sizes"][i]
                cases.append((f"{pid}.{i + 1}", lambda kw=kw: [Offer(**kw)], self.m["data13"], False, size, "accept"))
        self.run_cases(cases)

    def test_declined(self):
        """Offers RFC 7692 §7.1 makes a server decline: a plain upgrade,
        plain echoes; and the same bad offer followed by a good one: the
        good one accepted."""
        cases = []
        size = dict(self.m["sizes"][4], count=3)  # 4 KiB, compressible
        for did, params in DECLINED:
            cases.append((did, lambda p=params: [RawOffer(p)], self.m["data13"], False, size, "decline"))
            cases.append((did + "+ok", lambda p=params: [RawOffer(p), Offer(**autobahn_offer())], self.m["data13"], False, size, "accept"))
        self.run_cases(cases)


# ---------------------------------------------------------------------------
# A raw client: frames as the test writes them, compressed with zlib.


class Raw:
    """One WebSocket connection over a plain socket."""

    def __init__(self, base, extensions=None):
        host, port = base.rstrip("/").replace("http://", "").replace("ws://", "").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /echo HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if extensions:
            req += f"Sec-WebSocket-Extensions: {extensions}\r\n"
        self.sock.sendall((req + "\r\n").encode())
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        status, *lines = head.split("\r\n")
        assert status.startswith("HTTP/1.1 101"), f"upgrade answered {status!r}"
        self.headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
        self.extensions = self.headers.get("sec-websocket-extensions", "")

    def read_until(self, sep):
        while sep not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed before {sep!r}")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(sep)
        return head

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed inside a frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True, rsv=0):
        """rsv: the RSV bits as in the first byte (0x40 is RSV1)."""
        b0 = (0x80 if fin else 0) | rsv | opcode
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def read_frame(self):
        """-> (fin, rsv bits, opcode, payload)."""
        b0, b1 = self.read_exact(2)
        assert b1 & 0x80 == 0, "a masked frame from the server"
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self.read_exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self.read_exact(8))
        return bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, self.read_exact(n)

    def read_message(self):
        """The next data message: (opcode, payload inflated, compressed)."""
        fin, rsv, op, payload = self.read_frame()
        assert op in (1, 2), f"expected a data frame, got opcode {op} {payload[:40]!r}"
        assert rsv in (0, 0x40), f"RSV bits {rsv:#x} from the server"
        compressed, parts = rsv == 0x40, [payload]
        while not fin:
            fin, rsv, cop, payload = self.read_frame()
            assert cop == 0 and rsv == 0, f"continuation with opcode {cop}, RSV {rsv:#x}"
            parts.append(payload)
        data = b"".join(parts)
        if compressed:
            data = zlib.decompressobj(-15).decompress(data + b"\x00\x00\xff\xff")
        return op, data, compressed

    def close_code(self):
        """Reads past data frames to the server's close frame; returns its
        code, after checking the server then ends the connection."""
        while True:
            fin, rsv, op, payload = self.read_frame()
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                break
        # Answer the close, as RFC 6455 §5.5.1 says, and wait for the
        # server to end the connection. The shutdown: after a failure
        # Comet keeps reading for up to 2 s (its lingering close), close
        # frame or not, until the client's end of the stream.
        try:
            self.send_frame(8, payload[:2])
            self.sock.shutdown(socket.SHUT_WR)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass  # the server was quicker: it has closed already
        return code

    def close(self):
        self.sock.close()


def deflate(data, level=6, flush=zlib.Z_SYNC_FLUSH, strip=True):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(flush)
    if strip:
        assert out.endswith(b"\x00\x00\xff\xff")
        out = out[:-4]
    return out


OFFER = "permessage-deflate; client_max_window_bits"


class RawTest(unittest.TestCase):
    """Compressed messages in the forms RFC 7692 §7.2.3 allows, each
    echoed intact; then the frames RFC 6455 §5.2 and RFC 7692 §6 make a
    server fail, each answered with the close code docs/PROTOCOL.md lists."""

    @classmethod
    def setUpClass(cls):
        cls.base = env("COMET_URL")
        cls.json = load_matrix()["data13"]

    def open(self, extensions=OFFER):
        c = Raw(self.base, extensions)
        self.addCleanup(c.close)
        if extensions == OFFER:
            self.assertTrue(c.extensions.startswith("permessage-deflate"), c.extensions)
        return c

    def echo(self, c, frames, want, op=1):
        """Sends frames [(opcode, payload, fin, rsv)], reads the echo."""
        for f in frames:
            c.send_frame(*f)
        got_op, got, compressed = c.read_message()
        self.assertEqual(got_op, op)
        self.assertEqual(got, want)
        self.assertEqual(compressed, shrinks_clearly(want) or (len(want) >= MIN_COMPRESSED and compressed),
                         f"{len(want)}-byte echo compressed: {compressed}")
        return compressed

    def test_forms_of_a_compressed_message(self):
        c = self.open()
        hello = b"Hello"
        # §7.2.3.1: one frame, the sync flush's 00 00 ff ff removed.
        self.echo(c, [(1, deflate(hello), True, 0x40)], hello)
        # §7.2.3.1: the same, fragmented inside the compressed stream.
        z = deflate(hello)
        self.echo(c, [(1, z[:3], False, 0x40), (0, z[3:], True, 0)], hello)
        # §7.2.3.3: a stored (uncompressed) block.
        self.echo(c, [(1, deflate(hello, level=0), True, 0x40)], hello)
        # §7.2.3.4: a final block (BFINAL 1): the 00 00 ff ff the receiver
        # appends then follows the end of the stream.
        self.echo(c, [(1, deflate(hello, flush=zlib.Z_FINISH, strip=False), True, 0x40)], hello)
        # §7.2.3.5: two blocks in one message.
        d = zlib.compressobj(6, zlib.DEFLATED, -15)
        two = d.compress(b"Hel") + d.flush(zlib.Z_FULL_FLUSH) + d.compress(b"lo") + d.flush(zlib.Z_SYNC_FLUSH)
        self.echo(c, [(1, two[:-4], True, 0x40)], hello)
        # §7.2.3.6: an empty final fragment. The first frame keeps its
        # sync flush, so the stream is byte-aligned; the last is an empty
        # stored block's first byte, which the 00 00 ff ff appended on
        # receipt completes.
        self.echo(c, [(1, deflate(hello, strip=False), False, 0x40), (0, b"\x00", True, 0)], hello)
        # An empty message: what a compressor makes of no bytes (an empty
        # stored block, less its last 4 bytes).
        self.assertEqual(deflate(b""), b"\x00")
        self.echo(c, [(1, b"\x00", True, 0x40)], b"")
        self.echo(c, [(2, b"\x00", True, 0x40)], b"", op=2)
        # Plain messages on a compressed connection (RFC 7692 §6: RSV1 is
        # per message).
        self.echo(c, [(1, hello, True, 0)], hello)
        big = self.json[:100000]
        self.echo(c, [(1, big, True, 0)], big)
        # Autobahn's auto-fragmentation: the compressed stream of one
        # 128 KiB message cut into frames of 256 to 32768 bytes, wherever
        # the cut falls in the DEFLATE blocks.
        msg = (self.json * 2)[:131072]
        z = deflate(msg)
        for size in (256, 1024, 4096, 32768):
            parts = [z[i:i + size] for i in range(0, len(z), size)]
            frames = [(1 if i == 0 else 0, p, i == len(parts) - 1, 0x40 if i == 0 else 0) for i, p in enumerate(parts)]
            self.assertTrue(self.echo(c, frames, msg), "a 128 KiB JSON echo must come compressed")
        # Binary that does not compress: sent and echoed either way, intact.
        noise = os.urandom(20000)
        self.echo(c, [(2, deflate(noise), True, 0x40)], noise, op=2)
        # The server keeps no context (server_no_context_takeover): the
        # second echo of the same 4 KiB inflates on its own, with a fresh
        # inflater (read_message), which a back-reference into the first
        # would break.
        a = self.json[:4096]
        self.echo(c, [(1, deflate(a), True, 0x40)], a)
        self.echo(c, [(1, deflate(a), True, 0x40)], a)
        c.send_frame(8, struct.pack("!H", 1000))
        self.assertEqual(c.close_code(), 1000)

    def fails(self, frames, code, extensions=OFFER, base=None):
        c = Raw(base or self.base, extensions)
        self.addCleanup(c.close)
        for f in frames:
            c.send_frame(*f)
        self.assertEqual(c.close_code(), code)
        return c

    def test_compressed_control_frames(self):
        # RFC 7692 §6.1: "An endpoint MUST NOT set the RSV1 bit on control
        # frames"; RFC 6455 §5.2: a reserved bit without a meaning fails.
        self.fails([(9, deflate(b"ping"), True, 0x40)], 1002)
        self.fails([(10, deflate(b"pong"), True, 0x40)], 1002)
        self.fails([(8, struct.pack("!H", 1000), True, 0x40)], 1002)
        # ... also between the fragments of a compressed message.
        z = deflate(b"Hello")
        self.fails([(1, z[:3], False, 0x40), (9, b"", True, 0x40)], 1002)

    def test_rsv1_on_a_continuation(self):
        z = deflate(b"Hello, fragmented")
        self.fails([(1, z[:4], False, 0x40), (0, z[4:], True, 0x40)], 1002)
        # On the continuation of a plain message too.
        self.fails([(1, b"Hel", False, 0), (0, deflate(b"lo"), True, 0x40)], 1002)

    def test_rsv1_without_the_extension(self):
        # No offer, on a node with compression on.
        c = self.fails([(1, deflate(b"Hello"), True, 0x40)], 1002, extensions=None)
        self.assertEqual(c.extensions, "")
        # A declined offer.
        c = self.fails([(1, deflate(b"Hello"), True, 0x40)], 1002, extensions="permessage-deflate; x_unknown")
        self.assertEqual(c.extensions, "")
        # An offer to a node with compression off.
        c = self.fails([(1, deflate(b"Hello"), True, 0x40)], 1002, base=env("COMET_URL_OFF"))
        self.assertEqual(c.extensions, "")

    def test_rsv2_rsv3(self):
        # RFC 6455 §5.2: permessage-deflate gives RSV2 and RSV3 no meaning.
        self.fails([(1, b"Hello", True, 0x20)], 1002)
        self.fails([(1, deflate(b"Hello"), True, 0x40 | 0x10)], 1002)

    def test_bad_compressed_data(self):
        # Not DEFLATE (a reserved block type, BTYPE 11): 1007 by
        # docs/PROTOCOL.md (RFC 7692 §8 says fail, without a code).
        self.fails([(1, b"\xff\xff\xff\xff", True, 0x40)], 1007)
        # A stream cut inside a block.
        self.fails([(1, deflate(self.json[:4096])[:200], True, 0x40)], 1007)
        # No bytes at all with RSV1: with the 00 00 ff ff appended that is
        # a stored block's LEN and NLEN without its header, a stream cut
        # inside a block (a compressor sends 0x00 for an empty message);
        # zlib-based receivers tend to take it as empty, Comet fails it.
        self.fails([(2, b"", True, 0x40)], 1007)
        # Valid DEFLATE of text that is not UTF-8 (RFC 6455 §8.1).
        self.fails([(1, deflate(b"\xc3\x28 not utf-8"), True, 0x40)], 1007)


class CapAndCloseTest(unittest.TestCase):
    """The compressed-bytes allowance and the close after a failure, on a
    node with -echo, -ws-compression on and the default -max-message-bytes
    (64 KiB), COMET_URL_CAP."""

    def test_fragmented_message_under_the_cap(self):
        # A message under -max-message-bytes is echoed (1009 is for an
        # inflated message over the cap). websockets compresses each
        # fragment with a sync flush, about 10 bytes per fragment on data
        # that does not compress; the allowance (cap + cap/8 + 256) must
        # cover it. It was cap/256 and this got 1009.
        async def run():
            data = os.urandom(64000)
            async with websockets.connect(ws_url("COMET_URL_CAP"), open_timeout=TIMEOUT, max_size=1 << 20) as ws:
                await ws.send([data[i:i + 256] for i in range(0, len(data), 256)])
                got = await asyncio.wait_for(ws.recv(), TIMEOUT)
                self.assertEqual(got, data)
        asyncio.run(run())

    def test_close_after_a_failure_is_bounded(self):
        # After a failure (1002 here) Comet does not parse what the client
        # sends any more: its lingering close reads and discards, so that
        # the close frame is not destroyed by a reset, until the client
        # ends its stream or CloseTimeout (2 s) passes. RFC 6455 §5.5.1
        # would have it close as soon as the client's close frame came: a
        # documented departure (docs/PROTOCOL.md, Conformance). What is
        # asserted is the bound: the socket closes within CloseTimeout
        # plus slack, even though this client never closes its side.
        c = Raw(env("COMET_URL_CAP"), OFFER)
        self.addCleanup(c.close)
        c.send_frame(9, deflate(b"ping"), True, 0x40)
        while True:
            _, _, op, payload = c.read_frame()
            if op == 8:
                break
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1002)
        c.send_frame(8, payload[:2])
        t0 = time.monotonic()
        c.sock.settimeout(15)
        while c.sock.recv(65536):
            pass
        self.assertLess(time.monotonic() - t0, 10.0, "the server held the connection past its lingering close")


if __name__ == "__main__":
    unittest.main()
