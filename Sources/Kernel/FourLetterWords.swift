import DataTree
import Jute

/// The four-letter words on the client port, in the shapes ZooKeeper prints so existing scripts
/// and dashboards parse them.
enum FourLetterWords {
    static let all: Set<String> = ["ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "envi", "wchs", "wchc",
                                   "wchp", "dump", "isro", "srst", "dirs"]
    /// The version line; the suffix tells operators which server answered.
    static let version = "3.8.0-paddock, built on unknown"
}

extension KernelState {
    /// The reply to a four-letter word; the connection closes after it.
    func fourLetterWord(_ word: String) -> String {
        // ZooKeeper always allows srvr, whatever the whitelist says.
        guard word == "srvr" || config.fourLetterWordWhitelist.contains(word) else {
            return "\(word) is not executed because it is not in the whitelist.\n"
        }
        if let replication, !replication.serving, !["ruok", "envi", "conf", "isro"].contains(word) {
            return "This ZooKeeper instance is not currently serving requests\n"
        }
        switch word {
        case "ruok": return "imok"
        case "isro": return replication.map { $0.serving ? "rw" : "null" } ?? "rw"
        case "srvr": return serverSummary(withClients: false)
        case "stat": return serverSummary(withClients: true)
        case "cons": return connectionLines(detailed: true) + "\n"
        case "crst":
            for connection in connections.values { connection.resetStats() }
            return "Connection stats reset.\n"
        case "srst":
            stats.reset()
            return "Server stats reset.\n"
        case "mntr": return monitor()
        case "conf": return configuration()
        case "envi": return environment()
        case "wchs": return watchSummary()
        case "wchc": return watchesByConnection()
        case "wchp": return watchesByPath()
        case "dump": return dump()
        case "dirs": return "datadir_size: 0\nlogdir_size: 0\n"
        default: return "\(word) is not executed because it is not in the whitelist.\n"
        }
    }

    /// ZooKeeper's Mode line and zk_server_state.
    private var mode: String {
        guard let replication else { return "standalone" }
        switch replication.peer.state {
        case .leading: return "leader"
        case .following: return "follower"
        case .observing: return "observer"
        case .looking: return "looking"
        }
    }

    /// What ZooKeeper 3.8's mntr adds in an ensemble: the peer state everywhere, and on the
    /// leader its learners.
    private func ensembleRows() -> [(String, String)] {
        guard let replication else { return [] }
        let phase = replication.serving ? "broadcast" : "synchronization"
        let role = replication.isLeader ? "leading" : replication.peer.state == .observing ? "observing" : "following"
        var rows = [("zk_peer_state", "\(role) - \(phase)")]
        if replication.isLeader {
            let synced = replication.peer.syncedLearners
            let voters = replication.ensemble.voters, observers = replication.ensemble.observers
            let sizes = replication.proposalSizes
            rows += [
                ("zk_learners", "\(replication.quorum.byPeer.count)"),
                // Gone from ZooKeeper 3.6+'s mntr, but dashboards written for 3.4/3.5 still read it.
                ("zk_followers", "\(replication.quorum.byPeer.keys.filter(voters.contains).count)"),
                ("zk_synced_followers", "\(synced.filter { replication.ensemble.voters.contains($0) }.count)"),
                ("zk_synced_non_voting_followers", "\(synced.filter { !voters.contains($0) && !observers.contains($0) }.count)"),
                ("zk_synced_observers", "\(synced.filter(observers.contains).count)"),
                ("zk_pending_syncs", "0"),
                ("zk_leader_uptime", "\(clock.wallMs() - replication.servingSinceMs)"),
                ("zk_last_proposal_size", "\(sizes.last)"),
                ("zk_min_proposal_size", "\(sizes.min)"),
                ("zk_max_proposal_size", "\(sizes.max)"),
            ]
        }
        return rows
    }

    private func hex(_ value: Int64) -> String { "0x" + String(UInt64(bitPattern: value), radix: 16) }

    private func serverSummary(withClients: Bool) -> String {
        var out = "Zookeeper version: \(FourLetterWords.version)\n"
        if withClients { out += "Clients:\n" + connectionLines(detailed: false) + "\n" }
        let latency = stats.latency
        out += "Latency min/avg/max: \(latency.min)/\(format(latency.average))/\(latency.max)\n"
        out += "Received: \(stats.packetsReceived)\nSent: \(stats.packetsSent)\nConnections: \(connections.count)\n"
        out += "Outstanding: 0\nZxid: \(hex(lastZxid))\nMode: \(mode)\nNode count: \(tree.nodeCount)\n"
        if let replication, replication.isLeader {
            let sizes = replication.proposalSizes
            out += "Proposal sizes last/min/max: \(sizes.last)/\(sizes.min)/\(sizes.max)\n"
        }
        return out
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return scaled == scaled.rounded() ? "\(Int64(scaled)).0" : "\(scaled)"
    }

    /// One line per connection, ` /ip:port[0](queued=..,recved=..,sent=..[,sid=..])`.
    private func connectionLines(detailed: Bool) -> String {
        var out = ""
        for connection in connections.values.sorted(by: { $0.id < $1.id }) {
            out += " /\(connection.connection.remoteAddress)[\(connection.sessionId == nil ? 0 : 1)]"
            out += "(queued=0,recved=\(connection.received),sent=\(connection.sent)"
            if detailed, let sid = connection.sessionId {
                let timeout = sessions[sid]?.timeoutMs ?? 0
                let latency = connection.latency
                out += ",sid=\(hex(sid)),lop=\(connection.lastOp),est=\(connection.establishedMs),to=\(timeout)"
                if connection.lastCxid >= 0 { out += ",lcxid=\(hex(Int64(connection.lastCxid)))" }
                out += ",lzxid=\(hex(connection.lastZxid)),lresp=\(connection.lastResponseMs)"
                out += ",llat=\(latency.count == 0 ? 0 : latency.max),minlat=\(latency.min)"
                out += ",avglat=\(Int64(latency.average)),maxlat=\(latency.max)"
            }
            out += ")\n"
        }
        return out
    }

