import DataTree
import Jute
import ModuleAPI
import Storage
import ZAB

#if canImport(Glibc)
import Glibc
#endif

/// The driver half of replication: feeds inputs to the ZAB engine and carries out its effects
/// against the tree, the log, the data dir and the peer connections, in the order given.
extension KernelState {
    func step(_ input: ZabInput) {
        guard let replication else { return }
        replication.pendingEffects += replication.peer.step(input)
        // Effects of a step taken while effects run (a commit that releases a deferred write
        // which proposes) queue behind the current ones, so every list keeps its order.
        guard !replication.runningEffects else { return }
        replication.runningEffects = true
        defer { replication.runningEffects = false }
        while !replication.pendingEffects.isEmpty {
            run(replication.pendingEffects.removeFirst(), replication)
        }
    }

    private func run(_ effect: ZabEffect, _ replication: Replication) {
        switch effect {
        case .sendElection(let to, let notification):
            let payload = ElectionWireFormat.encode(notification, config: replication.ensemble.configText)
            if replication.election.send(payload, to: to) { replication.connect(.election, to: to) }
        case .armTimer(let timer, let milliseconds):
            replication.armTimer(timer, milliseconds: milliseconds)
        case .connectToLeader(let leader):
            replication.connect(.quorum, to: leader)
        case .send(let to, let packet):
            if replication.isLeader { replication.recordProposalSize(packet) }
            replication.quorum.send(packet, to: to)
        case .sendSnapshot(let to):
            replication.quorum.sendRaw(SnapshotStream.encode(tree: tree, sessions: sessionTimeouts), to: to)
        case .disconnect(let peer):
            replication.quorum.disconnect(peer)
        case .persist(let logged):
            log.append(logged.header, logged.txn)
            if snapshotPolicy.txnLogged() {
                log.roll()
                startSnapshot()
            }
        case .truncateLog(let zxid):
            mustSucceed("truncating the log after 0x\(String(zxid, radix: 16))") { try log.truncate(after: zxid, in: dataDirectory) }
        case .reloadFromDisk:
            mustSucceed("reloading the data dir") {
                let recovered = try RecoveredState.load(dataDirectory, codecs: replication.codecsForReading, config: config, logger: logger)
                install(recovered.tree, sessions: recovered.sessions.map { ($0.key, $0.value) })
            }
            step(.reloaded(lastZxid: tree.lastProcessedZxid))
        case .takeSnapshot:
            mustSucceed("writing the synced snapshot") { try writeSnapshotNow() }
        case .persistAcceptedEpoch(let epoch):
            mustSucceed("writing acceptedEpoch") { try replication.epochFiles.write(.accepted, epoch) }
        case .persistCurrentEpoch(let epoch):
            mustSucceed("writing currentEpoch") { try replication.epochFiles.write(.current, epoch) }
        case .commit(let logged):
            if case .crashBeforeCommit(let path)? = config.fault, replication.isLeader, case .create(let body) = logged.txn,
               body.path == path {
                logger.critical("fault injected: dying before committing the create of \(path)")
                kill(getpid(), SIGKILL)
            }
            commitReplicated(logged)
        case .roleChanged(let role, let leader):
            roleChanged(role, leader: leader)
        case .serving(let epoch):
            startServing(epoch: epoch)
        case .toKernel(let from, let packet):
            kernelPacket(from: from, packet)
        case .log(let message):
            logger.info("\(message)")
        }
    }

    /// Disk trouble in the middle of the protocol leaves no safe way on; ZooKeeper exits too.
    private func mustSucceed(_ what: String, _ body: () throws -> Void) {
        do { try body() } catch {
            logger.critical("\(what) failed: \(error); exiting")
            exit(3)
        }
    }

    /// The tree and sessions a SNAP sync or a reload hands over.
    func install(_ newTree: DataTree, sessions restored: [(id: Int64, timeoutMs: Int32)]) {
        tree = newTree
        for id in sessions.ids { sessions.remove(id) }
        let now = clock.monotonicMs()
        for (id, timeout) in restored.sorted(by: { $0.id < $1.id }) {
            sessions.add(Session(id: id, timeoutMs: Int(timeout)), nowMs: now)
        }
    }

