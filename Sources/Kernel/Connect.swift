import Jute
import ModuleAPI

extension KernelState {
    /// The first frame of a connection: a new session (a createSession transaction) or the
    /// reattachment of an existing one with its password.
    func handleConnect(_ connection: ServerConnection, _ frame: [UInt8]) {
        var reader = JuteReader(frame)
        guard let request = try? ConnectRequest(from: &reader) else {
            return close(connection, reason: "malformed connect request")
        }
        if request.lastZxidSeen > lastZxid {
            return close(connection, reason: "client has seen zxid 0x\(String(request.lastZxidSeen, radix: 16)), "
                + "our last zxid is 0x\(String(lastZxid, radix: 16)); client must try another server")
        }
        let timeout = min(max(Int(request.timeOut), config.effectiveMinSessionTimeout), config.effectiveMaxSessionTimeout)
        let readOnlyReply: Bool? = request.readOnly.map { _ in false }
        if request.sessionId == 0 {
            let session = Session(id: sessions.allocateId(), timeoutMs: timeout)
            sessions.add(session, nowMs: clock.monotonicMs())
            attach(session, to: connection)
            // Requests sent before the connect reply wait for the session to be durable.
            session.pendingWrites += 1
            let after = AfterCommit.connected(connection, session,
                                              connectResponse(timeout: timeout, sessionId: session.id, readOnly: readOnlyReply))
            if let replication, replication.isFollower {
                return forwardCreateSession(session, timeoutMs: timeout, then: after, replication)
            }
            let header = TxnHeader(clientId: session.id, cxid: 0, zxid: numbering.next(), time: clock.wallMs(),
                                   type: OpCode.createSession.rawValue)
            propose(header, .createSession(timeOut: Int32(timeout)), then: after)
            return
        }
        // ZooKeeper drops the session's current connection before it checks the password.
        if let session = sessions[request.sessionId], let previous = session.connection, previous != connection.id,
           let old = connections[previous] {
            close(old, reason: "session 0x\(String(session.id, radix: 16)) reconnecting on another connection")
        }
        guard let session = sessions[request.sessionId], !session.isClosing,
              request.passwd == SessionTable.password(for: request.sessionId) else {
            // ZooKeeper answers an unknown, expired or wrongly-authenticated session with a zero
            // timeout and id, which clients read as "session expired", then closes.
            let reason = sessions[request.sessionId] == nil ? "session expired or unknown" : "invalid session password"
            connection.send(JuteWriter.frame { w in
                ConnectResponse(timeOut: 0, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16), readOnly: readOnlyReply).write(to: &w)
            })
            return close(connection, reason: "\(reason) for 0x\(String(request.sessionId, radix: 16))")
        }
        attach(session, to: connection)
        sessions.touch(session, nowMs: clock.monotonicMs())
        replication?.touched[session.id] = Int32(session.timeoutMs)
        let response = connectResponse(timeout: timeout, sessionId: session.id, readOnly: readOnlyReply)
        connection.send(JuteWriter.frame { response.write(to: &$0) })
    }

    private func attach(_ session: Session, to connection: ServerConnection) {
        session.connection = connection.id
        connection.sessionId = session.id
        // Auth ids belong to the session and survive reconnects; the ip id is always the
        // current connection's address.
        session.authIds.removeAll { $0.scheme == "ip" }
        session.authIds.insert(Id(scheme: "ip", id: connection.connection.remoteHost), at: 0)
    }

    private func connectResponse(timeout: Int, sessionId: Int64, readOnly: Bool?) -> ConnectResponse {
        ConnectResponse(timeOut: Int32(timeout), sessionId: sessionId, passwd: SessionTable.password(for: sessionId), readOnly: readOnly)
    }
}
