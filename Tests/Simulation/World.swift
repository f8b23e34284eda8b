import Jute
import Linearizability
import ZAB

/// Many ZAB engines in one process, driven by a seeded clock, network and disk. The world plays
/// every server's driver: it carries out each effect the way the real server does (see
/// ZabEffect) and turns timers, ticks, messages and fsyncs into inputs. Everything random comes
/// from `rng`, and events at one millisecond run in the order they were scheduled, so a seed
/// replays the same run exactly.
public final class World {
    public let seed: UInt64
    public let options: SimulationOptions
    public internal(set) var nowMs: Int64 = 0
    public internal(set) var trace: [TraceEntry] = []
    public internal(set) var stats = SimulationStats()

    var rng: SimRandom
    /// This run's weather, drawn from the seed: how often a message or an fsync is slow. Some runs
    /// see rare hiccups, some are sluggish throughout, so timing windows of every width come up.
    let slowMessageChance: Double
    let slowFsyncChance: Double
    var queue = EventQueue<Event>()
    var hosts: [Host]
    var connections: [Int: Connection] = [:]
    var nextConnectionId = 1
    var checker = InvariantChecker()
    /// Set when an applied state or the acknowledged set changed since the last prefix check.
    var prefixCheckDue = false
    /// Partition group of each server; servers talk only within their group.
    var groups: [Int]
    var partitionGeneration = 0
    /// Random faults and client writes happen only while this is on.
    var chaos = false
    var nextCxid: Int32 = 1
    /// The clients' view of their writes as register operations (key and value from the cxid),
    /// for the linearizability check at the end; `historyIndex` finds a write by its cxid.
    var history: [ClientOperation<PlainRegister.Input, PlainRegister.Output>] = []
    var historyIndex: [Int32: Int] = [:]
    /// Quorum packets matching this stop their connection's direction at delivery (a slow link);
    /// `releaseHeldPackets` lets them through.
    var holdRule: ((_ from: Int64, _ to: Int64, QuorumPacket) -> Bool)?
    var heldPipes: [(connection: Int, to: Int64)] = []
    /// Servers whose fsyncs do not complete until `resumeDisk` (a stalled disk).
    var stalledDisks: Set<Int64> = []
    /// Processes frozen until the given time (a long GC pause, SIGSTOP): nothing they would
    /// handle runs before then; the kernel still completes TCP connects to them.
    var frozenUntilMs: [Int64: Int64] = [:]
    /// Ticks a server's clock will swallow: its clock jumped back, so its timeouts see less time.
    var ticksToSkip: [Int64: Int] = [:]

    public init(seed: UInt64, options: SimulationOptions) {
        self.seed = seed
        self.options = options
        rng = SimRandom(seed: seed)
        slowMessageChance = rng.pick([0.01, 0.05, 0.2])
        slowFsyncChance = rng.pick([0.01, 0.05, 0.2])
        hosts = Array(repeating: Host(), count: options.serverCount)
        groups = Array(repeating: 0, count: options.serverCount)
    }

    /// Every server, voters and observers alike: faults, partitions and checks treat them the same.
    public var peerIds: [Int64] { (1...Int64(options.serverCount)).map { $0 } }
    public var voterIds: [Int64] { Array(peerIds.prefix(options.voterCount)) }
    public var observerIds: [Int64] { Array(peerIds.dropFirst(options.voterCount)) }
    func isObserver(_ id: Int64) -> Bool { id > Int64(options.voterCount) }
    public var violations: [String] { checker.violations }
    public var acknowledgedWrites: Int { checker.acknowledgedCount }

    /// Starts every server and the periodic invariant check.
    public func start() {
        for id in peerIds { boot(id) }
        schedule(.check, afterMs: options.tickMs)
    }

    // MARK: Running

    /// Runs events until `condition` holds (checked after each event), `durationMs` passes, or an
    /// invariant breaks. Returns whether the condition held.
    @discardableResult
    public func run(forMs durationMs: Int64, until condition: (World) -> Bool = { _ in false }) -> Bool {
        let endMs = nowMs + durationMs
        while violations.isEmpty {
            if condition(self) { return true }
            guard let (time, event) = queue.pop() else { return false }
            guard time <= endMs else {
                queue.push(event, at: time)
                nowMs = endMs
                return false
            }
            nowMs = time
            handle(event)
        }
        return false
    }

    func schedule(_ event: Event, afterMs delayMs: Int64) {
        queue.push(event, at: nowMs + delayMs)
    }

