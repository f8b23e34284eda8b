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

    @Option(help: "Connection string (host:port,...).") var hosts = "127.0.0.1:2181"
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
            for _ in 0..<clients { group.addTask { try await ZooKeeperClient.connect(hosts) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueBytes)
        try await prepare(sessions[0], value: value)

        let clock = ContinuousClock()
        let start = clock.now + .seconds(warmup)
        let end = start + .seconds(duration)
        let (histogram, completed) = try await withThrowingTaskGroup(of: (LatencyHistogram, Int).self) { group in
            for (index, session) in sessions.enumerated() {
                for lane in 0..<inflight {
                    let worker = index * inflight + lane
                    group.addTask { try await self.drive(session, worker: worker, value: value, from: start, until: end) }
                }
            }
            var merged = LatencyHistogram(), completed = 0
            for try await (part, count) in group {
                merged.merge(part)
                completed += count
            }
            return (merged, completed)
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

    private func key(_ index: Int) -> String { "\(root)/k\(index)" }

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

    /// One outstanding request at a time, back to back. Throughput counts the requests completed
    /// in the window; latency takes every request that overlaps it, so a stall across either
    /// edge still shows in the tail.
    private func drive(_ zk: ZooKeeperClient, worker: Int, value: [UInt8], from start: ContinuousClock.Instant,
                       until end: ContinuousClock.Instant) async throws -> (LatencyHistogram, completed: Int) {
        let clock = ContinuousClock()
        var histogram = LatencyHistogram()
        var completed = 0
        var generator = SystemRandomNumberGenerator()
        var sequence = 0
        while true {
            let began = clock.now
            guard began < end else { return (histogram, completed) }
            let slot = Int.random(in: 0..<keys, using: &generator)
            switch op {
            case .get: _ = try await zk.getData(key(slot))
            case .set: try await zk.setData(key(slot), value)
            case .createDelete:
                let path = "\(root)/w\(worker)-\(sequence)"
                sequence += 1
                try await zk.create(path, data: value)
                try await zk.delete(path)
            case .mixed:
                if Int.random(in: 0..<100, using: &generator) < readPercent {
                    _ = try await zk.getData(key(slot))
                } else {
                    try await zk.setData(key(slot), value)
                }
            }
            let finished = clock.now
            if finished > start && finished <= end { completed += 1 }
            if finished > start {
                let elapsed = (finished - began).components
                histogram.record(micros: UInt64(elapsed.seconds) * 1_000_000 + UInt64(elapsed.attoseconds / 1_000_000_000_000))
            }
        }
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
