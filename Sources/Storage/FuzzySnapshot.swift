import DataTree
import Jute

/// Walks the tree a chunk at a time so a snapshot never stops writes: the kernel serializes one
/// chunk per turn of its executor and applies txns in between. The result is fuzzy, like
/// ZooKeeper's: replaying the log from the zxid the walk started at makes it exact (nodes
/// created after the start are skipped; the replay creates them).
public struct FuzzySnapshot {
    public let zxid: Int64
    private var pending: [String]
    private var started = false
    private let head: [UInt8]

    /// Captures what must be consistent at the start: the session table and the ACL cache.
    public init(tree: DataTree, sessions: [(id: Int64, timeoutMs: Int32)]) {
        zxid = tree.lastProcessedZxid
        head = SnapshotFormat.head(sessions: sessions) + SnapshotFormat.acls(tree.acls)
        pending = ["/"]
    }

    /// The next bytes of the stream, up to about `nodesMax` nodes; nil once every node is out.
    public mutating func nextChunk(tree: DataTree, nodesMax: Int) -> [UInt8]? {
        var w = JuteWriter(capacity: 64 * 1024)
        if !started {
            started = true
            w.writeRaw(head)
        }
        guard !pending.isEmpty else { return nil }
        SnapshotFormat.appendNodes(of: tree, pending: &pending, createdBy: zxid, nodesMax: nodesMax, to: &w)
        return w.bytes
    }
}
