import Jute
import Simulation
import Testing
import ZAB

/// Scripted runs of the situations ZAB exists for. No random faults or client load: each test
/// crashes, partitions, holds packets and stalls disks by hand (the seed only picks delays and
/// clock phases).
@Suite struct ScenarioTests {
    @Test func txnAckedByQuorumSurvivesLeaderCrashBeforeCommitReachesFollowers() {
        let world = settledWorld(peers: 3)
        let leader = world.servingLeaders[0]
        let oldEpoch = world.servingEpoch(of: leader)!
        world.hold { from, _, packet in from == leader && packet.type == QuorumPacketType.commit }
        let write = world.propose()!
        #expect(world.run(forMs: 1_000) { $0.isAcknowledged(cxid: write) }, "the leader commits once a quorum ACKed")
        for id in world.peerIds where id != leader {
            #expect(!world.applied(of: id).contains { $0.header.cxid == write }, "no COMMIT reached p\(id)")
        }

        world.crash(leader)
        world.releaseHeldPackets()
        #expect(world.run(forMs: 10_000) { w in w.servingLeaders.contains { w.servingEpoch(of: $0)! > oldEpoch } })
        let newLeader = world.servingLeaders[0]
        #expect(world.applied(of: newLeader).contains { $0.header.cxid == write }, "the next epoch starts with the write")

        world.restart(leader)
        expectHeals(world)
    }

    @Test func proposalSentToNoOneIsTruncatedWhenItsLeaderRejoins() {
        let world = settledWorld(peers: 3)
        let leader = world.servingLeaders[0]
        let oldEpoch = world.servingEpoch(of: leader)!
        // Writes of this epoch first, so the lost one has a predecessor of its epoch to truncate
        // back to (otherwise the leader would send SNAP, not TRUNC).
        commit(2, in: world)
        world.hold { from, _, packet in from == leader && packet.type == QuorumPacketType.proposal }
        let lost = world.propose()!
        #expect(world.run(forMs: 1_000) { $0.durableHistory(of: leader).contains { $0.header.cxid == lost } })

        world.crash(leader)
        world.releaseHeldPackets()
        #expect(world.run(forMs: 10_000) { w in w.servingLeaders.contains { w.servingEpoch(of: $0)! > oldEpoch } })
        commit(2, in: world)
        world.restart(leader)
        #expect(world.run(forMs: 30_000, until: \.isQuiet))

        #expect(received(QuorumPacketType.trunc, by: leader, in: world), "the old leader is told to TRUNC")
        for id in world.peerIds {
            #expect(!world.applied(of: id).contains { $0.header.cxid == lost }, "p\(id) dropped the lost proposal")
        }
        expectHeals(world)
    }

