import Jute

/// Election notifications as ZooKeeper 3.8's FastLeaderElection sends them over the election
/// port (the payload inside QuorumCnxManager's length-prefixed frame), so Paddock and ZooKeeper
/// servers can elect together. Version 2 carries the sender's view of the ensemble config.
public enum ElectionWireFormat {
    public static let version: Int32 = 2
    /// ZooKeeper drops election frames outside 1...this.
    public static let frameBytesMax = 512 * 1024

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
