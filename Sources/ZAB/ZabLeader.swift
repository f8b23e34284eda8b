import Jute

/// One learner as the leader tracks it, from FOLLOWERINFO to UPTODATE.
struct LearnerRecord: Sendable {
    enum Phase: Sendable {
        /// FOLLOWERINFO arrived; LEADERINFO waits for the new epoch.
        case discovery
        case awaitingEpochAck
        /// ACKEPOCH arrived; the sync waits for a quorum of them.
        case epochAcked
        case awaitingNewLeaderAck
        /// NEWLEADER acknowledged; UPTODATE waits for the leader to be established.
        case synced
        case upToDate
    }

    var phase = Phase.discovery
    var lastHeardTick: Int
    var lastZxid: Int64 = -1
    /// Whether new PROPOSALs and COMMITs go to it (from the moment its sync is queued).
    var forwarding = false
}

/// A leader's progress: discovery (a quorum's accepted epochs fix the new one), sync (a quorum
/// acknowledges NEWLEADER), then broadcast.
struct LeaderState: Sendable {
    enum Phase: Sendable {
        case discovery
        case awaitingEpochAcks
        case awaitingNewLeaderAcks
        case broadcast
    }

    var phase = Phase.discovery
    let startTick: Int
    var newEpoch: Int64 = -1
    var learners: [Int64: LearnerRecord] = [:]
    var acceptedEpochs: [Int64: Int64] = [:]
    var epochAcks: Set<Int64> = []
    var newLeaderAcks: Set<Int64> = []
    var acks: QuorumAckTracker?
}

extension ZabPeer {
    mutating func becomeLeader() -> [ZabEffect] {
        state = .leading
        var l = LeaderState(startTick: ticks)
        l.acceptedEpochs[myId] = acceptedEpoch
        leader = l
        var effects: [ZabEffect] = [.roleChanged(.leading, leader: myId)]
        let early = earlyLearners
        earlyLearners = [:]
        for (sid, packet) in early.sorted(by: { $0.key < $1.key }) { effects += learnerJoined(sid, packet) }
        return effects + checkEpochQuorum()
    }

    mutating func leaderReceive(_ from: Int64, _ packet: QuorumPacket) -> [ZabEffect] {
        if packet.type == QuorumPacketType.followerInfo || packet.type == QuorumPacketType.observerInfo {
            return learnerJoined(from, packet)
        }
        guard var record = leader?.learners[from] else { return [.disconnect(from)] }
        record.lastHeardTick = ticks
        leader?.learners[from] = record
        switch packet.type {
        case QuorumPacketType.ackEpoch:
            return ackEpoch(from, packet)
        case QuorumPacketType.ack:
            return ack(from, packet.zxid)
        case QuorumPacketType.ping:
            return [.toKernel(from: from, packet)]
        case QuorumPacketType.request:
            return leader?.phase == .broadcast ? [.toKernel(from: from, packet)] : []
        default:
            return []
        }
    }

    /// FOLLOWERINFO: before the epoch is fixed its accepted epoch counts toward it; afterwards
    /// the learner gets LEADERINFO at once.
    private mutating func learnerJoined(_ sid: Int64, _ packet: QuorumPacket) -> [ZabEffect] {
        guard var l = leader else { return [] }
        guard settings.voters.contains(sid) || settings.observers.contains(sid) else {
            return [.disconnect(sid), .log("server \(sid) is not in the ensemble's config; refused")]
        }
        var record = LearnerRecord(lastHeardTick: ticks)
        if l.phase == .discovery {
            if settings.voters.contains(sid) { l.acceptedEpochs[sid] = packet.zxid >> 32 }
            l.learners[sid] = record
            leader = l
            return checkEpochQuorum()
        }
        record.phase = .awaitingEpochAck
        l.learners[sid] = record
        leader = l
        return [leaderInfo(to: sid, epoch: l.newEpoch)]
    }

    private func leaderInfo(to sid: Int64, epoch: Int64) -> ZabEffect {
        .send(to: sid, QuorumPacket(type: QuorumPacketType.leaderInfo, zxid: Self.epochZxid(epoch),
                                    data: Self.int32Data(LearnerInfo.protocolVersion)))
    }

    /// The new epoch is one more than the highest accepted epoch of a quorum (ourselves included).
    private mutating func checkEpochQuorum() -> [ZabEffect] {
        guard var l = leader, l.phase == .discovery, l.acceptedEpochs.count >= settings.quorumSize else { return [] }
        let newEpoch = l.acceptedEpochs.values.max()! + 1
        l.newEpoch = newEpoch
        l.phase = .awaitingEpochAcks
        l.epochAcks = [myId]
        acceptedEpoch = newEpoch
        var effects: [ZabEffect] = [.persistAcceptedEpoch(newEpoch)]
        for sid in l.learners.keys.sorted() where l.learners[sid]?.phase == .discovery {
            l.learners[sid]?.phase = .awaitingEpochAck
            effects.append(leaderInfo(to: sid, epoch: newEpoch))
        }
        leader = l
        return effects + checkEpochAckQuorum()
    }

