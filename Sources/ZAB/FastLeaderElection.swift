/// A server's state in the ensemble, numbered as ZooKeeper's QuorumPeer.ServerState on the wire.
public enum PeerState: Int32, Sendable {
    case looking = 0
    case following = 1
    case leading = 2
    case observing = 3
}

/// A vote: who should lead, judged by the candidate's epoch and last logged zxid.
public struct Vote: Equatable, Hashable, Sendable {
    public var leader: Int64
    public var zxid: Int64
    public var peerEpoch: Int64

    public init(leader: Int64, zxid: Int64, peerEpoch: Int64) {
        self.leader = leader
        self.zxid = zxid
        self.peerEpoch = peerEpoch
    }

    /// How ZooKeeper compares the votes of servers already following or leading: the same
    /// leader in the same epoch, whatever zxid each saw when it joined.
    public func sameReign(as other: Vote) -> Bool { leader == other.leader && peerEpoch == other.peerEpoch }

    /// ZooKeeper's totalOrderPredicate: higher epoch, then higher zxid, then higher server id.
    public func beats(_ other: Vote) -> Bool {
        if peerEpoch != other.peerEpoch { return peerEpoch > other.peerEpoch }
        if zxid != other.zxid { return zxid > other.zxid }
        return leader > other.leader
    }
}

/// What one server tells the others during election (FastLeaderElection's notification).
public struct ElectionNotification: Equatable, Sendable {
    public var sender: Int64
    public var state: PeerState
    public var vote: Vote
    public var electionEpoch: Int64

    public init(sender: Int64, state: PeerState, vote: Vote, electionEpoch: Int64) {
        self.sender = sender
        self.state = state
        self.vote = vote
        self.electionEpoch = electionEpoch
    }
}

/// Fast leader election as a pure state machine: notifications and timer expiries in,
/// sends and a decision out. No clocks or sockets: the driver delivers messages and fires the
/// timer it is asked to arm, so the real server and the simulator run the same code.
public struct FastLeaderElection: Sendable {
    public enum Effect: Equatable, Sendable {
        case send(to: Int64, ElectionNotification)
        /// Wait this long for a better vote before deciding (ZooKeeper's finalizeWait).
        case armFinalizeTimer(milliseconds: Int)
        /// Resend our vote if nothing settles within this long (ZooKeeper's notification
        /// timeout, doubled up to maxNotificationInterval by the driver).
        case armResendTimer(milliseconds: Int)
        case decided(Vote, PeerState)
    }

    public let myId: Int64
    public let voters: Set<Int64>
    /// How long a quorum-backed proposal waits for a better vote before it is final.
    public let finalizeWaitMs: Int
    /// ZooKeeper's initial notification timeout.
    public static let resendIntervalMs = 200
    public private(set) var electionEpoch: Int64 = 0
    public private(set) var proposal: Vote
    /// This server's own candidacy: its id, last logged zxid and current epoch.
    public let ownVote: Vote
    public private(set) var state: PeerState = .looking
    private var received: [Int64: Vote] = [:]
    /// Votes of servers already following or leading, by sender.
    private var outOfElection: [Int64: ElectionNotification] = [:]
    private var finalizing = false

    /// A server outside `voters` (an observer) takes part only to learn the leader: its own
    /// vote names nobody (ZooKeeper's Long.MIN_VALUE), so it adopts whatever the voters settle on.
    public init(myId: Int64, voters: Set<Int64>, lastZxid: Int64, currentEpoch: Int64, finalizeWaitMs: Int = 200) {
        self.myId = myId
        self.voters = voters
        self.finalizeWaitMs = finalizeWaitMs
        ownVote = Vote(leader: voters.contains(myId) ? myId : Int64.min, zxid: lastZxid, peerEpoch: currentEpoch)
        proposal = ownVote
    }

    private var quorumSize: Int { voters.count / 2 + 1 }

    private var myNotification: ElectionNotification {
        ElectionNotification(sender: myId, state: state, vote: proposal, electionEpoch: electionEpoch)
    }

    private func broadcast() -> [Effect] {
        voters.sorted().filter { $0 != myId }.map { .send(to: $0, myNotification) }
    }

