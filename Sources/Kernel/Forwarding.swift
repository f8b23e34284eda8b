import Jute
import ModuleAPI
import ZAB

/// Requests that cross the quorum port: a follower forwards its clients' writes, closes,
/// session creations and syncs to the leader (REQUEST), and answers them when the txn commits
/// here; the leader prepares forwarded requests as its own.
extension KernelState {
    /// Follower: a client write or sync goes to the leader; the session's later reads wait
    /// for its commit (or the leader's SYNC), exactly as they wait for local writes.
    func forward(_ op: OpCode, _ target: ReplyTarget, _ session: Session, _ reader: JuteReader,
                 _ replication: Replication) throws {
        let body = Array(reader.bytes[reader.offset...])
        switch op {
        case .sync:
            var copy = reader
            let path = try SyncRequest(from: &copy).path
            replication.pendingSyncs.append((session, target, path))
            session.pendingWrites += 1
        case .closeSession:
            session.isClosing = true
            replication.forwarded[session.id, default: []].append((target.xid, .sessionClosed(session, target)))
        default:
            replication.forwarded[session.id, default: []].append((target.xid, .reply(target, session)))
            session.pendingWrites += 1
        }
        sendRequest(session: session, cxid: target.xid, op: op, body: body, replication)
    }

    /// Follower: a new session becomes a createSession txn at the leader; the connect reply
    /// waits for its commit here.
    func forwardCreateSession(_ session: Session, timeoutMs: Int, then after: AfterCommit, _ replication: Replication) {
        replication.forwarded[session.id, default: []].append((0, after))
        var w = JuteWriter(capacity: 4)
        w.writeInt32(Int32(timeoutMs))
        sendRequest(session: session, cxid: 0, op: .createSession, body: w.bytes, replication)
    }

    /// Follower: a session expired at the leader's say-so is closed through the leader too.
    private func sendRequest(session: Session, cxid: Int32, op: OpCode, body: [UInt8], _ replication: Replication) {
        guard let leader = replication.peer.leaderId else { return }
        // ZooKeeper's Request layout: session id, cxid, type, then the request body; the
        // client's auth ids ride along so the leader checks ACLs as this server would.
        var w = JuteWriter(capacity: 16 + body.count)
        w.writeInt64(session.id)
        w.writeInt32(cxid)
        w.writeInt32(op.rawValue)
        w.writeRaw(body)
        replication.quorum.send(QuorumPacket(type: QuorumPacketType.request, zxid: -1, data: w.bytes, authInfo: session.authIds),
                                to: leader)
    }

    /// Leader: a learner's client request, prepared and proposed like a local one. The learner
    /// answers its client when the txn commits there.
    func handleForwardedRequest(from learner: Int64, _ packet: QuorumPacket) {
        guard let data = packet.data else { return }
        var reader = JuteReader(data)
        guard let sessionId = try? reader.readInt64(), let cxid = try? reader.readInt32(), let type = try? reader.readInt32(),
              let op = OpCode(rawValue: type) else {
            logger.warning("malformed REQUEST from learner \(learner)")
            return
        }
        switch op {
        case .sync:
            // Everything committed so far has gone to the learner ahead of this, on one FIFO link.
            replication?.quorum.send(QuorumPacket(type: QuorumPacketType.sync, zxid: lastZxid), to: learner)
        case .createSession:
            guard let timeout = try? reader.readInt32() else { return }
            if sessions[sessionId] == nil {
                sessions.add(Session(id: sessionId, timeoutMs: Int(timeout)), nowMs: clock.monotonicMs())
            }
            let header = TxnHeader(clientId: sessionId, cxid: cxid, zxid: numbering.next(), time: clock.wallMs(),
                                   type: OpCode.createSession.rawValue)
            propose(header, .createSession(timeOut: timeout), then: .nothing)
        case .closeSession:
            if let session = sessions[sessionId], !session.isClosing {
                closeSession(session, cxid: cxid, reply: nil)
            } else {
                // Already closing or gone: still commit a close the learner can answer with.
                let header = TxnHeader(clientId: sessionId, cxid: cxid, zxid: numbering.next(), time: clock.wallMs(),
                                       type: OpCode.closeSession.rawValue)
                propose(header, .closeSession(paths: []), then: .nothing)
            }
        default:
            guard let known = sessions[sessionId] else {
                let header = TxnHeader(clientId: sessionId, cxid: cxid, zxid: numbering.next(), time: clock.wallMs(),
                                       type: OpCode.error.rawValue)
                return propose(header, .error(KeeperError.sessionExpired.rawValue), then: .nothing)
            }
            // The request is checked with the ids of the learner's connection, not ours.
            let requester = Session(id: known.id, timeoutMs: known.timeoutMs)
            requester.authIds = packet.authInfo ?? []
            let (header, txn) = prepareWrite(op, cxid: cxid, session: requester, &reader)
            propose(header, txn, then: .nothing)
        }
    }
}
