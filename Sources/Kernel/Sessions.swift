import DataTree
import Jute
import ModuleAPI

/// A client session: lives across connections until it expires or is closed.
final class Session {
    let id: Int64
    let timeoutMs: Int
    /// When the session expires unless touched, rounded up to a tick as ZooKeeper's ExpiryQueue does.
    var expiresAtMs: Int64 = 0
    var connection: ConnectionID?
    var authIds: [Id] = []
    /// Set once expiry or closeSession is under way, so the session is not closed twice.
    var isClosing = false
    /// Writes proposed but not yet committed. A read waits for them, so it never overtakes the
    /// session's own earlier writes; writes need not wait, the log keeps their order.
    var pendingWrites = 0
    /// Requests held back behind pending writes, in arrival order.
    var deferred: [DeferredRequest] = []

    /// Whether a request must queue behind earlier ones instead of running now.
    func mustWait(isWrite: Bool) -> Bool {
        !deferred.isEmpty || (!isWrite && pendingWrites > 0)
    }

    init(id: Int64, timeoutMs: Int) {
        self.id = id
        self.timeoutMs = timeoutMs
    }
}

/// Sessions by id, their expiry, and ZooKeeper-compatible ids and passwords.
struct SessionTable {
    private(set) var sessions: [Int64: Session] = [:]
    private var nextSessionId: Int64
    private let tickMs: Int64

    init(serverId: Int64, nowMs: Int64, tickMs: Int) {
        self.tickMs = Int64(tickMs)
        nextSessionId = Self.initialSessionId(serverId: serverId, nowMs: nowMs)
    }

    /// ZooKeeper's initializeNextSession: the server id in the top byte, then the start-up time.
    static func initialSessionId(serverId: Int64, nowMs: Int64) -> Int64 {
        var id = Int64(bitPattern: UInt64(bitPattern: nowMs << 24) >> 8)
        id |= serverId << 56
        if id == EphemeralOwner.container { id += 1 }
        return id
    }

    mutating func allocateId() -> Int64 {
        let id = nextSessionId
        nextSessionId += 1
        return id
    }

    subscript(id: Int64) -> Session? { sessions[id] }

    var count: Int { sessions.count }
    var ids: [Int64] { Array(sessions.keys) }
    var all: Dictionary<Int64, Session>.Values { sessions.values }

    mutating func add(_ session: Session, nowMs: Int64) {
        sessions[session.id] = session
        touch(session, nowMs: nowMs)
    }

    mutating func remove(_ id: Int64) { sessions[id] = nil }

    func touch(_ session: Session, nowMs: Int64) {
        session.expiresAtMs = roundToNextTick(nowMs + Int64(session.timeoutMs))
    }

    private func roundToNextTick(_ ms: Int64) -> Int64 { (ms / tickMs + 1) * tickMs }

    /// Sessions whose time is up and that are not already closing.
    func expired(nowMs: Int64) -> [Session] {
        sessions.values.filter { !$0.isClosing && $0.expiresAtMs <= nowMs }.sorted { $0.id < $1.id }
    }

    /// ZooKeeper derives a session's password from its id (java.util.Random seeded with
    /// id ^ 0xB3415C00, 16 bytes), so any server can check it and ZooKeeper's own clients'
    /// stored passwords stay valid.
    static func password(for sessionId: Int64) -> [UInt8] {
        var random = JavaRandom(seed: sessionId ^ 0xB341_5C00)
        return random.nextBytes(16)
    }
}

/// java.util.Random's linear congruential generator, bit for bit.
struct JavaRandom {
    private var seed: Int64
    private static let multiplier: Int64 = 0x5_DEEC_E66D
    private static let mask: Int64 = (1 << 48) - 1

    init(seed: Int64) { self.seed = (seed ^ Self.multiplier) & Self.mask }

    private mutating func next(_ bits: Int) -> Int32 {
        seed = (seed &* Self.multiplier &+ 0xB) & Self.mask
        return Int32(truncatingIfNeeded: seed >> (48 - bits))
    }

    mutating func nextBytes(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            var random = next(32)
            for _ in 0..<min(count - bytes.count, 4) {
                bytes.append(UInt8(truncatingIfNeeded: random))
                random >>= 8
            }
        }
        return bytes
    }
}
