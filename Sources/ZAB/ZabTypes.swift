import Jute

/// Quorum packet types, numbered as ZooKeeper 3.8's Leader class so Paddock and ZooKeeper
/// servers can later share an ensemble.
public enum QuorumPacketType {
    public static let request: Int32 = 1
    public static let proposal: Int32 = 2
    public static let ack: Int32 = 3
    public static let commit: Int32 = 4
    public static let ping: Int32 = 5
    public static let revalidate: Int32 = 6
    public static let sync: Int32 = 7
    public static let inform: Int32 = 8
    public static let newLeader: Int32 = 10
    public static let followerInfo: Int32 = 11
    public static let upToDate: Int32 = 12
    public static let diff: Int32 = 13
    public static let trunc: Int32 = 14
    public static let snap: Int32 = 15
    public static let observerInfo: Int32 = 16
    public static let leaderInfo: Int32 = 17
    public static let ackEpoch: Int32 = 18
}

/// What the engine needs to know about the ensemble and its limits.
public struct ZabSettings: Sendable {
    public var myId: Int64
    /// Servers that vote and count toward the write quorum.
    public var voters: Set<Int64>
    /// Servers that follow without voting (ZooKeeper's observers): they get committed txns as
    /// INFORM and never count toward any quorum.
    public var observers: Set<Int64>
    /// ZooKeeper's initLimit and syncLimit, in ticks: how long discovery and sync may take, and
    /// how long a peer may stay silent afterwards.
    public var initLimitTicks: Int
    public var syncLimitTicks: Int
    /// Committed txns the leader keeps in memory to bring learners up to date by DIFF; a learner
    /// further behind gets a SNAP (ZooKeeper's zookeeper.commitLogCount).
    public var committedLogMax: Int
    /// The ensemble as NEWLEADER carries it (ZooKeeper sends its quorum config text there).
    public var configText: [UInt8]

    public init(myId: Int64, voters: Set<Int64>, observers: Set<Int64> = [], initLimitTicks: Int, syncLimitTicks: Int,
                committedLogMax: Int = 500, configText: [UInt8] = []) {
        precondition(voters.contains(myId) != observers.contains(myId), "this server is a voter or an observer")
        precondition(voters.isDisjoint(with: observers))
        precondition(initLimitTicks > 0 && syncLimitTicks > 0 && committedLogMax > 0)
        self.myId = myId
        self.voters = voters
        self.observers = observers
        self.initLimitTicks = initLimitTicks
        self.syncLimitTicks = syncLimitTicks
        self.committedLogMax = committedLogMax
        self.configText = configText
    }

    var quorumSize: Int { voters.count / 2 + 1 }
    var isObserver: Bool { observers.contains(myId) }
}

/// A transaction as the engine carries it: ZooKeeper's TxnHeader and body. A PROPOSAL's data is
/// the two encoded back to back, as in ZooKeeper.
public struct LoggedTxn: Equatable, Sendable {
    public var header: TxnHeader
    public var txn: Txn

    public init(header: TxnHeader, txn: Txn) {
        self.header = header
        self.txn = txn
    }

    public var zxid: Int64 { header.zxid }

    func encoded() -> [UInt8] {
        var w = JuteWriter(capacity: 128)
        header.write(to: &w)
        txn.write(to: &w)
        return w.bytes
    }

    init(decoding data: [UInt8]) throws {
        var r = JuteReader(data)
        header = try TxnHeader(from: &r)
        txn = try Txn(type: header.type, from: &r)
    }
}

/// The timers the engine asks its driver for; arming one replaces its pending expiry.
public enum ZabTimer: Hashable, Sendable {
    case electionFinalize
    case electionResend
}

/// Everything that can happen to a server, as input to `ZabPeer.step`.
public enum ZabInput: Sendable {
    /// Start-up: begin the first election.
    case start
    /// One tick of tickTime passed.
    case tick
    case timerFired(ZabTimer)
    case election(ElectionNotification)
    /// The learner's connection to the leader's quorum port is open.
    case connectedToLeader(Int64)
    /// A quorum packet from a peer (a learner's id is the one its FOLLOWERINFO named).
    case packet(from: Int64, QuorumPacket)
    /// The quorum connection to or from this peer is gone.
    case disconnected(Int64)
    /// The log has every txn up to this zxid on disk.
    case durable(through: Int64)
    /// The leader's kernel proposes a txn (numbered by the kernel within `servingEpoch`).
    case propose(LoggedTxn)
    /// The driver carried out `.reloadFromDisk`; the tree now ends at this zxid.
    case reloaded(lastZxid: Int64)
}

/// What the driver must do, in order. Persist effects come before the sends that depend on
/// them ("persist before ACK"): a driver executes the list front to back.
public enum ZabEffect: Equatable, Sendable {
    case sendElection(to: Int64, ElectionNotification)
    case armTimer(ZabTimer, milliseconds: Int)
    /// Open (and keep retrying) a quorum connection to this leader.
    case connectToLeader(Int64)
    case send(to: Int64, QuorumPacket)
    /// Write the SNAP stream of the current tree to this learner (right after a SNAP packet).
    case sendSnapshot(to: Int64)
    case disconnect(Int64)
    /// Append to the txn log; `durable(through:)` reports it back.
    case persist(LoggedTxn)
    /// Drop every logged txn after this zxid (TRUNC, or before installing a leader's snapshot).
    case truncateLog(after: Int64)
    /// Rebuild the tree from the data dir (after a truncation made it hold less), then report
    /// `.reloaded(lastZxid:)`.
    case reloadFromDisk
    /// Write the tree as a snapshot before acknowledging NEWLEADER (after a SNAP sync).
    case takeSnapshot
    case persistAcceptedEpoch(Int64)
    case persistCurrentEpoch(Int64)
    /// Apply this txn to the tree; commits come in zxid order.
    case commit(LoggedTxn)
    case roleChanged(PeerState, leader: Int64?)
    /// The server may serve clients in this epoch (the leader numbers proposals in it).
    case serving(epoch: Int64)
    /// A packet for the kernel rather than the protocol: REQUEST and learner PINGs (session
    /// touches) on the leader, PING and SYNC on a learner.
    case toKernel(from: Int64, QuorumPacket)
    /// Something an operator should read in the server log (why a role ended, for instance).
    case log(String)
}
