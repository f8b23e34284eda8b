import Jute

/// Loading a snapshot and replaying the log after it.
extension DataTree {
    /// Starts loading a snapshot into a fresh tree: the ACL cache is replaced by the snapshot's.
    public func beginRestore() {
        precondition(lastProcessedZxid == 0, "restore into a fresh tree only")
        acls = ACLCache()
    }

    public func restoreACL(id: Int64, acl: [ACL]) {
        acls.restore(id: id, acl: acl)
    }

    public enum RestoreError: Error, CustomStringConvertible {
        case parentMissing(String)
        case invalidPath(String)
        public var description: String {
            switch self {
            case .parentMissing(let path): "snapshot lists \(path) before its parent"
            case .invalidPath(let path): "snapshot holds an invalid path '\(path)'"
            }
        }
    }

    /// Adds or overwrites one node from a snapshot; parents come before children. Returns false
    /// when the node names an ACL id the snapshot's cache lacks (a fuzzy snapshot can; the log
    /// replay fixes the node), as ZooKeeper tolerates it.
    @discardableResult
    public func restoreNode(path rawPath: String, data: [UInt8]?, aclID: Int64, stat: StatPersisted) throws(RestoreError) -> Bool {
        let path = rawPath.isEmpty ? "/" : rawPath
        guard path.hasPrefix("/") else { throw .invalidPath(rawPath) }
        let node: Znode
        if let existing = nodes[path] {
            node = existing
            node.data = data
            node.aclID = aclID
        } else {
            guard path != "/", let parent = nodes[PathValidation.parent(of: path)] else { throw .parentMissing(path) }
            node = Znode(data: data, aclID: aclID, zxid: 0, time: 0, ephemeralOwner: 0)
            parent.children.insert(PathValidation.name(of: path))
            insert(path, node)
        }
        node.restore(stat)
        index(path, owner: stat.ephemeralOwner)
        return acls.addUsage(aclID)
    }

    /// Ends a restore: ACLs no node uses are dropped and the tree stands at `zxid`.
    public func finishRestore(zxid: Int64) {
        acls.purgeUnused()
        setLastProcessedZxid(zxid)
    }

    /// Applies a txn from the log during recovery. A fuzzy snapshot may already hold a txn's
    /// effect: a create that finds its node only moves the parent's cversion and pzxid forward,
    /// as ZooKeeper's replay does; other mismatches change nothing.
    public func replay(_ header: TxnHeader, _ txn: Txn) {
        var ignored: [WatchNotification] = []
        let outcome = apply(header, txn, events: &ignored)
        guard outcome == .failed(.nodeExists) else { return }
        switch txn {
        case .create(let c), .createContainer(let c), .createTTL(let c):
            guard let parent = nodes[PathValidation.parent(of: c.path)], c.parentCVersion > parent.cversion else { return }
            parent.cversion = c.parentCVersion
            parent.pzxid = header.zxid
        default:
            return
        }
    }
}

extension ACLCache {
    mutating func restore(id: Int64, acl: [ACL]) {
        aclByID[id] = acl
        idByACL[acl] = id
        referenceCount[id] = 0
        // Found by the snapshot fuzzer: id + 1 trapped for Int64.max; ids come from the file.
        if id < Int64.max { nextID = max(nextID, id + 1) }
    }

    /// Counts one more node using `id`; false if the cache does not know it.
    mutating func addUsage(_ id: Int64) -> Bool {
        if id == Self.openUnsafeID { return true }
        guard let count = referenceCount[id] else { return false }
        referenceCount[id] = count + 1
        return true
    }

    mutating func purgeUnused() {
        for (id, count) in referenceCount where count == 0 {
            referenceCount[id] = nil
            if let acl = aclByID.removeValue(forKey: id) { idByACL[acl] = nil }
        }
    }
}
