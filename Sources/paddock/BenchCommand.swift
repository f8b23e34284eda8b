import ArgumentParser
import Dispatch
import PaddockClient

/// A load generator for any ZooKeeper-compatible server: `--clients` sessions, each with
/// `--inflight` requests outstanding, for `--duration` seconds, of one op mix; prints throughput,
/// latency percentiles and one machine-readable `BENCH` line.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Drive a ZooKeeper-compatible server with many sessions and report throughput and latency.")

    enum Mix: String, ExpressibleByArgument, CaseIterable {
        case get, set, createDelete = "create-delete", mixed
    }

    @Option(help: "Connection string (host:port,...[/chroot]); session i connects to the i-th host, round robin.")
    var hosts = "127.0.0.1:2181"
    @Option(help: "Sessions.") var clients = 1
    @Option(help: "Requests outstanding per session.") var inflight = 1
    @Option(help: "Seconds of measured load.") var duration = 10.0
    @Option(help: "Seconds of unmeasured load first.") var warmup = 1.0
    @Option(help: "Op mix: \(Mix.allCases.map(\.rawValue).joined(separator: ", ")) (create-delete: one op creates a new node and deletes it).") var op = Mix.get
    @Option(help: "Share of reads in the mixed load, 0-100.") var readPercent = 90
    @Option(help: "Bytes per value.") var valueBytes = 100
    @Option(help: "Nodes read and written (the key space).") var keys = 1000
    @Option(help: "Parent of the bench's nodes; created, and removed afterwards.") var root = "/paddock-bench"

    func validate() throws {
        guard clients > 0, inflight > 0, keys > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("--clients, --inflight, --keys and --duration must be positive")
        }
        guard (0...100).contains(readPercent) else { throw ValidationError("--read-percent is 0-100") }
        do {
            _ = try ConnectString(hosts)
        } catch {
            throw ValidationError("--hosts: \(error)")
        }
    }

    func run() throws {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                outcome.report = try await self.measure()
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
        print(outcome.report!)
    }

    private func measure() async throws -> String {
        let sessions = try await withThrowingTaskGroup(of: ZooKeeperClient.self) { group in
            for session in 0..<clients { group.addTask { try await ZooKeeperClient.connect(try self.host(for: session)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueBytes)
        try await prepare(sessions[0], value: value)

        let clock = ContinuousClock()
        let start = clock.now + .seconds(warmup)
        let end = start + .seconds(duration)
        let loads = sessions.enumerated().map { index, session in
            SessionLoad(bench: self, zk: session, session: index, value: value, window: start...end)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for load in loads { group.addTask { try await load.run() } }
            try await group.waitForAll()
        }
        var histogram = LatencyHistogram(), completed = 0
        for load in loads {
            histogram.merge(load.histogram)
            completed += load.completed
        }
        try await cleanUp(sessions[0])
        for session in sessions { await session.close() }

        let rate = Double(completed) / duration
        let p50 = histogram.percentile(50), p99 = histogram.percentile(99), p999 = histogram.percentile(99.9)
        return """
            \(op.rawValue): \(clients) clients x \(inflight) in flight, \(valueBytes)-byte values, \(keys) keys, \(duration) s
            throughput \(Int(rate)) ops/s; latency p50 \(p50) µs, p99 \(p99) µs, p99.9 \(p999) µs, max \(histogram.maxMicros) µs
            BENCH op=\(op.rawValue) clients=\(clients) inflight=\(inflight) value_bytes=\(valueBytes) seconds=\(duration) ops=\(completed) ops_per_s=\(Int(rate)) p50_us=\(p50) p99_us=\(p99) p999_us=\(p999) max_us=\(histogram.maxMicros)
            """
    }

    /// The parent and the key space, every key holding a value.
    private func prepare(_ zk: ZooKeeperClient, value: [UInt8]) async throws {
        try await cleanUp(zk)
        try await zk.create(root)
        for batch in stride(from: 0, to: keys, by: 500) {
            _ = try await zk.multi((batch..<min(batch + 500, keys)).map { .create(path: key($0), data: value) })
        }
    }

    private func cleanUp(_ zk: ZooKeeperClient) async throws {
        guard let stat = try await zk.exists(root) else { return }
        let children = stat.numChildren > 0 ? try await zk.getChildren(root).children : []
        for batch in stride(from: 0, to: children.count, by: 500) {
            _ = try await zk.multi(children[batch..<min(batch + 500, children.count)].map { .delete(path: "\(root)/\($0)") })
        }
        try await zk.delete(root)
    }

    /// One server of the connection string (with its chroot) per session, in turn, rather than
    /// the client's random pick: a one-session load on an ensemble then always meets the same
    /// member, so runs against different servers compare like with like.
    private func host(for session: Int) throws -> String {
        let parsed = try ConnectString(hosts)
        return parsed.servers[session % parsed.servers.count].description + (parsed.chroot ?? "")
    }

    fileprivate func key(_ index: Int) -> String { "\(root)/k\(index)" }
}

/// One session's share of the load: `inflight` lanes, each sending its next request from the
/// previous one's completion, on the session's event loop (no task switch per request, so the
/// generator spends its CPU on the protocol rather than on scheduling). Throughput counts the
/// requests completed in the window; latency takes every request that overlaps it, so a stall
/// across either edge still shows in the tail.
///
/// Why @unchecked Sendable is safe: after `run` starts the lanes, the mutable fields are touched
/// only by completions, which all run on the session's one event loop; `measure` reads them after
/// `run` returned, which the last completion causes.
private final class SessionLoad: @unchecked Sendable {
    let bench: BenchCommand
    let zk: ZooKeeperClient
    let session: Int
    let value: [UInt8]
    let window: ClosedRange<ContinuousClock.Instant>
    let clock = ContinuousClock()
    /// Every key's path, built once.
    let keys: [String]
    var histogram = LatencyHistogram()
    var completed = 0
    private var lanesRunning = 0
    private var sequence = 0
    private var failure: ClientError?
    private var generator = SystemRandomNumberGenerator()
    private var finished: CheckedContinuation<Void, any Error>?

    init(bench: BenchCommand, zk: ZooKeeperClient, session: Int, value: [UInt8], window: ClosedRange<ContinuousClock.Instant>) {
        self.bench = bench
        self.zk = zk
        self.session = session
        self.value = value
        self.window = window
        keys = (0..<bench.keys).map(bench.key)
    }

    func run() async throws {
        try await withCheckedThrowingContinuation { continuation in
            zk.onEventLoop {
                self.finished = continuation
                self.lanesRunning = self.bench.inflight
                for _ in 0..<self.bench.inflight { self.next() }
            }
        }
    }

    /// Sends the lane's next request, or ends the lane once the window is over or a request failed.
    private func next() {
        let began = clock.now
        guard began < window.upperBound, failure == nil else { return laneEnded() }
        let done: @Sendable (Result<Void, ClientError>) -> Void = { self.record(began, $0) }
        switch bench.op {
        case .get: getData(done)
        case .set: setData(done)
        case .createDelete:
            let path = "\(bench.root)/w\(session)-\(sequence)"
            sequence += 1
            zk.create(path, data: value) { created in
                guard case .success = created else { return done(created.map { _ in () }) }
                self.zk.delete(path, completion: done)
            }
        case .mixed:
            if Int.random(in: 0..<100, using: &generator) < bench.readPercent { getData(done) } else { setData(done) }
        }
    }

    private func getData(_ done: @escaping @Sendable (Result<Void, ClientError>) -> Void) {
        zk.getData(keys[Int.random(in: 0..<keys.count, using: &generator)]) { done($0.map { _ in () }) }
    }

    private func setData(_ done: @escaping @Sendable (Result<Void, ClientError>) -> Void) {
        zk.setData(keys[Int.random(in: 0..<keys.count, using: &generator)], value) { done($0.map { _ in () }) }
    }

    private func record(_ began: ContinuousClock.Instant, _ result: Result<Void, ClientError>) {
        if case .failure(let error) = result {
            failure = failure ?? error
            return laneEnded()
        }
        let finishedAt = clock.now
        if finishedAt > window.lowerBound {
            if finishedAt <= window.upperBound { completed += 1 }
            let elapsed = (finishedAt - began).components
            histogram.record(micros: UInt64(elapsed.seconds) * 1_000_000 + UInt64(elapsed.attoseconds / 1_000_000_000_000))
        }
        next()
    }

    private func laneEnded() {
        lanesRunning -= 1
        guard lanesRunning == 0, let finished else { return }
        self.finished = nil
        if let failure { finished.resume(throwing: failure) } else { finished.resume() }
    }
}

/// What the detached measuring task hands the blocked main thread.
///
/// Why @unchecked Sendable is safe: written by the task before it signals the semaphore, read
/// by the main thread only after waiting on it.
private final class Outcome: @unchecked Sendable {
    var report: String?
    var error: (any Error)?
}
