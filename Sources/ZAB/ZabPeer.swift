import Jute

/// ZooKeeper's atomic broadcast for one server, as a pure state machine: `step` takes an input
/// and returns the effects the driver carries out in order. It elects (FastLeaderElection),
/// then leads (discovery, sync, broadcast) or follows. No clocks, sockets, files or threads:
/// the real server and the simulator run this same code.
///
/// Invariants (asserted where they could break): lastCommitted <= lastLogged; `uncommitted`
/// holds exactly the logged txns after lastCommitted, in zxid order; commits leave in zxid order.
public struct ZabPeer: Sendable {
    public let settings: ZabSettings
    public internal(set) var acceptedEpoch: Int64
    public internal(set) var currentEpoch: Int64
    /// The last txn handed to the log (or, during a SNAP sync, received).
    public internal(set) var lastLogged: Int64
    /// The last txn applied to the tree.
    public internal(set) var lastCommitted: Int64
    public internal(set) var state: PeerState = .looking
    public internal(set) var leaderId: Int64?
    /// Recent committed txns, oldest first, for DIFF.
    var committedLog: [LoggedTxn]
    /// Logged (or, in a SNAP sync, buffered) but not committed, oldest first.
    var uncommitted: [LoggedTxn] = []
    var lastDurable: Int64
    var ticks = 0
    var election: FastLeaderElection?
    var electionResendMs = FastLeaderElection.resendIntervalMs
    var leader: LeaderState?
    var follower: FollowerState?
    /// FOLLOWERINFOs that arrived before this server knew it leads.
    var earlyLearners: [Int64: QuorumPacket] = [:]

    /// ZooKeeper's maxNotificationInterval: the election resend backoff stops doubling here.
    static let electionResendMaxMs = 60_000
    /// Voters never write to an observer first, so a looking observer only learns of voters
    /// that came back when it asks again: it keeps asking every few seconds at most. (Its
    /// notifications cost voters one reply each; they never start an election.)
    static let observerResendMaxMs = 2_000

    /// `history` is the tail of what the tree already holds (all of it counts as committed once
    /// this server leads), oldest first.
    public init(settings: ZabSettings, acceptedEpoch: Int64, currentEpoch: Int64, lastZxid: Int64, history: [LoggedTxn]) {
        precondition(history.last.map { $0.zxid == lastZxid } ?? true, "history ends at the last zxid")
        self.settings = settings
        self.acceptedEpoch = acceptedEpoch
        self.currentEpoch = currentEpoch
        lastLogged = lastZxid
        lastCommitted = lastZxid
        lastDurable = lastZxid
        committedLog = Array(history.suffix(settings.committedLogMax))
    }

    var myId: Int64 { settings.myId }

    public mutating func step(_ input: ZabInput) -> [ZabEffect] {
        switch input {
        case .start:
            return [.roleChanged(.looking, leader: nil)] + lookForLeader()
        case .tick:
            ticks += 1
            if leader != nil { return leaderTick() }
            if follower != nil { return followerTick() }
            return []
        case .timerFired(let timer):
            return electionTimerFired(timer)
        case .election(let notification):
            return receiveElection(notification)
        case .connectedToLeader(let id):
            return connectedToLeader(id)
        case .packet(let from, let packet):
            if leader != nil { return leaderReceive(from, packet) }
            if follower != nil, from == follower?.leaderId { return followerReceive(packet) }
            if state == .looking, packet.type == QuorumPacketType.followerInfo || packet.type == QuorumPacketType.observerInfo {
                earlyLearners[from] = packet
                return []
            }
            return [.disconnect(from)]
        case .disconnected(let peer):
            earlyLearners[peer] = nil
            if leader != nil { return learnerGone(peer) }
            if let follower, follower.leaderId == peer { return stepDown(reason: "lost the leader") }
            return []
        case .durable(let zxid):
            lastDurable = max(lastDurable, zxid)
            if leader != nil { return leaderDurable() }
            if follower != nil { return followerDurable() }
            return []
        case .propose(let txn):
            return leaderPropose(txn)
        case .reloaded(let zxid):
            return follower != nil ? reloaded(through: zxid) : []
        }
    }

    // MARK: Election

