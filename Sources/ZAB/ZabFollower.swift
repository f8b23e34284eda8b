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
    var phase = Phase.connecting
    var newEpoch: Int64 = -1
    /// After a SNAP the tree is the leader's, but the log still holds our old history: txns are
    /// buffered, not logged, until the snapshot is written at NEWLEADER, so a crash in between
    /// never mixes the two histories on disk.
    var buffersProposals = false
    /// After TRUNC or SNAP the newest snapshot must be one of the synced state (as ZooKeeper's
    /// snapshotNeeded): truncation may have removed every snapshot, and an older one could hold
    /// txns that were just dropped.
    var snapshotAtNewLeader = false
    var lastHeardTick: Int
    /// ACKs owed once the log is durable through their zxid, in send order. The NEWLEADER ACK
    /// waits for everything the sync logged.
    var pendingAcks: [(durableThrough: Int64, ackZxid: Int64)] = []
}

extension ZabPeer {
    mutating func becomeFollower(of leaderId: Int64) -> [ZabEffect] {
        state = .following
        follower = FollowerState(leaderId: leaderId, lastHeardTick: ticks)
        var effects: [ZabEffect] = [.roleChanged(.following, leader: leaderId)]
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
        return [.send(to: id, QuorumPacket(type: QuorumPacketType.followerInfo, zxid: Self.epochZxid(acceptedEpoch), data: w.bytes))]
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
            follower?.snapshotAtNewLeader = true
            return truncate(to: packet.zxid)
        case (.awaitingSync, QuorumPacketType.snap):
            // The driver has already installed the snapshot that followed the packet.
            follower?.phase = .syncing
            follower?.buffersProposals = true
            follower?.snapshotAtNewLeader = true
            uncommitted.removeAll()
            committedLog.removeAll()
            lastLogged = packet.zxid
            lastCommitted = packet.zxid
            lastDurable = packet.zxid
            return [.truncateLog(after: packet.zxid)]
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

    private mutating func proposal(_ packet: QuorumPacket) -> [ZabEffect] {
        guard let data = packet.data, let txn = try? LoggedTxn(decoding: data), txn.zxid == packet.zxid,
              txn.zxid > lastLogged else {
            return stepDown(reason: "malformed or out-of-order PROPOSAL 0x\(String(packet.zxid, radix: 16))")
        }
        lastLogged = txn.zxid
        uncommitted.append(txn)
        guard let f = follower, !f.buffersProposals else { return [] }
        follower?.pendingAcks.append((txn.zxid, txn.zxid))
        return [.persist(txn)] + sendDurableAcks()
    }

    private mutating func commit(_ zxid: Int64) -> [ZabEffect] {
        guard let first = uncommitted.first, first.zxid == zxid else {
            return stepDown(reason: "COMMIT 0x\(String(zxid, radix: 16)) is not our next uncommitted txn")
        }
        uncommitted.removeFirst()
        recordCommitted(first)
        return [.commit(first)]
    }

    /// NEWLEADER: the leader's history up to here is ours. Write what a SNAP sync buffered (after
    /// the snapshot), record the epoch, and ACK once all of it is durable.
    private mutating func newLeader(_ zxid: Int64) -> [ZabEffect] {
        guard var f = follower, zxid >> 32 == f.newEpoch else {
            return stepDown(reason: "NEWLEADER for an unexpected epoch")
        }
        var effects: [ZabEffect] = []
        var bufferedAcks: [(durableThrough: Int64, ackZxid: Int64)] = []
        if f.snapshotAtNewLeader { effects.append(.takeSnapshot) }
        if f.buffersProposals {
            effects += uncommitted.map { .persist($0) }
            bufferedAcks = uncommitted.map { ($0.zxid, $0.zxid) }
            f.buffersProposals = false
        }
        currentEpoch = f.newEpoch
        effects.append(.persistCurrentEpoch(f.newEpoch))
        f.pendingAcks.append((lastLogged, zxid))
        f.pendingAcks += bufferedAcks
        follower = f
        return effects + sendDurableAcks()
    }

    mutating func followerDurable() -> [ZabEffect] { sendDurableAcks() }

    /// ACKs whose txns are now on disk, in order: an ACK promises the txn survives a crash.
    private mutating func sendDurableAcks() -> [ZabEffect] {
        guard var f = follower else { return [] }
        var effects: [ZabEffect] = []
        while let next = f.pendingAcks.first, next.durableThrough <= lastDurable {
            f.pendingAcks.removeFirst()
            effects.append(.send(to: f.leaderId, QuorumPacket(type: QuorumPacketType.ack, zxid: next.ackZxid)))
        }
        follower = f
        return effects
    }
}