    private func handle(_ event: Event) {
        if let frozen = event.handler, let until = frozenUntilMs[frozen], until > nowMs {
            return queue.push(event, at: until)
        }
        switch event {
        case .tick(let id, let incarnation):
            guard host(id).incarnation == incarnation, host(id).isUp else { return }
            if let skip = ticksToSkip[id], skip > 0 {
                ticksToSkip[id] = skip - 1
            } else {
                step(id, .tick)
            }
            schedule(.tick(id, incarnation: incarnation), afterMs: options.tickMs)
        case .timer(let id, let incarnation, let timer, let generation):
            guard host(id).incarnation == incarnation, host(id).timerGenerations[timer] == generation else { return }
            step(id, .timerFired(timer))
        case .election(let from, let fromIncarnation, let to, let toIncarnation, let notification):
            guard host(from).incarnation == fromIncarnation, host(to).incarnation == toIncarnation,
                  reachable(from, to) else { return }
            step(to, .election(notification))
        case .connectAttempt(let id, let incarnation, let attempt):
            connectAttempt(id, incarnation: incarnation, attempt: attempt)
        case .established(let connection):
            established(connection)
        case .pipe(let connection, let to):
            deliverNext(on: connection, to: to)
        case .brokenNotice(let connection, let to):
            brokenNotice(connection, to: to)
        case .fsync(let id, let incarnation):
            guard host(id).incarnation == incarnation else { return }
            guard !stalledDisks.contains(id) else { return schedule(event, afterMs: 10) }
            fsyncCompleted(id)
        case .check:
            checkCommittedPrefixes()
            schedule(.check, afterMs: options.tickMs)
        case .clientWrite:
            guard chaos else { return }
            propose()
            schedule(.clientWrite, afterMs: rng.int(in: 1...2 * options.clientWriteMeanIntervalMs))
        case .fault:
            guard chaos else { return }
            injectFault()
            schedule(.fault, afterMs: rng.int(in: 1...2 * options.faultMeanIntervalMs))
        case .restart(let id, let incarnation):
            guard chaos, host(id).incarnation == incarnation, !host(id).isUp else { return }
            restart(id)
        case .healPartition(let generation):
            guard generation == partitionGeneration else { return }
            healPartition()
        case .thaw(let id):
            frozenUntilMs[id] = nil
        case .resumeDisk(let id):
            resumeDisk(id)
        case .flap(let remaining):
            guard chaos else { return }
            flapPartition(remaining: remaining)
        }
    }

    // MARK: Servers

    func host(_ id: Int64) -> Host { hosts[Int(id) - 1] }

    func withHost<T>(_ id: Int64, _ body: (inout Host) -> T) -> T { body(&hosts[Int(id) - 1]) }

    /// A fresh process on the server's data dir: the engine starts from what the disk holds.
    func boot(_ id: Int64) {
        let settings = ZabSettings(myId: id, voters: Set(voterIds), observers: Set(observerIds), initLimitTicks: options.initLimitTicks,
                                   syncLimitTicks: options.syncLimitTicks, committedLogMax: options.committedLogMax)
        let incarnation = withHost(id) { host -> Int in
            let history = host.disk.history
            host.engine = ZabPeer(settings: settings, acceptedEpoch: host.disk.acceptedEpoch,
                                  currentEpoch: host.disk.currentEpoch, lastZxid: history.last?.zxid ?? 0, history: history)
            host.applied = history
            return host.incarnation
        }
        let countdown = nextSnapshotCountdown()
        withHost(id) { $0.txnsUntilSnapshot = countdown }
        replaced(host(id).applied, on: id, by: "recovery")
        // Servers' clocks are not in step: each ticks at its own phase.
        schedule(.tick(id, incarnation: incarnation), afterMs: rng.int(in: 1...options.tickMs))
        step(id, .start)
    }

    /// One input into one engine, then its effects, in order.
    func step(_ id: Int64, _ input: ZabInput) {
        guard host(id).isUp else { return }
        audit(input, at: id)
        let effects = hosts[Int(id) - 1].engine!.step(input)
        if case .tick = input, effects.isEmpty { return }
        record(id, .input(input))
        execute(effects, on: id)
    }

    func record(_ peer: Int64, _ item: TraceEntry.Item) {
        if options.traceEnabled { trace.append(TraceEntry(timeMs: nowMs, peer: peer, item: item)) }
    }

    func note(_ text: String, peer: Int64 = 0) { record(peer, .note(text)) }

