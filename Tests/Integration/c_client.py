"""The C client driver c/zkc.c, shared by test_c_client.py, test_acl.py and
test_auth_plugins.py.

c/zkc.c runs over libzookeeper_mt's synchronous API: one process is one
session, driven line by line on stdin, one parseable output line per command
(see the command list at the top of c/zkc.c).  conftest.py compiles it once
per test session into a temp dir (fixture `zkc_binary`) and hands out
connected drivers (fixture `zkc_factory(server) -> Zkc`, killed at teardown).

compile_c is also what test_auth_plugins.py builds its plugins with.
"""

import os
import select
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CC = os.environ.get("CC", "gcc")
ZKC_SOURCE = HERE / "c" / "zkc.c"
COMMAND_TIMEOUT_S = 15

_INT_FIELDS = ("rc", "state", "version", "cversion", "aversion", "dataLength", "numChildren", "count", "len",
               "czxid", "mzxid", "pzxid", "ctime", "mtime", "ephemeralOwner")


def compile_c(sources, output, extra_args=(), shared=False):
    """Compiles with $CC; fails the test with the compiler's output on an error."""
    if shutil.which(CC) is None:
        pytest.fail("C compiler %r not found" % CC)
    cmd = [CC, "-Wall", "-O1"]
    if shared:
        cmd += ["-shared", "-fPIC"]
    cmd += ["-o", str(output)] + [str(s) for s in sources] + list(extra_args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail("compiling %s failed (is libzookeeper-mt-dev installed?):\n%s"
                    % (" ".join(str(s) for s in sources), proc.stderr))
    return Path(output)


def build_zkc(out_dir):
    """Compiles c/zkc.c into out_dir; returns the binary's path."""
    return str(compile_c([ZKC_SOURCE], Path(out_dir) / "zkc", ["-lzookeeper_mt", "-lpthread"]))


def parse_line(line):
    """One zkc output line as a dict: cmd, then every key=value field, with
    numbers as ints, data as bytes, acl as [(perms, scheme, id)], ops as
    [err] and events as [(type, state, path)]."""
    fields = line.split(" ")
    out = {"cmd": fields[0]}
    for f in fields[1:]:
        key, _, value = f.partition("=")
        out[key] = value
    for key in _INT_FIELDS:
        if key in out:
            out[key] = int(out[key])
    if "data" in out:
        out["data"] = bytes.fromhex(out["data"])
    if "acl" in out:
        acl = []
        for entry in filter(None, out["acl"].split(",")):
            perms, scheme, ident = entry.split(":", 2)
            acl.append((int(perms), scheme, ident))
        out["acl"] = acl
    if "ops" in out:
        out["ops"] = [int(e) for e in out["ops"].split(",") if e]
    if "events" in out:
        events = [e.split(":", 2) for e in out["events"].split(",") if e]
        out["events"] = [(int(t), int(s), p) for t, s, p in events]
    return out


class Zkc:
    """One zkc process = one C client session, driven line by line."""

    def __init__(self, binary, srv):
        self.proc = subprocess.Popen(
            [binary, srv.hosts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        first = self._read_line()
        assert first.startswith("connected rc=0"), first

    def _read_line(self, timeout=COMMAND_TIMEOUT_S):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError("zkc gave no output within %ds" % timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("zkc exited: %s" % self.proc.stderr.read())
        return line.rstrip("\n")

    def do(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        result = parse_line(self._read_line())
        assert result["cmd"] == command.split(" ")[0], result
        return result

    def close(self):
        """zookeeper_close: ends the session."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            line = self._read_line()
            self.proc.wait(timeout=COMMAND_TIMEOUT_S)
            return parse_line(line)
        return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=COMMAND_TIMEOUT_S)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
