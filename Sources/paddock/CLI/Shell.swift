import PaddockClient

/// zkCli.sh's commands over PaddockClient, with its output shapes and exit statuses: results on
/// stdout, errors (and, as zkCli does, "Created ...") on stderr, status 1 on failure.
final class Shell {
    private(set) var client: ZooKeeperClient?
    private(set) var hosts: String
    private(set) var history: [String] = []
    private let out: @Sendable (String) -> Void
    private let err: @Sendable (String) -> Void
    /// Interactive sessions print watch events as they come; one-shot runs have none to wait for.
    private let interactive: Bool

    static let usage = """
        ZooKeeper -server host:port cmd args
        \taddWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE
        \taddauth scheme auth
        \tclose 
        \tconnect host:port
        \tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]
        \tdelete [-v version] path
        \tdeleteall path
        \tget [-s] [-w] path
        \tgetAcl [-s] path
        \thistory 
        \tls [-s] [-w] [-R] path
        \tquit 
        \tremovewatches path [-c|-d|-a] [-l]
        \tset [-s] [-v version] path data
        \tsetAcl [-s] [-v version] [-R] path acl
        \tstat [-w] path
        \tsync path
        \twhoami 
        """

    init(hosts: String, interactive: Bool, out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        self.hosts = hosts
        self.interactive = interactive
        self.out = out
        self.err = err
    }

    func connect() async throws {
        client = try await ZooKeeperClient.connect(hosts, sessionTimeout: .seconds(30))
    }

    /// Runs one command line; returns its exit status (0 ok, 1 failed, 127 unknown command).
    func run(_ words: [String]) async -> Int32 {
        guard let name = words.first else { return 0 }
        history.append(words.joined(separator: " "))
        let arguments = Array(words.dropFirst())
        switch name {
        case "quit": return 0
        case "history":
            for (number, line) in history.enumerated().suffix(11).dropLast() { out("\(number) - \(line)") }
            return 0
        case "connect":
            guard arguments.count <= 1 else { return usage("connect host:port") }
            await client?.close()
            if let host = arguments.first { hosts = host }
            return await attempt(path: hosts) { try await self.connect() }
        case "close":
            await client?.close()
            client = nil
            return 0
        default:
            guard let command = Self.commands[name] else {
                err(Self.usage)
                return 127
            }
            guard let client else {
                err("Not connected")
                return 1
            }
            guard let parsed = CommandWords(arguments, flags: command.flags, valued: command.valued),
                  command.positional.contains(parsed.positional.count) else {
                return usage(command.usage)
            }
            return await command.run(self, client, parsed)
        }
    }

    private func usage(_ text: String) -> Int32 {
        err(text)
        return 1
    }

    /// Runs `body`, printing a failure as zkCli does.
    private func attempt(path: String, _ body: () async throws -> Void) async -> Int32 {
        do {
            try await body()
            return 0
        } catch {
            err(CliFormat.error(error, path: path))
            return 1
        }
    }

    private func follow(_ watch: Watch) {
        guard interactive else { return }
        Task { [out] in
            for await event in watch {
                guard event.type != .none else { continue }
                out("\nWATCHER::\n\nWatchedEvent state:SyncConnected type:\(Shell.eventName(event.type)) path:\(event.path)")
            }
        }
    }

    private static func eventName(_ type: EventType) -> String {
        switch type {
        case .none: "None"
        case .nodeCreated: "NodeCreated"
        case .nodeDeleted: "NodeDeleted"
        case .nodeDataChanged: "NodeDataChanged"
        case .nodeChildrenChanged: "NodeChildrenChanged"
        case .dataWatchRemoved: "DataWatchRemoved"
        case .childWatchRemoved: "ChildWatchRemoved"
        case .persistentWatchRemoved: "PersistentWatchRemoved"
        }
    }

    // MARK: Commands

    private struct Command: Sendable {
        var usage: String
        var flags: Set<Character> = []
        var valued: Set<Character> = []
        var positional: ClosedRange<Int>
        var run: @Sendable (Shell, ZooKeeperClient, CommandWords) async -> Int32
    }

