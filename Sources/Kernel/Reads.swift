import DataTree
import Jute
import ModuleAPI

extension KernelState {
    /// Reads and watch management: answered from the tree on the executor, after any earlier
    /// write of the same session (writes commit synchronously in order on this executor).
    func read(_ op: OpCode, _ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) throws {
        let watcher = target.connection.id
        switch op {
        case .exists:
            let request = try ExistsRequest(from: &reader)
            if request.watch { tree.dataWatches.add(request.path, watcher, .standard) }
            guard let node = tree.node(request.path) else { return fail(target, .noNode) }
            succeed(target) { ExistsResponse(stat: node.stat).write(to: &$0) }
        case .getData:
            let request = try GetDataRequest(from: &reader)
            guard let node = tree.node(request.path) else { return fail(target, .noNode) }
            guard allows(Perms.read, node, session) else { return fail(target, .noAuth) }
            if request.watch { tree.dataWatches.add(request.path, watcher, .standard) }
            succeed(target) { GetDataResponse(data: node.data, stat: node.stat).write(to: &$0) }
        case .getChildren, .getChildren2:
            let request = try GetChildrenRequest(from: &reader)
            guard let node = tree.node(request.path) else { return fail(target, .noNode) }
            guard allows(Perms.read, node, session) else { return fail(target, .noAuth) }
            if request.watch { tree.childWatches.add(request.path, watcher, .standard) }
            let children = Array(node.children)
            if op == .getChildren {
                succeed(target) { GetChildrenResponse(paths: children).write(to: &$0) }
            } else {
                succeed(target) { GetChildren2Response(children: children, stat: node.stat).write(to: &$0) }
            }
        case .getACL:
            // READ or ADMIN lets a client see the ACL; without ADMIN digest hashes are hidden.
            let request = try GetACLRequest(from: &reader)
            guard let node = tree.node(request.path) else { return fail(target, .noNode) }
            guard allows(Perms.read | Perms.admin, node, session) else { return fail(target, .noAuth) }
            var acl = tree.acls.acl(for: node.aclID)
            if !allows(Perms.admin, node, session) { acl = aclPolicy.redacted(acl) }
            succeed(target) { GetACLResponse(acl: acl, stat: node.stat).write(to: &$0) }
        case .sync:
            // Standalone: every committed write is already applied here.
            let request = try SyncRequest(from: &reader)
            succeed(target) { SyncResponse(path: request.path).write(to: &$0) }
        case .getEphemerals:
            let prefix = try GetEphemeralsRequest(from: &reader).path
            let all = tree.ephemeralPaths(of: session.id)
            let matching = prefix.isEmpty || prefix == "/" ? Array(all) : all.filter { $0.hasPrefix(prefix) }
            succeed(target) { GetEphemeralsResponse(paths: matching.sorted()).write(to: &$0) }
        case .getAllChildrenNumber:
            let path = try GetAllChildrenNumberRequest(from: &reader).path
            guard let node = tree.node(path) else { return fail(target, .noNode) }
            guard allows(Perms.read, node, session) else { return fail(target, .noAuth) }
            let total = descendantCount(path)
            succeed(target) { GetAllChildrenNumberResponse(totalNumber: Int32(total)).write(to: &$0) }
        case .whoAmI:
            let info = session.authIds.map { id in
                ClientInfo(authScheme: id.scheme, user: authProviders[id.scheme]?.userName(for: id.id) ?? id.id)
            }
            succeed(target) { WhoAmIResponse(clientInfo: info).write(to: &$0) }
        case .addWatch:
            let request = try AddWatchRequest(from: &reader)
            guard let mode = AddWatchMode(rawValue: request.mode) else { return fail(target, .marshallingError) }
            addWatch(request.path, watcher, mode)
            // ZooKeeper's reply body here is an ErrorResponse of 0.
            succeed(target) { ErrorResponse(err: 0).write(to: &$0) }
        case .checkWatches, .removeWatches:
            let request = try WatchesRequest(from: &reader)
            guard let type = WatcherType(rawValue: request.type), type.rawValue <= WatcherType.any.rawValue else {
                return fail(target, .marshallingError)
            }
            let found = watches(request.path, watcher, type, remove: op == .removeWatches)
            found ? succeed(target) { _ in } : fail(target, .noWatcher)
        case .multiRead:
            succeed(target) { w in self.multiRead(&reader, session: session, into: &w) }
        default:
            respond(target, zxid: -1, err: .unimplemented)
        }
    }

    private func allows(_ perms: Int32, _ node: Znode, _ session: Session) -> Bool {
        aclPolicy.allows(perms, tree.acls.acl(for: node.aclID), session: session)
    }

    private func succeed(_ target: ReplyTarget, body: (inout JuteWriter) -> Void) {
        respond(target, zxid: lastZxid, err: .ok, body: body)
    }

