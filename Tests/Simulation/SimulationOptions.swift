/// The shape of a run: ensemble size, engine limits, and how hostile the world is. Scripted
/// scenarios turn the random faults and client load off and act by hand.
public struct SimulationOptions: Sendable {
    /// Servers 1...voterCount vote; the observers are numbered after them and suffer the same
    /// faults, but never count toward a quorum.
    public var voterCount: Int
    public var observerCount: Int
    public var tickMs: Int64 = 100
    public var initLimitTicks = 10
    public var syncLimitTicks = 5
    /// Small, so that learners which fall behind get SNAP, and TRUNC paths run often.
    public var committedLogMax = 8
    /// The kernel snapshots its tree after every n/2 to n logged txns (ZooKeeper's snapCount,
    /// randomized the same way); 0 never.
    public var snapshotEveryTxns = 20

    /// How long random faults and client writes go on before the world heals.
    public var chaosMs: Int64 = 20_000
    /// Mean gap between random faults (crash, partition); 0 turns them off.
    public var faultMeanIntervalMs: Int64 = 1_000
    /// Mean gap between client writes; 0 turns them off.
    public var clientWriteMeanIntervalMs: Int64 = 100
    /// Chance that a server crashes part-way through carrying out one step's effects.
    public var crashMidStepChance = 0.002
    /// Whether a crash may keep part of the log's volatile tail (a torn write).
    public var tornWrites = true
    /// Whether frozen processes (GC-like pauses, often of the leader), stalled disks (stuck
    /// followers), clock jumps and flapping partitions join the crashes and partitions.
    public var extendedFaults = false

    /// After healing: how long the ensemble may take to settle (one leader serving, everyone
    /// following and equal), then how long one more write may take to commit everywhere.
    public var healLimitMs: Int64 = 60_000
    public var livenessLimitMs: Int64 = 10_000

    public var traceEnabled = true

    public init(voterCount: Int, observerCount: Int = 0) {
        precondition(voterCount >= 1 && observerCount >= 0)
        self.voterCount = voterCount
        self.observerCount = observerCount
    }

    public var serverCount: Int { voterCount + observerCount }

    /// No random faults and no client load: a scripted scenario drives the world.
    public static func scripted(voterCount: Int, observerCount: Int = 0) -> SimulationOptions {
        var options = SimulationOptions(voterCount: voterCount, observerCount: observerCount)
        options.faultMeanIntervalMs = 0
        options.clientWriteMeanIntervalMs = 0
        options.crashMidStepChance = 0
        return options
    }
}