    /// Starts a round: a new election epoch, a vote for ourselves, sent to every voter.
    public mutating func start() -> [Effect] {
        electionEpoch += 1
        state = .looking
        proposal = ownVote
        received = [myId: proposal]
        outOfElection = [:]
        finalizing = false
        if voters == [myId] { return decide(proposal) }
        return broadcast() + [.armResendTimer(milliseconds: Self.resendIntervalMs)]
    }

    /// Nothing settled the election in time: say our vote again, so servers that missed it (or
    /// settled meanwhile and will answer with their leader) hear from us.
    public mutating func resendTimerFired() -> [Effect] {
        guard state == .looking else { return [] }
        return broadcast() + [.armResendTimer(milliseconds: Self.resendIntervalMs)]
    }

    /// A notification from another server.
    public mutating func receive(_ n: ElectionNotification) -> [Effect] {
        guard n.sender != myId else { return [] }
        guard voters.contains(n.sender) else {
            // An observer looking for the leader: tell it what we know (ZooKeeper answers
            // non-voters with its current vote and state, and counts nothing of theirs).
            return n.state == .looking ? [.send(to: n.sender, myNotification)] : []
        }
        guard state == .looking else {
            // Settled servers answer the ones still looking, so they learn the leader.
            return n.state == .looking ? [.send(to: n.sender, myNotification)] : []
        }
        switch n.state {
        case .looking:
            return receiveLooking(n)
        case .following, .leading:
            return receiveSettled(n)
        case .observing:
            return []
        }
    }

    private mutating func receiveLooking(_ n: ElectionNotification) -> [Effect] {
        var effects: [Effect] = []
        if n.electionEpoch > electionEpoch {
            // A newer round: start over from our own candidacy against the sender's vote.
            electionEpoch = n.electionEpoch
            proposal = n.vote.beats(ownVote) ? n.vote : ownVote
            received = [myId: proposal]
            finalizing = false
            effects += broadcast()
        } else if n.electionEpoch < electionEpoch {
            // A straggler from an older round: tell it where we are.
            return [.send(to: n.sender, myNotification)]
        } else if n.vote.beats(proposal) {
            proposal = n.vote
            received[myId] = proposal
            effects += broadcast()
        }
        received[n.sender] = n.vote
        if backedByQuorum(proposal, in: received) && !finalizing {
            finalizing = true
            effects.append(.armFinalizeTimer(milliseconds: finalizeWaitMs))
        }
        return effects
    }

    /// The finalize wait passed without a better vote (a better one would have re-broadcast and
    /// the driver re-arms): the quorum-backed proposal stands.
    public mutating func finalizeTimerFired() -> [Effect] {
        guard state == .looking, finalizing else { return [] }
        finalizing = false
        guard backedByQuorum(proposal, in: received) else { return [] }
        return decide(proposal)
    }

    /// A server already following or leading: join its leader once a quorum vouches for it and
    /// the leader itself says it leads (ZooKeeper's checkLeader).
    private mutating func receiveSettled(_ n: ElectionNotification) -> [Effect] {
        if n.electionEpoch == electionEpoch {
            received[n.sender] = n.vote
            if backedByQuorum(n.vote, in: received, matching: { $0.sameReign(as: $1) }) && leaderConfirmed(n.vote) {
                return decide(n.vote)
            }
        }
        outOfElection[n.sender] = n
        let settledVotes = outOfElection.mapValues(\.vote)
        if backedByQuorum(n.vote, in: settledVotes, matching: { $0.sameReign(as: $1) }) && leaderConfirmed(n.vote) {
            electionEpoch = n.electionEpoch
            return decide(n.vote)
        }
        return []
    }

    private func backedByQuorum(_ vote: Vote, in votes: [Int64: Vote], matching: (Vote, Vote) -> Bool = { $0 == $1 }) -> Bool {
        votes.filter { voters.contains($0.key) && matching($0.value, vote) }.count >= quorumSize
    }

    /// The settled server joined `epoch`: the vote it shows others carries it.
    public mutating func adoptEpoch(_ epoch: Int64) {
        guard state != .looking else { return }
        proposal.peerEpoch = epoch
    }

    private func leaderConfirmed(_ vote: Vote) -> Bool {
        vote.leader == myId || outOfElection[vote.leader]?.state == .leading
    }

    private mutating func decide(_ vote: Vote) -> [Effect] {
        proposal = vote
        state = !voters.contains(myId) ? .observing : vote.leader == myId ? .leading : .following
        finalizing = false
        return [.decided(vote, state)]
    }
}
