/// A zoo.cfg problem that stops start-up; names the key and the line, as operators need.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int
    public var key: String
    public var message: String
    public var description: String { "\(file):\(line): \(key): \(message)" }
}

/// One `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]` line.
public struct ServerEntry: Equatable, Sendable {
    public var id: Int64
    public var host: String
    public var quorumPort: Int
    public var electionPort: Int
    public var isObserver: Bool
    public var clientHost: String?
    public var clientPort: Int?
}

/// The server's configuration: ZooKeeper's zoo.cfg keys with ZooKeeper's defaults, plus Paddock's
/// module keys. Settings ZooKeeper reads as `zookeeper.*` system properties are accepted as
/// zoo.cfg keys with or without that prefix, as ZooKeeper itself does for unknown keys.
public struct Config: Sendable {
    public var tickTime = 2000
    public var initLimit = 10
    public var syncLimit = 5
    public var clientPort = 2181
    public var clientPortAddress = "0.0.0.0"
    public var dataDir = "./data"
    public var dataLogDir: String?
    public var maxClientCnxns = 60
    public var minSessionTimeout: Int?
    public var maxSessionTimeout: Int?
    public var juteMaxBuffer = 0xfffff
    public var fourLetterWordWhitelist: Set<String> = ["srvr"]
    public var globalOutstandingLimit = 1000
    public var snapCount = 100_000
    public var preAllocSize = 65536
    public var forceSync = true
    public var autopurgeSnapRetainCount = 3
    public var autopurgePurgeInterval = 0
    public var extendedTypesEnabled = false
    public var containerCheckIntervalMs = 60_000
    public var containerMaxPerMinute = 10_000
    public var snapshotCompressionMethod = "none"
    public var superDigest: String?
    public var skipACL = false
    public var authProviders: [Int: String] = [:]
    public var peerType = "participant"
    public var servers: [ServerEntry] = []
    /// Paddock's module keys.
    public var transport = "libuv"
    /// The quorum and election ports' transport; nil means the client port's.
    public var quorumTransport: String?
    /// The most requests one connection may have outstanding before the server stops reading it.
    public var connectionRequestsInflightMax = 1000
    /// A crash the process-level tests arm (through the environment, never zoo.cfg).
    public var fault: FaultSite?
    /// Settings seen but not understood, kept for `conf` and warnings.
    public internal(set) var warnings: [String] = []

    public init() {}

    public var effectiveMinSessionTimeout: Int { minSessionTimeout ?? 2 * tickTime }
    public var effectiveMaxSessionTimeout: Int { maxSessionTimeout ?? 20 * tickTime }
    public var effectiveDataLogDir: String { dataLogDir ?? dataDir }

    /// Parses zoo.cfg text. `file` names the source in errors.
    public static func parse(_ text: String, file: String = "zoo.cfg") throws(ConfigError) -> Config {
        var config = Config()
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigError(file: file, line: lineNumber, key: String(line), message: "expected key=value")
            }
            let key = line[..<separator].trimmingWhitespace()
            let value = line[line.index(after: separator)...].trimmingWhitespace()
            guard !key.isEmpty else {
                throw ConfigError(file: file, line: lineNumber, key: "", message: "empty key")
            }
            do {
                try config.set(String(key), String(value))
            } catch let problem as ConfigValueProblem {
                throw ConfigError(file: file, line: lineNumber, key: String(key), message: problem.message)
            } catch {
                throw ConfigError(file: file, line: lineNumber, key: String(key), message: "\(error)")
            }
        }
        try config.validate(file: file)
        return config
    }

    private func validate(file: String) throws(ConfigError) {
        if effectiveMinSessionTimeout > effectiveMaxSessionTimeout {
            throw ConfigError(file: file, line: 0, key: "minSessionTimeout",
                              message: "minSessionTimeout \(effectiveMinSessionTimeout) must not be larger than maxSessionTimeout \(effectiveMaxSessionTimeout)")
        }
    }
}

struct ConfigValueProblem: Error {
    var message: String
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }
}

/// Crash points for tests that need a process to die at an exact protocol step, which kill -9
/// from outside cannot hit. `crash-before-commit:<path>`: a leader that is about to commit the
/// create of <path> (a quorum has it on disk) dies by SIGKILL before any COMMIT leaves it.
public enum FaultSite: Equatable, Sendable {
    case crashBeforeCommit(path: String)

    public init(_ text: String) throws(ConfigError) {
        let prefix = "crash-before-commit:"
        guard text.hasPrefix(prefix), text.count > prefix.count else {
            throw ConfigError(file: "PADDOCK_FAULT", line: 0, key: "PADDOCK_FAULT", message: "unknown fault '\(text)'")
        }
        self = .crashBeforeCommit(path: String(text.dropFirst(prefix.count)))
    }
}