    /// Whether two servers can talk: both up and on the same side of any partition.
    func reachable(_ a: Int64, _ b: Int64) -> Bool {
        host(a).isUp && host(b).isUp && groups[Int(a) - 1] == groups[Int(b) - 1]
    }

    /// A message or fsync delay: usually short, sometimes long enough to matter against
    /// syncLimit (500 ms with the defaults).
    func delay(shortMs: ClosedRange<Int64>, longMs: ClosedRange<Int64>, longChance: Double) -> Int64 {
        rng.chance(longChance) ? rng.int(in: longMs) : rng.int(in: shortMs)
    }

    // MARK: Invariants

    /// (e), checked every tick: committed prefixes never diverge.
    func checkCommittedPrefixes() {
        guard prefixCheckDue else { return }
        prefixCheckDue = false
        for id in peerIds where host(id).isUp { checker.checkCommittedPrefix(host(id).applied, peer: id) }
    }

    func fail(_ message: String) { checker.fail(message) }

    /// One leader serves, every other server follows (or observes) it over a live connection and
    /// serves in its epoch, nothing is outstanding and all applied states agree: the ensemble has
    /// settled.
    public var isQuiet: Bool { unsettledReason == nil }

    /// Why the ensemble has not settled, or nil if it has.
    public var unsettledReason: String? {
        if groups.contains(where: { $0 != groups[0] }) { return "partitioned" }
        if let down = peerIds.first(where: { !host($0).isUp }) { return "p\(down) is down" }
        guard let leader = servingLeaders.first, servingLeaders.count == 1 else {
            return "\(servingLeaders.count) serving leaders"
        }
        if let zxid = host(leader).outstanding.keys.min() { return "leader p\(leader) has not committed \(TraceEntry.zxidText(zxid))" }
        let epoch = host(leader).servingEpoch
        let reference = host(leader).applied
        for id in peerIds where id != leader {
            let h = host(id)
            if h.role != (isObserver(id) ? .observing : .following) || h.leader != leader || h.servingEpoch != epoch {
                return "p\(id) is \(h.role.map { "\($0)" } ?? "down") (leader \(h.leader ?? 0), serving \(h.servingEpoch ?? -1))"
            }
            // A silent partition can leave both ends serving over a dead connection until their
            // timeouts fire: a write proposed then is lost, so that is not settled either.
            guard let link = h.leaderLink, connections[link]?.broken == false, host(leader).learnerLinks[id] == link else {
                return "p\(id) has no live connection to p\(leader)"
            }
            if h.applied.count != reference.count || h.applied.last != reference.last {
                return "p\(id) applied \(h.applied.count) txns up to \(TraceEntry.zxidText(h.applied.last?.zxid ?? 0)), "
                    + "leader p\(leader) \(reference.count) up to \(TraceEntry.zxidText(reference.last?.zxid ?? 0))"
            }
        }
        return nil
    }

    /// Servers that lead and serve (more than one while a deposed leader has not noticed yet).
    public var servingLeaders: [Int64] {
        peerIds.filter { host($0).isUp && host($0).role == .leading && host($0).servingEpoch != nil }
    }

    public func role(of id: Int64) -> PeerState? { host(id).role }
    public func servingEpoch(of id: Int64) -> Int64? { host(id).servingEpoch }
    public func applied(of id: Int64) -> [LoggedTxn] { host(id).applied }
    public func epochFiles(of id: Int64) -> (accepted: Int64, current: Int64) {
        (host(id).disk.acceptedEpoch, host(id).disk.currentEpoch)
    }

    /// The server's fsyncs stop completing (what it logs stays volatile) until `resumeDisk`.
    public func stallDisk(_ id: Int64) { stalledDisks.insert(id) }
    public func resumeDisk(_ id: Int64) { stalledDisks.remove(id) }
    /// What the server would come back with after a crash now (a torn write aside).
    public func durableHistory(of id: Int64) -> [LoggedTxn] {
        var disk = host(id).disk
        disk.crash(keepingVolatile: 0)
        return disk.history
    }
    public func isAcknowledged(cxid: Int32) -> Bool { checker.isAcknowledged(cxid: cxid) }

    /// (c) and (d) on a healed, quiet world.
    public func checkHealed() { checker.checkHealed(peerIds.map { host($0).applied }) }

    /// The last `count` trace lines, for a failure message.
    public func traceTail(_ count: Int) -> String {
        trace.suffix(count).map(\.description).joined(separator: "\n")
    }
}

