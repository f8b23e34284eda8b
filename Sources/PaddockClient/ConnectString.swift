/// A ZooKeeper connection string: comma-separated `host:port` pairs, then an optional chroot
/// path that every path of the session is relative to (`h1:2181,h2:2181/app`).
public struct ConnectString: Sendable, Equatable {
    public struct Server: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var servers: [Server]
    /// nil when the session works at the tree's root.
    public var chroot: String?

    /// ZooKeeper's client port when a host names none.
    public static let defaultPort = 2181

    public init(_ text: String) throws(ClientError) {
        var hostsPart = Substring(text)
        if let slash = text.firstIndex(of: "/") {
            hostsPart = text[..<slash]
            let root = String(text[slash...])
            if root != "/" {
                try PathRules.validate(root)
                chroot = root
            }
        }
        servers = try hostsPart.split(separator: ",", omittingEmptySubsequences: true).map(Self.server)
        guard !servers.isEmpty else { throw .badArguments("connection string \(text) names no server") }
    }

    private static func server(_ text: Substring) throws(ClientError) -> Server {
        let entry = text.trimmingCharacters(in: " ")
        // [v6-address]:port, host:port, or a bare host.
        if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
            let host = String(entry[entry.index(after: entry.startIndex)..<close])
            let rest = entry[entry.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw .badArguments("bad server \(entry)") }
            return Server(host: host, port: try port(rest.dropFirst(), of: entry))
        }
        // An IPv6 address needs its brackets, so its colons are not read as a port.
        guard !entry.hasPrefix("["), entry.filter({ $0 == ":" }).count <= 1 else { throw .badArguments("bad server \(entry)") }
        guard let colon = entry.lastIndex(of: ":") else { return Server(host: String(entry), port: defaultPort) }
        return Server(host: String(entry[..<colon]), port: try port(entry[entry.index(after: colon)...], of: entry))
    }

    private static func port(_ text: Substring, of entry: Substring) throws(ClientError) -> Int {
        if text.isEmpty { return defaultPort }
        guard let port = Int(text), (1...65535).contains(port) else { throw .badArguments("bad port in \(entry)") }
        return port
    }

    /// The server-side path of a client path under the chroot.
    func serverPath(_ path: String) -> String {
        guard let chroot else { return path }
        return path == "/" ? chroot : chroot + path
    }

    /// The client-side path of a server path (watch events, created names), chroot removed.
    func clientPath(_ path: String) -> String {
        guard let chroot, path.hasPrefix(chroot) else { return path }
        let rest = path.dropFirst(chroot.count)
        return rest.isEmpty ? "/" : String(rest)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var text = self
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return text
    }
}

/// ZooKeeper's client-side path checks (PathUtils.validatePath), so a bad path fails before it
/// is sent, with ZooKeeper's message (positions count UTF-16 units, as Java's do).
enum PathRules {
    static func validate(_ path: String, sequential: Bool = false) throws(ClientError) {
        if PlainPath.isPlain(path, sequential: sequential) { return }
        try checkEveryUnit(path, sequential: sequential)
    }

    /// ZooKeeper's PathUtils rules over UTF-16 code units, with its messages and indexes.
    static func checkEveryUnit(_ path: String, sequential: Bool) throws(ClientError) {
        // A sequential create's path gets a number appended, so it may end in "/".
        let checked = sequential ? path + "1" : path
        guard !checked.isEmpty else { throw .badArguments("Path length must be > 0") }
        guard checked.first == "/" else { throw .badArguments("Path must start with / character") }
        let units = Array(checked.utf16)
        if units.count == 1 { return }
        guard units.last != 0x2f else { throw .badArguments("Path must not end with / character") }
        let slash: UInt16 = 0x2f, dot: UInt16 = 0x2e  // "/" and "."
        for index in 1..<units.count {
            let unit = units[index], last = units[index - 1]
            let endsSegment = index + 1 == units.count || units[index + 1] == slash
            var reason: String?
            if unit == 0 {
                reason = "null character not allowed @\(index)"
            } else if unit == slash && last == slash {
                reason = "empty node name specified @\(index)"
            } else if unit == dot && last == dot && index >= 2 && units[index - 2] == slash && endsSegment {
                reason = "relative paths not allowed @\(index)"
            } else if unit == dot && last == slash && endsSegment {
                reason = "relative paths not allowed @\(index)"
            } else if (0x1...0x1f).contains(unit) || (0x7f...0x9f).contains(unit) || (0xd800...0xf8ff).contains(unit)
                        || (0xfff0...0xffff).contains(unit) {
                reason = "invalid character @\(index)"
            }
            if let reason { throw .badArguments("Invalid path string \"\(checked)\" caused by \(reason)") }
        }
    }
}