    /// A leader frozen past syncLimit (a long GC pause) is replaced; when it wakes, its proposal
    /// from before the freeze must not be acknowledged by it, and it rejoins as a follower.
    @Test func frozenLeaderIsReplacedAndRejoinsAsFollower() {
        let world = settledWorld(peers: 3)
        let leader = world.servingLeaders[0]
        let oldEpoch = world.servingEpoch(of: leader)!
        commit(2, in: world)
        world.hold { from, _, packet in from == leader && packet.type == QuorumPacketType.proposal }
        let stranded = world.propose()!
        world.freeze(leader, forMs: Int64(world.options.syncLimitTicks + 20) * world.options.tickMs)
        #expect(world.run(forMs: 10_000) { w in w.servingLeaders.contains { $0 != leader && w.servingEpoch(of: $0)! > oldEpoch } },
                "the others elect a new leader while the old one is frozen")
        world.releaseHeldPackets()
        #expect(world.run(forMs: 30_000, until: \.isQuiet), "settles: \(world.unsettledReason ?? "")")
        #expect(world.role(of: leader) == .following, "the woken leader follows")
        #expect(!world.isAcknowledged(cxid: stranded), "the frozen leader's last proposal was never acknowledged")
        expectHeals(world)
    }

    /// A clock jumping forward on a follower makes it see its leader silent for syncLimit and
    /// drop out; it comes back, and nothing is lost.
    @Test func followerWhoseClockJumpsRejoins() {
        let world = settledWorld(peers: 3)
        let follower = world.peerIds.first { !world.servingLeaders.contains($0) }!
        commit(2, in: world)
        world.jumpClock(follower, ticks: world.options.syncLimitTicks * 3)
        #expect(world.role(of: follower) == .looking, "syncLimit ticks passed without a word from the leader")
        commit(2, in: world)
        expectHeals(world)
    }

    @Test func followerDownForLongGetsSnapshot() {
        let world = settledWorld(peers: 3)
        let follower = world.peerIds.first { !world.servingLeaders.contains($0) }!
        world.crash(follower)
        commit(world.options.committedLogMax * 2, in: world)
        world.restart(follower)
        #expect(world.run(forMs: 30_000, until: \.isQuiet))
        #expect(received(QuorumPacketType.snap, by: follower, in: world), "too far behind for DIFF")
        expectHeals(world)
    }

    @Test func partitionedLeaderStepsDownWithinSyncLimitAndMajorityElects() {
        let world = settledWorld(peers: 5)
        let leader = world.servingLeaders[0]
        let oldEpoch = world.servingEpoch(of: leader)!
        let cutMs = world.nowMs
        // Silent: no connection reset reaches anyone, only the engines' own timeouts can tell.
        world.partition({ $0 == leader ? 1 : 0 }, noticed: false)

        #expect(world.run(forMs: 5_000) { $0.role(of: leader) != .leading })
        // syncLimit ticks of silence, plus up to a tick for the tick phase and one for the last PING.
        #expect(world.nowMs - cutMs <= Int64(world.options.syncLimitTicks + 2) * world.options.tickMs)
        #expect(world.run(forMs: 10_000) { w in
            w.servingLeaders.contains { $0 != leader && w.servingEpoch(of: $0)! > oldEpoch }
        }, "the four on the majority side elect a leader of a newer epoch")
        commit(1, in: world)

        world.healPartition()
        expectHeals(world)
    }

    // MARK: Observers

    /// The observer loses its leader with the last write's INFORM still in flight: it must not
    /// take part in the election (its notifications name no one but voters, never itself) and
    /// must get the write from the next leader's sync.
    @Test func observerDuringLeaderChangeNeverVotesAndKeepsEveryCommittedTxn() {
        let world = settledWorld(peers: 3, observers: 1)
        let observer = world.observerIds[0]
        let leader = world.servingLeaders[0]
        let oldEpoch = world.servingEpoch(of: leader)!
        commit(2, in: world)
        world.hold { _, to, packet in to == observer && packet.type == QuorumPacketType.inform }
        let missed = commit(1, in: world)!
        #expect(!world.applied(of: observer).contains { $0.header.cxid == missed })

        let changeMs = world.nowMs
        world.crash(leader)
        world.releaseHeldPackets()
        #expect(world.run(forMs: 10_000) { w in
            w.servingLeaders.contains { w.servingEpoch(of: $0)! > oldEpoch && w.servingEpoch(of: observer) == w.servingEpoch(of: $0) }
        }, "the voters elect a new leader and the observer observes it")
        #expect(world.role(of: observer) == .observing)
        let votes = world.trace.filter { $0.timeMs >= changeMs && $0.peer == observer }.compactMap { entry -> ElectionNotification? in
            guard case .effect(.sendElection(_, let n)) = entry.item else { return nil }
            return n
        }
        #expect(votes.first?.vote.leader == Int64.min, "the observer's own vote names nobody")
        #expect(votes.allSatisfy { $0.vote.leader == Int64.min || world.voterIds.contains($0.vote.leader) })
        #expect(world.applied(of: observer).contains { $0.header.cxid == missed }, "the sync brings the missed write")

        world.restart(leader)
        expectHeals(world)
        #expect(received(QuorumPacketType.inform, by: observer, in: world, sinceMs: changeMs), "the last write came as INFORM")
    }

    /// Observers keep up with everything, yet with two of three voters down the survivor (the
    /// leader, or a follower) may not commit, nor lead at all, however many observers are up.
    @Test(arguments: 1...3, [true, false])
    func noWriteCommitsWithTwoOfThreeVotersDown(observers: Int, leaderSurvives: Bool) {
        let world = settledWorld(peers: 3, observers: observers)
        let leader = world.servingLeaders[0]
        let (first, second) = followers(of: leader, in: world)
        let down = leaderSurvives ? [first, second] : [leader, first]
        let acknowledged = world.acknowledgedWrites
        for id in down { world.crash(id) }
        for _ in 0..<20 {
            world.propose()
            world.run(forMs: 1_000)
        }
        #expect(world.acknowledgedWrites == acknowledged, "no write commits")
        #expect(world.servingLeaders.isEmpty, "nobody leads")
        #expect(world.voterIds.allSatisfy { down.contains($0) || world.role(of: $0) == .looking })

        for id in down { world.restart(id) }
        expectHeals(world)
    }

    @Test func observerDownForLongGetsSnapshot() {
        let world = settledWorld(peers: 3, observers: 1)
        let observer = world.observerIds[0]
        world.crash(observer)
        commit(world.options.committedLogMax * 2, in: world)
        let restartMs = world.nowMs
        world.restart(observer)
        #expect(world.run(forMs: 30_000, until: \.isQuiet))
        #expect(received(QuorumPacketType.snap, by: observer, in: world, sinceMs: restartMs), "too far behind for DIFF")
        expectHeals(world)
    }

    // MARK: Bugs this simulator found (A to E, all fixed; each scenario failed before its fix)

    /// Bug A. A learner syncing with a leader of a newer epoch must not ACK the sync's
    /// uncommitted proposal before NEWLEADER: the leader would commit with that ACK while the
    /// learner's vote still carries its old currentEpoch, so once the leader is gone it would
    /// lose to a server that never got the txn, and the acknowledged write would be truncated.
    @Test func learnerAckBeforeNewLeaderCannotLoseAnAcknowledgedWrite() {
        let world = settledWorld(peers: 3)
        let (laggard, leader, other) = newEpochWithoutOneFollower(world)
        // The other follower never gets the write; the laggard never gets NEWLEADER.
        world.hold { from, to, packet in
            from == leader && ((to == other && packet.type == QuorumPacketType.proposal)
                || (to == laggard && packet.type == QuorumPacketType.newLeader))
        }
        let write = world.propose()!
        world.restart(laggard)
        // With the bug, the laggard's early ACK makes the leader acknowledge the write here.
        world.run(forMs: 2_000) { $0.isAcknowledged(cxid: write) }
        world.crash(leader)
        world.crash(laggard)
        world.releaseHeldPackets()
        world.restart(laggard)
        #expect(world.run(forMs: 10_000) { w in w.servingLeaders.contains { w.servingEpoch(of: $0)! > w.epochFiles(of: leader).current } })
        world.restart(leader)
        expectHeals(world)
    }

    /// Bug B. A learner that missed a write syncs with the next leader: the DIFF logs the write
    /// and its disk has not synced it when NEWLEADER comes. currentEpoch must wait for the sync:
    /// a crash that kept the epoch and lost the write would give the learner a vote (newer
    /// epoch) that beats the only other holder of the write (older epoch).
    @Test func learnerEpochNeverOutlivesTheSyncedTxns() {
        let world = settledWorld(peers: 3)
        let leader = world.servingLeaders[0]
        let (laggard, holder) = followers(of: leader, in: world)
        // A write everyone has first, so the laggard is within DIFF range.
        commit(1, in: world)
        world.crash(laggard)
        commit(1, in: world)
        world.crash(leader)
        world.stallDisk(laggard)
        let restartMs = world.nowMs
        world.restart(laggard)
        #expect(world.run(forMs: 10_000) { received(QuorumPacketType.newLeader, by: laggard, in: $0, sinceMs: restartMs) },
                "the laggard syncs with \(holder)")
        world.crash(laggard)
        world.crash(holder)
        world.resumeDisk(laggard)
        world.restart(laggard)
        world.restart(leader)
        #expect(world.run(forMs: 10_000) { $0.servingLeaders.count == 1 })
        world.restart(holder)
        expectHeals(world)
    }

    /// Bug C. A learner far behind gets SNAP, installs the leader's tree, and loses the leader
    /// before NEWLEADER. Unless the tree is written, the learner claims its zxid with a log that
    /// lacks it: the next sync is a DIFF from there, logged after a gap, and a restart loses it.
    @Test func interruptedSnapSyncLeavesNoGap() {
        let world = settledWorld(peers: 3)
        let leader = world.servingLeaders[0]
        let (laggard, _) = followers(of: leader, in: world)
        world.crash(laggard)
        commit(world.options.committedLogMax * 2, in: world)
        world.hold { from, to, packet in from == leader && to == laggard && packet.type == QuorumPacketType.newLeader }
        world.restart(laggard)
        #expect(world.run(forMs: 5_000) { $0.applied(of: laggard).count == $0.applied(of: leader).count }, "the snapshot is installed")
        world.partition({ $0 == laggard ? 1 : 0 }, noticed: true)
        #expect(world.run(forMs: 5_000) { $0.role(of: laggard) == .looking })
        world.releaseHeldPackets()
        world.healPartition()
        #expect(world.run(forMs: 30_000, until: \.isQuiet))
        let write = commit(1, in: world)!
        #expect(world.run(forMs: 1_000) { $0.durableHistory(of: laggard).contains { $0.header.cxid == write } })
        world.crash(laggard)
        world.restart(laggard)
        expectHeals(world)
    }

    /// Bug D (liveness). A follower rejoins its leader's next reign (it decided to follow during
    /// the previous one and connected late), with the vote of that old election. Unless settled
    /// votes are compared by reign, a server that restarts sees two different votes for the same
    /// leader, a quorum for neither, and looks forever.
    @Test func restartedServerJoinsAnEstablishedLeader() {
        let world = settledWorld(peers: 3)
        let leader = world.servingLeaders[0]
        let (late, other) = followers(of: leader, in: world)
        commit(1, in: world)
        // The late one decides to follow the current reign, but cannot reach the leader yet.
        world.crash(late)
        world.restart(late)
        #expect(world.run(forMs: 5_000) { $0.role(of: late) == .following })
        world.partition({ $0 == late ? 1 : 0 }, noticed: true)
        // The leader loses its quorum and is elected again, with a newer vote.
        world.crash(other)
        world.restart(other)
        #expect(world.run(forMs: 5_000) { $0.servingEpoch(of: leader) != nil && $0.servingEpoch(of: other) != nil })
        world.healPartition()
        #expect(world.run(forMs: 5_000) { $0.servingEpoch(of: late) != nil }, "the late follower joins the new reign")
        world.crash(other)
        world.restart(other)
        expectHeals(world)
    }

    /// Bug E. A learner far behind gets SNAP from a leader whose history ends in a txn no quorum
    /// has, and writes the snapshot; that leader never establishes. The next leader lacks the
    /// txn and sends TRUNC to just below it: truncation deletes the snapshot (it is past the
    /// TRUNC point), and the learner's log never held what the snapshot held. The reload ends far
    /// below the TRUNC point; the learner must start over from there (it left a gap before).
    @Test func truncBelowASnapSyncedSnapshotLeavesNoGap() {
        let world = settledWorld(peers: 5)
        let leader = world.servingLeaders[0]
        let others = world.peerIds.filter { $0 != leader }
        let (laggard, syncing, rest) = (others[0], others[1], Array(others.dropFirst(2)))
        world.crash(laggard)
        commit(world.options.committedLogMax * 2, in: world)
        // A txn only the leader logs.
        world.hold { from, _, packet in from == leader && packet.type == QuorumPacketType.proposal }
        let lost = world.propose()!
        #expect(world.run(forMs: 1_000) { $0.durableHistory(of: leader).contains { $0.header.cxid == lost } })
        // The leader, with the lost txn, leads a new epoch for the laggard (SNAP) and one other
        // server, whose sync never arrives: the epoch is never established.
        for id in [syncing] + rest { world.crash(id) }
        world.releaseHeldPackets()
        world.hold { from, to, packet in
            from == leader && to == syncing && packet.type != QuorumPacketType.leaderInfo && packet.type != QuorumPacketType.ping
        }
        world.restart(laggard)
        world.restart(syncing)
        #expect(world.run(forMs: 10_000) { $0.applied(of: laggard).contains { $0.header.cxid == lost } && $0.epochFiles(of: laggard).current > 1 },
                "the laggard installs and writes the leader's snapshot")
        world.crash(leader)
        world.crash(laggard)
        world.releaseHeldPackets()
        // Servers without the txn elect a leader, which commits writes of its epoch.
        for id in rest { world.restart(id) }
        #expect(world.run(forMs: 10_000) { $0.servingLeaders.count == 1 })
        commit(2, in: world)
        world.restart(laggard)
        world.restart(leader)
        expectHeals(world)
        #expect(received(QuorumPacketType.trunc, by: laggard, in: world), "the laggard is told to TRUNC")
    }

    // MARK: Helpers

    private func settledWorld(peers: Int, observers: Int = 0, seed: UInt64 = 1) -> World {
        let world = World(seed: seed, options: .scripted(voterCount: peers, observerCount: observers))
        world.start()
        #expect(world.run(forMs: 30_000, until: \.isQuiet), "the ensemble settles")
        return world
    }

    /// Two voters other than the leader.
    private func followers(of leader: Int64, in world: World) -> (Int64, Int64) {
        let ids = world.voterIds.sorted().filter { $0 != leader }
        return (ids[0], ids[1])
    }

    /// A new epoch established while one follower is down (its currentEpoch stays behind):
    /// returns that follower, the new leader and the other server.
    private func newEpochWithoutOneFollower(_ world: World) -> (laggard: Int64, leader: Int64, other: Int64) {
        let first = world.servingLeaders[0]
        let (laggard, _) = followers(of: first, in: world)
        world.crash(laggard)
        world.crash(first)
        world.restart(first)
        let up = world.peerIds.filter { $0 != laggard }
        #expect(world.run(forMs: 10_000) { w in
            w.servingLeaders.count == 1 && up.allSatisfy { w.servingEpoch(of: $0) == w.servingEpoch(of: w.servingLeaders[0]) }
        })
        let leader = world.servingLeaders[0]
        return (laggard, leader, up.first { $0 != leader }!)
    }

    /// Client writes through the current leader, one at a time, each committed. Returns the
    /// last one's cxid.
    @discardableResult
    private func commit(_ count: Int, in world: World) -> Int32? {
        var last: Int32?
        for _ in 0..<count {
            guard let write = world.propose() else {
                Issue.record("no serving leader")
                return nil
            }
            #expect(world.run(forMs: 5_000) { $0.isAcknowledged(cxid: write) }, "write #\(write) commits")
            last = write
        }
        return last
    }

    private func received(_ type: Int32, by id: Int64, in world: World, sinceMs: Int64 = 0) -> Bool {
        world.trace.contains { entry in
            guard entry.peer == id, entry.timeMs >= sinceMs, case .input(.packet(_, let packet)) = entry.item else { return false }
            return packet.type == type
        }
    }

    /// Everyone settles and one more write commits everywhere; every invariant holds.
    private func expectHeals(_ world: World, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(world.run(forMs: 30_000, until: \.isQuiet), "settles: \(world.unsettledReason ?? "")", sourceLocation: sourceLocation)
        commit(1, in: world)
        #expect(world.run(forMs: 5_000, until: \.isQuiet), sourceLocation: sourceLocation)
        world.checkHealed()
        #expect(world.violations == [], "\n\(world.traceTail(200))", sourceLocation: sourceLocation)
    }
}
