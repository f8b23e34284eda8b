/// The leader's broadcast bookkeeping: which voters have each outstanding proposal on disk, and
/// which proposals that makes committed. A proposal commits once a quorum of voters (the leader
/// included) has acknowledged it, and proposals commit strictly in zxid order, as ZAB requires:
/// an ACK for a later zxid never commits it ahead of an earlier one still short of a quorum.
public struct QuorumAckTracker: Sendable {
    public let voters: Set<Int64>
    private var outstanding: [(zxid: Int64, acks: Set<Int64>)] = []
    public private(set) var lastCommitted: Int64

    public init(voters: Set<Int64>, lastCommitted: Int64) {
        precondition(!voters.isEmpty)
        self.voters = voters
        self.lastCommitted = lastCommitted
    }

    private var quorumSize: Int { voters.count / 2 + 1 }

    public var outstandingCount: Int { outstanding.count }

    /// Records a new proposal; zxids must increase.
    public mutating func proposed(_ zxid: Int64) {
        precondition(zxid > (outstanding.last?.zxid ?? lastCommitted), "proposals in zxid order")
        outstanding.append((zxid, []))
    }

    /// A voter has every proposal up to `zxid` on disk (ACKs are cumulative on a FIFO link).
    /// Returns the zxids this commits, oldest first. Non-voters (observers) count for nothing.
    public mutating func acked(by server: Int64, through zxid: Int64) -> [Int64] {
        guard voters.contains(server) else { return [] }
        for index in outstanding.indices where outstanding[index].zxid <= zxid {
            outstanding[index].acks.insert(server)
        }
        var committed: [Int64] = []
        while let first = outstanding.first, first.acks.count >= quorumSize {
            committed.append(first.zxid)
            lastCommitted = first.zxid
            outstanding.removeFirst()
        }
        return committed
    }
}