    private static let commands: [String: Command] = [
        "ls": Command(usage: "ls [-s] [-w] [-R] path", flags: ["s", "w", "R"], positional: 1...1) { shell, zk, line in
            let path = line.positional[0]
            return await shell.attempt(path: path) {
                if line.has("R") { return try await shell.listRecursively(zk, path) }
                let (children, stat): ([String], Stat)
                if line.has("w") {
                    let listed = try await zk.getChildrenAndWatch(path)
                    (children, stat) = (listed.children, listed.stat)
                    shell.follow(listed.watch)
                } else {
                    (children, stat) = try await zk.getChildren(path)
                }
                shell.out("[" + children.sorted().joined(separator: ", ") + "]")
                if line.has("s") { shell.out(CliFormat.stat(stat)) }
            }
        },
        "get": Command(usage: "get [-s] [-w] path", flags: ["s", "w"], positional: 1...1) { shell, zk, line in
            let path = line.positional[0]
            return await shell.attempt(path: path) {
                let node: NodeData
                if line.has("w") {
                    let watched = try await zk.getDataAndWatch(path)
                    node = watched.node
                    shell.follow(watched.watch)
                } else {
                    node = try await zk.getData(path)
                }
                shell.out(node.data.map { String(decoding: $0, as: UTF8.self) } ?? "null")
                if line.has("s") { shell.out(CliFormat.stat(node.stat)) }
            }
        },
        "stat": Command(usage: "stat [-w] path", flags: ["w"], positional: 1...1) { shell, zk, line in
            let path = line.positional[0]
            return await shell.attempt(path: path) {
                let stat: Stat?
                if line.has("w") {
                    let watched = try await zk.existsAndWatch(path)
                    stat = watched.stat
                    shell.follow(watched.watch)
                } else {
                    stat = try await zk.exists(path)
                }
                guard let stat else { throw ClientError.keeper(.noNode, path: path) }
                shell.out(CliFormat.stat(stat))
            }
        },
        "set": Command(usage: "set [-s] [-v version] path data", flags: ["s"], valued: ["v"], positional: 2...2) { shell, zk, line in
            let path = line.positional[0]
            guard let version = line.version else { return shell.usage("set [-s] [-v version] path data") }
            return await shell.attempt(path: path) {
                let stat = try await zk.setData(path, Array(line.positional[1].utf8), version: version)
                if line.has("s") { shell.out(CliFormat.stat(stat)) }
            }
        },
        "create": Command(usage: "create [-s] [-e] [-c] [-t ttl] path [data] [acl]", flags: ["s", "e", "c"], valued: ["t"],
                          positional: 1...3) { shell, zk, line in
            let path = line.positional[0]
            let data = line.positional.count > 1 ? Array(line.positional[1].utf8) : nil
            var acl = ACL.openUnsafe
            if line.positional.count > 2 {
                guard let parsed = CliFormat.parseACL(line.positional[2]) else { return shell.usage("invalid acl") }
                acl = parsed
            }
            let ttl = line.values["t"].flatMap { Int64($0) }
            guard line.values["t"] == nil || ttl != nil else { return shell.usage("-t must be a number") }
            let mode: CreateMode = switch (line.has("e"), line.has("s"), line.has("c"), ttl != nil) {
            case (_, _, true, _): .container
            case (true, true, _, _): .ephemeralSequential
            case (true, false, _, _): .ephemeral
            case (false, true, _, true): .persistentSequentialWithTTL
            case (false, false, _, true): .persistentWithTTL
            case (false, true, _, false): .persistentSequential
            default: .persistent
            }
            return await shell.attempt(path: path) {
                let created = try await zk.create(path, data: data, acl: acl, mode: mode, ttl: ttl)
                // zkCli prints this line on stderr; scripts that read it look there.
                shell.err("Created \(created.path)")
            }
        },
        "delete": Command(usage: "delete [-v version] path", valued: ["v"], positional: 1...1) { shell, zk, line in
            guard let version = line.version else { return shell.usage("delete [-v version] path") }
            return await shell.attempt(path: line.positional[0]) { try await zk.delete(line.positional[0], version: version) }
        },
        "deleteall": Command(usage: "deleteall path", valued: ["b"], positional: 1...1) { shell, zk, line in
            await shell.attempt(path: line.positional[0]) { try await shell.deleteRecursively(zk, line.positional[0]) }
        },
        "getAcl": Command(usage: "getAcl [-s] path", flags: ["s"], positional: 1...1) { shell, zk, line in
            await shell.attempt(path: line.positional[0]) {
                let (acl, stat) = try await zk.getACL(line.positional[0])
                shell.out(CliFormat.acl(acl))
                if line.has("s") { shell.out(CliFormat.stat(stat)) }
            }
        },
        "setAcl": Command(usage: "setAcl [-s] [-v version] [-R] path acl", flags: ["s", "R"], valued: ["v"],
                          positional: 2...2) { shell, zk, line in
            let path = line.positional[0]
            guard let acl = CliFormat.parseACL(line.positional[1]), let version = line.version else {
                return shell.usage("setAcl [-s] [-v version] [-R] path acl")
            }
            return await shell.attempt(path: path) {
                let paths = line.has("R") ? try await shell.subtree(zk, path) : [path]
                for target in paths {
                    let stat = try await zk.setACL(target, acl, version: target == path ? version : -1)
                    if line.has("s") && target == path { shell.out(CliFormat.stat(stat)) }
                }
            }
        },
        "addauth": Command(usage: "addauth scheme auth", positional: 1...2) { shell, zk, line in
            await shell.attempt(path: "") {
                try await zk.addAuth(scheme: line.positional[0], auth: Array((line.positional.dropFirst().first ?? "").utf8))
            }
        },
        "sync": Command(usage: "sync path", positional: 1...1) { shell, zk, line in
            await shell.attempt(path: line.positional[0]) {
                try await zk.sync(line.positional[0])
                shell.out("Sync is OK")
            }
        },
        "whoami": Command(usage: "whoami", positional: 0...0) { shell, zk, _ in
            await shell.attempt(path: "") {
                shell.out("Auth scheme: User")
                for info in try await zk.whoAmI() { shell.out("\(info.authScheme): \(info.user)") }
            }
        },
        "addWatch": Command(usage: "addWatch [-m mode] path", valued: ["m"], positional: 1...1) { shell, zk, line in
            let mode: AddWatchMode
            switch line.values["m"]?.uppercased() ?? "PERSISTENT_RECURSIVE" {
            case "PERSISTENT": mode = .persistent
            case "PERSISTENT_RECURSIVE": mode = .persistentRecursive
            default: return shell.usage("addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE]")
            }
            return await shell.attempt(path: line.positional[0]) { shell.follow(try await zk.addWatch(line.positional[0], mode: mode)) }
        },
        "removewatches": Command(usage: "removewatches path [-c|-d|-a] [-l]", flags: ["c", "d", "a", "l"], positional: 1...1) { shell, zk, line in
            let type: WatcherType = line.has("c") ? .children : line.has("d") ? .data : .any
            return await shell.attempt(path: line.positional[0]) { try await zk.removeAllWatches(line.positional[0], type: type) }
        },
    ]

