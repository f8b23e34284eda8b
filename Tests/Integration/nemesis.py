"""A process-level nemesis for loopback ensembles, and the client workers whose histories it
checks (issue 8, item 3).

Workers are kazoo clients on threads of this process, so one monotonic clock times every call
and completion. Each runs a random mix over a few registers (sync-then-read, create, write,
CAS from a version it read, delete) and sequential creates under one parent, and records every
operation as a line of a JSON Lines history (the format of Tests/Linearizability/HistoryFile):
a definite answer is an output, a lost connection an unknown outcome. The nemesis meanwhile
kills nodes with SIGKILL, freezes them with SIGSTOP, and restarts nodes whose newest txn log
lost its last bytes, one fault at a time, waiting for the ensemble to be whole again between
faults. After healing, a sync-then-read of every register through every node joins the
history, so an acknowledged write that any node lost shows as a violation. `history-check`
(built beside paddock) decides.
"""

import json
import os
import random
import subprocess
import threading
import time

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

import conftest
from ensemble import kazoo
from processes import close_kazoo, data_files

REGISTERS = ["/lin/r%d" % i for i in range(4)]
QUEUE = "/lin/q"
HISTORY_CHECK = os.environ.get(
    "PADDOCK_HISTORY_CHECK", os.path.join(os.path.dirname(conftest.PADDOCK_BIN), "history-check"))


class History:
    """Operations as JSON Lines, appended by many threads."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.records = []
        self.outcomes = {"ok": 0, "error": 0, "unknown": 0}

    def add(self, client, key, op, call, ret, result, **fields):
        record = dict(client=client, key=key, op=op, call=call, result=result, **fields)
        record["return"] = ret
        kind = "unknown" if result is None else ("error" if result["type"] == "error" else "ok")
        with self.lock:
            self.records.append(record)
            self.outcomes[kind] += 1

    def write(self):
        with open(self.path, "w") as f:
            for record in self.records:
                f.write(json.dumps(record) + "\n")

    def check(self):
        """history-check's verdict: (exit status, its output)."""
        self.write()
        return run_history_check(self.path)

    def check_with_a_read_of_a_value_never_written(self):
        """The verdict on this history with one successful read changed to see a value nobody
        wrote: a check that cannot fail would pass it."""
        records = [dict(r) for r in self.records]
        read = next(r for r in records if r["op"] == "read" and r["result"] and "value" in r["result"])
        read["result"] = dict(read["result"], value="never-written")
        path = self.path.with_name("tampered.jsonl")
        with open(path, "w") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
        return run_history_check(path)


