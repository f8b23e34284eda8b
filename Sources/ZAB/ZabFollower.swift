import Jute

/// A follower's progress with its leader: connect, FOLLOWERINFO → LEADERINFO → ACKEPOCH, the
/// sync (DIFF, TRUNC or SNAP, then NEWLEADER → ACK → UPTODATE), then broadcast.
struct FollowerState: Sendable {
    enum Phase: Sendable {
        case connecting
        case awaitingLeaderInfo
        case awaitingSync
        case syncing
        case broadcast
    }

    let leaderId: Int64
    /// An observer: announces itself with OBSERVERINFO, gets committed txns as INFORM and
    /// acknowledges no proposal (it counts toward no quorum).
    let observing: Bool
    var phase = Phase.connecting
    var newEpoch: Int64 = -1
    var lastHeardTick: Int
    /// ACKs owed once the log is durable through a zxid, in send order. None leaves before
    /// NEWLEADER: an ACK for a txn of the new epoch vouches that this server will vote with that
    /// epoch, which is only true once currentEpoch is written (ZooKeeper acks after NEWLEADER too).
    var owedAcks: [(durableThrough: Int64, ack: OwedAck)] = []
    var newLeaderSeen = false
}

enum OwedAck: Sendable {
    case proposal(Int64)
    /// The NEWLEADER ACK: currentEpoch is written just before it, once every txn the sync
    /// logged is durable, so the epoch never vouches for txns a crash could still lose.
    case newLeader(Int64)
}

extension ZabPeer {
    /// Whether a sync (DIFF, TRUNC or SNAP) from this leader is what comes next; the driver
    /// installs a SNAP's snapshot only then.
    public func awaitsSync(from leaderId: Int64) -> Bool {
        follower?.leaderId == leaderId && follower?.phase == .awaitingSync
    }

    mutating func becomeFollower(of leaderId: Int64, observing: Bool) -> [ZabEffect] {
        state = observing ? .observing : .following
        follower = FollowerState(leaderId: leaderId, observing: observing, lastHeardTick: ticks)
        var effects: [ZabEffect] = [.roleChanged(state, leader: leaderId)]
        effects += earlyLearners.keys.sorted().map { .disconnect($0) }
        earlyLearners = [:]
        effects.append(.connectToLeader(leaderId))
        return effects
    }

    mutating func connectedToLeader(_ id: Int64) -> [ZabEffect] {
        guard var f = follower, f.leaderId == id, f.phase == .connecting else { return [] }
        f.phase = .awaitingLeaderInfo
        f.lastHeardTick = ticks
        follower = f
        var w = JuteWriter(capacity: 20)
        LearnerInfo(serverId: myId, configVersion: 0).write(to: &w)
        let type = f.observing ? QuorumPacketType.observerInfo : QuorumPacketType.followerInfo
        return [.send(to: id, QuorumPacket(type: type, zxid: Self.epochZxid(acceptedEpoch), data: w.bytes))]
    }

    /// Silence from the leader past initLimit (while syncing) or syncLimit (after) ends following.
    mutating func followerTick() -> [ZabEffect] {
        guard let f = follower else { return [] }
        let limit = f.phase == .broadcast ? settings.syncLimitTicks : settings.initLimitTicks
        if ticks - f.lastHeardTick > limit { return stepDown(reason: "leader silent for \(limit) ticks") }
        return []
    }

    mutating func followerReceive(_ packet: QuorumPacket) -> [ZabEffect] {
        guard var f = follower else { return [] }
        f.lastHeardTick = ticks
        follower = f
        switch (f.phase, packet.type) {
        case (.awaitingLeaderInfo, QuorumPacketType.leaderInfo):
            return leaderInfo(epoch: packet.zxid >> 32)
        case (.awaitingSync, QuorumPacketType.diff):
            follower?.phase = .syncing
            return []
        case (.awaitingSync, QuorumPacketType.trunc):
            follower?.phase = .syncing
            return truncate(to: packet.zxid)
        case (.awaitingSync, QuorumPacketType.snap):
            // The driver has already installed the snapshot that followed the packet. It goes to
            // disk at once (after our log loses what lies beyond it), so from here on disk and
            // memory hold the leader's history and any step-down or crash leaves them agreeing.
            follower?.phase = .syncing
            uncommitted.removeAll()
            committedLog.removeAll()
            lastLogged = packet.zxid
            lastCommitted = packet.zxid
            lastDurable = packet.zxid
            return [.truncateLog(after: packet.zxid), .takeSnapshot]
        case (.syncing, QuorumPacketType.newLeader):
            return newLeader(packet.zxid)
        case (.syncing, QuorumPacketType.upToDate):
            follower?.phase = .broadcast
            // ZooKeeper's learner acknowledges UPTODATE with the epoch's zxid as well.
            return [.send(to: f.leaderId, QuorumPacket(type: QuorumPacketType.ack, zxid: Self.epochZxid(f.newEpoch))),
                    .serving(epoch: f.newEpoch)]
        case (.syncing, QuorumPacketType.proposal), (.broadcast, QuorumPacketType.proposal):
            return proposal(packet)
        case (.syncing, QuorumPacketType.commit), (.broadcast, QuorumPacketType.commit):
            return commit(packet.zxid)
        case (.syncing, QuorumPacketType.inform) where f.observing, (.broadcast, QuorumPacketType.inform) where f.observing:
            return inform(packet)
        case (_, QuorumPacketType.ping), (.broadcast, QuorumPacketType.sync):
            return [.toKernel(from: f.leaderId, packet)]
        default:
            return stepDown(reason: "unexpected packet type \(packet.type) from the leader in \(f.phase)")
        }
    }

