import XCTest
import ZAB

/// Elections among engines wired by an in-test network: messages delivered in an order a seed
/// picks, finalize timers fired when the network is idle.
final class FastLeaderElectionTests: XCTestCase {
    struct Network {
        var engines: [Int64: FastLeaderElection]
        var inFlight: [(to: Int64, ElectionNotification)] = []
        var timersArmed: Set<Int64> = []
        /// Resend timers in the order they were armed, so every looking server gets its turn.
        var resendArmed: [Int64] = []
        var decisions: [Int64: (Vote, PeerState)] = [:]
        /// Servers whose election has started; messages to the others are lost, as to a down host.
        var started: Set<Int64> = []
        var rng: SplitMix

        init(_ candidates: [(id: Int64, zxid: Int64, epoch: Int64)], seed: UInt64) {
            let voters = Set(candidates.map(\.id))
            engines = Dictionary(uniqueKeysWithValues: candidates.map {
                ($0.id, FastLeaderElection(myId: $0.id, voters: voters, lastZxid: $0.zxid, currentEpoch: $0.epoch))
            })
            rng = SplitMix(seed: seed)
        }

        mutating func apply(_ effects: [FastLeaderElection.Effect], from id: Int64) {
            for effect in effects {
                switch effect {
                case .send(let to, let n): inFlight.append((to, n))
                case .armFinalizeTimer: timersArmed.insert(id)
                case .armResendTimer: resendArmed.append(id)
                case .decided(let vote, let state): decisions[id] = (vote, state)
                }
            }
        }

        mutating func start(_ ids: [Int64]) {
            for id in ids {
                started.insert(id)
                apply(engines[id]!.start(), from: id)
            }
        }

        /// Delivers messages in seeded random order; when nothing is in flight fires finalize
        /// timers, then resend timers. Returns whether every started server settled before
        /// `resendRoundsMax` resends.
        @discardableResult
        mutating func run(resendRoundsMax: Int = 100) -> Bool {
            var resends = 0
            while resends < resendRoundsMax {
                if !inFlight.isEmpty {
                    let (to, n) = inFlight.remove(at: Int(rng.next() % UInt64(inFlight.count)))
                    if started.contains(to) { apply(engines[to]!.receive(n), from: to) }
                } else if let id = timersArmed.sorted().first {
                    timersArmed.remove(id)
                    apply(engines[id]!.finalizeTimerFired(), from: id)
                } else if let index = resendArmed.firstIndex(where: { engines[$0]!.state == .looking }) {
                    let id = resendArmed.remove(at: index)
                    resends += 1
                    apply(engines[id]!.resendTimerFired(), from: id)
                } else {
                    return true
                }
            }
            return false
        }
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testHighestZxidWinsThenHighestId() {
        var net = Network([(1, 10, 1), (2, 12, 1), (3, 12, 1)], seed: 1)
        net.start([1, 2, 3])
        net.run()
        XCTAssertEqual(net.decisions.count, 3)
        for (id, (vote, state)) in net.decisions {
            XCTAssertEqual(vote.leader, 3, "zxid 12 ties; id 3 beats 2")
            XCTAssertEqual(state, id == 3 ? .leading : .following)
        }
    }

    func testEpochOutranksZxid() {
        var net = Network([(1, 0x1_0000_0005, 1), (2, 0x2_0000_0001, 2), (3, 0x1_0000_0009, 1)], seed: 7)
        net.start([1, 2, 3])
        net.run()
        XCTAssertEqual(Set(net.decisions.values.map(\.0.leader)), [2])
    }

    func testEveryDeliveryOrderAgreesOnOneLeader() {
        for seed in UInt64(1)...200 {
            var rng = SplitMix(seed: seed)
            let size = [3, 5][Int(rng.next() % 2)]
            let candidates = (1...size).map { (Int64($0), Int64(rng.next() % 4), Int64(1)) }
            var net = Network(candidates, seed: seed)
            net.start(candidates.map(\.0).shuffled(using: &rng))
            XCTAssertTrue(net.run(), "seed \(seed): the election settles")
            let leaders = Set(net.decisions.values.map(\.0.leader))
            XCTAssertEqual(net.decisions.count, size, "seed \(seed): everyone decides")
            XCTAssertEqual(leaders.count, 1, "seed \(seed): one leader")
            // ZAB's requirement of an election: the leader's log is at least as new as those of a
            // quorum of servers (recovery then brings the rest up to it).
            let leaderVote = net.decisions.values.first!.0
            let covered = candidates.filter { !Vote(leader: $0.0, zxid: $0.1, peerEpoch: $0.2).beats(leaderVote) }.count
            XCTAssertGreaterThanOrEqual(covered, size / 2 + 1, "seed \(seed): the leader is as new as a quorum")
            XCTAssertEqual(net.decisions.values.filter { $0.1 == .leading }.count, 1, "seed \(seed)")
        }
    }

    func testLateServerJoinsTheEstablishedLeader() {
        var net = Network([(1, 5, 1), (2, 5, 1), (3, 9, 1)], seed: 3)
        // 1 and 2 elect without 3, then 3 (with a better log) starts late: it must follow 2, not
        // overturn a settled leader.
        net.start([1, 2])
        XCTAssertTrue(net.run())
        XCTAssertEqual(net.decisions[1]?.0.leader, 2)
        XCTAssertEqual(net.decisions[2]?.1, .leading)
        net.start([3])
        XCTAssertTrue(net.run())
        XCTAssertEqual(net.decisions[3]?.0.leader, 2)
        XCTAssertEqual(net.decisions[3]?.1, .following)
    }

    func testResendReachesAServerThatMissedTheFirstRound() {
        var net = Network([(1, 3, 1), (2, 3, 1), (3, 3, 1)], seed: 11)
        net.start([1, 2, 3])
        net.inFlight.removeAll { $0.to == 3 } // 3 hears nothing of the first round
        net.run()
        XCTAssertEqual(Set(net.decisions.values.map(\.0.leader)), [3])
        XCTAssertEqual(net.decisions.count, 3)
    }

    func testSingleVoterLeadsAtOnce() {
        var election = FastLeaderElection(myId: 1, voters: [1], lastZxid: 0, currentEpoch: 0)
        XCTAssertEqual(election.start(), [.decided(Vote(leader: 1, zxid: 0, peerEpoch: 0), .leading)])
    }

    func testNoDecisionWithoutAQuorum() {
        var net = Network([(1, 1, 1), (2, 1, 1), (3, 1, 1)], seed: 5)
        net.start([1])
        XCTAssertFalse(net.run(), "one voter of three keeps looking")
        XCTAssertTrue(net.decisions.isEmpty, "one voter of three cannot elect")
    }
}

extension Array {
    func shuffled(using rng: inout FastLeaderElectionTests.SplitMix) -> [Element] {
        var copy = self
        for i in stride(from: copy.count - 1, to: 0, by: -1) {
            copy.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return copy
    }
}
