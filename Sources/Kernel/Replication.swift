import Dispatch
import Jute
import Logging
import ModuleAPI
import Storage
import ZAB

/// A server's part in an ensemble: the ZAB engine, the election and quorum connections, and what
/// the kernel must remember between effects (forwarded requests, session touches). Lives on the
/// kernel executor, like the rest of KernelState.
final class Replication {
    var peer: ZabPeer
    let ensemble: Ensemble
    let transport: any Transport
    let executor: KernelExecutor
    let epochFiles: EpochFiles
    /// Snapshot codecs by file suffix, for reloading the data dir after a TRUNC.
    let codecsForReading: [any SnapshotCodec]
    var election = ElectionConnections()
    var quorum = QuorumConnections()
    /// Whether clients are served: after UPTODATE (follower) or a NEWLEADER quorum (leader).
    var serving = false
    var servingSinceMs: Int64 = 0
    private var timerGenerations: [ZabTimer: Int] = [:]
    /// Effects not yet carried out; effects of nested steps queue behind them, so every
    /// effect list runs in order.
    var pendingEffects: [ZabEffect] = []
    var runningEffects = false
    /// Follower: writes forwarded to the leader, per session, oldest first.
    var forwarded: [Int64: [(cxid: Int32, after: AfterCommit)]] = [:]
    /// Follower: `sync` requests forwarded to the leader, oldest first (the leader answers in order).
    var pendingSyncs: [(session: Session, target: ReplyTarget, path: String)] = []
    /// Follower: sessions its clients touched since the last PING to the leader.
    var touched: [Int64: Int32] = [:]

    /// The leader's PROPOSAL data sizes in bytes (-1 before the first), as `srvr` reports them.
    var proposalSizes = (last: -1, min: -1, max: -1)
    private var lastSizedZxid: Int64 = -1

    func recordProposalSize(_ packet: QuorumPacket) {
        guard packet.type == QuorumPacketType.proposal, packet.zxid > lastSizedZxid else { return }
        lastSizedZxid = packet.zxid
        let size = packet.data?.count ?? 0
        proposalSizes = (size, proposalSizes.min < 0 ? size : min(proposalSizes.min, size), max(proposalSizes.max, size))
    }

    /// How often a learner retries a refused connection to its leader (ZooKeeper waits 1 s).
    static let reconnectDelayMs = 200

    init(peer: ZabPeer, ensemble: Ensemble, transport: any Transport, executor: KernelExecutor, epochFiles: EpochFiles,
         codecsForReading: [any SnapshotCodec]) {
        self.peer = peer
        self.codecsForReading = codecsForReading
        self.ensemble = ensemble
        self.transport = transport
        self.executor = executor
        self.epochFiles = epochFiles
    }

    var isLeader: Bool { peer.state == .leading }
    /// A follower or an observer: both forward writes to the leader and serve reads.
    var isFollower: Bool { peer.state == .following || peer.state == .observing }

    func armTimer(_ timer: ZabTimer, milliseconds: Int) {
        let generation = timerGenerations[timer, default: 0] + 1
        timerGenerations[timer] = generation
        executor.after(milliseconds: milliseconds) { state in
            guard let replication = state.replication, replication.timerGenerations[timer] == generation else { return }
            state.step(.timerFired(timer))
        }
    }

    func connect(_ port: PeerPortHandler.Port, to peerId: Int64) {
        guard let server = ensemble.servers[peerId] else { return }
        let handler = PeerPortHandler(port: port, outboundPeer: peerId, executor: executor)
        transport.connect(ConnectOptions(host: server.host, port: port == .election ? server.electionPort : server.quorumPort),
                          handler: handler)
    }

    // MARK: Transport events (on the executor)

    func opened(_ connection: any ClientConnection, port: PeerPortHandler.Port, outboundPeer: Int64?, state: KernelState) {
        switch port {
        case .election:
            if let outboundPeer {
                let me = ensemble.me
                election.openedOutbound(connection, to: outboundPeer,
                                        handshake: ElectionHandshake(serverId: ensemble.myId, electionAddress: "\(me.host):\(me.electionPort)"))
            } else {
                election.openedInbound(connection)
            }
        case .quorum:
            if let outboundPeer {
                // A connection to a leader we no longer follow is of no use.
                guard isFollower, peer.leaderId == outboundPeer, !quorum.isConnected(outboundPeer) else { return connection.close() }
                quorum.opened(connection, peer: outboundPeer, packetBytesMax: state.config.juteMaxBuffer)
                state.step(.connectedToLeader(outboundPeer))
            } else {
                quorum.opened(connection, peer: nil, packetBytesMax: state.config.juteMaxBuffer)
            }
        }
    }

    func received(_ bytes: [UInt8], on connection: any ClientConnection, port: PeerPortHandler.Port, state: KernelState) {
        do {
            switch port {
            case .election:
                try electionReceived(bytes, on: connection, state: state)
            case .quorum:
                try quorumReceived(bytes, on: connection, state: state)
            }
        } catch {
            state.logger.warning("closing \(port) connection \(connection.remoteAddress): \(error)")
            connection.close()
        }
    }

