import DataTree
import Jute
import ModuleAPI

extension KernelState {
    /// One frame from a client. The first frame of a connection is its connect request.
    func handleFrame(_ connection: ServerConnection, _ frame: [UInt8]) {
        guard !connection.isClosing else { return }
        connection.received += 1
        stats.packetsReceived += 1
        guard let sid = connection.sessionId else { return handleConnect(connection, frame) }
        guard let session = sessions[sid], !session.isClosing else {
            return close(connection, reason: "request on a closed session 0x\(String(sid, radix: 16))")
        }
        var reader = JuteReader(frame)
        guard let header = try? RequestHeader(from: &reader) else {
            return close(connection, reason: "malformed request header")
        }
        sessions.touch(session, nowMs: clock.monotonicMs())
        let target = ReplyTarget(connection: connection, xid: header.xid, op: OpCode(rawValue: header.type) ?? .error,
                                 startedMs: clock.monotonicMs())
        guard let op = OpCode(rawValue: header.type), op != .error, op != .notification else {
            // ZooKeeper's UnimplementedRequestProcessor: answer, then close.
            respond(target, zxid: -1, err: .unimplemented)
            return close(connection, reason: "unknown request type \(header.type)")
        }
        do {
            try dispatch(op, target, session, &reader)
        } catch {
            close(connection, reason: "malformed \(op) request: \(error)")
        }
    }

    private func dispatch(_ op: OpCode, _ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) throws {
        switch op {
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .setACL, .check, .reconfig:
            write(op, target, session, &reader)
        case .multi:
            writeMulti(target, session, &reader)
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

    /// A single write: prepared into a txn (or an error txn, which still takes a zxid) and committed.
    private func write(_ op: OpCode, _ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) {
        let zxid = numbering.next()
        var preparer = Preparer(tree: tree, pending: pending, extendedTypesEnabled: config.extendedTypesEnabled,
                                 authProviders: authProviders, zxid: zxid)
        let sub: SubTxn
        do {
            sub = try preparer.prepare(op, &reader, session: session)
            pending = preparer.pending
        } catch {
            sub = SubTxn(type: OpCode.error.rawValue, txn: .error(error.rawValue))
        }
        let header = TxnHeader(clientId: session.id, cxid: target.xid, zxid: zxid, time: clock.wallMs(), type: sub.type)
        commit(header, sub.txn, reply: target)
    }

    private func writeMulti(_ target: ReplyTarget, _ session: Session, _ reader: inout JuteReader) {
        let zxid = numbering.next()
        var preparer = Preparer(tree: tree, pending: pending, extendedTypesEnabled: config.extendedTypesEnabled,
                                 authProviders: authProviders, zxid: zxid)
        let header = TxnHeader(clientId: session.id, cxid: target.xid, zxid: zxid, time: clock.wallMs(), type: OpCode.multi.rawValue)
        do {
            let subs = try preparer.prepareMulti(&reader, session: session)
            pending = preparer.pending
            commit(header, .multi(subs), reply: target)
        } catch {
            var errorHeader = header
            errorHeader.type = OpCode.error.rawValue
            commit(errorHeader, .error(error.rawValue), reply: target)
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
        for id in ids.map({ Id(scheme: packet.scheme, id: $0) }) where !session.authIds.contains(id) {
            session.authIds.append(id)
        }
        respond(reply, zxid: 0, err: .ok)
    }
}
