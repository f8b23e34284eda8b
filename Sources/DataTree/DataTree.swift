import Jute

/// The replicated state: znodes with their Stat, the ACL cache, the ephemeral, container and TTL
/// indexes, and the watch tables. `apply` is the only way committed transactions change it.
public final class DataTree {
    public private(set) var nodes: [String: Znode] = [:]
    public var acls = ACLCache()
    public private(set) var ephemerals: [Int64: Set<String>] = [:]
    public private(set) var containers: Set<String> = []
    public private(set) var ttls: Set<String> = []
    public var dataWatches = WatchTable()
    public var childWatches = WatchTable()
    public private(set) var lastProcessedZxid: Int64 = 0

    public static let systemPath = "/zookeeper"
    public static let quotaPath = "/zookeeper/quota"
    public static let configPath = "/zookeeper/config"

    public init() {
        let root = Znode(data: [], aclID: ACLCache.openUnsafeID, zxid: 0, time: 0, ephemeralOwner: 0)
        nodes["/"] = root
        addSystemNode(Self.systemPath, aclID: ACLCache.openUnsafeID)
        addSystemNode(Self.quotaPath, aclID: ACLCache.openUnsafeID)
        addSystemNode(Self.configPath, aclID: acls.retain(ACL.readUnsafe))
        // ZooKeeper sets the config node's ACL with version -1 at start-up, which shows as aversion -1.
        nodes[Self.configPath]!.aversion = -1
    }

    /// The system subtree is made at start-up, outside any transaction, so its Stat stays zero.
    private func addSystemNode(_ path: String, aclID: Int64) {
        nodes[path] = Znode(data: [], aclID: aclID, zxid: 0, time: 0, ephemeralOwner: 0)
        nodes[PathValidation.parent(of: path)]!.children.insert(PathValidation.name(of: path))
    }

    public func node(_ path: String) -> Znode? { nodes[path] }

    /// ZooKeeper counts the root twice (it is stored under "" and "/"); 4lw output keeps that count.
    public var nodeCount: Int { nodes.count + 1 }

    /// Bytes of paths and data, as ZooKeeper's approximateDataSize.
    public var approximateDataSize: Int {
        nodes.reduce(0) { $0 + $1.key.utf8.count + ($1.value.data?.count ?? 0) }
    }

    public var ephemeralCount: Int { ephemerals.values.reduce(0) { $0 + $1.count } }

    public func ephemeralPaths(of session: Int64) -> Set<String> { ephemerals[session] ?? [] }

    // MARK: Applying committed transactions

    /// What applying one transaction produced, for the reply.
    public enum Outcome: Equatable, Sendable {
        case created(path: String, stat: Stat)
        case deleted
        case stat(Stat)
        case checked
        case session
        case failed(KeeperError)
        case multi([Outcome])
    }

    /// Applies a committed transaction and appends the watch notifications it fires to `events`.
    /// Transactions arrive in zxid order; one that no longer fits the tree (possible only while
    /// replaying a fuzzy snapshot) fails without changing anything.
    public func apply(_ header: TxnHeader, _ txn: Txn, events: inout [WatchNotification]) -> Outcome {
        precondition(header.zxid >= lastProcessedZxid, "transactions must be applied in zxid order")
        lastProcessedZxid = header.zxid
        return applyBody(header, txn, events: &events)
    }

    private func applyBody(_ header: TxnHeader, _ txn: Txn, events: inout [WatchNotification]) -> Outcome {
        let zxid = header.zxid
        switch txn {
        case .create(let c):
            return create(c, owner: c.ephemeral ? header.clientId : 0, header, events: &events)
        case .createContainer(let c):
            return create(c, owner: EphemeralOwner.container, header, events: &events)
        case .createTTL(let c):
            return create(c, owner: EphemeralOwner.ttl(c.ttl), header, events: &events)
        case .delete(let path), .deleteContainer(let path):
            return delete(path, zxid: zxid, events: &events)
        case .setData(let path, let data, let version):
            guard let node = nodes[path] else { return .failed(.noNode) }
            node.data = data
            node.version = version
            node.mzxid = zxid
            node.mtime = header.time
            _ = dataWatches.trigger(path, .nodeDataChanged, zxid: zxid, into: &events)
            return .stat(node.stat)
        case .setACL(let path, let acl, let version):
            guard let node = nodes[path] else { return .failed(.noNode) }
            acls.release(node.aclID)
            node.aclID = acls.retain(acl)
            node.aversion = version
            return .stat(node.stat)
        case .check:
            return .checked
        case .createSession:
            ephemerals[header.clientId] = ephemerals[header.clientId] ?? []
            return .session
        case .closeSession:
            for path in (ephemerals[header.clientId] ?? []).sorted(by: >) {
                _ = delete(path, zxid: zxid, events: &events)
            }
            ephemerals[header.clientId] = nil
            return .session
        case .error(let code):
            return .failed(KeeperError(rawValue: code) ?? .systemError)
        case .multi(let subs):
            return applyMulti(header, subs, events: &events)
        }
    }

