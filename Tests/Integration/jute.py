"""A minimal jute codec and a synchronous raw ZooKeeper client for the tests.

Jute is ZooKeeper's wire encoding: ints and longs big-endian, booleans one
byte, buffers and strings length-prefixed with an int (-1 meaning null),
vectors an int count (-1 meaning null) followed by the items.  Every client
frame is an int length followed by that many bytes.

Only what the integration tests need is here: the connect handshake, request
and reply headers, the ops the tests send, multi, watch notifications.
"""

import socket
import struct
import time
from collections import namedtuple

# --- constants -------------------------------------------------------------


class Op:
    NOTIFICATION = 0
    CREATE = 1
    DELETE = 2
    EXISTS = 3
    GET_DATA = 4
    SET_DATA = 5
    GET_ACL = 6
    SET_ACL = 7
    GET_CHILDREN = 8
    SYNC = 9
    PING = 11
    GET_CHILDREN2 = 12
    CHECK = 13
    MULTI = 14
    CREATE2 = 15
    RECONFIG = 16
    CHECK_WATCHES = 17
    REMOVE_WATCHES = 18
    CREATE_CONTAINER = 19
    DELETE_CONTAINER = 20
    CREATE_TTL = 21
    MULTI_READ = 22
    AUTH = 100
    SET_WATCHES = 101
    SASL = 102
    GET_EPHEMERALS = 103
    GET_ALL_CHILDREN_NUMBER = 104
    SET_WATCHES2 = 105
    ADD_WATCH = 106
    WHO_AM_I = 107
    CREATE_SESSION = -10
    CLOSE_SESSION = -11
    ERROR = -1


class Err:
    """ZooKeeper's KeeperException.Code values."""

    OK = 0
    SYSTEM_ERROR = -1
    RUNTIME_INCONSISTENCY = -2
    DATA_INCONSISTENCY = -3
    CONNECTION_LOSS = -4
    MARSHALLING_ERROR = -5
    UNIMPLEMENTED = -6
    OPERATION_TIMEOUT = -7
    BAD_ARGUMENTS = -8
    UNKNOWN_SESSION = -12
    NEW_CONFIG_NO_QUORUM = -13
    RECONFIG_IN_PROGRESS = -14
    API_ERROR = -100
    NO_NODE = -101
    NO_AUTH = -102
    BAD_VERSION = -103
    NO_CHILDREN_FOR_EPHEMERALS = -108
    NODE_EXISTS = -110
    NOT_EMPTY = -111
    SESSION_EXPIRED = -112
    INVALID_CALLBACK = -113
    INVALID_ACL = -114
    AUTH_FAILED = -115
    SESSION_MOVED = -118
    NOT_READ_ONLY = -119
    EPHEMERAL_ON_LOCAL_SESSION = -120
    NO_WATCHER = -121
    REQUEST_TIMEOUT = -122
    RECONFIG_DISABLED = -123
    SESSION_CLOSED_REQUIRE_SASL_AUTH = -124
    QUOTA_EXCEEDED = -125
    THROTTLED_OP = -127


class CreateMode:
    PERSISTENT = 0
    EPHEMERAL = 1
    PERSISTENT_SEQUENTIAL = 2
    EPHEMERAL_SEQUENTIAL = 3
    CONTAINER = 4
    PERSISTENT_WITH_TTL = 5
    PERSISTENT_SEQUENTIAL_WITH_TTL = 6


class EventType:
    NONE = -1
    NODE_CREATED = 1
    NODE_DELETED = 2
    NODE_DATA_CHANGED = 3
    NODE_CHILDREN_CHANGED = 4
    DATA_WATCH_REMOVED = 5
    CHILD_WATCH_REMOVED = 6
    PERSISTENT_WATCH_REMOVED = 7


class KeeperState:
    DISCONNECTED = 0
    SYNC_CONNECTED = 3
    AUTH_FAILED = 4
    CONNECTED_READ_ONLY = 5
    EXPIRED = -112
    CLOSED = 7


class WatcherType:
    """RemoveWatches/CheckWatches type field."""

    CHILDREN = 1
    DATA = 2
    ANY = 3


class AddWatchMode:
    PERSISTENT = 0
    PERSISTENT_RECURSIVE = 1


NOTIFICATION_XID = -1
PING_XID = -2
AUTH_XID = -4
SET_WATCHES_XID = -8

