import Foundation
import Synchronization

/// The servers the client is checked against: Paddock (the `paddock` built beside the tests, or
/// PADDOCK_BIN) and Apache ZooKeeper 3.8 (Debian's package, or ZOOKEEPER_CLASSPATH).
enum ServerKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case paddock, zookeeper
    var description: String { rawValue }
}

/// One standalone server process on a free loopback port, with its own temp dir. Killed when
/// the test process exits, whatever the tests did.
final class LiveServer: Sendable {
    let kind: ServerKind
    let port: Int
    let dir: URL
    private let config: [String: String]
    private let process = Mutex<Process?>(nil)

    var hosts: String { "127.0.0.1:\(port)" }

    /// One shared server per kind, started on first use, for tests that only need a server.
    static func shared(_ kind: ServerKind) throws -> LiveServer {
        try sharedServers.withLock { servers in
            if let server = servers[kind] { return server }
            let server = try LiveServer(kind)
            servers[kind] = server
            return server
        }
    }

    init(_ kind: ServerKind, config: [String: String] = [:]) throws {
        self.kind = kind
        port = try freePort()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("paddock-client-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        serverDirs.withLock { $0.append(dir) }
        self.dir = dir
        self.config = [
            "tickTime": "2000", "dataDir": dir.appendingPathComponent("data").path, "clientPort": "\(port)",
            "clientPortAddress": "127.0.0.1", "maxClientCnxns": "0", "admin.enableServer": "false",
            "4lw.commands.whitelist": "*", "extendedTypesEnabled": "true",
        ].merging(config) { $1 }
        try start()
    }

    /// Starts the process on the same port and data dir and waits until it serves.
    func start() throws {
        let lines = config.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let configPath = dir.appendingPathComponent("zoo.cfg")
        try (lines.joined(separator: "\n") + "\n").write(to: configPath, atomically: true, encoding: .utf8)
        let process = Process()
        switch kind {
        case .paddock:
            process.executableURL = URL(fileURLWithPath: paddockBinary)
            process.arguments = ["server", "--config", configPath.path]
        case .zookeeper:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let classpath = ProcessInfo.processInfo.environment["ZOOKEEPER_CLASSPATH"]
                ?? "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
            process.arguments = ["java", "-cp", classpath, "-Xmx256m", "-Dzookeeper.extendedTypesEnabled=true",
                                 "org.apache.zookeeper.server.quorum.QuorumPeerMain", configPath.path]
        }
        let logPath = dir.appendingPathComponent("server.log").path
        if !FileManager.default.fileExists(atPath: logPath) {
            guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw LiveServerError("cannot create \(logPath)") }
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process.withLock { $0 = process }
        livePids.withLock { _ = $0.insert(process.processIdentifier) }
        try waitServing(process)
    }

    /// SIGKILL, as a crash: sessions survive in the data dir.
    func kill9() {
        guard let process = process.withLock({ $0 }) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        livePids.withLock { _ = $0.remove(process.processIdentifier) }
    }

    private func waitServing(_ process: Process) throws {
        let deadline = Date(timeIntervalSinceNow: 60)
        while Date() < deadline {
            guard process.isRunning else { throw LiveServerError("\(kind) exited at start-up; see \(dir.path)/server.log") }
            if let answer = fourLetterWord("srvr"), answer.contains("Mode:") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw LiveServerError("\(kind) did not serve within 60 s; see \(dir.path)/server.log")
    }

    /// A four-letter word's answer, or nil while the port refuses.
    func fourLetterWord(_ word: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected, write(fd, word, 4) == 4 else { return nil }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            answer += chunk[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}

struct LiveServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private let sharedServers = Mutex<[ServerKind: LiveServer]>([:])

/// Every server process still running, killed at exit so no test leaves one behind; and every
/// server's temp dir, removed then.
private let livePids: Mutex<Set<Int32>> = {
    atexit {
        for pid in livePids.withLock({ $0 }) { kill(pid, SIGKILL) }
        for dir in serverDirs.withLock({ $0 }) { try? FileManager.default.removeItem(at: dir) }
    }
    return Mutex([])
}()
private let serverDirs = Mutex<[URL]>([])

private var paddockBinary: String {
    if let path = ProcessInfo.processInfo.environment["PADDOCK_BIN"] { return path }
    // Tests/PaddockClientTests/LiveServer.swift → the package root → .build/debug/paddock.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/paddock").path
}

private func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw LiveServerError("cannot pick a port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
