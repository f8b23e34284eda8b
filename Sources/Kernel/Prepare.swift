import DataTree
import Jute
import ModuleAPI

/// PrepRequestProcessor's job: check a write against the tree plus pending changes and turn it
/// into a transaction. Errors are ZooKeeper's codes; the caller commits them as error txns, which
/// (as in ZooKeeper) still take a zxid.
struct Preparer {
    let tree: DataTree
    var pending: PendingChanges
    let extendedTypesEnabled: Bool
    let acl: ACLPolicy
    let zxid: Int64

    /// One write op. Returns the txn's op code (which for create2 stays create2) and body.
    mutating func prepare(_ op: OpCode, _ r: inout JuteReader, session: Session) throws(KeeperError) -> SubTxn {
        do {
            switch op {
            case .create, .create2, .createContainer:
                return try create(op, CreateRequest(from: &r), session: session)
            case .createTTL:
                return try create(op, CreateRequest(from: &r, withTTL: true), session: session)
            case .delete:
                return try delete(DeleteRequest(from: &r), session: session)
            case .setData:
                return try setData(SetDataRequest(from: &r), session: session)
            case .setACL:
                return try setACL(SetACLRequest(from: &r), session: session)
            case .check:
                return try check(CheckVersionRequest(from: &r), session: session)
            case .reconfig:
                // Dynamic reconfiguration is not built; ZooKeeper answers this way when it is disabled.
                throw KeeperError.reconfigDisabled
            default:
                throw KeeperError.unimplemented
            }
        } catch let error as KeeperError {
            throw error
        } catch {
            throw KeeperError.marshallingError
        }
    }

    private func validate(_ path: String, sequential: Bool = false) throws(KeeperError) {
        if PathValidation.problem(path, sequential: sequential) != nil { throw .badArguments }
    }

    /// Checks in ZooKeeper's order: mode and TTL, a slash and no NUL, the ACL, the parent, the
    /// full path rules (after the sequence suffix), existence, then an ephemeral parent. The op
    /// decides container-ness and the flags the rest, as in ZooKeeper.
    private mutating func create(_ op: OpCode, _ request: CreateRequest, session: Session) throws(KeeperError) -> SubTxn {
        guard let mode = CreateMode(rawValue: request.flags) else { throw .badArguments }
        if mode.isTTL && !extendedTypesEnabled { throw .unimplemented }
        let ttl = request.ttl ?? -1
        if mode.isTTL {
            guard op == .createTTL, ttl > 0, ttl <= EphemeralOwner.ttlMax else { throw .badArguments }
        } else if ttl >= 0 {
            throw .badArguments
        }
        guard PathValidation.isAbsoluteWithoutNull(request.path) else { throw .badArguments }
        let nodeACL = try acl.fixup(request.acl, session: session)
        let parentPath = PathValidation.parent(of: request.path)
        var parent = pending.record(parentPath, in: tree)
        guard parent.exists else { throw .noNode }
        try acl.check(Perms.create, parent.acl, session: session)
        var path = request.path
        if mode.isSequential { path += Self.sequenceSuffix(parent.cversion) }
        try validate(path)
        guard path != "/", !pending.record(path, in: tree).exists else { throw .nodeExists }
        guard !EphemeralOwner.isSession(parent.ephemeralOwner) else { throw .noChildrenForEphemerals }
        parent.cversion &+= 1
        parent.childCount += 1
        pending.set(parentPath, parent, zxid: zxid)
        let isContainer = op == .createContainer
        let owner: Int64 = mode.isEphemeral ? session.id
            : isContainer ? EphemeralOwner.container
            : mode.isTTL ? EphemeralOwner.ttl(ttl) : 0
        pending.set(path, NodeRecord(exists: true, version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner,
                                     childCount: 0, acl: nodeACL), zxid: zxid)
        let body = CreateTxn(path: path, data: request.data, acl: nodeACL, ephemeral: mode.isEphemeral,
                             parentCVersion: parent.cversion, ttl: mode.isTTL ? ttl : 0)
        if isContainer { return SubTxn(type: op.rawValue, txn: .createContainer(body)) }
        if mode.isTTL { return SubTxn(type: op.rawValue, txn: .createTTL(body)) }
        return SubTxn(type: op.rawValue, txn: .create(body))
    }

    /// ZooKeeper's `%010d` of the parent's cversion (negative once it wraps, as in ZooKeeper).
    static func sequenceSuffix(_ cversion: Int32) -> String {
        let digits = String(cversion.magnitude)
        let padded = String(repeating: "0", count: max(0, (cversion < 0 ? 9 : 10) - digits.count)) + digits
        return cversion < 0 ? "-" + padded : padded
    }