    /// A multi whose prepare failed carries error txns; ZooKeeper reports ops before the failure
    /// as OK, the failing op with its code and the ops after it as RuntimeInconsistency.
    private func applyMulti(_ header: TxnHeader, _ subs: [SubTxn], events: inout [WatchNotification]) -> Outcome {
        let failed = subs.contains { $0.type == OpCode.error.rawValue }
        var afterFailure = false
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(subs.count)
        for sub in subs {
            if failed {
                if case .error(let code) = sub.txn {
                    afterFailure = true
                    outcomes.append(.failed(KeeperError(rawValue: code) ?? .systemError))
                } else {
                    outcomes.append(.failed(afterFailure ? .runtimeInconsistency : .ok))
                }
                continue
            }
            var subHeader = header
            subHeader.type = sub.type
            outcomes.append(applyBody(subHeader, sub.txn, events: &events))
        }
        return .multi(outcomes)
    }

    private func create(_ c: CreateTxn, owner: Int64, _ header: TxnHeader, events: inout [WatchNotification]) -> Outcome {
        let parentPath = PathValidation.parent(of: c.path)
        guard let parent = nodes[parentPath] else { return .failed(.noNode) }
        guard nodes[c.path] == nil else { return .failed(.nodeExists) }
        let node = Znode(data: c.data, aclID: acls.retain(c.acl), zxid: header.zxid, time: header.time, ephemeralOwner: owner)
        parent.children.insert(PathValidation.name(of: c.path))
        if c.parentCVersion > parent.cversion {
            parent.cversion = c.parentCVersion
            parent.pzxid = header.zxid
        }
        insert(c.path, node)
        index(c.path, owner: owner)
        _ = dataWatches.trigger(c.path, .nodeCreated, zxid: header.zxid, into: &events)
        _ = childWatches.trigger(parentPath, .nodeChildrenChanged, zxid: header.zxid, into: &events)
        return .created(path: c.path, stat: node.stat)
    }

    func insert(_ path: String, _ node: Znode) { nodes[path] = node }

    func setLastProcessedZxid(_ zxid: Int64) { lastProcessedZxid = zxid }

    /// Files a node under the container, TTL or ephemeral index its owner field calls for.
    func index(_ path: String, owner: Int64) {
        if EphemeralOwner.isContainer(owner) {
            containers.insert(path)
        } else if EphemeralOwner.ttlValue(owner) != nil {
            ttls.insert(path)
        } else if owner != 0 {
            ephemerals[owner, default: []].insert(path)
        }
    }

    private func delete(_ path: String, zxid: Int64, events: inout [WatchNotification]) -> Outcome {
        guard let node = nodes.removeValue(forKey: path) else { return .failed(.noNode) }
        let parentPath = PathValidation.parent(of: path)
        if let parent = nodes[parentPath] {
            parent.children.remove(PathValidation.name(of: path))
            // Only move pzxid forward: a later create may already have set a higher one.
            if zxid > parent.pzxid { parent.pzxid = zxid }
        }
        acls.release(node.aclID)
        if EphemeralOwner.isContainer(node.ephemeralOwner) {
            containers.remove(path)
        } else if EphemeralOwner.ttlValue(node.ephemeralOwner) != nil {
            ttls.remove(path)
        } else if node.ephemeralOwner != 0 {
            ephemerals[node.ephemeralOwner]?.remove(path)
        }
        let told = dataWatches.trigger(path, .nodeDeleted, zxid: zxid, into: &events)
        _ = childWatches.trigger(path, .nodeDeleted, zxid: zxid, suppress: told, into: &events)
        _ = childWatches.trigger(parentPath, .nodeChildrenChanged, zxid: zxid, into: &events)
        return .deleted
    }
}
