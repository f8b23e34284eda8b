import Foundation
import LibuvTransport
import Logging
import ModuleAPI
import XCTest

/// The libuv transport over real loopback sockets: several listeners on one loop, raw streams,
/// outbound connections, closes and shutdown.
final class LibuvTransportTests: XCTestCase {
    private var transports: [LibuvTransport] = []

    override func tearDown() {
        for transport in transports { transport.shutdown() }
        transports = []
    }

    private func makeTransport() -> LibuvTransport {
        let transport = LibuvTransport(logger: Logger(label: "LibuvTransportTests"))
        transports.append(transport)
        return transport
    }

    func testFramedAndRawListenersOnOneTransportCarryTheirOwnTraffic() throws {
        let server = makeTransport(), client = makeTransport()
        let ports = freePorts(2)
        let framed = Recorder(), raw = Recorder()
        try server.listen(framedOptions(port: ports[0]), handler: framed)
        try server.listen(rawOptions(port: ports[1]), handler: raw)
        XCTAssertThrowsError(try server.listen(rawOptions(port: ports[1]), handler: raw), "the port is taken")

        let dialer = Recorder()
        client.connect(ConnectOptions(host: "127.0.0.1", port: ports[1]), handler: dialer)
        let outbound = try XCTUnwrap(dialer.wait { $0.opened.first })
        let inbound = try XCTUnwrap(raw.wait { $0.opened.first })
        XCTAssertEqual(outbound.remoteAddress, "127.0.0.1:\(ports[1])")
        XCTAssertEqual(inbound.remoteHost, "127.0.0.1")

        // 1 MiB each way, in sends of odd sizes, both directions at once.
        let upstream = pattern(count: 1 << 20, seed: 1), downstream = pattern(count: 1 << 20, seed: 2)
        for start in stride(from: 0, to: upstream.count, by: 100_003) {
            outbound.send(Array(upstream[start..<min(start + 100_003, upstream.count)]))
            inbound.send(Array(downstream[start..<min(start + 100_003, downstream.count)]))
        }
        XCTAssertTrue(raw.wait { $0.bytes.count >= upstream.count ? $0.bytes == upstream : nil } ?? false)
        XCTAssertTrue(dialer.wait { $0.bytes.count >= downstream.count ? $0.bytes == downstream : nil } ?? false)

        // The client port still frames: a frame split across sends, then an empty one.
        let framer = Recorder()
        client.connect(ConnectOptions(host: "localhost", port: ports[0]), handler: framer)
        let toFramed = try XCTUnwrap(framer.wait { $0.opened.first })
        toFramed.send([0, 0, 0, 3, 7])
        toFramed.send([8, 9, 0, 0, 0, 0])
        XCTAssertEqual(framed.wait { $0.frames.count >= 2 ? $0.frames : nil }, [[7, 8, 9], []])
        XCTAssertTrue(framed.seen.bytes.isEmpty)
        XCTAssertTrue(raw.seen.frames.isEmpty)
    }

