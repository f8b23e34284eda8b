import Foundation
import ModuleAPI

/// The checks every Transport module must pass over real loopback sockets, so modules are
/// interchangeable per port: framing, four-letter words, the frame limit, backpressure, closes,
/// outbound connections and shutdown. A test-support target: each transport's tests run
/// `try TransportConformance(factory).checkAll()`, and `interoperate` pairs two modules.
/// It reports by throwing `TransportConformanceFailure`, so it needs only ModuleAPI.
public final class TransportConformance {
    public typealias Factory = @Sendable () -> any Transport

    private let makeServer: Factory
    private let makeClient: Factory
    private var made: [any Transport] = []

    /// Transports from `server` listen, those from `client` (the same module unless told) dial.
    public init(_ server: @escaping Factory, client: Factory? = nil) {
        makeServer = server
        makeClient = client ?? server
    }

    /// Runs every check, each on fresh transports; throws the first failure, named.
    public func checkAll() throws {
        let checks: [(String, () throws -> Void)] = [
            ("framed and raw listeners", checkFramedAndRawListenersCarryTheirOwnTraffic),
            ("four-letter words", checkFourLetterWordEndsReading),
            ("frame limit", checkFramesOverTheLimitClose),
            ("backpressure", checkPausedConnectionHoldsFramesUntilResumed),
            ("close after writes", checkCloseDeliversQueuedBytesFirst),
            ("refusal", checkRefusedConnectionIsClosedUnreported),
            ("connect failure", checkConnectToAClosedPortFailsExactlyOnce),
            ("closes", checkClosingEitherSideReportsConnectionClosedOnTheOther),
            ("shutdown", checkShutdownClosesListenersAndConnections),
        ]
        for (name, check) in checks {
            defer { shutdownAll() }
            do {
                try check()
            } catch let failure as TransportConformanceFailure {
                throw TransportConformanceFailure("\(name): \(failure.description)")
            }
        }
    }

    /// The checks that put one module's bytes against another's, both ways round.
    public func checkInteroperation() throws {
        defer { shutdownAll() }
        try checkFramedAndRawListenersCarryTheirOwnTraffic()
    }

    public func shutdownAll() {
        for transport in made { transport.shutdown() }
        made = []
    }

    private func server() -> any Transport {
        let transport = makeServer()
        made.append(transport)
        return transport
    }

    private func client() -> any Transport {
        let transport = makeClient()
        made.append(transport)
        return transport
    }

    /// Listens on a fresh port and dials it: the accepted and the dialed end of one connection.
    private func connectedPair(_ options: (Int) -> ListenOptions, acceptor: Recorder = Recorder())
        throws -> (listening: any Transport, accepted: any ClientConnection, dialed: any ClientConnection, acceptor: Recorder, dialer: Recorder)
    {
        let listening = server(), dialing = client()
        let port = freePorts(1)[0]
        let dialer = Recorder()
        try listening.listen(options(port), handler: acceptor)
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        let dialed = try dialer.wait { $0.opened.first }
        let accepted = try acceptor.wait { $0.opened.first }
        return (listening, accepted, dialed, acceptor, dialer)
    }

    // MARK: Checks

