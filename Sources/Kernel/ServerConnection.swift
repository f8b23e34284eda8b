import Jute
import ModuleAPI

/// The kernel's view of one client connection: its session and the counters `cons` and `stat`
/// report. Lives on the kernel executor.
final class ServerConnection {
    let connection: any ClientConnection
    let establishedMs: Int64
    let openedMonotonicMs: Int64
    var sessionId: Int64?
    var received = 0
    var sent = 0
    var lastOp = "NA"
    var lastCxid: Int32 = -1
    var lastZxid: Int64 = -1
    var lastResponseMs: Int64 = 0
    var latency = LatencyStats()
    /// Set once the connection is closing, so nothing more is sent or processed.
    var isClosing = false

    init(connection: any ClientConnection, establishedMs: Int64, openedMonotonicMs: Int64) {
        self.connection = connection
        self.establishedMs = establishedMs
        self.openedMonotonicMs = openedMonotonicMs
    }

    var id: ConnectionID { connection.id }

    /// crst: counters start again, as ZooKeeper's resetStats.
    func resetStats() {
        received = 0
        sent = 0
        latency.reset()
        lastOp = "NA"
        lastCxid = -1
        lastZxid = -1
        lastResponseMs = 0
    }

    func send(_ frame: [UInt8]) {
        guard !isClosing else { return }
        sent += 1
        connection.send(frame)
    }

    func close() {
        guard !isClosing else { return }
        isClosing = true
        connection.close()
    }
}

/// Min/avg/max of request latencies in milliseconds, as ZooKeeper's 4lw print them.
struct LatencyStats {
    private(set) var min: Int64 = 0
    private(set) var max: Int64 = 0
    private(set) var total: Int64 = 0
    private(set) var count: Int64 = 0

    mutating func add(_ ms: Int64) {
        min = count == 0 ? ms : Swift.min(min, ms)
        max = Swift.max(max, ms)
        total += ms
        count += 1
    }

    var average: Double { count == 0 ? 0 : Double(total) / Double(count) }

    mutating func reset() { self = LatencyStats() }
}

/// Server-wide counters for `srvr`, `stat` and `mntr`.
struct ServerStats {
    var packetsReceived = 0
    var packetsSent = 0
    var latency = LatencyStats()
    var authFailures = 0

    mutating func reset() {
        packetsReceived = 0
        packetsSent = 0
        latency.reset()
    }
}
