"""Server processes that outlive their data dirs' first run, and data-dir helpers.

conftest.Server gives a fresh temp dir per server; durability and interop tests
need several runs (possibly of different kinds, Paddock and ZooKeeper 3.8) on
one dataDir, kill -9, expected start-up failures, the `paddock` tool
subcommands, and the ZooKeeper data-dir file formats (txn log framing,
snapshot names).  Everything shared by test_durability.py and
test_data_dir_interop.py lives here.
"""

import gzip
import re
import signal
import subprocess
import threading
import time
import zlib
from pathlib import Path

import conftest
from conftest import NOT_SERVING, PADDOCK_BIN, ZK_CLASSPATH, Server, wait_until

__all__ = [  # wait_until is re-exported for the tests
    "DataDirServer", "FAST_RECONNECT", "RECORD_OVERHEAD", "TXNLOG_HEADER_BYTES", "close_kazoo", "data_files",
    "diff_trees", "flip_byte", "kazoo_client", "log_records", "paddock_tool", "parse_log_dump",
    "parse_snapshot_dump", "read_tree", "record_zxid", "run_in_threads", "snapshot_complete", "stat_tuple",
    "wait_until", "zookeeper_tool",
]

KILL_DEADLINE_S = 10.0
TOOL_DEADLINE_S = 60.0

# kazoo reconnects with an exponential backoff up to a minute by default; a
# restart test wants it back within a fraction of a second of the server.
FAST_RECONNECT = dict(max_tries=-1, delay=0.05, backoff=1.5, max_jitter=0.1, max_delay=0.5)