# What a server sends instead of a session when it refuses a reconnect
# (wrong password, unknown or expired session id): protocol 0, timeout 0,
# session id 0, a 16-byte zero password, readOnly false.  Then it closes.
REFUSED_CONNECT_RESPONSE = b"\x00" * 16 + b"\x00\x00\x00\x10" + b"\x00" * 16 + b"\x00"

PERM_ALL = 31
OPEN_ACL_UNSAFE = [(PERM_ALL, "world", "anyone")]

# --- encoding --------------------------------------------------------------


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def int(self, v):
        self.buf += struct.pack(">i", v)
        return self

    def long(self, v):
        self.buf += struct.pack(">q", v)
        return self

    def bool(self, v):
        self.buf += b"\x01" if v else b"\x00"
        return self

    def buffer(self, b):
        if b is None:
            return self.int(-1)
        self.int(len(b))
        self.buf += b
        return self

    def string(self, s):
        return self.buffer(None if s is None else s.encode("utf-8"))

    def vector(self, items, write_item):
        if items is None:
            return self.int(-1)
        self.int(len(items))
        for item in items:
            write_item(self, item)
        return self

    def acl(self, acl):
        def one(w, entry):
            perms, scheme, ident = entry
            w.int(perms).string(scheme).string(ident)

        return self.vector(acl, one)

    def raw(self, b):
        self.buf += b
        return self

    def bytes(self):
        return bytes(self.buf)


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data, offset=0):
        self.data = bytes(data)
        self.pos = offset

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(
                "need %d bytes at %d of %d" % (n, self.pos, len(self.data))
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def long(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        if n == -1:
            return None
        return self._take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def vector(self, read_item):
        n = self.int()
        if n == -1:
            return None
        return [read_item(self) for _ in range(n)]

    def strings(self):
        return self.vector(lambda r: r.string())

    def stat(self):
        return Stat(
            czxid=self.long(),
            mzxid=self.long(),
            ctime=self.long(),
            mtime=self.long(),
            version=self.int(),
            cversion=self.int(),
            aversion=self.int(),
            ephemeralOwner=self.long(),
            dataLength=self.int(),
            numChildren=self.int(),
            pzxid=self.long(),
        )

    def acl(self):
        return self.vector(lambda r: (r.int(), r.string(), r.string()))

    @property
    def remaining(self):
        return len(self.data) - self.pos

    def at_end(self):
        return self.pos == len(self.data)


Stat = namedtuple(
    "Stat",
    "czxid mzxid ctime mtime version cversion aversion ephemeralOwner "
    "dataLength numChildren pzxid",
)
ReplyHeader = namedtuple("ReplyHeader", "xid zxid err")
ConnectResponse = namedtuple(
    "ConnectResponse", "protocol_version timeout session_id passwd read_only raw"
)
WatcherEvent = namedtuple("WatcherEvent", "type state path zxid raw")
Reply = namedtuple("Reply", "xid zxid err body raw")
MultiResult = namedtuple("MultiResult", "type err value")

# --- request bodies --------------------------------------------------------


def connect_request(timeout_ms, session_id=0, passwd=b"\x00" * 16,
                    last_zxid=0, read_only=False, with_read_only=True):
    w = Writer().int(0).long(last_zxid).int(timeout_ms).long(session_id)
    w.buffer(passwd)
    if with_read_only:
        w.bool(read_only)
    return w.bytes()


def parse_connect_response(payload):
    r = Reader(payload)
    proto = r.int()
    timeout = r.int()
    sid = r.long()
    passwd = r.buffer()
    read_only = r.bool() if r.remaining >= 1 else None
    return ConnectResponse(proto, timeout, sid, passwd, read_only, payload)


def create_body(path, data=b"", flags=CreateMode.PERSISTENT, acl=None, ttl=None):
    w = Writer().string(path).buffer(data).acl(OPEN_ACL_UNSAFE if acl is None else acl)
    w.int(flags)
    if ttl is not None:
        w.long(ttl)
    return w.bytes()


def path_body(path):
    return Writer().string(path).bytes()


def path_watch_body(path, watch=False):
    return Writer().string(path).bool(watch).bytes()


def delete_body(path, version=-1):
    return Writer().string(path).int(version).bytes()


def set_data_body(path, data, version=-1):
    return Writer().string(path).buffer(data).int(version).bytes()


def check_body(path, version):
    return Writer().string(path).int(version).bytes()


def add_watch_body(path, mode):
    return Writer().string(path).int(mode).bytes()


def remove_watches_body(path, watcher_type):
    return Writer().string(path).int(watcher_type).bytes()


def multi_body(ops):
    """ops: list of (opcode, body bytes).  Ends with the done marker."""
    w = Writer()
    for opcode, body in ops:
        w.int(opcode).bool(False).int(-1).raw(body)
    w.int(-1).bool(True).int(-1)
    return w.bytes()


def parse_multi_response(body):
    """Returns a list of MultiResult; value depends on the op type."""
    r = Reader(body)
    results = []
    while True:
        typ = r.int()
        done = r.bool()
        err = r.int()
        if done:
            break
        if typ == Op.ERROR:
            results.append(MultiResult(typ, r.int(), None))
        elif typ == Op.CREATE:
            results.append(MultiResult(typ, err, r.string()))
        elif typ in (Op.CREATE2, Op.CREATE_CONTAINER, Op.CREATE_TTL):
            results.append(MultiResult(typ, err, (r.string(), r.stat())))
        elif typ == Op.SET_DATA:
            results.append(MultiResult(typ, err, r.stat()))
        elif typ in (Op.DELETE, Op.CHECK):
            results.append(MultiResult(typ, err, None))
        elif typ == Op.GET_DATA:
            results.append(MultiResult(typ, err, (r.buffer(), r.stat())))
        elif typ == Op.GET_CHILDREN:
            results.append(MultiResult(typ, err, r.strings()))
        else:
            raise DecodeError("unknown multi result type %d" % typ)
    if not r.at_end():
        raise DecodeError("%d trailing bytes after multi" % r.remaining)
    return results


# --- framing and the raw client ---------------------------------------------


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


class ConnectionClosed(Exception):
    pass


def recv_exact(sock, n, deadline):
    out = bytearray()
    while len(out) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out reading %d bytes (got %d)" % (n, len(out)))
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(out))
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise ConnectionClosed("connection reset after %d bytes" % len(out))
        if not chunk:
            raise ConnectionClosed("EOF after %d of %d bytes" % (len(out), n))
        out += chunk
    return bytes(out)


def read_frame(sock, timeout=10.0):
    deadline = time.monotonic() + timeout
    (n,) = struct.unpack(">i", recv_exact(sock, 4, deadline))
    if n < 0 or n > 64 * 1024 * 1024:
        raise DecodeError("bad frame length %d" % n)
    return recv_exact(sock, n, deadline)


def wait_for_eof(sock, timeout):
    """Reads and discards until the peer closes; returns the bytes seen.

    Raises TimeoutError if the connection is still open at the deadline.
    """
    deadline = time.monotonic() + timeout
    seen = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("connection still open after %.1fs" % timeout)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return bytes(seen)
        if not chunk:
            return bytes(seen)
        seen += chunk


class RawClient:
    """One TCP connection speaking the client protocol synchronously.

    call() sends a request and returns its Reply; notifications (xid -1)
    that arrive meanwhile are appended to self.events, and self.log keeps
    every frame received in order as ("event", WatcherEvent) or
    ("reply", Reply) so tests can check ordering.
    """

    def __init__(self, host, port, timeout=10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = 0
        self.events = []
        self.log = []
        self.session = None

    # connection ------------------------------------------------------------

    def connect(self, timeout_ms=10000, session_id=0, passwd=b"\x00" * 16,
                last_zxid=0, read_only=False):
        self.sock.sendall(frame(connect_request(
            timeout_ms, session_id, passwd, last_zxid, read_only)))
        self.session = parse_connect_response(read_frame(self.sock, self.timeout))
        return self.session

    def close_socket(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self):
        """closeSession then close the socket; ignores a dead connection."""
        try:
            self.call(Op.CLOSE_SESSION, b"")
        except (ConnectionClosed, OSError, TimeoutError, DecodeError):
            pass
        self.close_socket()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_socket()

    # requests --------------------------------------------------------------

    def next_xid(self):
        self.xid += 1
        return self.xid

    def send(self, op, body=b"", xid=None):
        if xid is None:
            xid = self.next_xid()
        self.sock.sendall(frame(struct.pack(">ii", xid, op) + body))
        return xid

    def read_one(self, timeout=None):
        """Reads one frame; returns ("event", WatcherEvent) or ("reply", Reply)."""
        payload = read_frame(self.sock, self.timeout if timeout is None else timeout)
        r = Reader(payload)
        xid, zxid, err = r.int(), r.long(), r.int()
        if xid == NOTIFICATION_XID:
            if err != 0:
                raise DecodeError("notification with err %d" % err)
            ev = WatcherEvent(r.int(), r.int(), r.string(), zxid, payload)
            if not r.at_end():
                raise DecodeError("%d trailing bytes in notification" % r.remaining)
            self.events.append(ev)
            item = ("event", ev)
        else:
            item = ("reply", Reply(xid, zxid, err, payload[16:], payload))
        self.log.append(item)
        return item

    def wait_reply(self, xid, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            kind, item = self.read_one(max(0.01, deadline - time.monotonic()))
            if kind == "reply":
                if item.xid != xid:
                    raise DecodeError("expected xid %d, got %d" % (xid, item.xid))
                return item

    def call(self, op, body=b"", xid=None):
        return self.wait_reply(self.send(op, body, xid))

    def wait_event(self, timeout=10.0, predicate=lambda ev: True):
        """Returns the first queued or incoming event matching predicate,
        removing it from self.events."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if predicate(ev):
                    return self.events.pop(i)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching event within %.1fs" % timeout)
            try:
                self.read_one(remaining)
            except TimeoutError:
                pass

    def expect_no_event(self, quiet_period=0.3):
        """Reads for quiet_period seconds; returns the events that arrived."""
        before = len(self.events)
        deadline = time.monotonic() + quiet_period
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                self.read_one(remaining)
            except TimeoutError:
                break
        return self.events[before:]

    # convenience wrappers returning decoded bodies --------------------------

    def create(self, path, data=b"", flags=CreateMode.PERSISTENT, ttl=None,
               op=None):
        if op is None:
            op = Op.CREATE_TTL if ttl is not None else Op.CREATE2
        rep = self.call(op, create_body(path, data, flags, ttl=ttl))
        if rep.err:
            return rep, None
        r = Reader(rep.body)
        if op == Op.CREATE:
            return rep, (r.string(), None)
        return rep, (r.string(), r.stat())

    def get_data(self, path, watch=False):
        rep = self.call(Op.GET_DATA, path_watch_body(path, watch))
        if rep.err:
            return rep, None
        r = Reader(rep.body)
        return rep, (r.buffer(), r.stat())

    def set_data(self, path, data, version=-1):
        rep = self.call(Op.SET_DATA, set_data_body(path, data, version))
        return rep, (None if rep.err else Reader(rep.body).stat())

    def exists(self, path, watch=False):
        rep = self.call(Op.EXISTS, path_watch_body(path, watch))
        return rep, (None if rep.err else Reader(rep.body).stat())

    def delete(self, path, version=-1):
        return self.call(Op.DELETE, delete_body(path, version))

    def get_children(self, path, watch=False):
        rep = self.call(Op.GET_CHILDREN, path_watch_body(path, watch))
        return rep, (None if rep.err else Reader(rep.body).strings())

    def get_ephemerals(self, prefix):
        rep = self.call(Op.GET_EPHEMERALS, path_body(prefix))
        return rep, (None if rep.err else Reader(rep.body).strings())

    def get_all_children_number(self, path):
        rep = self.call(Op.GET_ALL_CHILDREN_NUMBER, path_body(path))
        return rep, (None if rep.err else Reader(rep.body).int())

    def who_am_i(self):
        rep = self.call(Op.WHO_AM_I, b"")
        if rep.err:
            return rep, None
        return rep, Reader(rep.body).vector(lambda r: (r.string(), r.string()))

    def add_watch(self, path, mode):
        return self.call(Op.ADD_WATCH, add_watch_body(path, mode))

    def remove_watches(self, path, watcher_type):
        return self.call(Op.REMOVE_WATCHES, remove_watches_body(path, watcher_type))

    def multi(self, ops):
        rep = self.call(Op.MULTI, multi_body(ops))
        return rep, parse_multi_response(rep.body)

    def ping(self):
        return self.call(Op.PING, b"", xid=PING_XID)


def connected_client(host, port, timeout_ms=10000, **kw):
    c = RawClient(host, port)
    resp = c.connect(timeout_ms, **kw)
    if resp.session_id == 0:
        c.close_socket()
        raise ConnectionClosed("server refused the session: %r" % (resp,))
    return c
