"""Four-letter words: the shape of each reply, checked against a known tree.

The module's server is fresh, then gets a known tree: /app with three
children and one ephemeral, two data watches held by one raw client.
Counts follow ZooKeeper's conventions, e.g. its node count includes the root
twice (DataTree keeps it under "" and "/"), so a fresh server reports 5.
"""

import re

import pytest

from conftest import start_server

FRESH_NODE_COUNT = 5  # "", "/", /zookeeper, /zookeeper/quota, /zookeeper/config
CREATED = ["/app", "/app/a", "/app/b", "/app/c", "/app/eph"]


@pytest.fixture(scope="module")
def tree(server):
    from kazoo.client import KazooClient

    owner = KazooClient(hosts=server.hosts, timeout=10.0)
    owner.start(timeout=15)
    owner.create("/app", b"12345")
    for p in CREATED[1:4]:
        owner.create(p, b"x")
    owner.create("/app/eph", b"", ephemeral=True)
    watcher = server.raw()
    watcher.get_data("/app/a", watch=True)
    watcher.exists("/missing", watch=True)
    info = {
        "owner": owner,
        "owner_sid": owner.client_id[0],
        "watcher": watcher,
        "watcher_sid": watcher.session.session_id,
        "last_zxid": owner.last_zxid,
    }
    yield info
    watcher.close()
    owner.stop()
    owner.close()


def lines(text):
    assert text.endswith("\n"), repr(text[-40:])
    return text.split("\n")[:-1]


def kv(text, sep):
    out = {}
    for line in lines(text):
        if sep in line:
            key, _, value = line.partition(sep)
            out[key] = value
    return out


SRVR_PATTERNS = [
    r"Zookeeper version: \S.*",
    r"Latency min/avg/max: \d+/\d+(\.\d+)?/\d+",
    r"Received: \d+",
    r"Sent: \d+",
    r"Connections: \d+",
    r"Outstanding: \d+",
    r"Zxid: 0x[0-9a-f]+",
    r"Mode: standalone",
    r"Node count: \d+",
]


def check_srvr_block(block_lines, tree):
    assert len(block_lines) == len(SRVR_PATTERNS), block_lines
    for line, pattern in zip(block_lines, SRVR_PATTERNS):
        assert re.fullmatch(pattern, line), (pattern, line)
    values = dict(line.split(": ", 1) for line in block_lines)
    assert int(values["Zxid"], 16) >= tree["last_zxid"]
    assert int(values["Node count"]) == FRESH_NODE_COUNT + len(CREATED)
    assert int(values["Connections"]) >= 3  # owner, watcher, this 4lw
    return values


def test_ruok(server, tree):
    assert server.four_letter("ruok") == "imok"


def test_isro(server, tree):
    assert server.four_letter("isro") == "rw"


def test_srvr(server, tree):
    check_srvr_block(lines(server.four_letter("srvr")), tree)


def test_stat(server, tree):
    out = lines(server.four_letter("stat"))
    assert re.fullmatch(r"Zookeeper version: \S.*", out[0])
    assert out[1] == "Clients:"
    blank = out.index("")
    clients = out[2:blank]
    assert len(clients) >= 3
    for c in clients:
        assert re.fullmatch(r" /127\.0\.0\.1:\d+\[[01]\]\(queued=\d+,recved=\d+,sent=\d+\)", c), c
    check_srvr_block([out[0]] + out[blank + 1:], tree)


def test_mntr(server, tree):
    out = server.four_letter("mntr")
    for line in lines(out):
        assert re.fullmatch(r"zk_[a-z0-9_]+\t\S.*", line), line
    m = kv(out, "\t")
    assert m["zk_server_state"] == "standalone"
    assert m["zk_version"]
    assert int(m["zk_znode_count"]) == FRESH_NODE_COUNT + len(CREATED)
    assert int(m["zk_ephemerals_count"]) == 1
    assert int(m["zk_watch_count"]) == 2
    assert int(m["zk_num_alive_connections"]) >= 3
    assert int(m["zk_outstanding_requests"]) == 0
    assert int(m["zk_approximate_data_size"]) > 0
    for key in ("zk_avg_latency", "zk_max_latency", "zk_min_latency", "zk_packets_received",
                "zk_packets_sent", "zk_open_file_descriptor_count", "zk_max_file_descriptor_count"):
        assert re.fullmatch(r"\d+(\.\d+)?", m[key]), (key, m.get(key))


def test_conf(server, tree):
    c = kv(server.four_letter("conf"), "=")
    assert c["clientPort"] == str(server.port)
    assert c["tickTime"] == "2000"
    assert c["maxClientCnxns"] == "60"
    assert c["minSessionTimeout"] == "4000"
    assert c["maxSessionTimeout"] == "40000"
    assert c["serverId"] == "0"
    assert c["dataDir"].startswith(str(server.data_dir))
    assert "dataLogDir" in c