    private mutating func lookForLeader() -> [ZabEffect] {
        state = .looking
        leaderId = nil
        var fle = FastLeaderElection(myId: myId, voters: settings.voters, lastZxid: lastLogged, currentEpoch: currentEpoch)
        electionResendMs = FastLeaderElection.resendIntervalMs
        let effects = fle.start()
        election = fle
        return electionEffects(effects)
    }

    private mutating func receiveElection(_ notification: ElectionNotification) -> [ZabEffect] {
        guard var fle = election else {
            // Settled without an election object (cannot happen after start); ignore.
            return []
        }
        // Settled servers answer those still looking with their current vote.
        let effects = fle.receive(notification)
        election = fle
        return electionEffects(effects)
    }

    private mutating func electionTimerFired(_ timer: ZabTimer) -> [ZabEffect] {
        guard var fle = election, state == .looking else { return [] }
        let effects: [FastLeaderElection.Effect]
        switch timer {
        case .electionFinalize:
            effects = fle.finalizeTimerFired()
        case .electionResend:
            electionResendMs = min(electionResendMs * 2, settings.isObserver ? Self.observerResendMaxMs : Self.electionResendMaxMs)
            effects = fle.resendTimerFired()
        }
        election = fle
        return electionEffects(effects)
    }

    private mutating func electionEffects(_ effects: [FastLeaderElection.Effect]) -> [ZabEffect] {
        var out: [ZabEffect] = []
        for effect in effects {
            switch effect {
            case .send(let to, let notification):
                out.append(.sendElection(to: to, notification))
            case .armFinalizeTimer(let ms):
                out.append(.armTimer(.electionFinalize, milliseconds: ms))
            case .armResendTimer:
                out.append(.armTimer(.electionResend, milliseconds: electionResendMs))
            case .decided(let vote, let decided):
                leaderId = vote.leader
                out += decided == .leading ? becomeLeader() : becomeFollower(of: vote.leader, observing: decided == .observing)
            }
        }
        return out
    }

    /// Leaves leading or following: the txns this server logged but never saw committed are
    /// applied anyway (ZooKeeper's fastForwardDataBase), so its vote and its tree agree with its
    /// log; the next leader keeps or truncates them.
    mutating func stepDown(reason: String) -> [ZabEffect] {
        // The kernel hears first, so it drops pending replies before the fast-forward commits:
        // those txns were never acknowledged by a quorum and no client may be told otherwise.
        var effects: [ZabEffect] = [.log("leaving \(state): \(reason)"), .roleChanged(.looking, leader: nil)]
        if let leader {
            effects += leader.learners.keys.sorted().map { .disconnect($0) }
        }
        if let follower { effects.append(.disconnect(follower.leaderId)) }
        for txn in uncommitted {
            effects.append(.commit(txn))
            recordCommitted(txn)
        }
        uncommitted.removeAll()
        assert(lastCommitted == lastLogged, "fast-forward applies everything logged")
        leader = nil
        follower = nil
        return effects + lookForLeader()
    }

    // MARK: Shared bookkeeping

    /// This server now belongs to `epoch`: the file first, then the vote it shows servers still
    /// looking (ZooKeeper's updateElectionVote), so every server of one leader shows one vote.
    mutating func adoptCurrentEpoch(_ epoch: Int64) -> [ZabEffect] {
        currentEpoch = epoch
        election?.adoptEpoch(epoch)
        return [.persistCurrentEpoch(epoch)]
    }

    mutating func recordCommitted(_ txn: LoggedTxn) {
        assert(txn.zxid > lastCommitted, "commits in zxid order")
        lastCommitted = txn.zxid
        committedLog.append(txn)
        if committedLog.count > settings.committedLogMax * 2 {
            committedLog.removeFirst(committedLog.count - settings.committedLogMax)
        }
    }

    /// The committed txns DIFF may send: the newest committedLogMax.
    var diffableHistory: ArraySlice<LoggedTxn> { committedLog.suffix(settings.committedLogMax) }

    static func epochZxid(_ epoch: Int64) -> Int64 { epoch << 32 }

    static func int32Data(_ value: Int32) -> [UInt8] {
        var w = JuteWriter(capacity: 4)
        w.writeInt32(value)
        return w.bytes
    }

    static func readInt32(_ data: [UInt8]?) -> Int32? {
        guard let data, data.count >= 4 else { return nil }
        var r = JuteReader(data)
        return try? r.readInt32()
    }
}