    func testConnectToAClosedPortFailsExactlyOnceEvenBeforeAnyListen() throws {
        let transport = makeTransport()
        let recorder = Recorder()
        let port = freePorts(1)[0]
        transport.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: recorder)
        let reason = try XCTUnwrap(recorder.wait { $0.failures.first })
        XCTAssertTrue(reason.contains("refused"), reason)
        transport.shutdown()  // joins the loop thread: nothing can be reported after this
        XCTAssertEqual(recorder.seen.failures.count, 1)
        XCTAssertTrue(recorder.seen.opened.isEmpty)
    }

    func testClosingEitherSideReportsConnectionClosedOnTheOther() throws {
        let transport = makeTransport()
        let acceptor = Recorder(), dialer = Recorder()
        let port = freePorts(1)[0]
        try transport.listen(rawOptions(port: port), handler: acceptor)

        // The dialer closes: the acceptor hears of it.
        transport.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        let first = try XCTUnwrap(dialer.wait { $0.opened.first })
        let firstAccepted = try XCTUnwrap(acceptor.wait { $0.opened.first })
        first.close()
        XCTAssertEqual(acceptor.wait { $0.closed.isEmpty ? nil : $0.closed }, [firstAccepted.id])
        XCTAssertEqual(dialer.wait { $0.closed.isEmpty ? nil : $0.closed }, [first.id])

        // The acceptor closes: the dialer hears of it.
        transport.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        let second = try XCTUnwrap(dialer.wait { $0.opened.count == 2 ? $0.opened[1] : nil })
        let secondAccepted = try XCTUnwrap(acceptor.wait { $0.opened.count == 2 ? $0.opened[1] : nil })
        secondAccepted.close()
        XCTAssertEqual(dialer.wait { $0.closed.count == 2 ? $0.closed : nil }, [first.id, second.id])
        XCTAssertEqual(acceptor.wait { $0.closed.count == 2 ? $0.closed : nil }, [firstAccepted.id, secondAccepted.id])
    }

    func testShutdownClosesListenersAndConnections() throws {
        let server = makeTransport(), client = makeTransport()
        let port = freePorts(1)[0]
        let acceptor = Recorder(), dialer = Recorder()
        try server.listen(rawOptions(port: port), handler: acceptor)
        client.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        XCTAssertNotNil(acceptor.wait { $0.opened.first })

        let pending = Recorder()
        server.connect(ConnectOptions(host: "127.0.0.1", port: freePorts(1)[0]), handler: pending)

        server.shutdown()
        XCTAssertEqual(acceptor.seen.closed.count, 1, "reported before shutdown returns")
        XCTAssertEqual(pending.seen.failures.count, 1, "a connect under way fails before shutdown returns")
        XCTAssertEqual(dialer.wait { $0.closed.isEmpty ? nil : $0.closed.count }, 1)
        client.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: dialer)
        XCTAssertNotNil(dialer.wait { $0.failures.first }, "the listener is closed")

        XCTAssertThrowsError(try server.listen(rawOptions(port: port), handler: acceptor))
        let late = Recorder()
        server.connect(ConnectOptions(host: "127.0.0.1", port: port), handler: late)
        XCTAssertEqual(late.seen.failures.count, 1, "a connect after shutdown fails at once")
    }
}

private func framedOptions(port: Int) -> ListenOptions {
    ListenOptions(host: "127.0.0.1", port: port, frameBytesMax: 1024, fourLetterWords: ["ruok"])
}

private func rawOptions(port: Int) -> ListenOptions {
    ListenOptions(host: "127.0.0.1", port: port, frameBytesMax: 1024, fourLetterWords: [], rawStream: true)
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

/// Records what a transport reports to one handler, and lets a test wait for it with a deadline.
///
/// Why @unchecked Sendable is safe: `state` is touched only with `condition` locked.
private final class Recorder: ConnectionHandler, @unchecked Sendable {
    struct Seen {
        var opened: [any ClientConnection] = []
        var frames: [[UInt8]] = []
        var bytes: [UInt8] = []
        var closed: [ConnectionID] = []
        var failures: [String] = []
    }

    private let condition = NSCondition()
    private var state = Seen()

    var seen: Seen {
        condition.lock()
        defer { condition.unlock() }
        return state
    }

    /// Waits until `check` finds what it looks for; fails the test after 10 s.
    func wait<T>(file: StaticString = #filePath, line: UInt = #line, for check: (Seen) -> T?) -> T? {
        let deadline = Date(timeIntervalSinceNow: 10)
        condition.lock()
        defer { condition.unlock() }
        repeat {
            if let found = check(state) { return found }
        } while condition.wait(until: deadline)
        XCTFail("timed out; seen \(state.opened.count) opened, \(state.bytes.count) bytes, \(state.frames.count) frames, \(state.closed.count) closed, failures \(state.failures)", file: file, line: line)
        return nil
    }

    private func record(_ change: (inout Seen) -> Void) {
        condition.lock()
        change(&state)
        condition.broadcast()
        condition.unlock()
    }

    func connectionOpened(_ connection: any ClientConnection) -> Bool {
        record { $0.opened.append(connection) }
        return true
    }

    func connection(_ connection: any ClientConnection, received message: InboundMessage) {
        record { seen in
            switch message {
            case .frame(let frame): seen.frames.append(frame)
            case .bytes(let bytes): seen.bytes += bytes
            case .fourLetterWord(let word): XCTFail("unexpected four-letter word \(word)")
            }
        }
    }

    func connectionClosed(_ connection: any ClientConnection) {
        record { $0.closed.append(connection.id) }
    }

    func connectFailed(_ options: ConnectOptions, reason: String) {
        record { $0.failures.append(reason) }
    }
}