def test_cons(server, tree):
    out = lines(server.four_letter("cons"))
    assert out[-1] == ""
    sid_hex = "0x%x" % tree["owner_sid"]
    mine = [line for line in out if "sid=%s," % sid_hex in line]
    assert len(mine) == 1, out
    line = mine[0]
    assert re.match(r" /127\.0\.0\.1:\d+\[1\]\(queued=\d+,recved=\d+,sent=\d+,sid=0x[0-9a-f]+,", line), line
    assert ",to=10000," in line
    for field in ("lop=", "est=", "lcxid=0x", "lzxid=0x", "lresp=", "llat=", "minlat=", "avglat=", "maxlat="):
        assert field in line, (field, line)


def test_crst(server, tree):
    sid_hex = "0x%x" % tree["owner_sid"]
    for _ in range(5):
        tree["owner"].exists("/app")
    before = [line for line in lines(server.four_letter("cons")) if sid_hex in line][0]
    assert int(re.search(r"recved=(\d+)", before).group(1)) >= 5
    assert server.four_letter("crst") == "Connection stats reset.\n"
    after = [line for line in lines(server.four_letter("cons")) if sid_hex in line][0]
    assert int(re.search(r"recved=(\d+)", after).group(1)) < 3


def test_srst(server, tree):
    for _ in range(10):
        tree["owner"].exists("/app")
    before = kv(server.four_letter("srvr"), ": ")
    assert int(before["Received"]) >= 10
    assert server.four_letter("srst") == "Server stats reset.\n"
    after = kv(server.four_letter("srvr"), ": ")
    assert int(after["Received"]) < 3
    assert after["Latency min/avg/max"] == "0/0.0/0"


def test_envi(server, tree):
    out = lines(server.four_letter("envi"))
    assert out[0] == "Environment:"
    env = kv("\n".join(out[1:]) + "\n", "=")
    for key in ("zookeeper.version", "host.name", "os.name", "os.arch", "user.dir"):
        assert env.get(key), key


def test_wchs(server, tree):
    assert server.four_letter("wchs") == "1 connections watching 2 paths\nTotal watches:2\n"


def test_wchc(server, tree):
    out = lines(server.four_letter("wchc"))
    assert out[0] == "0x%x" % tree["watcher_sid"]
    assert sorted(out[1:3]) == ["\t/app/a", "\t/missing"]
    assert out[3:] == [""]


def test_wchp(server, tree):
    out = server.four_letter("wchp")
    sid = "\t0x%x" % tree["watcher_sid"]
    blocks = out.split("\n")
    assert blocks[-2:] == ["", ""]
    pairs = sorted(zip(blocks[0:4:2], blocks[1:4:2]))
    assert pairs == [("/app/a", sid), ("/missing", sid)]


def test_dump(server, tree):
    out = lines(server.four_letter("dump"))
    assert out[0] == "SessionTracker dump:"
    assert "ephemeral nodes dump:" in out
    i = out.index("ephemeral nodes dump:")
    assert out[i + 1] == "Sessions with Ephemerals (1):"
    assert out[i + 2] == "0x%x:" % tree["owner_sid"]
    assert out[i + 3] == "\t/app/eph"
    # every live session appears in the session tracker section
    tracker = "\n".join(out[:i])
    for sid in (tree["owner_sid"], tree["watcher_sid"]):
        assert "\t0x%x" % sid in tracker


def test_watch_words_follow_changes(server, tree, raw_factory, unique_path):
    w = raw_factory(server)
    w.exists(unique_path, watch=True)
    assert "0x%x" % w.session.session_id in server.four_letter("wchc")
    assert server.four_letter("wchs") == "2 connections watching 3 paths\nTotal watches:3\n"
    tree["owner"].create(unique_path)  # fires and clears the one-shot watch
    w.wait_event(10)
    # (ZooKeeper keeps counting a connection whose last watch fired until it
    # closes, so only the path and watch totals are checked here)
    assert re.fullmatch(r"[12] connections watching 2 paths\nTotal watches:2\n", server.four_letter("wchs"))
    assert "0x%x" % w.session.session_id not in server.four_letter("wchp")
    tree["owner"].delete(unique_path)


def test_unknown_word_is_not_a_command(server, tree):
    # not a 4lw: read as a frame length far above jute.maxbuffer; closed
    assert server.four_letter("xyzw") == ""
    assert server.four_letter("ruok") == "imok"


@pytest.fixture(scope="module")
def restricted_server(server_kind):
    srv = start_server(server_kind, {"4lw.commands.whitelist": "ruok, srvr"})
    yield srv
    srv.cleanup()


@pytest.mark.parametrize("word", ["stat", "mntr", "conf", "cons", "wchc", "dump", "envi", "isro", "crst"])
def test_word_outside_whitelist(restricted_server, word):
    assert restricted_server.four_letter(word) == \
        "%s is not executed because it is not in the whitelist.\n" % word


def test_whitelisted_words_still_work(restricted_server):
    assert restricted_server.four_letter("ruok") == "imok"
    assert "Mode: standalone\n" in restricted_server.four_letter("srvr")
    # the fresh server's own count: the root twice plus the /zookeeper nodes
    assert "Node count: %d\n" % FRESH_NODE_COUNT in restricted_server.four_letter("srvr")
