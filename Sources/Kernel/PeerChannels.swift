import Jute
import Logging
import ModuleAPI
import Storage
import ZAB

/// The ensemble as this server sees it: every participant's addresses, and our own id.
struct Ensemble {
    let myId: Int64
    let servers: [Int64: ServerEntry]

    var voters: Set<Int64> { Set(servers.values.filter { !$0.isObserver }.map(\.id)) }
    var observers: Set<Int64> { Set(servers.values.filter(\.isObserver).map(\.id)) }
    var me: ServerEntry { servers[myId]! }

    /// ZooKeeper's config text as NEWLEADER and election notifications carry it.
    var configText: [UInt8] {
        let lines = servers.keys.sorted().map { id -> String in
            let s = servers[id]!
            let role = s.isObserver ? "observer" : "participant"
            let client = s.clientPort.map { ";\(s.clientHost ?? "0.0.0.0"):\($0)" } ?? ""
            return "server.\(id)=\(s.host):\(s.quorumPort):\(s.electionPort):\(role)\(client)"
        }
        return Array((lines + ["version=0"]).joined(separator: "\n").utf8)
    }
}

/// Transport events of the election and quorum ports, posted to the kernel executor in the
/// order the transport reports them. `outboundPeer` is set on connections this server opened.
final class PeerPortHandler: ConnectionHandler {
    enum Port: Sendable {
        case election
        case quorum
    }

    let port: Port
    let outboundPeer: Int64?
    private let executor: KernelExecutor

    init(port: Port, outboundPeer: Int64?, executor: KernelExecutor) {
        self.port = port
        self.outboundPeer = outboundPeer
        self.executor = executor
    }

    func connectionOpened(_ connection: any ClientConnection) -> Bool {
        let port = self.port, peer = outboundPeer
        executor.post { $0.replication?.opened(connection, port: port, outboundPeer: peer, state: $0) }
        return true
    }

    func connection(_ connection: any ClientConnection, received message: InboundMessage) {
        guard case .bytes(let bytes) = message else { return }
        let port = self.port
        executor.post { $0.replication?.received(bytes, on: connection, port: port, state: $0) }
    }

    func connectionClosed(_ connection: any ClientConnection) {
        let port = self.port
        executor.post { $0.replication?.closed(connection, port: port, state: $0) }
    }

    func connectFailed(_ options: ConnectOptions, reason: String) {
        guard let peer = outboundPeer else { return }
        let port = self.port
        executor.post { $0.replication?.connectFailed(to: peer, port: port, reason: reason, state: $0) }
    }
}

/// Election-port connections: at most one per peer, kept when the larger id opened it
/// (ZooKeeper's rule); the last message for each peer is re-sent whenever a connection opens,
/// so a vote is never lost to a connection that was not up yet.
struct ElectionConnections {
    private var byPeer: [Int64: any ClientConnection] = [:]
    private var decoders: [ConnectionID: ElectionStreamDecoder] = [:]
    private var peerOf: [ConnectionID: Int64] = [:]
    private var lastFrame: [Int64: [UInt8]] = [:]
    private var connecting: Set<Int64> = []

    /// Queues a message; returns true when a connection must be opened to deliver it.
    mutating func send(_ payload: [UInt8], to peer: Int64) -> Bool {
        let frame = ElectionStreamDecoder.frame(payload)
        lastFrame[peer] = frame
        if let connection = byPeer[peer] {
            connection.send(frame)
            return false
        }
        return connecting.insert(peer).inserted
    }

    mutating func connectFailed(_ peer: Int64) { connecting.remove(peer) }

    /// Our own connection is open: say who we are; keep it if our id is the larger.
    mutating func openedOutbound(_ connection: any ClientConnection, to peer: Int64, handshake: ElectionHandshake) {
        connecting.remove(peer)
        connection.send(handshake.encoded())
        guard ElectionHandshake.keeps(initiator: handshake.serverId, receiver: peer) else {
            // The peer closes this one and dials back; until then we only listen.
            return
        }
        adopt(connection, peer: peer, decoder: ElectionStreamDecoder())
    }

    mutating func openedInbound(_ connection: any ClientConnection) {
        decoders[connection.id] = ElectionStreamDecoder()
    }

    private mutating func adopt(_ connection: any ClientConnection, peer: Int64, decoder: ElectionStreamDecoder) {
        if let old = byPeer[peer], old.id != connection.id {
            peerOf[old.id] = nil
            decoders[old.id] = nil
            old.close()
        }
        byPeer[peer] = connection
        peerOf[connection.id] = peer
        decoders[connection.id] = decoder
        if let frame = lastFrame[peer] { connection.send(frame) }
    }

    enum Received {
        case messages(from: Int64, [[UInt8]])
        /// A smaller id opened this connection: close it and dial that peer ourselves.
        case dialBack(Int64)
        case nothing
    }

