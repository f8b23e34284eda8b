import DataTree
import Jute
import ModuleAPI

/// Where a committed transaction's reply goes.
struct ReplyTarget {
    let connection: ServerConnection
    let xid: Int32
    let op: OpCode
    let startedMs: Int64
}

extension KernelState {
    func deliver(_ events: [WatchNotification]) {
        for event in events {
            guard let connection = connections[event.watcher] else { continue }
            // ZooKeeper 3.8 sends notifications with zxid -1, whatever txn fired them.
            connection.send(JuteWriter.frame { w in
                ReplyHeader(xid: ReservedXid.notification, zxid: -1, err: 0).write(to: &w)
                WatcherEvent(type: event.type.rawValue, state: KeeperState.syncConnected.rawValue, path: event.path).write(to: &w)
            })
        }
    }

    /// Sends a reply frame: header, then the body unless the request failed.
    func respond(_ target: ReplyTarget, zxid: Int64, err: KeeperError, body: (inout JuteWriter) -> Void = { _ in }) {
        let connection = target.connection
        let latency = clock.monotonicMs() - target.startedMs
        connection.latency.add(latency)
        stats.latency.add(latency)
        stats.packetsSent += 1
        connection.lastOp = target.op.shortName
        connection.lastCxid = target.xid
        connection.lastZxid = zxid
        connection.lastResponseMs = clock.wallMs()
        connection.send(JuteWriter.frame { w in
            ReplyHeader(xid: target.xid, zxid: zxid, err: err.rawValue).write(to: &w)
            if err == .ok || target.op == .multi || target.op == .multiRead { body(&w) }
        })
    }

    static func writeBody(_ op: OpCode, _ outcome: DataTree.Outcome, txn: Txn, to w: inout JuteWriter) {
        switch outcome {
        case .created(let path, let stat):
            if op == .create { CreateResponse(path: path).write(to: &w) } else { Create2Response(path: path, stat: stat).write(to: &w) }
        case .stat(let stat):
            StatResponse(stat: stat).write(to: &w)
        case .multi(let outcomes):
            guard case .multi(let subs) = txn else { preconditionFailure("a multi outcome comes from a multi txn") }
            writeMultiResults(zip(subs, outcomes).map { ($0.type, $1) }, to: &w)
        case .deleted, .checked, .session, .failed:
            break
        }
    }

    /// MultiResponse: a MultiHeader and body per op, then the end marker.
    static func writeMultiResults(_ results: [(type: Int32, outcome: DataTree.Outcome)], to w: inout JuteWriter) {
        for (type, outcome) in results {
            switch outcome {
            case .failed(let err):
                MultiHeader(type: OpCode.error.rawValue, done: false, err: err.rawValue).write(to: &w)
                ErrorResponse(err: err.rawValue).write(to: &w)
            case .created(let path, let stat):
                // Inside a multi ZooKeeper answers a plain create with the path alone and a
                // container or TTL create as create2 (path and Stat).
                if type == OpCode.create.rawValue {
                    MultiHeader(type: OpCode.create.rawValue, done: false, err: 0).write(to: &w)
                    CreateResponse(path: path).write(to: &w)
                } else {
                    MultiHeader(type: OpCode.create2.rawValue, done: false, err: 0).write(to: &w)
                    Create2Response(path: path, stat: stat).write(to: &w)
                }
            case .deleted:
                MultiHeader(type: OpCode.delete.rawValue, done: false, err: 0).write(to: &w)
            case .stat(let stat):
                MultiHeader(type: OpCode.setData.rawValue, done: false, err: 0).write(to: &w)
                StatResponse(stat: stat).write(to: &w)
            case .checked:
                MultiHeader(type: OpCode.check.rawValue, done: false, err: 0).write(to: &w)
            case .session, .multi:
                preconditionFailure("a multi holds only create, delete, setData and check")
            }
        }
        MultiHeader.end.write(to: &w)
    }

    /// Ends a session through a closeSession transaction (deleting its ephemerals), then closes
    /// its connection. `reply` is the client's closeSession request, if it asked.
    func closeSession(_ session: Session, cxid: Int32, reply: ReplyTarget?) {
        session.isClosing = true
        let header = TxnHeader(clientId: session.id, cxid: cxid, zxid: numbering.next(), time: clock.wallMs(),
                               type: OpCode.closeSession.rawValue)
        propose(header, .closeSession(paths: tree.ephemeralPaths(of: session.id).sorted()), then: .sessionClosed(session, reply))
    }
}