    /// A committed txn: the leader's own proposals finish as in standalone; elsewhere the txn is
    /// applied and answers the local client whose forwarded request it is.
    func commitReplicated(_ logged: LoggedTxn) {
        if let proposal = proposals.popFirst(through: logged.zxid) {
            precondition(proposal.header.zxid == logged.zxid, "the leader commits its proposals in order")
            return commit(proposal)
        }
        var events: [WatchNotification] = []
        let outcome = tree.apply(logged.header, logged.txn, events: &events)
        pending.committed(through: logged.zxid)
        deliver(events)
        let clientId = logged.header.clientId
        if let replication, let first = replication.forwarded[clientId]?.first, first.cxid == logged.header.cxid {
            replication.forwarded[clientId]!.removeFirst()
            if replication.forwarded[clientId]!.isEmpty { replication.forwarded[clientId] = nil }
            finish(first.after, logged.header, logged.txn, outcome)
        }
        trackSession(logged.header, logged.txn)
    }

    /// Sessions are global in an ensemble: every server learns of them from the committed
    /// createSession and closeSession txns.
    func trackSession(_ header: TxnHeader, _ txn: Txn) {
        switch txn {
        case .createSession(let timeout):
            if sessions[header.clientId] == nil {
                sessions.add(Session(id: header.clientId, timeoutMs: Int(timeout)), nowMs: clock.monotonicMs())
            }
        case .closeSession:
            guard let session = sessions[header.clientId] else { return }
            sessions.remove(session.id)
            if let id = session.connection, let connection = connections[id] {
                close(connection, reason: "session 0x\(String(session.id, radix: 16)) closed")
            }
        default:
            break
        }
    }

    /// Leaving a role ends client service: connections close (clients reconnect, possibly
    /// elsewhere) and nothing pending will be answered.
    private func roleChanged(_ role: PeerState, leader: Int64?) {
        guard let replication else { return }
        logger.info("role: \(role)\(leader.map { " (leader \($0))" } ?? "")")
        replication.serving = false
        cancelSnapshot()
        for connection in connections.values { close(connection, reason: "server is \(role), no longer serving") }
        proposals = ProposalQueue()
        pending = PendingChanges()
        replication.forwarded = [:]
        replication.pendingSyncs = []
        replication.touched = [:]
        for session in sessions.all {
            session.pendingWrites = 0
            session.deferred = []
            session.isClosing = false
        }
    }

    private func startServing(epoch: Int64) {
        guard let replication else { return }
        replication.serving = true
        replication.servingSinceMs = clock.wallMs()
        if replication.isLeader {
            numbering = ProposalNumbering(lastZxid: Zxid.make(epoch: UInt32(truncatingIfNeeded: epoch), counter: 0))
            // Every session gets a full timeout under the new leader, as in ZooKeeper.
            let now = clock.monotonicMs()
            for session in sessions.all { sessions.touch(session, nowMs: now) }
        }
        logger.info("serving clients as \(replication.peer.state) in epoch \(epoch)")
    }

    private func kernelPacket(from: Int64, _ packet: QuorumPacket) {
        guard let replication else { return }
        switch packet.type {
        case QuorumPacketType.request where replication.isLeader:
            handleForwardedRequest(from: from, packet)
        case QuorumPacketType.ping where replication.isLeader:
            touchSessions(in: packet.data ?? [])
        case QuorumPacketType.ping:
            var w = JuteWriter(capacity: 12 * replication.touched.count)
            for (id, timeout) in replication.touched.sorted(by: { $0.key < $1.key }) {
                w.writeInt64(id)
                w.writeInt32(timeout)
            }
            replication.touched = [:]
            replication.quorum.send(QuorumPacket(type: QuorumPacketType.ping, zxid: packet.zxid, data: w.bytes), to: from)
        case QuorumPacketType.sync:
            guard !replication.pendingSyncs.isEmpty else { return }
            let (session, target, path) = replication.pendingSyncs.removeFirst()
            respond(target, zxid: lastZxid, err: .ok) { SyncResponse(path: path).write(to: &$0) }
            writeCommitted(for: session)
        default:
            break
        }
    }

    /// A learner's PING carries (session id, timeout) pairs its clients kept alive.
    private func touchSessions(in data: [UInt8]) {
        var reader = JuteReader(data)
        let now = clock.monotonicMs()
        while reader.remaining >= 12, let id = try? reader.readInt64(), (try? reader.readInt32()) != nil {
            if let session = sessions[id] { sessions.touch(session, nowMs: now) }
        }
    }
}