    private mutating func ackEpoch(_ from: Int64, _ packet: QuorumPacket) -> [ZabEffect] {
        guard var l = leader, l.learners[from]?.phase == .awaitingEpochAck,
              let peerEpoch = Self.readInt32(packet.data) else {
            leader?.learners[from] = nil
            return [.disconnect(from)]
        }
        l.learners[from]?.lastZxid = packet.zxid
        l.learners[from]?.phase = .epochAcked
        // -1 means "already accepted this epoch": as in ZooKeeper's waitForEpochAck it neither
        // counts toward the quorum nor is compared with our history.
        if peerEpoch != -1 {
            // A learner with a newer history than ours means this election went wrong
            // (ZooKeeper's "follower is ahead of the leader"): stop leading and elect again.
            if Int64(peerEpoch) > currentEpoch || (Int64(peerEpoch) == currentEpoch && packet.zxid > lastLogged) {
                return stepDown(reason: "learner \(from) is ahead of this leader")
            }
            if settings.voters.contains(from) { l.epochAcks.insert(from) }
        }
        leader = l
        if l.phase == .awaitingEpochAcks { return checkEpochAckQuorum() }
        return sync(from)
    }

    private mutating func checkEpochAckQuorum() -> [ZabEffect] {
        guard var l = leader, l.phase == .awaitingEpochAcks, l.epochAcks.count >= settings.quorumSize else { return [] }
        l.phase = .awaitingNewLeaderAcks
        l.newLeaderAcks = [myId]
        leader = l
        var effects = adoptCurrentEpoch(l.newEpoch)
        for sid in l.learners.keys.sorted() where l.learners[sid]?.phase == .epochAcked { effects += sync(sid) }
        return effects + checkNewLeaderQuorum()
    }

