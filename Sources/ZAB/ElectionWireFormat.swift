import Jute

/// Election notifications as ZooKeeper 3.8's FastLeaderElection sends them over the election
/// port (the payload inside QuorumCnxManager's length-prefixed frame), so Paddock and ZooKeeper
/// servers can elect together. Version 2 carries the sender's view of the ensemble config.
public enum ElectionWireFormat {
    public static let version: Int32 = 2

    public enum DecodeError: Error, Equatable {
        case tooShort(Int)
        case unknownState(Int32)
        case configLengthInvalid(Int32)
    }

    public static func encode(_ n: ElectionNotification, config: [UInt8]) -> [UInt8] {
        var w = JuteWriter(capacity: 44 + config.count)
        w.writeInt32(n.state.rawValue)
        w.writeInt64(n.vote.leader)
        w.writeInt64(n.vote.zxid)
        w.writeInt64(n.electionEpoch)
        w.writeInt64(n.vote.peerEpoch)
        w.writeInt32(version)
        w.writeInt32(Int32(config.count))
        w.writeRaw(config)
        return w.bytes
    }

    /// Decodes any layout ZooKeeper 3.8 accepts: 28 bytes (no peer epoch: it is the zxid's
    /// epoch), 40 bytes (version 0), or versioned with a config. Returns the config bytes too.
    public static func decode(_ bytes: [UInt8], sender: Int64) throws -> (ElectionNotification, config: [UInt8]) {
        guard bytes.count >= 28 else { throw DecodeError.tooShort(bytes.count) }
        var r = JuteReader(bytes)
        let rawState = try r.readInt32()
        guard let state = PeerState(rawValue: rawState) else { throw DecodeError.unknownState(rawState) }
        let leader = try r.readInt64()
        let zxid = try r.readInt64()
        let electionEpoch = try r.readInt64()
        let peerEpoch = bytes.count == 28 ? zxid >> 32 : try r.readInt64()
        var config: [UInt8] = []
        if bytes.count > 40, try r.readInt32() > 1 {
            let length = try r.readInt32()
            guard length >= 0, Int(length) <= r.remaining else { throw DecodeError.configLengthInvalid(length) }
            config = Array(bytes[r.offset..<r.offset + Int(length)])
        }
        let vote = Vote(leader: leader, zxid: zxid, peerEpoch: peerEpoch)
        return (ElectionNotification(sender: sender, state: state, vote: vote, electionEpoch: electionEpoch), config)
    }
}

/// The first bytes a server sends when it opens an election connection (ZooKeeper 3.8's
/// QuorumCnxManager initial message): a protocol version, its id and its election address.
public struct ElectionHandshake: Equatable, Sendable {
    /// ZooKeeper's protocol version -65536 (0xffff0000 sign-extended): one address.
    public static let protocolVersion: Int64 = -65536
    /// ZooKeeper refuses addresses longer than this.
    public static let addressBytesMax = 2048

    public var serverId: Int64
    /// "host:port" of the sender's election port (IPv6 as "[addr]:port").
    public var electionAddress: String

    public init(serverId: Int64, electionAddress: String) {
        self.serverId = serverId
        self.electionAddress = electionAddress
    }

    public enum DecodeError: Error, Equatable {
        case addressLengthInvalid(Int32)
        case unsupportedProtocol(Int64)
    }

    public func encoded() -> [UInt8] {
        var w = JuteWriter()
        w.writeInt64(Self.protocolVersion)
        w.writeInt64(serverId)
        let address = Array(electionAddress.utf8)
        w.writeInt32(Int32(address.count))
        w.writeRaw(address)
        return w.bytes
    }

    /// Decodes a handshake; nil means more bytes are needed. A first long of zero or more is
    /// the pre-3.5 form (the server id alone), which ZooKeeper still accepts.
    public static func decode(_ bytes: [UInt8]) throws -> (handshake: ElectionHandshake, consumed: Int)? {
        var r = JuteReader(bytes)
        guard r.remaining >= 8 else { return nil }
        let first = try r.readInt64()
        if first >= 0 { return (ElectionHandshake(serverId: first, electionAddress: ""), 8) }
        guard first == protocolVersion else { throw DecodeError.unsupportedProtocol(first) }
        guard r.remaining >= 12 else { return nil }
        let serverId = try r.readInt64()
        let length = try r.readInt32()
        guard length > 0, Int(length) <= addressBytesMax else { throw DecodeError.addressLengthInvalid(length) }
        guard r.remaining >= Int(length) else { return nil }
        let address = String(decoding: bytes[r.offset..<r.offset + Int(length)], as: UTF8.self)
        return (ElectionHandshake(serverId: serverId, electionAddress: address), r.offset + Int(length))
    }

    /// ZooKeeper keeps one connection per pair of servers: the one opened by the larger id.
    public static func keeps(initiator: Int64, receiver: Int64) -> Bool { initiator > receiver }
}