    public func checkFramedAndRawListenersCarryTheirOwnTraffic() throws {
        let listening = server(), dialing = client()
        let ports = freePorts(2)
        let framed = Recorder(), raw = Recorder()
        try listening.listen(framedOptions(port: ports[0]), handler: framed)
        try listening.listen(rawOptions(port: ports[1]), handler: raw)
        let taken: Bool
        do {
            try listening.listen(rawOptions(port: ports[1]), handler: raw)
            taken = false
        } catch {
            taken = true
        }
        try expect(taken, "listening twice on one port succeeded")

        let dialer = Recorder()
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: ports[1]), handler: dialer)
        let outbound = try dialer.wait { $0.opened.first }
        let inbound = try raw.wait { $0.opened.first }
        try expect(outbound.remoteAddress == "127.0.0.1:\(ports[1])", "dialed remoteAddress \(outbound.remoteAddress)")
        try expect(inbound.remoteHost == "127.0.0.1", "accepted remoteHost \(inbound.remoteHost)")

        // 1 MiB each way, in sends of odd sizes, both directions at once.
        let upstream = pattern(count: 1 << 20, seed: 1), downstream = pattern(count: 1 << 20, seed: 2)
        for start in stride(from: 0, to: upstream.count, by: 100_003) {
            outbound.send(Array(upstream[start..<min(start + 100_003, upstream.count)]))
            inbound.send(Array(downstream[start..<min(start + 100_003, downstream.count)]))
        }
        try expect(try raw.wait { $0.bytes.count >= upstream.count ? $0.bytes == upstream : nil }, "upstream bytes differ")
        try expect(try dialer.wait { $0.bytes.count >= downstream.count ? $0.bytes == downstream : nil }, "downstream bytes differ")

        // The client port frames: a frame split across sends, then an empty one.
        let framer = Recorder()
        dialing.connect(ConnectOptions(host: "localhost", port: ports[0]), handler: framer)
        let toFramed = try framer.wait { $0.opened.first }
        toFramed.send([0, 0, 0, 3, 7])
        toFramed.send([8, 9, 0, 0, 0, 0])
        let frames = try framed.wait { $0.frames.count >= 2 ? $0.frames : nil }
        try expect(frames == [[7, 8, 9], []], "frames \(frames)")
        try expect(framed.seen.bytes.isEmpty && raw.seen.frames.isEmpty, "a listener delivered the other kind")
    }

    /// A listed word as the first bytes is delivered as a word and nothing after it is read;
    /// an unlisted one is a length prefix like any other (here far over the limit, so a close).
    public func checkFourLetterWordEndsReading() throws {
        let pair = try connectedPair(framedOptions)
        pair.dialed.send(Array("ruok".utf8) + [0, 0, 0, 1, 42])
        try expect(try pair.acceptor.wait { $0.words.first } == "ruok", "no word")
        pair.accepted.send(Array("imok".utf8))
        pair.accepted.close()
        try expect(try pair.dialer.wait { $0.closed.isEmpty ? nil : $0.bytes } == Array("imok".utf8), "answer lost")
        try expect(pair.acceptor.seen.frames.isEmpty, "bytes after the word were read as a frame")

        // nc-style: the word, then the end of the client's input; the answer still arrives.
        let listening = server(), port = freePorts(1)[0], acceptor = Recorder()
        try listening.listen(framedOptions(port: port), handler: acceptor)
        let socket = try plainSocket(to: port)
        defer { close(socket) }
        try expect(write(socket, "ruok", 4) == 4 && shutdown(socket, Int32(SHUT_WR)) == 0, "cannot send")
        let answering = try acceptor.wait { $0.opened.first }
        _ = try acceptor.wait { $0.words.first }
        answering.send(Array("imok".utf8))
        answering.close()
        var answer = [UInt8](repeating: 0, count: 16)
        let count = read(socket, &answer, answer.count)
        try expect(count == 4 && answer.prefix(4) == ArraySlice("imok".utf8), "answer after half-close: \(count) bytes")

        let unlisted = try connectedPair(framedOptions)
        unlisted.dialed.send(Array("abcd".utf8))
        _ = try unlisted.dialer.wait { $0.closed.first }
        try expect(unlisted.acceptor.seen.words.isEmpty && unlisted.acceptor.seen.frames.isEmpty, "unlisted word delivered")
    }

    /// A frame of exactly frameBytesMax is delivered; one byte more, or a negative length,
    /// closes the connection without delivering anything of it.
    public func checkFramesOverTheLimitClose() throws {
        let limit = framedOptions(port: 0).frameBytesMax
        let pair = try connectedPair(framedOptions)
        pair.dialed.send(lengthPrefixed(pattern(count: limit, seed: 3)))
        try expect(try pair.acceptor.wait { $0.frames.first } == pattern(count: limit, seed: 3), "frame at the limit")
        pair.dialed.send(lengthPrefixed(pattern(count: limit + 1, seed: 4)))
        _ = try pair.acceptor.wait { $0.closed.first }
        _ = try pair.dialer.wait { $0.closed.first }
        try expect(pair.acceptor.seen.frames.count == 1, "an oversize frame was delivered")

        let negative = try connectedPair(framedOptions)
        negative.dialed.send([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])
        _ = try negative.dialer.wait { $0.closed.first }
        try expect(negative.acceptor.seen.frames.isEmpty, "a negative length was delivered")
    }

    /// setReading(false), called as the kernel does from the delivery of a frame, holds later
    /// frames back (the peer's bytes wait in buffers); setReading(true) delivers them in order.
    public func checkPausedConnectionHoldsFramesUntilResumed() throws {
        let acceptor = Recorder(pauseAfterFirstFrame: true)
        let pair = try connectedPair(framedOptions, acceptor: acceptor)
        pair.dialed.send((0..<20).flatMap { lengthPrefixed([UInt8($0)]) })
        _ = try acceptor.wait { $0.frames.first }
        // Nothing signals a frame that is not delivered: watch for a while, then resume.
        Thread.sleep(forTimeInterval: 0.3)
        try expect(acceptor.seen.frames.count == 1, "\(acceptor.seen.frames.count) frames delivered while paused")
        pair.accepted.setReading(true)
        let frames = try acceptor.wait { $0.frames.count >= 20 ? $0.frames : nil }
        try expect(frames == (0..<20).map { [UInt8($0)] }, "frames after resuming: \(frames)")
    }

    /// close() writes everything queued before it, then closes.
    public func checkCloseDeliversQueuedBytesFirst() throws {
        let pair = try connectedPair(rawOptions)
        let payload = pattern(count: 4 << 20, seed: 5)
        for start in stride(from: 0, to: payload.count, by: 65_537) {
            pair.accepted.send(Array(payload[start..<min(start + 65_537, payload.count)]))
        }
        pair.accepted.close()
        let received = try pair.dialer.wait { $0.closed.isEmpty ? nil : $0.bytes }
        try expect(received == payload, "\(received.count) of \(payload.count) bytes before the close")
        try expect(try pair.acceptor.wait { $0.closed.first } == pair.accepted.id, "acceptor not told")
    }

    /// A connection its handler refuses (maxClientCnxns) is closed and never reported closed.
    public func checkRefusedConnectionIsClosedUnreported() throws {
        let listening = server(), dialing = client()
        let port = freePorts(1)[0]
        let refuser = Recorder(admit: false), dialer = Recorder()
        try listening.listen(rawOptions(port: port), handler: refuser)
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        _ = try dialer.wait { $0.closed.first }
        try expect(refuser.seen.opened.count == 1 && refuser.seen.closed.isEmpty, "refused connection reported closed")
    }

    public func checkConnectToAClosedPortFailsExactlyOnce() throws {
        let transport = client()
        let recorder = Recorder()
        transport.connect(ConnectOptions(host: "127.0.0.1", port: freePorts(1)[0]), handler: recorder)
        let reason = try recorder.wait { $0.failures.first }
        try expect(reason.contains("refused"), "reason: \(reason)")
        transport.shutdown()  // waits for the loop: nothing can be reported after this
        try expect(recorder.seen.failures.count == 1 && recorder.seen.opened.isEmpty, "reported \(recorder.seen.failures)")
    }

    public func checkClosingEitherSideReportsConnectionClosedOnTheOther() throws {
        let listening = server(), dialing = client()
        let acceptor = Recorder(), dialer = Recorder()
        let port = freePorts(1)[0]
        try listening.listen(rawOptions(port: port), handler: acceptor)

        // The dialer closes: the acceptor hears of it.
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        let first = try dialer.wait { $0.opened.first }
        let firstAccepted = try acceptor.wait { $0.opened.first }
        first.close()
        try expect(try acceptor.wait { $0.closed.isEmpty ? nil : $0.closed } == [firstAccepted.id], "acceptor")
        try expect(try dialer.wait { $0.closed.isEmpty ? nil : $0.closed } == [first.id], "dialer")

        // The acceptor closes: the dialer hears of it.
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        let second = try dialer.wait { $0.opened.count == 2 ? $0.opened[1] : nil }
        let secondAccepted = try acceptor.wait { $0.opened.count == 2 ? $0.opened[1] : nil }
        secondAccepted.close()
        try expect(try dialer.wait { $0.closed.count == 2 ? $0.closed : nil } == [first.id, second.id], "dialer")
        try expect(try acceptor.wait { $0.closed.count == 2 ? $0.closed : nil } == [firstAccepted.id, secondAccepted.id],
                   "acceptor")
    }

    public func checkShutdownClosesListenersAndConnections() throws {
        let listening = server(), dialing = client()
        let port = freePorts(1)[0]
        let acceptor = Recorder(), dialer = Recorder()
        try listening.listen(rawOptions(port: port), handler: acceptor)
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        _ = try acceptor.wait { $0.opened.first }

        let pending = Recorder()
        listening.connect(ConnectOptions(host: "127.0.0.1", port: freePorts(1)[0]), handler: pending)

        listening.shutdown()
        try expect(acceptor.seen.closed.count == 1, "connection not reported closed before shutdown returned")
        try expect(pending.seen.failures.count == 1, "a connect under way did not fail before shutdown returned")
        try expect(try dialer.wait { $0.closed.isEmpty ? nil : $0.closed.count } == 1, "dialer")
        dialing.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        _ = try dialer.wait { $0.failures.first }

        var listened = true
        do { try listening.listen(rawOptions(port: port), handler: acceptor) } catch { listened = false }
        try expect(!listened, "listen after shutdown succeeded")
        let late = Recorder()
        listening.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: late)
        try expect(late.seen.failures.count == 1, "a connect after shutdown did not fail at once")
    }
}

