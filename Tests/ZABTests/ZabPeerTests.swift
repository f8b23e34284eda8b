import Jute
import XCTest
@testable import ZAB

/// Scripted conversations with one engine: what it sends, persists and commits at each step of
/// discovery, sync and broadcast, in ZooKeeper 3.8's packet types and zxids.
final class ZabPeerTests: XCTestCase {
    let voters: Set<Int64> = [1, 2, 3]

    func txn(_ zxid: Int64) -> LoggedTxn {
        LoggedTxn(header: TxnHeader(clientId: 7, cxid: Int32(truncatingIfNeeded: zxid), zxid: zxid, time: 0, type: OpCode.check.rawValue),
                  txn: .check(path: "/", version: -1))
    }

    func makePeer(_ id: Int64, epoch: Int64, zxids: [Int64]) -> ZabPeer {
        let settings = ZabSettings(myId: id, voters: voters, initLimitTicks: 10, syncLimitTicks: 5, committedLogMax: 10)
        return ZabPeer(settings: settings, acceptedEpoch: epoch, currentEpoch: epoch, lastZxid: zxids.last ?? 0,
                       history: zxids.map(txn))
    }

    func sent(_ effects: [ZabEffect]) -> [(to: Int64, type: Int32, zxid: Int64)] {
        effects.compactMap { if case .send(let to, let p) = $0 { (to, p.type, p.zxid) } else { nil } }
    }

    func int32(_ data: [UInt8]?) -> Int32? { ZabPeer.readInt32(data) }

    /// Elects `peer` by feeding it votes of the two others for `leader`, as settled servers.
    func settle(_ peer: inout ZabPeer, leader: Int64, leaderZxid: Int64, epoch: Int64) -> [ZabEffect] {
        _ = peer.step(.start)
        let vote = Vote(leader: leader, zxid: leaderZxid, peerEpoch: epoch)
        var effects: [ZabEffect] = []
        for (sender, state) in [(leader, PeerState.leading), (voters.subtracting([leader, peer.settings.myId]).first!, .following)] {
            effects += peer.step(.election(ElectionNotification(sender: sender, state: state, vote: vote, electionEpoch: 1)))
        }
        return effects
    }

