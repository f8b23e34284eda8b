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

    var isEmpty: Bool { byPath.isEmpty }

    func record(_ path: String, in tree: DataTree) -> NodeRecord {
        if let pending = byPath[path] { return pending.record }
        guard let node = tree.node(path) else { return .absent }
        return NodeRecord(exists: true, version: node.version, cversion: node.cversion, aversion: node.aversion,
                          ephemeralOwner: node.ephemeralOwner, childCount: node.children.count,
                          acl: tree.acls.acl(for: node.aclID))
    }

    mutating func set(_ path: String, _ record: NodeRecord, zxid: Int64) {
        byPath[path] = (zxid, record)
    }

    /// Drops the changes of a multi that failed to prepare.
    mutating func rollBack(to snapshot: PendingChanges) { self = snapshot }

    /// Forgets changes the tree now holds.
    mutating func committed(through zxid: Int64) {
        byPath = byPath.filter { $0.value.zxid > zxid }
    }
}