public struct TransportConformanceFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

private func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    guard condition else { throw TransportConformanceFailure(message()) }
}

private func framedOptions(port: Int) -> ListenOptions {
    ListenOptions(host: "127.0.0.1", port: port, frameBytesMax: 1024, fourLetterWords: ["ruok"])
}

private func rawOptions(port: Int) -> ListenOptions {
    ListenOptions(host: "127.0.0.1", port: port, frameBytesMax: 1024, fourLetterWords: [], rawStream: true)
}

private func lengthPrefixed(_ body: [UInt8]) -> [UInt8] {
    withUnsafeBytes(of: Int32(body.count).bigEndian) { Array($0) } + body
}

/// A blocking loopback socket connected to `port`, for what a Transport cannot do (half-close).
private func plainSocket(to port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
    guard connected else {
        close(fd)
        throw TransportConformanceFailure("cannot connect to \(port)")
    }
    return fd
}

/// Bytes that do not repeat every 256, so a reordered or duplicated chunk shows.
private func pattern(count: Int, seed: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed) >> 11) }
}

/// Loopback ports free right now: the kernel picks them for sockets bound to port 0, held open
/// together so the ports differ, then closed.
private func freePorts(_ count: Int) -> [Int] {
    let sockets = (0..<count).map { _ in socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) }
    defer { for fd in sockets { close(fd) } }
    return sockets.map { fd in
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                precondition(bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0, "cannot pick a port")
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Records what a transport reports to one handler, and lets a check wait for it with a deadline.
///
/// Why @unchecked Sendable is safe: `state` is touched only with `condition` locked; `admit` and
/// `pauseAfterFirstFrame` are immutable.
final class Recorder: ConnectionHandler, @unchecked Sendable {
    struct Seen {
        var opened: [any ClientConnection] = []
        var frames: [[UInt8]] = []
        var words: [String] = []
        var bytes: [UInt8] = []
        var closed: [ConnectionID] = []
        var failures: [String] = []
    }

    private let admit: Bool
    private let pauseAfterFirstFrame: Bool
    private let condition = NSCondition()
    private var state = Seen()

    init(admit: Bool = true, pauseAfterFirstFrame: Bool = false) {
        self.admit = admit
        self.pauseAfterFirstFrame = pauseAfterFirstFrame
    }

    var seen: Seen {
        condition.lock()
        defer { condition.unlock() }
        return state
    }

    /// Waits until `check` finds what it looks for; throws after 10 s.
    func wait<T>(for check: (Seen) -> T?) throws -> T {
        let deadline = Date(timeIntervalSinceNow: 10)
        condition.lock()
        defer { condition.unlock() }
        repeat {
            if let found = check(state) { return found }
        } while condition.wait(until: deadline)
        throw TransportConformanceFailure(
            "timed out; seen \(state.opened.count) opened, \(state.bytes.count) bytes, \(state.frames.count) frames, "
                + "\(state.closed.count) closed, failures \(state.failures)")
    }

    private func record(_ change: (inout Seen) -> Void) {
        condition.lock()
        change(&state)
        condition.broadcast()
        condition.unlock()
    }

    func connectionOpened(_ connection: any ClientConnection) -> Bool {
        record { $0.opened.append(connection) }
        return admit
    }

    func connection(_ connection: any ClientConnection, received message: InboundMessage) {
        var first = false
        record { seen in
            switch message {
            case .frame(let frame):
                first = seen.frames.isEmpty
                seen.frames.append(frame)
            case .bytes(let bytes): seen.bytes += bytes
            case .fourLetterWord(let word): seen.words.append(word)
            }
        }
        if first && pauseAfterFirstFrame { connection.setReading(false) }
    }

    func connectionClosed(_ connection: any ClientConnection) {
        record { $0.closed.append(connection.id) }
    }

    func connectFailed(_ options: ConnectOptions, reason: String) {
        record { $0.failures.append(reason) }
    }
}
