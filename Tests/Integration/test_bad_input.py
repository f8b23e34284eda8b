"""Malformed client input: the offending connection is closed, nothing else.

Each case sends bad bytes on a fresh TCP connection (some after a valid
connect handshake) and asserts the server closes that connection within a
deadline; afterwards the server still answers ruok, still accepts sessions,
and a kazoo client still reads every node written before (nothing lost).
The server runs with a small jute.maxbuffer so "too large" is cheap to send.
"""

import random
import socket
import struct

import pytest

import jute
from conftest import start_server
from jute import Op

MAX_BUFFER = 65536
EOF_DEADLINE_S = 10.0


@pytest.fixture(scope="module")
def bad_server(server_kind):
    srv = start_server(server_kind, {"jute.maxbuffer": MAX_BUFFER})
    yield srv
    srv.cleanup()


@pytest.fixture(scope="module")
def precious(bad_server):
    """Data written before any bad input; checked after every case."""
    from kazoo.client import KazooClient

    client = KazooClient(hosts=bad_server.hosts, timeout=10.0)
    client.start(timeout=15)
    expected = {}
    client.create("/precious", b"root-data")
    for i in range(20):
        path = "/precious/n%02d" % i
        value = ("value-%d" % i).encode() * (i + 1)
        client.create(path, value)
        expected[path] = value
    yield client, expected
    client.stop()
    client.close()


def random_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def request(xid, op, body=b""):
    return jute.frame(struct.pack(">ii", xid, op) + body)


def connect_frame():
    return jute.frame(jute.connect_request(10000))


# (id, bytes to send, handshake first?, half-close our side after sending?)
CASES = [
    ("random-bytes-negative-length", random_bytes(0, 64), False, False),
    ("random-bytes-huge-length", random_bytes(2, 64), False, False),
    ("random-connect-frame", jute.frame(random_bytes(7, 40)), False, False),
    ("negative-length", struct.pack(">i", -1) + b"abcd", False, False),
    ("negative-length-min", struct.pack(">i", -2 ** 31), False, False),
    ("huge-length", struct.pack(">i", 2 ** 31 - 1), False, False),
    ("length-maxbuffer-plus-one", struct.pack(">i", MAX_BUFFER + 1) + b"\x00" * 64, False, False),
    ("zero-length-connect", struct.pack(">i", 0), False, False),
    ("truncated-connect-then-eof", connect_frame()[:17], False, True),
    ("truncated-length-then-eof", b"\x00\x00", False, True),
    ("after-connect-negative-length", struct.pack(">i", -5), True, False),
    ("after-connect-huge-length", struct.pack(">i", 2 ** 31 - 1), True, False),
    ("after-connect-length-maxbuffer-plus-one", struct.pack(">i", MAX_BUFFER + 1), True, False),
    ("after-connect-oversized-setData", request(1, Op.SET_DATA, jute.set_data_body(
        "/precious", b"x" * (MAX_BUFFER + 100))), True, False),
    ("after-connect-zero-length", struct.pack(">i", 0), True, False),
    ("after-connect-short-header", jute.frame(b"\x00\x00\x01"), True, False),
    ("after-connect-random-garbage", random_bytes(0, 256), True, False),
    ("after-connect-truncated-request-then-eof", request(1, Op.GET_DATA,
                                                          jute.path_watch_body("/precious"))[:9], True, True),
]


def test_random_cases_are_what_they_claim():
    assert struct.unpack(">i", random_bytes(0, 4))[0] < 0
    assert struct.unpack(">i", random_bytes(2, 4))[0] > MAX_BUFFER


def assert_server_healthy(srv, precious_data):
    assert srv.alive(), "server process died\n" + srv.log_tail()
    assert srv.four_letter("ruok").strip() == "imok"
    client, expected = precious_data
    client.sync("/precious")
    assert client.get("/precious")[0] == b"root-data"
    assert sorted(client.get_children("/precious")) == sorted(p.rsplit("/", 1)[1] for p in expected)
    for path, value in expected.items():
        assert client.get(path)[0] == value, path
    # new sessions still work
    fresh = srv.raw()
    try:
        assert fresh.get_data("/precious/n00")[1][0] == expected["/precious/n00"]
    finally:
        fresh.close()


@pytest.mark.parametrize("payload,handshake,half_close", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_closes_connection(bad_server, precious, payload, handshake, half_close):
    s = bad_server.raw_socket()
    try:
        if handshake:
            s.sendall(connect_frame())
            resp = jute.parse_connect_response(jute.read_frame(s))
            assert resp.session_id != 0
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may already have hung up mid-send
        if half_close:
            s.shutdown(socket.SHUT_WR)
        jute.wait_for_eof(s, EOF_DEADLINE_S)
    finally:
        s.close()
    assert_server_healthy(bad_server, precious)


def test_unknown_opcode_gets_unimplemented_then_close(bad_server, precious):
    c = bad_server.raw()
    try:
        rep = c.call(999, b"whatever")
        assert (rep.xid, rep.err, rep.body) == (1, jute.Err.UNIMPLEMENTED, b"")
        jute.wait_for_eof(c.sock, EOF_DEADLINE_S)
    finally:
        c.close_socket()
    assert_server_healthy(bad_server, precious)


def test_bad_input_on_one_connection_leaves_others_alone(bad_server, precious):
    good = bad_server.raw()
    try:
        good.get_data("/precious", watch=True)
        s = bad_server.raw_socket()
        try:
            s.sendall(struct.pack(">i", -1))
            jute.wait_for_eof(s, EOF_DEADLINE_S)
        finally:
            s.close()
        client, _ = precious
        client.set("/precious", b"root-data")  # same data, new version
        ev = good.wait_event(10)
        assert (ev.type, ev.path) == (jute.EventType.NODE_DATA_CHANGED, "/precious")
        rep, (data, _) = good.get_data("/precious")
        assert data == b"root-data"
    finally:
        good.close()
    assert_server_healthy(bad_server, precious)


def test_many_bad_connections_in_a_row(bad_server, precious):
    for seed in range(30):
        s = bad_server.raw_socket()
        try:
            junk = random_bytes(1000 + seed, 32)
            s.sendall(struct.pack(">i", -1 - seed) + junk)
            jute.wait_for_eof(s, EOF_DEADLINE_S)
        finally:
            s.close()
    assert_server_healthy(bad_server, precious)


def test_request_of_exactly_max_buffer_is_accepted(bad_server, precious):
    """The limit is the configured jute.maxbuffer, inclusive."""
    c = bad_server.raw()
    try:
        path = "/precious-big"
        overhead = 8 + (4 + len(path)) + 4 + 4  # header, path, data length, version
        body = jute.set_data_body(path, b"y" * (MAX_BUFFER - overhead))
        rep, _ = c.create(path)
        assert rep.err == 0
        xid = c.send(Op.SET_DATA, body)
        assert len(struct.pack(">ii", xid, Op.SET_DATA) + body) == MAX_BUFFER
        rep = c.wait_reply(xid)
        assert rep.err == 0
        assert jute.Reader(rep.body).stat().dataLength == MAX_BUFFER - overhead
        assert c.delete(path).err == 0
    finally:
        c.close()
    assert_server_healthy(bad_server, precious)
