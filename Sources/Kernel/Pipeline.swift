import DataTree
import Jute
import ModuleAPI
import ZAB
import Storage

/// Where proposals go to become durable. The log reports back through `durable(through:)` on
/// the executor, in zxid order.
protocol ProposalLog: AnyObject {
    func append(_ header: TxnHeader, _ txn: Txn)
    /// The next txn starts a new log file (after a snapshot).
    func roll()
    /// Drops every logged txn after `zxid` (a follower's TRUNC); the next append starts a file.
    func truncate(after zxid: Int64, in dataDirectory: DataDirectory) throws
}

extension TxnLog: ProposalLog {}

/// What to do once a transaction commits.
enum AfterCommit {
    /// Reply to the client request that proposed it.
    case reply(ReplyTarget, Session)
    /// A new session is durable: answer its connect request.
    case connected(ServerConnection, Session, ConnectResponse)
    /// A session is closed (by its client, with a reply, or by expiry).
    case sessionClosed(Session, ReplyTarget?)
    case nothing
}

struct Proposal {
    let header: TxnHeader
    let txn: Txn
    let after: AfterCommit
}

/// Proposals logged but not yet durable, oldest first. Commits pop from the front.
struct ProposalQueue {
    private var items: [Proposal] = []
    private var head = 0

    var count: Int { items.count - head }

    mutating func append(_ proposal: Proposal) {
        precondition(items.last.map { $0.header.zxid < proposal.header.zxid } ?? true, "proposals in zxid order")
        items.append(proposal)
    }

    mutating func popFirst(through zxid: Int64) -> Proposal? {
        guard head < items.count, items[head].header.zxid <= zxid else { return nil }
        defer {
            head += 1
            if head == items.count || head > 4096 {
                items.removeFirst(head)
                head = 0
            }
        }
        return items[head]
    }
}

extension KernelState {
    /// Standalone is an ensemble of one: a proposal commits once the leader's own log has it on
    /// disk. In an ensemble the ZAB engine numbers nothing but takes the proposal to a quorum
    /// first. Every txn takes this path, failed writes included.
    func propose(_ header: TxnHeader, _ txn: Txn, then after: AfterCommit) {
        proposals.append(Proposal(header: header, txn: txn, after: after))
        if replication != nil {
            // The engine's persist effect appends it to the log (and counts it for snapshots).
            return step(.propose(LoggedTxn(header: header, txn: txn)))
        }
        acks.proposed(header.zxid)
        log.append(header, txn)
        if snapshotPolicy.txnLogged() {
            log.roll()
            startSnapshot()
        }
    }

    /// The log has every txn up to `zxid` on disk: that is this server's ACK; commit what a
    /// quorum now holds, in order.
    func durable(through zxid: Int64) {
        if replication != nil { return step(.durable(through: zxid)) }
        guard let committed = acks.acked(by: Self.standaloneServerId, through: zxid).last else { return }
        while let proposal = proposals.popFirst(through: committed) {
            commit(proposal)
        }
    }

    /// Applies a committed transaction: the tree changes, watch events go out first, then the
    /// reply, so a client sees an event before any reply that reflects the change.
    func commit(_ proposal: Proposal) {
        let header = proposal.header
        var events: [WatchNotification] = []
        let outcome = tree.apply(header, proposal.txn, events: &events)
        pending.committed(through: header.zxid)
        deliver(events)
        finish(proposal.after, header, proposal.txn, outcome)
        if replication != nil { trackSession(header, proposal.txn) }
    }

    /// What a committed txn owes its client.
    func finish(_ after: AfterCommit, _ header: TxnHeader, _ txn: Txn, _ outcome: DataTree.Outcome) {
        switch after {
        case .reply(let target, let session):
            let err: KeeperError
            if case .failed(let code) = outcome { err = code } else { err = .ok }
            respond(target, zxid: header.zxid, err: err) { w in
                Self.writeBody(target.op, outcome, txn: txn, to: &w)
            }
            writeCommitted(for: session)
        case .connected(let connection, let session, let response):
            connection.send(JuteWriter.frame { response.write(to: &$0) })
            writeCommitted(for: session)
        case .sessionClosed(let session, let target):
            if let target { respond(target, zxid: header.zxid, err: .ok) }
            sessions.remove(session.id)
            if let id = session.connection, let connection = connections[id] {
                close(connection, reason: "session 0x\(String(session.id, radix: 16)) closed")
            }
        case .nothing:
            break
        }
    }
}
