// The keys Config understands, and how each value is checked.

extension Config {
    /// Sets one key. Unknown keys are kept as warnings, as ZooKeeper passes them on as system
    /// properties it may never read.
    mutating func set(_ rawKey: String, _ value: String) throws {
        let key = Self.canonicalKey(rawKey)
        switch key {
        case "tickTime": tickTime = try positive(value)
        case "initLimit": initLimit = try positive(value)
        case "syncLimit": syncLimit = try positive(value)
        case "clientPort": clientPort = try port(value)
        case "clientPortAddress": clientPortAddress = try nonEmpty(value)
        case "dataDir": dataDir = try nonEmpty(value)
        case "dataLogDir": dataLogDir = try nonEmpty(value)
        case "maxClientCnxns": maxClientCnxns = try nonNegative(value)
        case "minSessionTimeout": minSessionTimeout = try sessionTimeout(value)
        case "maxSessionTimeout": maxSessionTimeout = try sessionTimeout(value)
        case "jute.maxbuffer": juteMaxBuffer = try positive(value)
        case "4lw.commands.whitelist": fourLetterWordWhitelist = Self.wordList(value)
        case "globalOutstandingLimit": globalOutstandingLimit = try positive(value)
        case "snapCount": snapCount = try positive(value)
        case "preAllocSize": preAllocSize = try positive(value)
        case "forceSync": forceSync = try yesNo(value)
        case "autopurge.snapRetainCount": autopurgeSnapRetainCount = max(3, try positive(value))
        case "autopurge.purgeInterval": autopurgePurgeInterval = try nonNegative(value)
        case "extendedTypesEnabled": extendedTypesEnabled = try boolean(value)
        case "znode.container.checkIntervalMs": containerCheckIntervalMs = try positive(value)
        case "znode.container.maxPerMinute": containerMaxPerMinute = try positive(value)
        case "snapshot.compression.method": snapshotCompressionMethod = value.isEmpty ? "none" : value
        case "DigestAuthenticationProvider.superDigest": superDigest = try nonEmpty(value)
        case "skipACL": skipACL = try yesNo(value)
        case "peerType": peerType = try oneOf(value, ["participant", "observer"])
        case "paddock.transport": transport = try nonEmpty(value)
        case "paddock.quorum.transport": quorumTransport = try nonEmpty(value)
        case "paddock.connection.requestsInflightMax": connectionRequestsInflightMax = try positive(value)
        case "standaloneEnabled", "reconfigEnabled", "syncEnabled", "quorumListenOnAllIPs":
            _ = try boolean(value)
        case "electionAlg", "electionPortBindRetry", "clientPortListenBacklog", "connectToLearnerMasterLimit":
            _ = try integer(value)
        default:
            if key.hasPrefix("server.") {
                servers.append(try Self.serverEntry(key, value))
            } else if key.hasPrefix("authProvider.") {
                guard let n = Int(key.dropFirst("authProvider.".count)) else {
                    throw ConfigValueProblem(message: "authProvider keys are authProvider.N with a number N")
                }
                authProviders[n] = try nonEmpty(value)
            } else if !Self.ignoredPrefixes.contains(where: { key.hasPrefix($0) }) {
                warnings.append("unknown key '\(rawKey)' ignored")
            }
        }
    }

    /// Keys ZooKeeper has that mean nothing to Paddock yet (admin server, metrics, TLS, SASL):
    /// accepted silently so an existing zoo.cfg starts.
    private static let ignoredPrefixes = [
        "admin.", "metricsProvider.", "ssl.", "secureClientPort", "sasl", "quorum.", "multiAddress.",
        "dynamicConfigFile", "maxCnxns", "minClientCnxns", "jvm", "audit.",
    ]

    /// Strips ZooKeeper's `zookeeper.` system-property prefix.
    static func canonicalKey(_ key: String) -> String {
        key.hasPrefix("zookeeper.") ? String(key.dropFirst("zookeeper.".count)) : key
    }

    static func wordList(_ value: String) -> Set<String> {
        let words = value.split(separator: ",").map { String($0.trimmingWhitespace()) }.filter { !$0.isEmpty }
        return words.contains("*") ? FourLetterWords.all : Set(words)
    }

    static func serverEntry(_ key: String, _ value: String) throws -> ServerEntry {
        guard let id = Int64(key.dropFirst("server.".count)), id >= 0 else {
            throw ConfigValueProblem(message: "server ids are non-negative integers")
        }
        let halves = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
        let parts = halves[0].split(separator: ":").map(String.init)
        guard parts.count == 3 || parts.count == 4 else {
            throw ConfigValueProblem(message: "expected host:quorumPort:electionPort[:participant|observer], got '\(value)'")
        }
        let role = parts.count == 4 ? parts[3] : "participant"
        guard role == "participant" || role == "observer" else {
            throw ConfigValueProblem(message: "role must be participant or observer, got '\(role)'")
        }
        var entry = ServerEntry(id: id, host: parts[0], quorumPort: try port(parts[1]), electionPort: try port(parts[2]),
                                isObserver: role == "observer", clientHost: nil, clientPort: nil)
        if halves.count == 2 {
            let client = halves[1].split(separator: ":").map(String.init)
            entry.clientPort = try port(client.last ?? "")
            entry.clientHost = client.count == 2 ? client[0] : nil
        }
        return entry
    }
}

private func integer(_ value: String) throws -> Int {
    guard let n = Int(value) else { throw ConfigValueProblem(message: "'\(value)' is not an integer") }
    return n
}

private func positive(_ value: String) throws -> Int {
    let n = try integer(value)
    guard n > 0 else { throw ConfigValueProblem(message: "must be positive, got \(n)") }
    return n
}

private func nonNegative(_ value: String) throws -> Int {
    let n = try integer(value)
    guard n >= 0 else { throw ConfigValueProblem(message: "must not be negative, got \(n)") }
    return n
}

/// -1 means "derive from tickTime", as in ZooKeeper.
private func sessionTimeout(_ value: String) throws -> Int? {
    let n = try integer(value)
    if n == -1 { return nil }
    guard n > 0 else { throw ConfigValueProblem(message: "must be positive or -1, got \(n)") }
    return n
}

private func port(_ value: String) throws -> Int {
    guard let n = Int(value), (0...65535).contains(n) else {
        throw ConfigValueProblem(message: "'\(value)' is not a port number (0-65535)")
    }
    return n
}

private func nonEmpty(_ value: String) throws -> String {
    guard !value.isEmpty else { throw ConfigValueProblem(message: "must not be empty") }
    return value
}

private func boolean(_ value: String) throws -> Bool {
    switch value.lowercased() {
    case "true": return true
    case "false": return false
    default: throw ConfigValueProblem(message: "'\(value)' is not true or false")
    }
}

/// ZooKeeper's forceSync and skipACL take yes/no.
private func yesNo(_ value: String) throws -> Bool {
    switch value.lowercased() {
    case "yes", "true": return true
    case "no", "false": return false
    default: throw ConfigValueProblem(message: "'\(value)' is not yes or no")
    }
}

private func oneOf(_ value: String, _ choices: [String]) throws -> String {
    guard choices.contains(value) else {
        throw ConfigValueProblem(message: "'\(value)' is not one of \(choices.joined(separator: ", "))")
    }
    return value
}