    /// `ls -R`: the path and every node below it, breadth first, children sorted, each printed
    /// as found, so a node that cannot be listed stops the walk after what was printed (zkCli).
    private func listRecursively(_ zk: ZooKeeperClient, _ path: String) async throws {
        _ = try await subtree(zk, path, found: out)
    }

    private func subtree(_ zk: ZooKeeperClient, _ root: String, found report: (String) -> Void = { _ in }) async throws -> [String] {
        var found = [root], index = 0
        report(root)
        while index < found.count {
            let path = found[index]
            index += 1
            for child in try await zk.getChildren(path).children.sorted() {
                found.append(path == "/" ? "/" + child : path + "/" + child)
                report(found.last!)
            }
        }
        return found
    }

    private func deleteRecursively(_ zk: ZooKeeperClient, _ root: String) async throws {
        for path in try await subtree(zk, root).reversed() { try await zk.delete(path) }
    }
}

/// A command's words split into zkCli-style single-letter options and positional arguments.
struct CommandWords {
    private(set) var flags: Set<Character> = []
    private(set) var values: [Character: String] = [:]
    private(set) var positional: [String] = []

    init?(_ words: [String], flags allowed: Set<Character>, valued: Set<Character>) {
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.count == 2, word.first == "-", let letter = word.last, allowed.contains(letter) || valued.contains(letter) else {
                positional.append(word)
                continue
            }
            if valued.contains(letter) {
                guard index < words.count else { return nil }
                values[letter] = words[index]
                index += 1
            } else {
                flags.insert(letter)
            }
        }
    }

    func has(_ flag: Character) -> Bool { flags.contains(flag) }

    /// `-v version`, -1 (any) when absent, nil when not a number.
    var version: Int32? { values["v"].map { Int32($0) } ?? -1 }
}