    private func monitor() -> String {
        let latency = stats.latency
        let rows: [(String, String)] = [
            ("zk_version", FourLetterWords.version),
            ("zk_server_state", mode),
            ("zk_ephemerals_count", "\(tree.ephemeralCount)"),
            ("zk_num_alive_connections", "\(connections.count)"),
            ("zk_avg_latency", format(latency.average)),
            ("zk_outstanding_requests", "0"),
            ("zk_znode_count", "\(tree.nodeCount)"),
            ("zk_global_sessions", "\(sessions.count)"),
            ("zk_watch_count", "\(tree.dataWatches.count + tree.childWatches.count)"),
            ("zk_auth_failed_count", "\(stats.authFailures)"),
            ("zk_min_latency", "\(latency.min)"),
            ("zk_max_latency", "\(latency.max)"),
            ("zk_approximate_data_size", "\(tree.approximateDataSize)"),
            ("zk_packets_sent", "\(stats.packetsSent)"),
            ("zk_packets_received", "\(stats.packetsReceived)"),
            ("zk_uptime", "\(clock.wallMs() - startedMs)"),
            ("zk_local_sessions", "0"),
            ("zk_open_file_descriptor_count", "\(ProcessFacts.openFileDescriptorCount())"),
            ("zk_max_file_descriptor_count", "\(ProcessFacts.maxFileDescriptorCount())"),
        ]
        return (rows + ensembleRows()).map { "\($0.0)\t\($0.1)\n" }.joined()
    }

    private func configuration() -> String {
        """
        clientPort=\(config.clientPort)
        secureClientPort=-1
        dataDir=\(config.dataDir)/version-2
        dataDirSize=0
        dataLogDir=\(config.effectiveDataLogDir)/version-2
        dataLogSize=0
        tickTime=\(config.tickTime)
        maxClientCnxns=\(config.maxClientCnxns)
        minSessionTimeout=\(config.effectiveMinSessionTimeout)
        maxSessionTimeout=\(config.effectiveMaxSessionTimeout)
        clientPortListenBacklog=-1
        serverId=\(replication?.ensemble.myId ?? 0)

        """ + ensembleConfiguration()
    }

    /// The lines ZooKeeper's `conf` adds in an ensemble, membership in its config-text form.
    private func ensembleConfiguration() -> String {
        guard let ensemble = replication?.ensemble else { return "" }
        let me = ensemble.me
        var out = "initLimit=\(config.initLimit)\nsyncLimit=\(config.syncLimit)\nelectionAlg=3\n"
        out += "electionPort=\(me.electionPort)\nquorumPort=\(me.quorumPort)\npeerType=\(me.isObserver ? 1 : 0)\nmembership: \n"
        return out + String(decoding: ensemble.configText, as: UTF8.self) + "\n"
    }

    private func environment() -> String {
        let (arch, osVersion) = ProcessFacts.osArchAndVersion()
        let (user, home) = ProcessFacts.userNameAndHome()
        let rows = [
            ("zookeeper.version", FourLetterWords.version), ("host.name", ProcessFacts.hostName()),
            ("os.name", "Linux"), ("os.arch", arch), ("os.version", osVersion),
            ("user.name", user), ("user.home", home), ("user.dir", ProcessFacts.workingDirectory()),
        ]
        return "Environment:\n" + rows.map { "\($0.0)=\($0.1)\n" }.joined()
    }

    /// wchs: ZooKeeper counts data watches only.
    private func watchSummary() -> String {
        let table = tree.dataWatches
        return "\(table.watchers.count) connections watching \(table.pathCount) paths\nTotal watches:\(table.count)\n"
    }

    private func watchesByConnection() -> String {
        let table = tree.dataWatches
        var out = ""
        for watcher in table.watchers.sorted() {
            let sid = connections[watcher]?.sessionId ?? 0
            out += "\(hex(sid))\n"
            for path in table.paths(of: watcher).sorted() { out += "\t\(path)\n" }
        }
        return out + "\n"
    }

    private func watchesByPath() -> String {
        let table = tree.dataWatches
        var out = ""
        for path in table.paths.sorted() {
            out += "\(path)\n"
            for watcher in table.watchers(of: path).keys.sorted() {
                out += "\t\(hex(connections[watcher]?.sessionId ?? 0))\n"
            }
        }
        return out + "\n"
    }

    private func dump() -> String {
        var out = "SessionTracker dump:\nSession Sets (\(sessions.count))/(\(sessions.count)):\n"
        for session in sessions.sessions.values.sorted(by: { $0.id < $1.id }) {
            out += "1 expire at \(session.expiresAtMs):\n\t\(hex(session.id))\n"
        }
        out += "ephemeral nodes dump:\n"
        let owners = tree.ephemerals.filter { !$0.value.isEmpty }
        out += "Sessions with Ephemerals (\(owners.count)):\n"
        for (sid, paths) in owners.sorted(by: { $0.key < $1.key }) {
            out += "\(hex(sid)):\n"
            for path in paths.sorted() { out += "\t\(path)\n" }
        }
        out += "Connections dump:\nConnections Sets (1)/(\(connections.count)):\n"
        out += "\(connections.count) expire at 0:\n"
        for connection in connections.values.sorted(by: { $0.id < $1.id }) {
            out += "\tip: /\(connection.connection.remoteAddress) sessionId: \(hex(connection.sessionId ?? 0))\n"
        }
        return out
    }
}
