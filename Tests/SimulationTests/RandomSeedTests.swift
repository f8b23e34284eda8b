import Foundation
import Simulation
import Testing

/// Hundreds of seeded runs of the whole ensemble under crashes, partitions, torn writes, slow
/// links and disks, and client load, each ending healed and checked (see Simulation.run).
///
/// A failure prints its seed and the end of its trace. Rerun one seed, with its whole report:
///     SIM_SEED=164 swift test --filter "RandomSeedTests/threePeers"
/// More seeds than the default (a soak): SIM_SEED_COUNT=5000. A longer trace: SIM_TRACE_LINES.
@Suite struct RandomSeedTests {
    @Test(arguments: Sweep.seeds(default: 1...600))
    func threePeers(seed: UInt64) {
        Sweep.check(Simulation.run(seed: seed, options: SimulationOptions(voterCount: 3), traceLines: Sweep.traceLines))
    }

    @Test(arguments: Sweep.seeds(default: 100_001...100_300))
    func fivePeers(seed: UInt64) {
        Sweep.check(Simulation.run(seed: seed, options: SimulationOptions(voterCount: 5), traceLines: Sweep.traceLines))
    }

    /// One or two observers ride along under the same faults as the voters; they must end with
    /// everyone's state and never count toward a quorum.
    @Test(arguments: Sweep.seeds(default: 200_001...200_200))
    func threeVotersWithObservers(seed: UInt64) {
        let options = SimulationOptions(voterCount: 3, observerCount: 1 + Int(seed % 2))
        Sweep.check(Simulation.run(seed: seed, options: options, traceLines: Sweep.traceLines))
    }

    @Test(arguments: Sweep.seeds(default: 300_001...300_100))
    func fiveVotersTwoObservers(seed: UInt64) {
        Sweep.check(Simulation.run(seed: seed, options: SimulationOptions(voterCount: 5, observerCount: 2), traceLines: Sweep.traceLines))
    }

    /// Frozen processes (often the leader), stalled disks, clock jumps and flapping partitions on
    /// top of the crashes and partitions, on three or five voters, some with an observer.
    @Test(arguments: Sweep.seeds(default: 400_001...400_300))
    func extendedFaults(seed: UInt64) {
        var options = SimulationOptions(voterCount: seed % 2 == 0 ? 3 : 5, observerCount: seed % 3 == 0 ? 1 : 0)
        options.extendedFaults = true
        Sweep.check(Simulation.run(seed: seed, options: options, traceLines: Sweep.traceLines))
    }

    /// The sweeps are only as good as what they exercise: a few seeds must already have gone
    /// through every path the chaos is for.
    @Test func chaosReachesEveryPath() {
        let total = (1...30).map { Simulation.run(seed: $0, options: SimulationOptions(voterCount: 3)).stats }.reduce(SimulationStats(), +)
        #expect(total.crashes > 0 && total.partitions > 0)
        #expect(total.snapshotsSent > 0, "learners far behind get SNAP")
        #expect(total.truncations > 0, "learners with txns no quorum kept get TRUNC")
        #expect(total.leadersServing > 10, "leadership changes hands")
        let withObservers = (1...10).map { Simulation.run(seed: $0, options: SimulationOptions(voterCount: 3, observerCount: 1)).stats }
        #expect(withObservers.reduce(SimulationStats(), +).snapshotsToObservers > 0, "observers far behind get SNAP")
        var extended = SimulationOptions(voterCount: 3)
        extended.extendedFaults = true
        let extendedTotal = (1...20).map { Simulation.run(seed: $0, options: extended).stats }.reduce(SimulationStats(), +)
        #expect(extendedTotal.freezes > 0 && extendedTotal.diskStalls > 0 && extendedTotal.clockJumps > 0
                && extendedTotal.flappingPartitions > 0, "every extended fault comes up")
    }
}

enum Sweep {
    static let environment = ProcessInfo.processInfo.environment
    static let traceLines = environment["SIM_TRACE_LINES"].flatMap(Int.init) ?? 400

    static func seeds(default range: ClosedRange<UInt64>) -> [UInt64] {
        if let seed = environment["SIM_SEED"].flatMap(UInt64.init) { return [seed] }
        let count = environment["SIM_SEED_COUNT"].flatMap(UInt64.init) ?? UInt64(range.count)
        return Array(range.lowerBound..<range.lowerBound + count)
    }

    /// A failed run fails the test with its seed, the broken invariant and the trace's end.
    static func check(_ report: SimulationReport) {
        if environment["SIM_SEED"] != nil { print(report) }
        if report.failed { Issue.record("\(report)") }
    }
}