    /// Queues a learner's sync: DIFF, TRUNC or SNAP, then the proposals not yet committed, then
    /// NEWLEADER. From here on it gets every PROPOSAL and COMMIT, so nothing falls in between.
    private mutating func sync(_ sid: Int64) -> [ZabEffect] {
        guard var l = leader, var record = l.learners[sid] else { return [] }
        let history = diffableHistory
        var effects: [ZabEffect] = []
        var sendAfter: Int64?
        switch LearnerSync.choose(peer: record.lastZxid, committed: history.map(\.zxid), lastProcessed: lastCommitted) {
        case .diff(let from, let through):
            effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.diff, zxid: through)))
            sendAfter = from
        case .trunc(let to):
            effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.trunc, zxid: to)))
            sendAfter = to
        case .snap:
            effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.snap, zxid: lastCommitted)))
            effects.append(.sendSnapshot(to: sid))
        }
        if let sendAfter {
            for txn in history where txn.zxid > sendAfter {
                effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.proposal, zxid: txn.zxid, data: txn.encoded())))
                effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.commit, zxid: txn.zxid)))
            }
        }
        // Observers get txns once committed (INFORM), so nothing in flight is theirs to see.
        if !settings.observers.contains(sid) {
            effects += uncommitted.map { .send(to: sid, QuorumPacket(type: QuorumPacketType.proposal, zxid: $0.zxid, data: $0.encoded())) }
        }
        effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.newLeader, zxid: Self.epochZxid(l.newEpoch),
                                                    data: settings.configText)))
        record.forwarding = true
        record.phase = .awaitingNewLeaderAck
        l.learners[sid] = record
        leader = l
        return effects
    }

    private mutating func ack(_ from: Int64, _ zxid: Int64) -> [ZabEffect] {
        guard var l = leader else { return [] }
        if Zxid.counter(of: zxid) == 0 && zxid >> 32 == l.newEpoch {
            // The NEWLEADER ACK (or the one ZooKeeper's learners send after UPTODATE).
            guard l.learners[from]?.phase == .awaitingNewLeaderAck else { return [] }
            l.learners[from]?.phase = .synced
            if settings.voters.contains(from) { l.newLeaderAcks.insert(from) }
            leader = l
            if l.phase == .broadcast { return upToDate(from) }
            return checkNewLeaderQuorum()
        }
        guard l.acks != nil else { return [] }
        let committed = leader!.acks!.acked(by: from, through: zxid)
        return commitEffects(committed)
    }

    /// A quorum has the new epoch's history: the leader is established and serves.
    private mutating func checkNewLeaderQuorum() -> [ZabEffect] {
        guard var l = leader, l.phase == .awaitingNewLeaderAcks, l.newLeaderAcks.count >= settings.quorumSize else { return [] }
        precondition(uncommitted.isEmpty, "nothing is proposed before the leader is established")
        l.phase = .broadcast
        l.acks = QuorumAckTracker(voters: settings.voters, lastCommitted: lastCommitted)
        leader = l
        var effects: [ZabEffect] = [.serving(epoch: l.newEpoch)]
        for sid in l.learners.keys.sorted() where l.learners[sid]?.phase == .synced { effects += upToDate(sid) }
        return effects
    }

    private mutating func upToDate(_ sid: Int64) -> [ZabEffect] {
        leader?.learners[sid]?.phase = .upToDate
        return [.send(to: sid, QuorumPacket(type: QuorumPacketType.upToDate, zxid: -1))]
    }

    mutating func leaderPropose(_ txn: LoggedTxn) -> [ZabEffect] {
        guard let l = leader, l.phase == .broadcast, txn.zxid >> 32 == l.newEpoch, txn.zxid > lastLogged else {
            // The kernel proposes only while serving; a proposal racing a step-down is dropped
            // with the client connections that would have heard about it.
            return []
        }
        lastLogged = txn.zxid
        uncommitted.append(txn)
        leader!.acks!.proposed(txn.zxid)
        var effects: [ZabEffect] = [.persist(txn)]
        let packet = QuorumPacket(type: QuorumPacketType.proposal, zxid: txn.zxid, data: txn.encoded())
        for sid in l.learners.keys.sorted() where l.learners[sid]!.forwarding && settings.voters.contains(sid) {
            effects.append(.send(to: sid, packet))
        }
        return effects
    }

    mutating func leaderDurable() -> [ZabEffect] {
        guard leader?.acks != nil else { return [] }
        let committed = leader!.acks!.acked(by: myId, through: lastDurable)
        return commitEffects(committed)
    }

    private mutating func commitEffects(_ zxids: [Int64]) -> [ZabEffect] {
        guard let l = leader else { return [] }
        var effects: [ZabEffect] = []
        let forwarding = l.learners.keys.sorted().filter { l.learners[$0]!.forwarding }
        for zxid in zxids {
            let txn = uncommitted.removeFirst()
            precondition(txn.zxid == zxid, "quorum commits follow proposal order")
            recordCommitted(txn)
            effects.append(.commit(txn))
            for sid in forwarding {
                // ZooKeeper's INFORM carries the whole txn to observers, which saw no PROPOSAL.
                let packet = settings.observers.contains(sid)
                    ? QuorumPacket(type: QuorumPacketType.inform, zxid: zxid, data: txn.encoded())
                    : QuorumPacket(type: QuorumPacketType.commit, zxid: zxid)
                effects.append(.send(to: sid, packet))
            }
        }
        return effects
    }

    /// Every tick: ping the learners, drop the silent ones, and stop leading without a quorum
    /// (within initLimit while establishing, within syncLimit afterwards).
    mutating func leaderTick() -> [ZabEffect] {
        guard var l = leader else { return [] }
        if l.phase != .broadcast && ticks - l.startTick > settings.initLimitTicks {
            return stepDown(reason: "no quorum of learners within initLimit")
        }
        var effects: [ZabEffect] = []
        for sid in l.learners.keys.sorted() {
            let record = l.learners[sid]!
            let limit = record.phase == .upToDate ? settings.syncLimitTicks : settings.initLimitTicks
            if ticks - record.lastHeardTick > limit {
                l.learners[sid] = nil
                effects.append(.disconnect(sid))
                effects.append(.log("learner \(sid) silent for \(limit) ticks; dropped"))
            } else if record.forwarding {
                effects.append(.send(to: sid, QuorumPacket(type: QuorumPacketType.ping, zxid: lastLogged)))
            }
        }
        leader = l
        if l.phase == .broadcast {
            let synced = 1 + l.learners.filter { settings.voters.contains($0.key) && $0.value.phase == .upToDate }.count
            if synced < settings.quorumSize { return effects + stepDown(reason: "only \(synced) synced voters, fewer than a quorum") }
        }
        return effects
    }

    /// Learners that are up to date and heard from, for `mntr`.
    public var syncedLearners: [Int64] {
        guard let l = leader else { return [] }
        return l.learners.filter { $0.value.phase == .upToDate }.keys.sorted()
    }

    mutating func learnerGone(_ sid: Int64) -> [ZabEffect] {
        leader?.learners[sid] = nil
        return []
    }
}