class DataDirServer(Server):
    """A server on a dataDir (and optional dataLogDir) chosen by the test,
    which can be stopped (SIGTERM), killed (SIGKILL) and started again on the
    same dirs and port.  Each start writes its own log file (server-N.log) so
    earlier runs' lines stay available; `logs()` returns all of them.

    jvm_props: extra -D options for ZooKeeper (e.g. the snapshot compression
    method, which ZooKeeper reads in a static initializer)."""

    def __init__(self, kind, data_dir, data_log_dir=None, config=None, port=None, jvm_props=()):
        super().__init__(kind, config)
        # conftest.Server made <dir>/data; the data lives where the test says.
        try:
            self.data_dir.rmdir()
        except OSError:
            pass
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config["dataDir"] = str(self.data_dir)
        self.data_log_dir = Path(data_log_dir) if data_log_dir else self.data_dir
        if data_log_dir:
            self.data_log_dir.mkdir(parents=True, exist_ok=True)
            self.config["dataLogDir"] = str(self.data_log_dir)
        if port is not None:
            self.port = port
            self.config["clientPort"] = str(port)
        self.jvm_props = list(jvm_props)
        self.starts = 0

    # files -------------------------------------------------------------------

    @property
    def snap_dir(self):
        return self.data_dir / "version-2"

    @property
    def log_dir(self):
        return self.data_log_dir / "version-2"

    def snapshots(self):
        return data_files(self.snap_dir, "snapshot")

    def txn_logs(self):
        return data_files(self.log_dir, "log")

    # lifecycle -----------------------------------------------------------------

    def command(self):
        cmd = super().command()
        if self.kind == "zookeeper":
            # ["java", "-cp", classpath, props..., main, cfg]
            cmd[3:3] = ["-Duser.timezone=UTC"] + self.jvm_props
        return cmd

    def spawn(self):
        """Starts the process without waiting for it to serve; one log file per start."""
        assert not self.alive(), "already running"
        self.starts += 1
        self.log_path = self.dir / ("server-%d.log" % self.starts)
        super().spawn()

    def start(self):
        self.spawn()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def kill9(self):
        """SIGKILL: no shutdown code runs; only what reached the kernel survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=KILL_DEADLINE_S)
        self._forget()

    def stop(self):
        """SIGTERM (then SIGKILL after conftest's deadline)."""
        super().stop()
        self._forget()

    def _forget(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in conftest._live_servers:
            conftest._live_servers.remove(self)

    def expect_start_failure(self, timeout=30.0):
        """Starts the server expecting it to give up: returns (exit status,
        log text).  Fails if it ever serves (ruok + srvr) while starting or
        does not exit within `timeout`."""
        self.spawn()
        deadline = time.monotonic() + timeout
        try:
            while self.proc.poll() is None:
                if time.monotonic() > deadline:
                    raise AssertionError("%s did not exit within %.0fs\n%s" % (self.kind, timeout, self.log_tail()))
                if self.serving():
                    raise AssertionError("%s serves clients on a data dir it should refuse\n%s"
                                         % (self.kind, self.log_tail()))
                time.sleep(0.02)
            status = self.proc.returncode
        finally:
            self.stop()  # SIGTERM first if it is still running
        return status, self.log_path.read_text(errors="replace")

    def serving(self):
        try:
            return (self.four_letter("ruok", timeout=1.0).strip() == "imok"
                    and NOT_SERVING not in self.four_letter("srvr", timeout=1.0))
        except (OSError, TimeoutError):
            return False

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def logs(self):
        """Every run's log, oldest first."""
        out = []
        for n in range(1, self.starts + 1):
            path = self.dir / ("server-%d.log" % n)
            if path.exists():
                out.append(path.read_text(errors="replace"))
        return "\n".join(out)


# --- kazoo -------------------------------------------------------------------------


def kazoo_client(srv_or_hosts, timeout=10.0, auth=None, **kw):
    """A started KazooClient that reconnects quickly after a restart.

    kazoo waits session_timeout / len(hosts) for a handshake reply.  A
    ZooKeeper that is still loading its database can accept a connection and
    then neither answer nor close it ("ZooKeeperServer not running"), which
    would stall a reconnect for the whole session timeout (and let a
    restored session expire meanwhile); listing the one server several times
    shortens that wait to about 1.5 s without changing the session timeout."""
    from kazoo.client import KazooClient

    hosts = srv_or_hosts if isinstance(srv_or_hosts, str) else srv_or_hosts.hosts
    hosts = ",".join([hosts] * max(1, int(timeout / 1.5)))
    kw.setdefault("connection_retry", dict(FAST_RECONNECT))
    client = KazooClient(hosts=hosts, timeout=timeout, auth_data=auth, **kw)
    client.start(timeout=30)
    return client


def close_kazoo(client):
    """Stops a client; if its server is gone this only ends the reconnect loop
    (no closeSession reaches anyone)."""
    try:
        client.stop()
    finally:
        client.close()


def stat_tuple(stat):
    """Every Stat field, by name, so a mismatch names the field."""
    return {name: getattr(stat, name) for name in (
        "czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
        "ephemeralOwner", "dataLength", "numChildren", "pzxid")}


def read_tree(client, root="/"):
    """{path: {"data", "stat", "exists", "acl"}} for every node under root
    (including root), through get(), exists() and get_acls()."""
    out = {}
    stack = [root]
    while stack:
        path = stack.pop()
        data, stat = client.get(path)
        exists = client.exists(path)
        acl, acl_stat = client.get_acls(path)
        out[path] = {
            "data": data,
            "stat": stat_tuple(stat),
            "exists": stat_tuple(exists) if exists is not None else None,
            "acl": sorted((a.perms, a.id.scheme, a.id.id) for a in acl),
            "acl_stat": stat_tuple(acl_stat),
        }
        for child in client.get_children(path):
            stack.append(path.rstrip("/") + "/" + child)
    return out


def diff_trees(expected, actual):
    """Human-readable differences between two read_tree() results (empty if equal)."""
    problems = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            problems.append("%s: missing" % path)
            continue
        if path not in expected:
            problems.append("%s: unexpected node" % path)
            continue
        e, a = expected[path], actual[path]
        for key in ("data", "acl"):
            if e[key] != a[key]:
                problems.append("%s: %s %r != %r" % (path, key, e[key], a[key]))
        for key in ("stat", "exists", "acl_stat"):
            if e[key] != a[key]:
                if e[key] is None or a[key] is None:
                    problems.append("%s: %s %r != %r" % (path, key, e[key], a[key]))
                    continue
                fields = ["%s %s != %s" % (f, e[key][f], a[key][f]) for f in e[key] if e[key][f] != a[key][f]]
                problems.append("%s: %s: %s" % (path, key, ", ".join(fields)))
    return problems


# --- data-dir files ------------------------------------------------------------------

_NAME = re.compile(r"^(snapshot|log)\.([0-9a-fA-F]+)(\..*)?$")


def data_files(directory, prefix):
    """[(zxid, Path)] of `prefix.<hex zxid>[.suffix]` files, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    out = []
    for p in directory.iterdir():
        m = _NAME.match(p.name)
        if m and m.group(1) == prefix:
            out.append((int(m.group(2), 16), p))
    return sorted(out)


TXNLOG_HEADER_BYTES = 16
RECORD_OVERHEAD = 13  # 8-byte checksum, 4-byte length, ..., 1-byte 'B'


def log_records(path):
    """[(offset, entry_length)] of the records of a txn log, from byte 16 to
    the zero fill (or the end of the file).  Asserts the framing is intact."""
    data = Path(path).read_bytes()
    assert data[:4] == b"ZKLG", "%s: bad magic %r" % (path, data[:4])
    out = []
    offset = TXNLOG_HEADER_BYTES
    while offset + 12 <= len(data):
        checksum = int.from_bytes(data[offset:offset + 8], "big")
        length = int.from_bytes(data[offset + 8:offset + 12], "big", signed=True)
        if checksum == 0 and length == 0:
            break
        assert length > 0 and offset + RECORD_OVERHEAD + length <= len(data), \
            "%s: bad record at %d (length %d)" % (path, offset, length)
        assert data[offset + 12 + length] == 0x42, "%s: no end marker at %d" % (path, offset)
        out.append((offset, length))
        offset += RECORD_OVERHEAD + length
    return out


def record_zxid(path, offset):
    """The zxid in the TxnHeader of the record at `offset`
    (header: clientId 8, cxid 4, zxid 8, ...)."""
    with open(path, "rb") as f:
        f.seek(offset + 12 + 12)
        return int.from_bytes(f.read(8), "big", signed=True)


def snapshot_complete(path):
    """Whether a snapshot file (plain or .gz) is whole: its stream ends with
    the last seal's "/" string (and a .gz file decompresses to its end)."""
    data = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error):
            return False
    return data.endswith(b"\x00\x00\x00\x01/")


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


# --- the paddock tool --------------------------------------------------------------


def paddock_tool(*args, timeout=TOOL_DEADLINE_S, check=True):
    """Runs `paddock ARGS...`; returns the CompletedProcess (text)."""
    proc = subprocess.run([PADDOCK_BIN] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError("paddock %s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, args)), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    return proc


def zookeeper_tool(main_class, *args, timeout=TOOL_DEADLINE_S):
    """Runs one of ZooKeeper's command-line classes (SnapshotFormatter,
    TxnLogToolkit, PurgeTxnLog); returns its stdout (asserting exit 0)."""
    proc = subprocess.run(["java", "-Duser.timezone=UTC", "-cp", ZK_CLASSPATH, main_class] + [str(a) for a in args],
                          capture_output=True, timeout=timeout)
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise AssertionError("%s %s exited %d\n%s\n%s" % (main_class, " ".join(map(str, args)), proc.returncode,
                                                          out[-3000:], proc.stderr.decode("utf-8", "replace")[-3000:]))
    return out


TXN_LINE = re.compile(r"session (0x[0-9a-f]+) cxid (0x[0-9a-f]+) zxid (0x[0-9a-f]+) (\w+)")


def parse_log_dump(text):
    """[(session, cxid, zxid, op name, whole line)] of a txn log dump (ZooKeeper's or Paddock's)."""
    out = []
    for m in TXN_LINE.finditer(text):
        end = text.find("\n", m.end())
        line = text[m.start():end if end >= 0 else len(text)]
        out.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), m.group(4), line))
    return out


def parse_snapshot_dump(text):
    """`paddock snapshot dump` output -> (count, {path: {field: value}}, [session lines], last zxid)."""
    lines = text.splitlines()
    m = re.match(r"^ZNode Details \(count=(\d+)\):$", lines[0])
    assert m, "unexpected first line %r" % lines[0]
    count = int(m.group(1))
    nodes = {}
    sessions = []
    last_zxid = None
    current = None
    i = 1
    section = "nodes"
    while i < len(lines):
        line = lines[i]
        if line == "----":
            i += 1
            continue
        if line.startswith("Session Details"):
            section = "sessions"
        elif line.startswith("Last zxid: "):
            last_zxid = int(line.split(":", 1)[1].strip(), 16)
        elif section == "sessions":
            sessions.append(line)
        elif line.startswith("  "):
            key, _, value = line.strip().partition(" = ")
            nodes[current][key] = value
        else:
            current = line
            nodes[current] = {}
        i += 1
    return count, nodes, sessions, last_zxid


def run_in_threads(target, n, *args):
    """Runs target(i, *args) in n threads; returns them started."""
    threads = [threading.Thread(target=target, args=(i,) + args, daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads
