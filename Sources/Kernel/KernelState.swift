import DataTree
import Jute
import Logging
import ModuleAPI
import Storage
import ZAB

/// Everything a server owns: the tree, sessions, connections, the pipeline's pending changes and
/// the proposal numbering. Touched only on the kernel executor, so nothing here takes a lock.
final class KernelState {
    let config: Config
    let logger: Logger
    let clock: any Clock
    /// Auth modules by scheme.
    let authProviders: [String: any AuthProvider]
    let aclPolicy: ACLPolicy
    /// Replaced wholesale when a follower installs its leader's snapshot or reloads after TRUNC.
    var tree: DataTree
    var sessions: SessionTable
    var numbering: ProposalNumbering
    var pending = PendingChanges()
    var proposals = ProposalQueue()
    /// Which proposals a quorum has on disk. Standalone is an ensemble of one, so the leader's
    /// own durable append is the whole quorum.
    var acks: QuorumAckTracker
    let log: any ProposalLog
    var snapshotPolicy: SnapshotPolicy
    let dataDirectory: DataDirectory
    let snapshotCodec: any SnapshotCodec
    /// Runs work on this state's executor later (snapshot steps come back this way).
    let post: @Sendable (@escaping @Sendable (KernelState) -> Void) -> Void
    var connections: [ConnectionID: ServerConnection] = [:]
    /// Set when this server is one of an ensemble; nil for standalone.
    var replication: Replication?
    var stats = ServerStats()
    let startedMs: Int64

    init(config: Config, logger: Logger, clock: any Clock, authProviders: [any AuthProvider], tree: DataTree,
         log: any ProposalLog, dataDirectory: DataDirectory, snapshotCodec: any SnapshotCodec, sessionServerId: Int64 = 1,
         post: @escaping @Sendable (@escaping @Sendable (KernelState) -> Void) -> Void) {
        self.config = config
        self.tree = tree
        self.log = log
        self.dataDirectory = dataDirectory
        self.snapshotCodec = snapshotCodec
        self.post = post
        numbering = ProposalNumbering(lastZxid: tree.lastProcessedZxid)
        acks = QuorumAckTracker(voters: [Self.standaloneServerId], lastCommitted: tree.lastProcessedZxid)
        snapshotPolicy = SnapshotPolicy(snapCount: config.snapCount)
        self.authProviders = Dictionary(authProviders.map { ($0.scheme, $0) }, uniquingKeysWith: { first, _ in first })
        aclPolicy = ACLPolicy(providers: self.authProviders, skipACL: config.skipACL, superDigest: config.superDigest)
        self.logger = logger
        self.clock = clock
        startedMs = clock.wallMs()
        // ZooKeeper's standalone server numbers sessions as server 1; in an ensemble, by myid.
        sessions = SessionTable(serverId: sessionServerId, nowMs: clock.wallMs(), tickMs: config.tickTime)
    }

    var lastZxid: Int64 { tree.lastProcessedZxid }

    /// A standalone server's id, as ZooKeeper's `conf` reports it.
    static let standaloneServerId: Int64 = 0

    // MARK: Connections

    func opened(_ connection: any ClientConnection) {
        connections[connection.id] = ServerConnection(connection: connection, establishedMs: clock.wallMs(),
                                                      openedMonotonicMs: clock.monotonicMs())
    }

    func closed(_ id: ConnectionID) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        connection.isClosing = true
        tree.dataWatches.removeWatcher(id)
        tree.childWatches.removeWatcher(id)
        if let sid = connection.sessionId, let session = sessions[sid], session.connection == id {
            session.connection = nil
        }
    }

    func close(_ connection: ServerConnection, reason: String) {
        logger.info("closing connection \(connection.connection.remoteAddress): \(reason)")
        connection.close()
    }

    // MARK: Timers

    /// How long a connection may stay without completing its connect request (ZooKeeper's
    /// zookeeper.nio.sessionlessCnxnTimeout default), so half-sent handshakes do not pile up.
    static let sessionlessConnectionMs: Int64 = 10_000

    /// Expires sessions whose clients went quiet (their close is an ordinary transaction) and
    /// connections that never finished connecting.
    func expireSessions() {
        let now = clock.monotonicMs()
        for connection in connections.values
        where connection.sessionId == nil && now - connection.openedMonotonicMs > Self.sessionlessConnectionMs {
            close(connection, reason: "no connect request within \(Self.sessionlessConnectionMs) ms")
        }
        // In an ensemble only the serving leader expires sessions; followers report touches.
        if let replication, !(replication.isLeader && replication.serving) { return }
        for session in sessions.expired(nowMs: now) {
            logger.info("Expiring session 0x\(String(session.id, radix: 16)), timeout of \(session.timeoutMs)ms exceeded")
            closeSession(session, cxid: 0, reply: nil)
        }
    }

    /// ZooKeeper's ContainerManager: empty containers that once had children, and childless TTL
    /// nodes past their TTL, are deleted through ordinary deleteContainer transactions.
    func removeExpiredContainers() {
        if let replication, !(replication.isLeader && replication.serving) { return }
        let now = clock.wallMs()
        var candidates: [String] = []
        for path in tree.containers {
            if let node = tree.node(path), node.cversion > 0, node.children.isEmpty { candidates.append(path) }
        }
        for path in tree.ttls {
            guard let node = tree.node(path), node.children.isEmpty,
                  let ttl = EphemeralOwner.ttlValue(node.ephemeralOwner), now - node.mtime > ttl else { continue }
            candidates.append(path)
        }
        for path in candidates.sorted().prefix(config.containerMaxPerMinute) {
            let header = TxnHeader(clientId: 0, cxid: 0, zxid: numbering.next(), time: now, type: OpCode.deleteContainer.rawValue)
            propose(header, .deleteContainer(path: path), then: .nothing)
        }
    }
}

/// Time as the kernel sees it; the simulator substitutes its own.
protocol Clock: Sendable {
    /// Milliseconds since the epoch, for Stat times.
    func wallMs() -> Int64
    /// Milliseconds on a clock that never jumps, for timeouts.
    func monotonicMs() -> Int64
}