    private func fail(_ target: ReplyTarget, _ err: KeeperError) {
        respond(target, zxid: lastZxid, err: err)
    }

    /// getAllChildrenNumber: every node below `path`. For "/" ZooKeeper counts its node map minus
    /// two (the root is stored twice), which includes the system subtree.
    private func descendantCount(_ path: String) -> Int {
        if path == "/" { return tree.nodeCount - 2 }
        let prefix = path + "/"
        return tree.nodes.keys.reduce(0) { $0 + ($1.hasPrefix(prefix) ? 1 : 0) }
    }

    /// A persistent watch lives in both tables (data events and child events on the node); a
    /// recursive one only in the data table, so it never sees NodeChildrenChanged, and it
    /// replaces the connection's persistent watch on that path in both (ZooKeeper 3.8 then sends
    /// no more NodeChildrenChanged for it).
    private func addWatch(_ path: String, _ watcher: WatcherID, _ mode: AddWatchMode) {
        switch mode {
        case .persistent:
            tree.dataWatches.add(path, watcher, .persistent)
            tree.childWatches.add(path, watcher, .persistent)
        case .persistentRecursive:
            tree.dataWatches.add(path, watcher, .persistentRecursive)
            tree.childWatches.remove(path, watcher) { $0 == .persistent }
        }
    }

    /// checkWatches / removeWatches for one connection's watches on one path.
    private func watches(_ path: String, _ watcher: WatcherID, _ type: WatcherType, remove: Bool) -> Bool {
        let inData = type != .children && tree.dataWatches.mode(path, watcher) != nil
        let inChild = type != .data && tree.childWatches.mode(path, watcher) != nil
        if remove {
            if inData { tree.dataWatches.remove(path, watcher) }
            if inChild { tree.childWatches.remove(path, watcher) }
        }
        return inData || inChild
    }

    /// setWatches after a reconnect: events for what changed since the client's last zxid fire
    /// now (before the reply); the rest are re-armed.
    func setWatches(_ target: ReplyTarget, relativeZxid: Int64, data: [String], exist: [String], child: [String],
                    persistent: [String], recursive: [String]) {
        let watcher = target.connection.id
        var events: [WatchNotification] = []
        func fire(_ type: EventType, _ path: String) {
            events.append(WatchNotification(watcher: watcher, type: type, path: path, zxid: -1))
        }
        for path in data {
            if let node = tree.node(path) {
                if node.mzxid > relativeZxid { fire(.nodeDataChanged, path) } else { tree.dataWatches.add(path, watcher, .standard) }
            } else {
                fire(.nodeDeleted, path)
            }
        }
        for path in exist {
            if tree.node(path) != nil { fire(.nodeCreated, path) } else { tree.dataWatches.add(path, watcher, .standard) }
        }
        for path in child {
            if let node = tree.node(path) {
                if node.pzxid > relativeZxid { fire(.nodeChildrenChanged, path) } else { tree.childWatches.add(path, watcher, .standard) }
            } else {
                fire(.nodeDeleted, path)
            }
        }
        for path in persistent { addWatch(path, watcher, .persistent) }
        for path in recursive { addWatch(path, watcher, .persistentRecursive) }
        deliver(events)
        respond(target, zxid: lastZxid, err: .ok)
    }

    /// multiRead: getData and getChildren ops, each answered on its own (a failure does not
    /// stop the others); ZooKeeper ignores their watch flags.
    private func multiRead(_ reader: inout JuteReader, session: Session, into w: inout JuteWriter) {
        while let header = try? MultiHeader(from: &reader), !header.done {
            guard let request = try? PathWatchRequest(from: &reader) else { break }
            let node = tree.node(request.path)
            if let node, !allows(Perms.read, node, session) {
                MultiHeader(type: OpCode.error.rawValue, done: false, err: KeeperError.noAuth.rawValue).write(to: &w)
                ErrorResponse(err: KeeperError.noAuth.rawValue).write(to: &w)
                continue
            }
            switch (OpCode(rawValue: header.type), node) {
            case (.getData, let node?):
                MultiHeader(type: header.type, done: false, err: 0).write(to: &w)
                GetDataResponse(data: node.data, stat: node.stat).write(to: &w)
            case (.getChildren, let node?):
                MultiHeader(type: header.type, done: false, err: 0).write(to: &w)
                GetChildrenResponse(paths: Array(node.children)).write(to: &w)
            case (.getData, nil), (.getChildren, nil):
                MultiHeader(type: OpCode.error.rawValue, done: false, err: KeeperError.noNode.rawValue).write(to: &w)
                ErrorResponse(err: KeeperError.noNode.rawValue).write(to: &w)
            default:
                MultiHeader.end.write(to: &w)
                return
            }
        }
        MultiHeader.end.write(to: &w)
    }
}