    private func electionReceived(_ bytes: [UInt8], on connection: any ClientConnection, state: KernelState) throws {
        switch try election.received(bytes, on: connection, myId: ensemble.myId) {
        case .messages(let from, let messages):
            for message in messages {
                let (notification, _) = try ElectionWireFormat.decode(message, sender: from)
                state.step(.election(notification))
            }
        case .dialBack(let peerId):
            if ensemble.servers[peerId] != nil { connect(.election, to: peerId) }
        case .nothing:
            break
        }
    }

    /// Packets in arrival order; after a SNAP packet the raw snapshot stream that follows it is
    /// decoded and installed before the engine hears of the SNAP, then packets resume.
    private func quorumReceived(_ bytes: [UInt8], on connection: any ClientConnection, state: KernelState) throws {
        guard var link = quorum.links[connection.id] else { return }
        var input = bytes
        while true {
            if var snapshot = link.snapshot {
                guard let result = try snapshot.decoder.feed(input) else {
                    link.snapshot = snapshot
                    quorum.links[connection.id] = link
                    return
                }
                link.snapshot = nil
                quorum.links[connection.id] = link
                state.install(result.tree, sessions: result.sessions)
                state.step(.packet(from: link.peer!, snapshot.packet))
                input = result.leftover
                guard let current = quorum.links[connection.id] else { return }
                link = current
            }
            link.decoder.feed(input)
            input = []
            while let packet = try link.decoder.next() {
                if link.peer == nil { link.peer = try identify(connection, by: packet) }
                if packet.type == QuorumPacketType.snap && !isLeader {
                    guard peer.awaitsSync(from: link.peer!) else { throw QuorumProtocolError("SNAP outside a sync") }
                    link.snapshot = QuorumConnections.SnapshotInProgress(
                        packet: packet, decoder: SnapshotStreamDecoder(zxid: packet.zxid, recordBytesMax: state.config.juteMaxBuffer))
                    input = link.decoder.takeRemaining()
                    break
                }
                quorum.links[connection.id] = link
                state.step(.packet(from: link.peer!, packet))
                guard let current = quorum.links[connection.id] else { return }
                link = current
            }
            quorum.links[connection.id] = link
            if link.snapshot == nil { return }
        }
    }

    /// A learner names itself in its first packet, FOLLOWERINFO or OBSERVERINFO.
    private func identify(_ connection: any ClientConnection, by packet: QuorumPacket) throws -> Int64 {
        guard packet.type == QuorumPacketType.followerInfo || packet.type == QuorumPacketType.observerInfo,
              let data = packet.data, let info = try? LearnerInfo(from: data) else {
            throw QuorumProtocolError("the first packet of a learner must be FOLLOWERINFO or OBSERVERINFO")
        }
        quorum.identify(connection.id, as: info.serverId)
        return info.serverId
    }

    func closed(_ connection: any ClientConnection, port: PeerPortHandler.Port, state: KernelState) {
        switch port {
        case .election:
            election.closed(connection)
        case .quorum:
            if let peerId = quorum.closed(connection) { state.step(.disconnected(peerId)) }
        }
    }

    func connectFailed(to peerId: Int64, port: PeerPortHandler.Port, reason: String, state: KernelState) {
        switch port {
        case .election:
            election.connectFailed(peerId)
        case .quorum:
            // Keep trying while we still follow that leader; the engine's initLimit ends it.
            executor.after(milliseconds: Self.reconnectDelayMs) { state in
                guard let replication = state.replication, replication.isFollower, replication.peer.leaderId == peerId,
                      !replication.quorum.isConnected(peerId) else { return }
                replication.connect(.quorum, to: peerId)
            }
        }
    }

    func shutdown() {
        election.closeAll()
        quorum.closeAll()
    }
}

struct QuorumProtocolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension LearnerInfo {
    init(from data: [UInt8]) throws {
        var reader = JuteReader(data)
        try self.init(from: &reader)
    }
}

extension Replication {
    /// The engine's starting point from the data dir: the epoch files (created from the last
    /// zxid when missing, as ZooKeeper does on its first ensemble start) and the recent history.
    static func recover(ensemble: Ensemble, config: Config, directory: DataDirectory, recovered: RecoveredState,
                        transport: any Transport, executor: KernelExecutor, codecsForReading: [any SnapshotCodec]) throws -> Replication {
        let epochFiles = EpochFiles(directory)
        let lastZxid = recovered.tree.lastProcessedZxid
        let currentEpoch = try epochFiles.read(.current) ?? {
            try epochFiles.write(.current, lastZxid >> 32)
            return lastZxid >> 32
        }()
        let acceptedEpoch = try epochFiles.read(.accepted) ?? {
            try epochFiles.write(.accepted, currentEpoch)
            return currentEpoch
        }()
        let settings = ZabSettings(myId: ensemble.myId, voters: ensemble.voters, observers: ensemble.observers,
                                   initLimitTicks: config.initLimit,
                                   syncLimitTicks: config.syncLimit, committedLogMax: RecoveredState.recentTxnsMax,
                                   configText: ensemble.configText)
        let history = recovered.recentTxns.last?.zxid == lastZxid ? recovered.recentTxns : []
        let peer = ZabPeer(settings: settings, acceptedEpoch: acceptedEpoch, currentEpoch: currentEpoch, lastZxid: lastZxid,
                           history: history)
        return Replication(peer: peer, ensemble: ensemble, transport: transport, executor: executor, epochFiles: epochFiles,
                           codecsForReading: codecsForReading)
    }
}