    private mutating func delete(_ request: DeleteRequest, session: Session) throws(KeeperError) -> SubTxn {
        guard PathValidation.isAbsoluteWithoutNull(request.path),
              !Self.undeletablePaths.contains(request.path) else { throw .badArguments }
        let parentPath = PathValidation.parent(of: request.path)
        var parent = pending.record(parentPath, in: tree)
        guard parent.exists else { throw .noNode }
        try acl.check(Perms.delete, parent.acl, session: session)
        let node = pending.record(request.path, in: tree)
        guard node.exists else { throw .noNode }
        guard request.version == -1 || request.version == node.version else { throw .badVersion }
        guard node.childCount == 0 else { throw .notEmpty }
        parent.childCount -= 1
        pending.set(parentPath, parent, zxid: zxid)
        pending.set(request.path, .absent, zxid: zxid)
        return SubTxn(type: OpCode.delete.rawValue, txn: .delete(path: request.path))
    }

    private mutating func setData(_ request: SetDataRequest, session: Session) throws(KeeperError) -> SubTxn {
        try validate(request.path)
        var node = pending.record(request.path, in: tree)
        guard node.exists else { throw .noNode }
        try acl.check(Perms.write, node.acl, session: session)
        guard request.version == -1 || request.version == node.version else { throw .badVersion }
        node.version &+= 1
        pending.set(request.path, node, zxid: zxid)
        return SubTxn(type: OpCode.setData.rawValue, txn: .setData(path: request.path, data: request.data, version: node.version))
    }

    private mutating func setACL(_ request: SetACLRequest, session: Session) throws(KeeperError) -> SubTxn {
        try validate(request.path)
        let newACL = try acl.fixup(request.acl, session: session)
        var node = pending.record(request.path, in: tree)
        guard node.exists else { throw .noNode }
        try acl.check(Perms.admin, node.acl, session: session)
        guard request.version == -1 || request.version == node.aversion else { throw .badVersion }
        node.aversion &+= 1
        node.acl = newACL
        pending.set(request.path, node, zxid: zxid)
        return SubTxn(type: OpCode.setACL.rawValue, txn: .setACL(path: request.path, acl: newACL, version: node.aversion))
    }

    private func check(_ request: CheckVersionRequest, session: Session) throws(KeeperError) -> SubTxn {
        try validate(request.path)
        let node = pending.record(request.path, in: tree)
        guard node.exists else { throw .noNode }
        try acl.check(Perms.read, node.acl, session: session)
        guard request.version == -1 || request.version == node.version else { throw .badVersion }
        return SubTxn(type: OpCode.check.rawValue, txn: .check(path: request.path, version: request.version))
    }

    /// A multi: every op prepared in order against the changes of the ops before it. On the first
    /// failure the multi's pending changes are dropped, the failing op carries its error and the
    /// ops after it RuntimeInconsistency, as ZooKeeper does.
    mutating func prepareMulti(_ r: inout JuteReader, session: Session) throws(KeeperError) -> [SubTxn] {
        let before = pending
        var subs: [SubTxn] = []
        var failed = false
        do {
            while true {
                let header = try MultiHeader(from: &r)
                if header.done { break }
                guard let op = OpCode(rawValue: header.type), Self.multiWriteOps.contains(op) else {
                    throw KeeperError.marshallingError
                }
                if failed {
                    try Self.skipBody(op, &r)
                    subs.append(SubTxn(type: OpCode.error.rawValue, txn: .error(KeeperError.runtimeInconsistency.rawValue)))
                    continue
                }
                do {
                    subs.append(try prepare(Self.multiOp(op, &r), &r, session: session))
                } catch {
                    failed = true
                    pending.rollBack(to: before)
                    subs.append(SubTxn(type: OpCode.error.rawValue, txn: .error(error.rawValue)))
                }
            }
        } catch let error as KeeperError {
            throw error
        } catch {
            throw KeeperError.marshallingError
        }
        return subs
    }

    static let undeletablePaths: Set<String> = ["/", DataTree.systemPath, DataTree.quotaPath, DataTree.configPath]

    static let multiWriteOps: Set<OpCode> = [.create, .create2, .createContainer, .createTTL, .delete, .setData, .check]

    /// Inside a multi ZooKeeper rebuilds creates from their flags: container flags make a
    /// createContainer, anything else a plain create (even when the header said create2).
    private static func multiOp(_ op: OpCode, _ r: inout JuteReader) -> OpCode {
        guard op == .create || op == .create2 || op == .createContainer else { return op }
        var peek = r
        guard let request = try? CreateRequest(from: &peek) else { return op }
        return request.flags == CreateMode.container.rawValue ? .createContainer : .create
    }

    /// Reads past an op body that will not be prepared, keeping the reader aligned.
    private static func skipBody(_ op: OpCode, _ r: inout JuteReader) throws {
        switch op {
        case .create, .create2, .createContainer: _ = try CreateRequest(from: &r)
        case .createTTL: _ = try CreateRequest(from: &r, withTTL: true)
        case .delete, .check: _ = try PathVersionRequest(from: &r)
        case .setData: _ = try SetDataRequest(from: &r)
        default: throw KeeperError.marshallingError
        }
    }
}
