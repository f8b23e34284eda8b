import ArgumentParser
import Foundation
import Kernel

/// Local test clusters: every `*.cfg` of a folder is one server. `up` writes each server's myid
/// (the number at the end of its file name: zoo2.cfg is server 2), starts it in the background
/// with its log and pid file in its dataDir, and waits until all serve; `down` stops them.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Start, inspect or stop every server of a conf folder on this machine.",
        subcommands: [Up.self, Status.self, Down.self])

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start every server of a folder and wait until all serve.")
        @Argument(help: "A folder of zoo.cfg files, one per server (zoo1.cfg, zoo2.cfg, ...).") var folder: String
        @Option(help: "Seconds to wait for every server to serve.") var timeout: Double = 60

        func run() throws {
            let nodes = try ClusterNode.load(folder)
            let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            for node in nodes {
                if let pid = node.runningPid() {
                    print("server \(node.id) already running (pid \(pid))")
                    continue
                }
                try node.start(binary: binary)
            }
            try FileManager.default.createDirectory(atPath: "data", withIntermediateDirectories: true)
            try folder.write(toFile: ClusterNode.lastFolderFile, atomically: true, encoding: .utf8)
            let deadline = Date().addingTimeInterval(timeout)
            while nodes.contains(where: { $0.mode() == nil }) {
                guard Date() < deadline else {
                    printStatus(nodes)
                    throw ValidationError("not every server serves within \(Int(timeout)) s; see the server.log files")
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            printStatus(nodes)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each server's pid and Mode.")
        @Argument(help: "The folder given to `up` (default: the last one).") var folder: String?

        func run() throws { printStatus(try ClusterNode.load(folder ?? ClusterNode.lastFolder())) }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every server of the folder (SIGTERM, SIGKILL after 10 s).")
        @Argument(help: "The folder given to `up` (default: the last one).") var folder: String?

        func run() throws {
            for node in try ClusterNode.load(folder ?? ClusterNode.lastFolder()) {
                guard let pid = node.runningPid() else { continue }
                kill(pid, SIGTERM)
                let deadline = Date().addingTimeInterval(10)
                while kill(pid, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
                try? FileManager.default.removeItem(atPath: node.pidFile)
                print("server \(node.id) stopped")
            }
        }
    }
}

private func printStatus(_ nodes: [ClusterNode]) {
    for node in nodes {
        let pid = node.runningPid().map { "pid \($0)" } ?? "not running"
        print("server \(node.id)  \(node.config.clientPortAddress):\(node.config.clientPort)  \(pid)  \(node.mode() ?? "not serving")")
    }
}

/// One server of a cluster folder.
struct ClusterNode {
    let id: Int
    let configPath: String
    let config: Kernel.Config

    static let lastFolderFile = "data/paddock-cluster"

    static func lastFolder() throws -> String {
        guard let folder = try? String(contentsOfFile: lastFolderFile, encoding: .utf8) else {
            throw ValidationError("no folder given and no cluster started from here (\(lastFolderFile) is missing)")
        }
        return folder
    }

    static func load(_ folder: String) throws -> [ClusterNode] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".cfg") }.sorted()
        guard !names.isEmpty else { throw ValidationError("\(folder) holds no .cfg files") }
        return try names.map { name in
            let digits = name.dropLast(4).reversed().prefix(while: \.isNumber).reversed()
            guard let id = Int(String(digits)) else {
                throw ValidationError("\(folder)/\(name): a cluster file name ends in its server id (zoo1.cfg)")
            }
            let path = folder + "/" + name
            let config = try Kernel.Config.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
            return ClusterNode(id: id, configPath: path, config: config)
        }
    }

    var pidFile: String { config.dataDir + "/paddock.pid" }

    func runningPid() -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text), kill(pid, 0) == 0 else {
            return nil
        }
        return pid
    }

    func start(binary: String) throws {
        try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true)
        if config.servers.count > 1 { try "\(id)\n".write(toFile: config.dataDir + "/myid", atomically: true, encoding: .utf8) }
        let logPath = config.dataDir + "/server.log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw ValidationError("cannot create \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["server", "--config", configPath]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try "\(process.processIdentifier)".write(toFile: pidFile, atomically: true, encoding: .utf8)
        print("server \(id) started (pid \(process.processIdentifier), log \(logPath))")
    }

    /// The Mode line of the server's `srvr`, nil if it does not serve.
    func mode() -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A server that accepts but never answers must not hang `up`.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(config.clientPort).bigEndian)
        let host = config.clientPortAddress == "0.0.0.0" ? "127.0.0.1" : config.clientPortAddress
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0, send(fd, "srvr", 4, 0) == 4 else { return nil }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            reply += buffer[0..<count]
        }
        let text = String(decoding: reply, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix("Mode: ") }.map { String($0.dropFirst(6)) }
    }
}