/// What one server's driver keeps: the engine (nil while the server is down), its disk and
/// applied state, and the connections and timers it looks after.
struct Host {
    var engine: ZabPeer?
    /// Bumped by every crash, so events meant for an earlier process are ignored.
    var incarnation = 0
    var disk = SimDisk()
    /// The tree, as the txns applied to it.
    var applied: [LoggedTxn] = []
    var role: PeerState?
    var leader: Int64?
    var servingEpoch: Int64?
    /// Counter of the last zxid proposed in `servingEpoch`.
    var proposalCounter: UInt32 = 0
    /// zxids this leader proposed and has not committed yet, each with the voters known to hold
    /// it on disk: the leader once its fsync covers it, a follower once its ACK arrives (h).
    var outstanding: [Int64: Set<Int64>] = [:]
    /// Voters whose ACKEPOCH, and whose NEWLEADER ACK (by zxid), reached this leader in its
    /// current reign (h).
    var epochAckers: Set<Int64> = []
    var newLeaderAckers: [Int64: Set<Int64>] = [:]
    /// This observer got NEWLEADER from its leader: its sync is over, only INFORMs carry txns now.
    var observerSynced = false
    /// Txns to log before the kernel's next periodic snapshot.
    var txnsUntilSnapshot = 0
    var timerGenerations: [ZabTimer: Int] = [:]
    /// The leader this follower keeps trying to connect to, and which attempt is current.
    var connectTarget: Int64?
    var connectAttempt = 0
    /// Our connection to our leader, and the ones learners opened to us, by learner.
    var leaderLink: Int?
    var learnerLinks: [Int64: Int] = [:]
    /// The last election notification sent to each server; the election connection resends it
    /// when it comes back (ZooKeeper's QuorumCnxManager does the same).
    var lastElectionSent: [Int64: ElectionNotification] = [:]
    /// When the last notification sent to each server arrives (the next may not overtake it).
    var electionReadyAtMs: [Int64: Int64] = [:]

    var isUp: Bool { engine != nil }
}

enum Event {
    case tick(Int64, incarnation: Int)
    case timer(Int64, incarnation: Int, ZabTimer, generation: Int)
    case election(from: Int64, fromIncarnation: Int, to: Int64, toIncarnation: Int, ElectionNotification)
    case connectAttempt(Int64, incarnation: Int, attempt: Int)
    case established(connection: Int)
    /// The next message in one direction of a quorum connection arrives.
    case pipe(connection: Int, to: Int64)
    /// A server learns that a broken connection is gone.
    case brokenNotice(connection: Int, to: Int64)
    case fsync(Int64, incarnation: Int)
    case check
    case clientWrite
    case fault
    case restart(Int64, incarnation: Int)
    case healPartition(generation: Int)
    /// A frozen server runs again (its deferred events were pushed to this time too).
    case thaw(Int64)
    case resumeDisk(Int64)
    /// The next cut of a flapping partition.
    case flap(remaining: Int)

    /// The server whose process handles the event: a frozen one handles it only once thawed.
    var handler: Int64? {
        switch self {
        case .tick(let id, incarnation: _): return id
        case .timer(let id, incarnation: _, _, generation: _): return id
        case .connectAttempt(let id, incarnation: _, attempt: _): return id
        case .fsync(let id, incarnation: _): return id
        case .election(from: _, fromIncarnation: _, to: let to, toIncarnation: _, _): return to
        case .pipe(connection: _, to: let to): return to
        case .brokenNotice(connection: _, to: let to): return to
        case .established, .check, .clientWrite, .fault, .restart, .healPartition, .thaw, .resumeDisk, .flap: return nil
        }
    }
}

/// Counts that show what a run exercised.
public struct SimulationStats: Sendable {
    public var crashes = 0
    public var partitions = 0
    public var leadersServing = 0
    public var snapshotsSent = 0
    public var snapshotsToObservers = 0
    public var truncations = 0
    public var proposals = 0
    /// Client operations whose history was checked for linearizability.
    public var operationsChecked = 0
    public var freezes = 0
    public var diskStalls = 0
    public var clockJumps = 0
    public var flappingPartitions = 0

    public init() {}

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.crashes += b.crashes
        sum.partitions += b.partitions
        sum.leadersServing += b.leadersServing
        sum.snapshotsSent += b.snapshotsSent
        sum.snapshotsToObservers += b.snapshotsToObservers
        sum.truncations += b.truncations
        sum.proposals += b.proposals
        sum.operationsChecked += b.operationsChecked
        sum.freezes += b.freezes
        sum.diskStalls += b.diskStalls
        sum.clockJumps += b.clockJumps
        sum.flappingPartitions += b.flappingPartitions
        return sum
    }
}