    func testFollowerDiscoveryAndSyncSpeakZooKeepersPackets() throws {
        let zxids: [Int64] = [0x1_0000_0001, 0x1_0000_0002]
        var peer = makePeer(1, epoch: 1, zxids: zxids)
        let elected = settle(&peer, leader: 3, leaderZxid: 0x1_0000_0004, epoch: 1)
        XCTAssertTrue(elected.contains(.roleChanged(.following, leader: 3)))
        XCTAssertTrue(elected.contains(.connectToLeader(3)))

        let hello = peer.step(.connectedToLeader(3))
        guard case .send(3, let info)? = hello.first else { return XCTFail("no FOLLOWERINFO: \(hello)") }
        XCTAssertEqual(info.type, QuorumPacketType.followerInfo)
        XCTAssertEqual(info.zxid, 1 << 32, "FOLLOWERINFO carries the accepted epoch as a zxid")
        var reader = JuteReader(info.data ?? [])
        XCTAssertEqual(try LearnerInfo(from: &reader), LearnerInfo(serverId: 1, configVersion: 0))

        let ackEpoch = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.leaderInfo, zxid: 2 << 32,
                                                               data: ZabPeer.int32Data(0x10000))))
        XCTAssertEqual(ackEpoch.first, .persistAcceptedEpoch(2), "the epoch is on disk before it is acknowledged")
        guard case .send(3, let ack)? = ackEpoch.last else { return XCTFail("no ACKEPOCH") }
        XCTAssertEqual(ack.type, QuorumPacketType.ackEpoch)
        XCTAssertEqual(ack.zxid, zxids.last, "ACKEPOCH carries the last logged zxid")
        XCTAssertEqual(int32(ack.data), 1, "and the current epoch")

        XCTAssertEqual(peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.diff, zxid: 0x1_0000_0003))), [])
        let missing = txn(0x1_0000_0003)
        let proposed = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.proposal, zxid: missing.zxid,
                                                               data: missing.encoded())))
        XCTAssertEqual(proposed, [.persist(missing)], "no ACK during the sync, even once durable")
        XCTAssertEqual(peer.step(.durable(through: missing.zxid - 1)), [])
        XCTAssertEqual(peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.commit, zxid: missing.zxid))), [.commit(missing)])

        let newLeader = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.newLeader, zxid: 2 << 32)))
        XCTAssertEqual(newLeader, [], "NEWLEADER's ACK and the epoch wait for the synced txn to be durable")
        XCTAssertEqual(peer.currentEpoch, 1)
        let durable = peer.step(.durable(through: missing.zxid))
        XCTAssertEqual(durable.first, .persistCurrentEpoch(2), "the epoch is written before anything vouches for it")
        XCTAssertEqual(sent(durable).map(\.type), [QuorumPacketType.ack, QuorumPacketType.ack])
        XCTAssertEqual(sent(durable).map(\.zxid), [2 << 32, missing.zxid], "no proposal ACK before the NEWLEADER ACK")

        let upToDate = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.upToDate, zxid: -1)))
        XCTAssertEqual(sent(upToDate).map(\.zxid), [2 << 32])
        XCTAssertEqual(upToDate.last, .serving(epoch: 2))

        let next = txn(0x2_0000_0001)
        XCTAssertEqual(peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.proposal, zxid: next.zxid, data: next.encoded()))),
                       [.persist(next)], "no ACK before the txn is on disk")
        XCTAssertEqual(sent(peer.step(.durable(through: next.zxid))).map(\.zxid), [next.zxid])
        XCTAssertEqual(peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.commit, zxid: next.zxid))), [.commit(next)])
    }

    func followerInfo(from sid: Int64, acceptedEpochZxid: Int64) -> ZabInput {
        var w = JuteWriter()
        LearnerInfo(serverId: sid, configVersion: 0).write(to: &w)
        return .packet(from: sid, QuorumPacket(type: QuorumPacketType.followerInfo, zxid: acceptedEpochZxid, data: w.bytes))
    }

    /// Elects peer 3 (the newest log) as leader among {1, 2, 3}.
    func electLeader(_ peer: inout ZabPeer) -> [ZabEffect] {
        var effects = peer.step(.start)
        let vote = Vote(leader: 3, zxid: peer.lastLogged, peerEpoch: peer.currentEpoch)
        effects += peer.step(.election(ElectionNotification(sender: 1, state: .looking, vote: vote, electionEpoch: 1)))
        effects += peer.step(.timerFired(.electionFinalize))
        return effects
    }

    func testLeaderDiscoverySyncAndQuorumCommit() throws {
        let zxids: [Int64] = [0x1_0000_0001, 0x1_0000_0002, 0x1_0000_0003]
        var peer = makePeer(3, epoch: 1, zxids: zxids)
        XCTAssertTrue(electLeader(&peer).contains(.roleChanged(.leading, leader: 3)))

        let discovery = peer.step(followerInfo(from: 1, acceptedEpochZxid: 1 << 32))
        XCTAssertEqual(discovery.first, .persistAcceptedEpoch(2), "new epoch = highest accepted epoch of a quorum + 1")
        XCTAssertEqual(sent(discovery).map(\.type), [QuorumPacketType.leaderInfo])
        XCTAssertEqual(sent(discovery).first?.zxid, 2 << 32)

        // Learner 1 has the first txn only: DIFF through ours, the two missing as PROPOSAL+COMMIT, NEWLEADER.
        let sync = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ackEpoch, zxid: zxids[0], data: ZabPeer.int32Data(1))))
        XCTAssertEqual(sync.first, .persistCurrentEpoch(2))
        XCTAssertEqual(sent(sync).map(\.type), [QuorumPacketType.diff, QuorumPacketType.proposal, QuorumPacketType.commit,
                                               QuorumPacketType.proposal, QuorumPacketType.commit, QuorumPacketType.newLeader])
        XCTAssertEqual(sent(sync).map(\.zxid), [zxids[2], zxids[1], zxids[1], zxids[2], zxids[2], 2 << 32])

        let established = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ack, zxid: 2 << 32)))
        XCTAssertEqual(established.first, .serving(epoch: 2))
        XCTAssertEqual(sent(established).map(\.type), [QuorumPacketType.upToDate])

        let proposal = txn(0x2_0000_0001)
        let proposed = peer.step(.propose(proposal))
        XCTAssertEqual(proposed.first, .persist(proposal))
        XCTAssertEqual(sent(proposed).map(\.type), [QuorumPacketType.proposal])
        XCTAssertEqual(peer.step(.durable(through: proposal.zxid)), [], "the leader alone is not a quorum of three")
        let committed = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ack, zxid: proposal.zxid)))
        XCTAssertEqual(committed.first, .commit(proposal))
        XCTAssertEqual(sent(committed).map(\.type), [QuorumPacketType.commit])
    }

    func testLeaderTruncatesALearnerHoldingAnOldLeadersTail() {
        var peer = makePeer(3, epoch: 1, zxids: [0x1_0000_0001, 0x1_0000_0002])
        _ = electLeader(&peer)
        _ = peer.step(followerInfo(from: 1, acceptedEpochZxid: 1 << 32))
        // Learner 1 is ahead within epoch 1 (its old leader proposed 3 and 4 to no quorum)...
        // which ZooKeeper's leader treats as "learner ahead" only when its epoch is newer.
        let sync = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ackEpoch, zxid: 0x1_0000_0004,
                                                           data: ZabPeer.int32Data(0))))
        XCTAssertEqual(sent(sync).map(\.type), [QuorumPacketType.trunc, QuorumPacketType.newLeader])
        XCTAssertEqual(sent(sync).first?.zxid, 0x1_0000_0002)
    }

    func testFollowerTruncatesAndReloadsOnTrunc() {
        var peer = makePeer(1, epoch: 1, zxids: [0x1_0000_0001, 0x1_0000_0002, 0x1_0000_0003])
        _ = settle(&peer, leader: 3, leaderZxid: 0x1_0000_0002, epoch: 1)
        _ = peer.step(.connectedToLeader(3))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.leaderInfo, zxid: 2 << 32, data: ZabPeer.int32Data(0x10000))))
        let trunc = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.trunc, zxid: 0x1_0000_0002)))
        XCTAssertEqual(trunc, [.truncateLog(after: 0x1_0000_0002), .reloadFromDisk])
        XCTAssertEqual(peer.lastLogged, 0x1_0000_0002)
    }

    func testLeaderStepsDownWhenALearnerIsAhead() {
        var peer = makePeer(3, epoch: 1, zxids: [0x1_0000_0001])
        _ = electLeader(&peer)
        _ = peer.step(followerInfo(from: 1, acceptedEpochZxid: 2 << 32))
        let effects = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ackEpoch, zxid: 0x2_0000_0005,
                                                              data: ZabPeer.int32Data(2))))
        XCTAssertTrue(effects.contains(.roleChanged(.looking, leader: nil)))
        XCTAssertEqual(peer.state, .looking)
    }

    func testLeaderWithoutAQuorumStepsDownAfterInitLimit() {
        var peer = makePeer(3, epoch: 1, zxids: [])
        _ = electLeader(&peer)
        var effects: [ZabEffect] = []
        for _ in 0...peer.settings.initLimitTicks { effects += peer.step(.tick) }
        XCTAssertEqual(peer.state, .looking)
        XCTAssertTrue(effects.contains(.roleChanged(.looking, leader: nil)))
    }

    func testStepDownAppliesLoggedTxnsButNeverAcknowledgesThem() {
        var peer = makePeer(1, epoch: 1, zxids: [])
        _ = settle(&peer, leader: 3, leaderZxid: 0, epoch: 1)
        _ = peer.step(.connectedToLeader(3))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.leaderInfo, zxid: 2 << 32, data: ZabPeer.int32Data(0x10000))))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.diff, zxid: 0)))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.newLeader, zxid: 2 << 32)))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.upToDate, zxid: -1)))
        let logged = txn(0x2_0000_0001)
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.proposal, zxid: logged.zxid, data: logged.encoded())))
        let effects = peer.step(.disconnected(3))
        let looking = effects.firstIndex(of: .roleChanged(.looking, leader: nil))
        let applied = effects.firstIndex(of: .commit(logged))
        XCTAssertNotNil(looking)
        XCTAssertNotNil(applied)
        XCTAssertLessThan(looking!, applied!, "the kernel drops pending replies before the fast-forward")
        XCTAssertEqual(peer.lastCommitted, logged.zxid)
    }

    func testSnapSyncWritesTheSnapshotBeforeAnythingElse() {
        var peer = makePeer(1, epoch: 1, zxids: [0x1_0000_0001])
        _ = settle(&peer, leader: 3, leaderZxid: 0x1_0000_0400, epoch: 1)
        _ = peer.step(.connectedToLeader(3))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.leaderInfo, zxid: 2 << 32, data: ZabPeer.int32Data(0x10000))))
        let snap = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.snap, zxid: 0x1_0000_0400)))
        XCTAssertEqual(snap, [.truncateLog(after: 0x1_0000_0400), .takeSnapshot],
                       "a step-down right after must not leave the leader's state in memory only")
        XCTAssertEqual(peer.lastLogged, 0x1_0000_0400)
    }

    func testSettledServersOfOneLeaderShowOneVoteWhateverZxidTheyJoinedAt() {
        var fle = FastLeaderElection(myId: 1, voters: voters, lastZxid: 0, currentEpoch: 1)
        _ = fle.start()
        // 2 joined leader 3 early (zxid 5), 3 itself leads with zxid 9: one reign, epoch 2.
        _ = fle.receive(ElectionNotification(sender: 2, state: .following, vote: Vote(leader: 3, zxid: 5, peerEpoch: 2),
                                             electionEpoch: 4))
        let effects = fle.receive(ElectionNotification(sender: 3, state: .leading, vote: Vote(leader: 3, zxid: 9, peerEpoch: 2),
                                                       electionEpoch: 7))
        guard case .decided(let vote, .following)? = effects.last else { return XCTFail("undecided: \(effects)") }
        XCTAssertEqual(vote.leader, 3)
    }

    // MARK: Observers

    func testLeaderGivesObserversCommittedTxnsAsInformAndCountsThemForNothing() {
        let settings = ZabSettings(myId: 3, voters: voters, observers: [4], initLimitTicks: 10, syncLimitTicks: 5, committedLogMax: 10)
        var peer = ZabPeer(settings: settings, acceptedEpoch: 1, currentEpoch: 1, lastZxid: 0, history: [])
        _ = electLeader(&peer)
        var w = JuteWriter()
        LearnerInfo(serverId: 4, configVersion: 0).write(to: &w)
        let observerJoined = peer.step(.packet(from: 4, QuorumPacket(type: QuorumPacketType.observerInfo, zxid: 1 << 32, data: w.bytes)))
        XCTAssertEqual(observerJoined, [], "an observer's accepted epoch is no part of the quorum that fixes the epoch")
        let epoch = peer.step(followerInfo(from: 1, acceptedEpochZxid: 1 << 32))
        XCTAssertEqual(sent(epoch).map(\.to), [1, 4], "LEADERINFO goes to the observer too")
        _ = peer.step(.packet(from: 4, QuorumPacket(type: QuorumPacketType.ackEpoch, zxid: 0, data: ZabPeer.int32Data(1))))
        XCTAssertEqual(peer.step(.packet(from: 4, QuorumPacket(type: QuorumPacketType.ack, zxid: 2 << 32))), [],
                       "the observer's NEWLEADER ACK does not establish the leader")
        _ = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ackEpoch, zxid: 0, data: ZabPeer.int32Data(1))))
        let established = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ack, zxid: 2 << 32)))
        XCTAssertEqual(established.first, .serving(epoch: 2))

        let write = txn(0x2_0000_0001)
        let proposed = peer.step(.propose(write))
        XCTAssertEqual(sent(proposed).map(\.to), [1], "no PROPOSAL to an observer")
        XCTAssertEqual(peer.step(.durable(through: write.zxid)), [])
        XCTAssertEqual(peer.step(.packet(from: 4, QuorumPacket(type: QuorumPacketType.ack, zxid: write.zxid))), [],
                       "an observer's ACK counts for nothing")
        let committed = peer.step(.packet(from: 1, QuorumPacket(type: QuorumPacketType.ack, zxid: write.zxid)))
        XCTAssertEqual(committed.first, .commit(write))
        XCTAssertEqual(sent(committed).map { [$0.to, Int64($0.type)] }, [[1, Int64(QuorumPacketType.commit)], [4, Int64(QuorumPacketType.inform)]])
    }

    func testObserverLearnsTheLeaderFromVotersAndAppliesInforms() {
        let settings = ZabSettings(myId: 4, voters: voters, observers: [4], initLimitTicks: 10, syncLimitTicks: 5)
        var peer = ZabPeer(settings: settings, acceptedEpoch: 1, currentEpoch: 1, lastZxid: 0, history: [])
        let looking = peer.step(.start)
        let asked: [Int64] = looking.compactMap { if case .sendElection(let to, _) = $0 { return to } else { return nil } }
        XCTAssertEqual(asked, [1, 2, 3])
        let vote = Vote(leader: 3, zxid: 0, peerEpoch: 2)
        var effects: [ZabEffect] = []
        for (sender, state) in [(Int64(3), PeerState.leading), (2, .following)] {
            effects += peer.step(.election(ElectionNotification(sender: sender, state: state, vote: vote, electionEpoch: 1)))
        }
        XCTAssertTrue(effects.contains(.roleChanged(.observing, leader: 3)))
        guard case .send(3, let hello)? = peer.step(.connectedToLeader(3)).first else { return XCTFail("no OBSERVERINFO") }
        XCTAssertEqual(hello.type, QuorumPacketType.observerInfo)
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.leaderInfo, zxid: 2 << 32, data: ZabPeer.int32Data(0x10000))))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.diff, zxid: 0)))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.newLeader, zxid: 2 << 32)))
        _ = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.upToDate, zxid: -1)))
        let committed = txn(0x2_0000_0001)
        let inform = peer.step(.packet(from: 3, QuorumPacket(type: QuorumPacketType.inform, zxid: committed.zxid, data: committed.encoded())))
        XCTAssertEqual(inform, [.persist(committed), .commit(committed)], "applied at once, and never acknowledged")
        XCTAssertEqual(peer.step(.durable(through: committed.zxid)), [])
    }

    func testVotersAnswerAnObserverButNeverCountIt() {
        var fle = FastLeaderElection(myId: 1, voters: voters, lastZxid: 0, currentEpoch: 1)
        _ = fle.start()
        let observerVote = Vote(leader: Int64.min, zxid: 0, peerEpoch: 1)
        let answer = fle.receive(ElectionNotification(sender: 4, state: .looking, vote: observerVote, electionEpoch: 1))
        guard case .send(4, let n)? = answer.first, answer.count == 1 else { return XCTFail("no answer: \(answer)") }
        XCTAssertEqual(n.vote.leader, 1)
    }
}