    mutating func received(_ bytes: [UInt8], on connection: any ClientConnection, myId: Int64) throws -> Received {
        guard var decoder = decoders[connection.id] else { return .nothing }
        decoder.feed(bytes)
        defer { decoders[connection.id] = decoder }
        if peerOf[connection.id] == nil {
            guard try decoder.readHandshake(), let handshake = decoder.handshake else { return .nothing }
            if !ElectionHandshake.keeps(initiator: handshake.serverId, receiver: myId) {
                decoders[connection.id] = nil
                connection.close()
                return .dialBack(handshake.serverId)
            }
            adopt(connection, peer: handshake.serverId, decoder: decoder)
        }
        guard let peer = peerOf[connection.id] else { return .nothing }
        var messages: [[UInt8]] = []
        while let message = try decoder.nextMessage() { messages.append(message) }
        return .messages(from: peer, messages)
    }

    mutating func closed(_ connection: any ClientConnection) {
        decoders[connection.id] = nil
        guard let peer = peerOf.removeValue(forKey: connection.id) else { return }
        if byPeer[peer]?.id == connection.id { byPeer[peer] = nil }
    }

    func closeAll() { for connection in byPeer.values { connection.close() } }
}

/// Quorum-port connections: a follower's one connection to its leader, or a leader's learners,
/// each known by the id its FOLLOWERINFO named.
struct QuorumConnections {
    struct Link {
        let connection: any ClientConnection
        var decoder: QuorumStreamDecoder
        /// Set while a SNAP packet's snapshot stream is arriving.
        var snapshot: SnapshotInProgress?
        var peer: Int64?
    }

    struct SnapshotInProgress {
        let packet: QuorumPacket
        var decoder: SnapshotStreamDecoder
    }

    var links: [ConnectionID: Link] = [:]
    private(set) var byPeer: [Int64: ConnectionID] = [:]

    mutating func opened(_ connection: any ClientConnection, peer: Int64?, packetBytesMax: Int) {
        links[connection.id] = Link(connection: connection, decoder: QuorumStreamDecoder(packetBytesMax: packetBytesMax), peer: nil)
        if let peer { identify(connection.id, as: peer) }
    }

    /// Binds a connection to a server id; an older connection of the same server is closed.
    mutating func identify(_ id: ConnectionID, as peer: Int64) {
        if let old = byPeer[peer], old != id, let link = links.removeValue(forKey: old) { link.connection.close() }
        byPeer[peer] = id
        links[id]?.peer = peer
    }

    func send(_ packet: QuorumPacket, to peer: Int64) {
        guard let id = byPeer[peer], let link = links[id] else { return }
        link.connection.send(packet.serialized())
    }

    func sendRaw(_ bytes: [UInt8], to peer: Int64) {
        guard let id = byPeer[peer], let link = links[id] else { return }
        link.connection.send(bytes)
    }

    /// Closes the connection to `peer`; returns whether there was one.
    mutating func disconnect(_ peer: Int64) {
        guard let id = byPeer.removeValue(forKey: peer), let link = links.removeValue(forKey: id) else { return }
        link.connection.close()
    }

    /// Forgets a closed connection; returns the peer it belonged to if it was that peer's current one.
    mutating func closed(_ connection: any ClientConnection) -> Int64? {
        guard let link = links.removeValue(forKey: connection.id), let peer = link.peer, byPeer[peer] == connection.id else {
            return nil
        }
        byPeer[peer] = nil
        return peer
    }

    func isConnected(_ peer: Int64) -> Bool { byPeer[peer] != nil }

    func closeAll() { for link in links.values { link.connection.close() } }
}

extension Ensemble {
    /// nil for a standalone configuration (fewer than two servers, as ZooKeeper decides).
    init?(config: Config) throws {
        guard config.servers.count > 1, let myId = try Self.myId(config: config) else { return nil }
        guard config.servers.contains(where: { $0.id == myId }) else {
            throw StorageError("\(config.dataDir)/myid names server \(myId), which has no server.\(myId) line in the config")
        }
        self.myId = myId
        servers = Dictionary(config.servers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// ZooKeeper's dataDir/myid: the server's id in decimal on the first line.
    static func myId(config: Config) throws -> Int64? {
        guard config.servers.count > 1 else { return nil }
        let path = config.dataDir + "/myid"
        guard let text = try? String(decoding: TxnLogReader.load(path), as: UTF8.self) else {
            throw StorageError("\(path) is missing: an ensemble member needs its server id there")
        }
        let firstLine = text.split(whereSeparator: { $0.isNewline }).first.map(String.init) ?? ""
        guard let id = Int64(firstLine.filter { !$0.isWhitespace }) else {
            throw StorageError("\(path) does not hold a server id: '\(firstLine)'")
        }
        return id
    }
}
