/// One randomized run from a seed: chaos (crashes, partitions, torn writes, client writes), then
/// the world heals, must settle, and must commit one more write; the invariants hold throughout.
public enum Simulation {
    /// A failed run's report ends with its last `traceLines` trace entries.
    public static func run(seed: UInt64, options: SimulationOptions, traceLines: Int = 400) -> SimulationReport {
        let world = World(seed: seed, options: options)
        world.start()
        world.startChaos()
        world.run(forMs: options.chaosMs)
        if world.violations.isEmpty { healAndCheck(world) }
        return SimulationReport(world: world, traceLines: traceLines)
    }

    /// Heals everything, then: (f) the ensemble settles and commits one more write everywhere
    /// within bounded time, and (c), (d), (g) hold on the settled state.
    private static func healAndCheck(_ world: World) {
        let options = world.options
        world.healEverything()
        guard world.run(forMs: options.healLimitMs, until: \.isQuiet) else {
            if world.violations.isEmpty {
                world.fail("(f) not settled \(options.healLimitMs) ms after healing: \(world.unsettledReason ?? "")")
            }
            return
        }
        let write = world.propose()!
        guard world.run(forMs: options.livenessLimitMs, until: { $0.isAcknowledged(cxid: write) && $0.isQuiet }) else {
            if world.violations.isEmpty {
                world.fail("(f) a write after healing was not committed everywhere within \(options.livenessLimitMs) ms: "
                           + (world.unsettledReason ?? "not acknowledged"))
            }
            return
        }
        world.checkHealed()
        world.checkLinearizable()
    }
}

public struct SimulationReport: CustomStringConvertible {
    public let seed: UInt64
    public let voterCount: Int
    public let observerCount: Int
    public let violations: [String]
    public let acknowledgedWrites: Int
    public let endMs: Int64
    public let stats: SimulationStats
    /// The end of the trace, kept only for a failed run.
    public let traceTail: String

    init(world: World, traceLines: Int) {
        seed = world.seed
        voterCount = world.options.voterCount
        observerCount = world.options.observerCount
        violations = world.violations
        acknowledgedWrites = world.acknowledgedWrites
        endMs = world.nowMs
        stats = world.stats
        traceTail = violations.isEmpty ? "" : world.traceTail(traceLines)
    }

    public var failed: Bool { !violations.isEmpty }

    public var description: String {
        var text = "seed \(seed), \(voterCount) voters, \(observerCount) observers: "
        text += failed ? "FAILED at \(endMs) ms\n" + violations.map { "  \($0)" }.joined(separator: "\n") : "ok"
        text += "\n  \(stats.proposals) proposals, \(acknowledgedWrites) acknowledged, \(stats.crashes) crashes, \(stats.partitions) partitions, "
        text += "\(stats.leadersServing) leaders, \(stats.snapshotsSent) SNAPs (\(stats.snapshotsToObservers) to observers), \(stats.truncations) TRUNCs, \(stats.operationsChecked) client ops checked for linearizability"
        if stats.freezes + stats.diskStalls + stats.clockJumps + stats.flappingPartitions > 0 {
            text += ", \(stats.freezes) freezes, \(stats.diskStalls) disk stalls, \(stats.clockJumps) clock jumps, \(stats.flappingPartitions) flapping partitions"
        }
        if failed { text += "\n  trace (the end; zxids as epoch.counter):\n\(traceTail)" }
        return text
    }
}