    private mutating func leaderInfo(epoch newEpoch: Int64) -> [ZabEffect] {
        guard let leaderId = follower?.leaderId else { return [] }
        var effects: [ZabEffect] = []
        let reportedEpoch: Int32
        if newEpoch > acceptedEpoch {
            acceptedEpoch = newEpoch
            effects.append(.persistAcceptedEpoch(newEpoch))
            reportedEpoch = Int32(truncatingIfNeeded: currentEpoch)
        } else if newEpoch == acceptedEpoch {
            // ZooKeeper's "already accepted this epoch" marker.
            reportedEpoch = -1
        } else {
            return stepDown(reason: "leader's epoch \(newEpoch) is older than our accepted epoch \(acceptedEpoch)")
        }
        follower?.newEpoch = newEpoch
        follower?.phase = .awaitingSync
        effects.append(.send(to: leaderId, QuorumPacket(type: QuorumPacketType.ackEpoch, zxid: lastLogged,
                                                         data: Self.int32Data(reportedEpoch))))
        return effects
    }

    /// TRUNC: our log holds txns only an old leader had; drop them and rebuild from disk.
    private mutating func truncate(to zxid: Int64) -> [ZabEffect] {
        precondition(uncommitted.isEmpty, "a learner syncs from a fast-forwarded state")
        guard zxid <= lastLogged else { return stepDown(reason: "TRUNC to 0x\(String(zxid, radix: 16)) is past our log") }
        lastLogged = zxid
        lastCommitted = zxid
        lastDurable = zxid
        committedLog.removeAll { $0.zxid > zxid }
        return [.truncateLog(after: zxid), .reloadFromDisk]
    }

    /// The data dir may hold less than the TRUNC point: after a SNAP sync the log below that
    /// snapshot never held its txns, and a TRUNC below it deletes the snapshot. Then the state
    /// is what the disk gave back; start over from it, so the leader picks a sync that fits.
    mutating func reloaded(through zxid: Int64) -> [ZabEffect] {
        guard zxid < lastCommitted else { return [] }
        let truncatedTo = lastCommitted
        lastLogged = zxid
        lastCommitted = zxid
        lastDurable = zxid
        committedLog.removeAll { $0.zxid > zxid }
        return stepDown(reason: "the data dir reloads to 0x\(String(zxid, radix: 16)), "
                        + "below the TRUNC point 0x\(String(truncatedTo, radix: 16))")
    }

    private mutating func proposal(_ packet: QuorumPacket) -> [ZabEffect] {
        guard let data = packet.data, let txn = try? LoggedTxn(decoding: data), txn.zxid == packet.zxid,
              txn.zxid > lastLogged else {
            return stepDown(reason: "malformed or out-of-order PROPOSAL 0x\(String(packet.zxid, radix: 16))")
        }
        lastLogged = txn.zxid
        uncommitted.append(txn)
        if follower?.observing == false { follower?.owedAcks.append((txn.zxid, .proposal(txn.zxid))) }
        return [.persist(txn)] + sendDurableAcks()
    }

    /// INFORM: a txn a quorum has committed, for an observer to log and apply at once.
    private mutating func inform(_ packet: QuorumPacket) -> [ZabEffect] {
        guard let data = packet.data, let txn = try? LoggedTxn(decoding: data), txn.zxid == packet.zxid,
              txn.zxid > lastLogged, uncommitted.isEmpty else {
            return stepDown(reason: "malformed or out-of-order INFORM 0x\(String(packet.zxid, radix: 16))")
        }
        lastLogged = txn.zxid
        recordCommitted(txn)
        return [.persist(txn), .commit(txn)]
    }

    private mutating func commit(_ zxid: Int64) -> [ZabEffect] {
        guard let first = uncommitted.first, first.zxid == zxid else {
            return stepDown(reason: "COMMIT 0x\(String(zxid, radix: 16)) is not our next uncommitted txn")
        }
        uncommitted.removeFirst()
        recordCommitted(first)
        return [.commit(first)]
    }

    /// NEWLEADER: the leader's history up to here is ours. Its ACK (with currentEpoch written
    /// first) goes out once everything the sync logged is durable, ahead of any proposal ACK.
    private mutating func newLeader(_ zxid: Int64) -> [ZabEffect] {
        guard var f = follower, zxid >> 32 == f.newEpoch else {
            return stepDown(reason: "NEWLEADER for an unexpected epoch")
        }
        f.newLeaderSeen = true
        f.owedAcks.insert((lastLogged, .newLeader(zxid)), at: 0)
        follower = f
        return sendDurableAcks()
    }

    mutating func followerDurable() -> [ZabEffect] { sendDurableAcks() }

    /// ACKs whose txns are now on disk, in order: an ACK promises the txn survives a crash.
    private mutating func sendDurableAcks() -> [ZabEffect] {
        guard var f = follower, f.newLeaderSeen else { return [] }
        var effects: [ZabEffect] = []
        while let next = f.owedAcks.first, next.durableThrough <= lastDurable {
            f.owedAcks.removeFirst()
            switch next.ack {
            case .proposal(let zxid):
                effects.append(.send(to: f.leaderId, QuorumPacket(type: QuorumPacketType.ack, zxid: zxid)))
            case .newLeader(let zxid):
                effects += adoptCurrentEpoch(f.newEpoch)
                effects.append(.send(to: f.leaderId, QuorumPacket(type: QuorumPacketType.ack, zxid: zxid)))
            }
        }
        follower = f
        return effects
    }
}
