import DataTree
import Jute

/// What a znode will look like once the transactions prepared so far commit: ZooKeeper's
/// ChangeRecord. `prepare` validates against these, not just the tree, so a multi's later ops see
/// its earlier ones and writes prepared ahead of a commit see each other.
struct NodeRecord {
    var exists: Bool
    var version: Int32
    /// Stored (creation-counting) cversion, which numbers sequential children.
    var cversion: Int32
    var aversion: Int32
    var ephemeralOwner: Int64
    var childCount: Int
    var acl: [ACL]

    static let absent = NodeRecord(exists: false, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, childCount: 0, acl: [])
}

/// Records of prepared but uncommitted changes, newest per path.
struct PendingChanges {
    private var byPath: [String: (zxid: Int64, record: NodeRecord)] = [:]
    /// Every change in zxid order (zxids only grow), so a commit forgets what it made durable
    /// without scanning the rest: a scan per commit was 18% of a set-heavy load's instructions.
    private var order: [(zxid: Int64, path: String)] = []
    private var orderStart = 0

    var isEmpty: Bool { byPath.isEmpty }

    func record(_ path: String, in tree: DataTree) -> NodeRecord {
        if let pending = byPath[path] { return pending.record }
        guard let node = tree.node(path) else { return .absent }
        let fields = node.fields
        return NodeRecord(exists: true, version: fields.version, cversion: fields.cversion, aversion: fields.aversion,
                          ephemeralOwner: fields.ephemeralOwner, childCount: node.children.count,
                          acl: tree.acls.acl(for: fields.aclID))
    }

    mutating func set(_ path: String, _ record: NodeRecord, zxid: Int64) {
        assert(order.last.map { $0.zxid <= zxid } ?? true, "changes are prepared in zxid order")
        byPath[path] = (zxid, record)
        order.append((zxid, path))
    }

    /// Drops the changes of a multi that failed to prepare.
    mutating func rollBack(to snapshot: PendingChanges) { self = snapshot }

    /// Forgets changes the tree now holds (a path changed again later keeps its newer record).
    mutating func committed(through zxid: Int64) {
        while orderStart < order.count, order[orderStart].zxid <= zxid {
            let (committed, path) = order[orderStart]
            orderStart += 1
            // One hash of the path, not two (path hashing is a visible share of a write's cost).
            if let index = byPath.index(forKey: path), byPath[index].value.zxid == committed { byPath.remove(at: index) }
        }
        if orderStart == order.count {
            order.removeAll(keepingCapacity: true)
            orderStart = 0
        } else if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
