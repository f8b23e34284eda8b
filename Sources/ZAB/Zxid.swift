/// A zxid is ZooKeeper's transaction id: the leader's epoch in the high 32 bits and a counter,
/// reset each epoch, in the low 32 bits.
public enum Zxid {
    public static func make(epoch: UInt32, counter: UInt32) -> Int64 {
        Int64(bitPattern: UInt64(epoch) << 32 | UInt64(counter))
    }
    public static func epoch(of zxid: Int64) -> UInt32 { UInt32(truncatingIfNeeded: UInt64(bitPattern: zxid) >> 32) }
    public static func counter(of zxid: Int64) -> UInt32 { UInt32(truncatingIfNeeded: zxid) }
}

/// Numbers proposals in zxid order. In an ensemble of one (standalone) the leader's own append
/// is the whole quorum, so a proposal commits as soon as it is numbered; the replicated engine
/// (election, sync, broadcast) takes this job over when it exists.
public struct ProposalNumbering: Sendable {
    public private(set) var lastZxid: Int64

    public init(lastZxid: Int64) { self.lastZxid = lastZxid }

    public mutating func next() -> Int64 {
        precondition(Zxid.counter(of: lastZxid) != UInt32.max, "zxid counter exhausted within one epoch")
        lastZxid += 1
        return lastZxid
    }
}
