import DataTree
import Jute
import ModuleAPI

extension KernelState {
    /// One frame from a client. The first frame of a connection is its connect request.
    func handleFrame(_ connection: ServerConnection, _ frame: [UInt8]) {
        guard !connection.isClosing else { return }
        connection.received += 1
        stats.packetsReceived += 1
        if let replication, !replication.serving {
            return close(connection, reason: "not serving: the ensemble has no established leader")
        }
        guard let sid = connection.sessionId else { return handleConnect(connection, frame) }
        guard let session = sessions[sid], !session.isClosing else {
            return close(connection, reason: "request on a closed session 0x\(String(sid, radix: 16))")
        }
        var reader = JuteReader(frame)
        guard let header = try? RequestHeader(from: &reader) else {
            return close(connection, reason: "malformed request header")
        }
        sessions.touch(session, nowMs: clock.monotonicMs())
        replication?.touched[sid] = Int32(session.timeoutMs)
        let request = DeferredRequest(connection: connection, header: header, reader: reader, startedMs: clock.monotonicMs())
        if session.mustWait(isWrite: request.isWrite) {
            session.deferred.append(request)
        } else {
            process(request, session)
        }
    }

    /// A session's write committed: run what queued behind it, up to the next read that must wait.
    func writeCommitted(for session: Session) {
        precondition(session.pendingWrites > 0, "a commit for a session with no pending write")
        session.pendingWrites -= 1
        while let next = session.deferred.first, next.isWrite || session.pendingWrites == 0 {
            session.deferred.removeFirst()
            if !next.connection.isClosing && !session.isClosing { process(next, session) }
        }
    }

    private func process(_ request: DeferredRequest, _ session: Session) {
        let header = request.header
        let connection = request.connection
        let target = ReplyTarget(connection: connection, xid: header.xid, op: OpCode(rawValue: header.type) ?? .error,
                                 startedMs: request.startedMs)
        guard let op = OpCode(rawValue: header.type), op != .error, op != .notification else {
            // ZooKeeper's UnimplementedRequestProcessor: answer, then close.
            respond(target, zxid: -1, err: .unimplemented)
            return close(connection, reason: "unknown request type \(header.type)")
        }
        var reader = request.reader
        do {
            try dispatch(op, target, session, &reader)
        } catch {
            close(connection, reason: "malformed \(op) request: \(error)")
        }
    }

    private func dispatch(_ op: OpCode, _ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) throws {
        if let replication, replication.isFollower, op.isWrite || op == .sync {
            return try forward(op, target, session, reader, replication)
        }
        switch op {
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .setACL, .check, .reconfig, .multi:
            write(op, target, session, &reader)
        case .closeSession:
            closeSession(session, cxid: target.xid, reply: target)
        case .ping:
            respond(ReplyTarget(connection: target.connection, xid: ReservedXid.ping, op: .ping, startedMs: target.startedMs),
                    zxid: lastZxid, err: .ok)
        case .auth:
            try authenticate(target, session, &reader)
        case .setWatches:
            let request = try SetWatches(from: &reader)
            setWatches(target, relativeZxid: request.relativeZxid, data: request.dataWatches, exist: request.existWatches,
                       child: request.childWatches, persistent: [], recursive: [])
        case .setWatches2:
            let r = try SetWatches2(from: &reader)
            setWatches(target, relativeZxid: r.relativeZxid, data: r.dataWatches, exist: r.existWatches, child: r.childWatches,
                       persistent: r.persistentWatches, recursive: r.persistentRecursiveWatches)
        default:
            try read(op, target, session, &reader)
        }
    }

    /// A write: prepared into a txn (or an error txn, which still takes a zxid) and proposed.
    private func write(_ op: OpCode, _ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) {
        let (header, txn) = prepareWrite(op, cxid: target.xid, session: session, &reader)
        session.pendingWrites += 1
        propose(header, txn, then: .reply(target, session))
    }

    /// PrepRequestProcessor's step for one request of `session` (a local one, or a learner's
    /// forwarded one on the leader): the txn it becomes, numbered with the next zxid.
    func prepareWrite(_ op: OpCode, cxid: Int32, session: Session, _ reader: inout JuteReader) -> (TxnHeader, Txn) {
        let zxid = numbering.next()
        var preparer = Preparer(tree: tree, pending: PendingChanges(), extendedTypesEnabled: config.extendedTypesEnabled,
                                 acl: aclPolicy, zxid: zxid)
        // The preparer borrows the one copy of the pending changes (a second reference would make
        // each write copy the whole dictionary) and hands it back however preparing ends: a
        // failed op has changed nothing, a failed multi has rolled its changes back.
        swap(&pending, &preparer.pending)
        defer { swap(&pending, &preparer.pending) }
        var header = TxnHeader(clientId: session.id, cxid: cxid, zxid: zxid, time: clock.wallMs(), type: op.rawValue)
        do {
            if op == .multi {
                return (header, .multi(try preparer.prepareMulti(&reader, session: session)))
            }
            let sub = try preparer.prepare(op, &reader, session: session)
            header.type = sub.type
            return (header, sub.txn)
        } catch {
            header.type = OpCode.error.rawValue
            return (header, .error(error.rawValue))
        }
    }

    /// `addauth`: the scheme's module turns the bytes into ids the session keeps. ZooKeeper answers
    /// with zxid 0; an unknown scheme or a refusal is AuthFailed and ends the connection.
    private func authenticate(_ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) throws {
        let packet = try AuthPacket(from: &reader)
        let reply = ReplyTarget(connection: target.connection, xid: ReservedXid.auth, op: .auth, startedMs: target.startedMs)
        let remoteHost = target.connection.connection.remoteHost
        guard let provider = authProviders[packet.scheme],
              let ids = provider.authenticate(packet.auth, remoteHost: remoteHost) else {
            stats.authFailures += 1
            respond(reply, zxid: 0, err: .authFailed)
            return close(target.connection, reason: "authentication failed for scheme \(packet.scheme)")
        }
        for id in aclPolicy.idsAfterAuthentication(scheme: packet.scheme, ids: ids) where !session.authIds.contains(id) {
            session.authIds.append(id)
        }
        respond(reply, zxid: 0, err: .ok)
    }
}