def run_history_check(path):
    done = subprocess.run([HISTORY_CHECK, str(path)], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def timed(history, client, key, op, call_fn, result_of, **fields):
    """Runs one operation and records it: a KeeperException with a definite meaning is an
    error result; anything else raised while the request may have reached a server (connection
    loss, session expiry, timeout) is an unknown outcome."""
    call = time.monotonic_ns()
    try:
        value = call_fn()
    except NoNodeError:
        history.add(client, key, op, call, time.monotonic_ns(), {"type": "error", "code": "NoNode"}, **fields)
        return None
    except NodeExistsError:
        history.add(client, key, op, call, time.monotonic_ns(), {"type": "error", "code": "NodeExists"}, **fields)
        return None
    except BadVersionError:
        history.add(client, key, op, call, time.monotonic_ns(), {"type": "error", "code": "BadVersion"}, **fields)
        return None
    except Exception:  # noqa: BLE001  (the request's fate is unknown)
        history.add(client, key, op, call, None, None, **fields)
        return None
    history.add(client, key, op, call, time.monotonic_ns(), result_of(value), **fields)
    return value


def read(zk, history, client, key):
    def sync_then_get():
        zk.sync(key)
        return zk.get(key)
    def result(value):
        return {"type": "read", "value": value[0].decode(), "version": value[1].version}
    # A missing node is a read that saw nothing, not an error.
    call = time.monotonic_ns()
    try:
        data, stat = sync_then_get()
    except NoNodeError:
        history.add(client, key, "read", call, time.monotonic_ns(), {"type": "read"})
        return None
    except Exception:  # noqa: BLE001
        history.add(client, key, "read", call, None, None)
        return None
    history.add(client, key, "read", call, time.monotonic_ns(), result((data, stat)))
    return stat


class Worker(threading.Thread):
    """One client session doing random operations until stopped."""

    def __init__(self, client_id, hosts, history, seed):
        super().__init__(daemon=True)
        self.client_id = client_id
        self.hosts = hosts
        self.history = history
        self.random = random.Random(seed)
        self.stopping = threading.Event()
        self.count = 0
        self.error = None

    def run(self):
        try:
            zk = kazoo(self.hosts, timeout=4.0)
        except Exception as error:  # noqa: BLE001
            self.error = error
            return
        try:
            while not self.stopping.is_set():
                self.step(zk)
                self.count += 1
        except Exception as error:  # noqa: BLE001  (a bug in the worker itself)
            self.error = error
        finally:
            close_kazoo(zk)

    def step(self, zk):
        h, me, r = self.history, self.client_id, self.random
        value = "c%d-%d" % (me, self.count)
        key = r.choice(REGISTERS)
        roll = r.random()
        if roll < 0.35:
            read(zk, h, me, key)
        elif roll < 0.55:
            timed(h, me, key, "write", lambda: zk.set(key, value.encode()),
                  lambda stat: {"type": "ok", "version": stat.version}, value=value)
        elif roll < 0.80:
            stat = read(zk, h, me, key)
            if stat is not None:
                timed(h, me, key, "cas", lambda: zk.set(key, value.encode(), version=stat.version),
                      lambda new: {"type": "ok", "version": new.version}, value=value, version=stat.version)
        elif roll < 0.88:
            timed(h, me, key, "create", lambda: zk.create(key, value.encode()), lambda _: {"type": "ok", "version": 0},
                  value=value)
        elif roll < 0.92:
            timed(h, me, key, "delete", lambda: zk.delete(key), lambda _: {"type": "ok"})
        else:
            timed(h, me, QUEUE, "create-sequential", lambda: zk.create(QUEUE + "/n-", b"", sequence=True),
                  lambda path: {"type": "ok", "sequence": int(path[-10:])})


def tear_log_tail(node, rng):
    """Cuts the newest txn log of a stopped node inside its last record: what a crash that lost
    part of a write leaves. Returns the bytes cut (0 when there is no log)."""
    logs = data_files(node.log_dir, "log")
    if not logs:
        return 0
    path = logs[-1][1]
    data = path.read_bytes()
    end = len(data.rstrip(b"\0"))  # logs are preallocated with zeros past their last record
    if end <= 16:
        return 0
    cut = rng.randint(1, min(40, end - 16))
    with open(path, "r+b") as f:
        f.truncate(end - cut)
    return cut


class Nemesis(threading.Thread):
    """One fault at a time on a random node, then healing and waiting until every node serves
    again: kill -9 and restart, SIGSTOP and SIGCONT, or kill -9 and restart with a torn log."""

    KINDS = ("kill", "pause", "torn-log")

    def __init__(self, ensemble, seed, gap_s=1.0):
        super().__init__(daemon=True)
        self.ensemble = ensemble
        self.random = random.Random(seed)
        self.gap_s = gap_s
        self.stopping = threading.Event()
        self.faults = {kind: 0 for kind in self.KINDS}
        self.error = None

    def run(self):
        try:
            while not self.stopping.wait(self.gap_s):
                self.one_fault()
        except Exception as error:  # noqa: BLE001
            self.error = error

    def one_fault(self):
        ens, r = self.ensemble, self.random
        leader = ens.leader()
        kind = r.choice(self.KINDS)
        # The leader half the time: its loss is what elections, sync and truncation are for.
        # Not frozen, for now: a leader thawed after the others elected a new one answers a sync
        # before it learns it was deposed, so sync-then-read can be stale (found by this campaign
        # on Paddock; ZooKeeper 3.8's leader also answers a sync at once). Until the leader
        # confirms a quorum before answering a sync (issue 8's note), SIGSTOP goes to the others.
        if kind == "pause":
            node = r.choice([n for n in ens.nodes if n is not leader])
        else:
            node = leader if r.random() < 0.5 else r.choice(ens.nodes)
        down_s = r.uniform(0.2, 2.0)
        if kind == "pause":
            node.pause()
            time.sleep(down_s)
            node.resume()
        else:
            node.kill9()
            if kind == "torn-log":
                tear_log_tail(node, r)
            time.sleep(down_s)
            node.restart()
        self.faults[kind] += 1
        ens.wait_stable()


def final_reads(ensemble, history):
    """After healing: every register read through every node (sync first), as operations of the
    history after everything else."""
    for node in ensemble.nodes:
        zk = kazoo(node.hosts, timeout=6.0)
        try:
            for key in REGISTERS:
                read(zk, history, 1000 + node.myid, key)
        finally:
            close_kazoo(zk)


def run_campaign(ensemble, tmp_path, seconds, workers=5, seed=1):
    """Workers and nemesis for `seconds`, then healing and the final reads; returns the figures
    and history-check's verdict."""
    history = History(tmp_path / "history.jsonl")
    setup = kazoo(ensemble.hosts)
    try:
        setup.ensure_path(QUEUE)
    finally:
        close_kazoo(setup)
    team = [Worker(i + 1, ensemble.hosts, history, seed * 100 + i) for i in range(workers)]
    nemesis = Nemesis(ensemble, seed)
    for worker in team:
        worker.start()
    nemesis.start()
    time.sleep(seconds)
    nemesis.stopping.set()
    nemesis.join(timeout=120)
    for worker in team:
        worker.stopping.set()
    for worker in team:
        worker.join(timeout=60)
    problems = [w.error for w in team if w.error] + ([nemesis.error] if nemesis.error else [])
    assert not problems, problems
    for node in ensemble.nodes:
        if node.paused:
            node.resume()
        elif not node.alive():
            node.restart()
    ensemble.wait_stable()
    final_reads(ensemble, history)
    status, verdict = history.check()
    tampered_status, tampered_verdict = history.check_with_a_read_of_a_value_never_written()
    assert tampered_status == 1, "history-check passed a read of a value never written:\n" + tampered_verdict
    figures = dict(operations=len(history.records), **history.outcomes,
                   **{"faults_" + kind.replace("-", "_"): count for kind, count in nemesis.faults.items()})
    return figures, status, verdict
