import Glibc
import PaddockClient

/// zkCli.sh's output shapes, so scripts that parse its output work unchanged.
enum CliFormat {
    /// zkCli's Stat block: one `name = value` line per field, zxids in hex, times as Java's
    /// Date.toString() in local time.
    static func stat(_ stat: Stat) -> String {
        """
        cZxid = \(hex(stat.czxid))
        ctime = \(date(stat.ctime))
        mZxid = \(hex(stat.mzxid))
        mtime = \(date(stat.mtime))
        pZxid = \(hex(stat.pzxid))
        cversion = \(stat.cversion)
        dataVersion = \(stat.version)
        aclVersion = \(stat.aversion)
        ephemeralOwner = \(hex(stat.ephemeralOwner))
        dataLength = \(stat.dataLength)
        numChildren = \(stat.numChildren)
        """
    }

    /// Java's Long.toHexString with "0x": two's complement, lowercase, no padding.
    static func hex(_ value: Int64) -> String { "0x" + String(UInt64(bitPattern: value), radix: 16) }

    /// Java's Date.toString(): "Sun Nov 22 10:06:04 UTC 2026".
    static func date(_ millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a %b %d %H:%M:%S %Z %Y", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// getAcl's lines: `'scheme,'id` then `: perms`.
    static func acl(_ acl: [ACL]) -> String {
        acl.map { "'\($0.id.scheme),'\($0.id.id)\n: \(perms($0.perms))" }.joined(separator: "\n")
    }

    /// ZooDefs' permission letters in zkCli's order.
    static func perms(_ bits: Int32) -> String {
        [(Perms.create, "c"), (Perms.delete, "d"), (Perms.read, "r"), (Perms.write, "w"), (Perms.admin, "a")]
            .filter { bits & $0.0 != 0 }.map(\.1).joined()
    }

    /// A zkCli ACL argument: `scheme:id:perms[,scheme:id:perms...]` (the id may hold colons).
    static func parseACL(_ text: String) -> [ACL]? {
        var result: [ACL] = []
        for entry in text.split(separator: ",") {
            guard let first = entry.firstIndex(of: ":"), let last = entry.lastIndex(of: ":"), first < last else { return nil }
            let scheme = String(entry[..<first]), id = String(entry[entry.index(after: first)..<last])
            var bits: Int32 = 0
            for letter in entry[entry.index(after: last)...] {
                switch letter {
                case "c": bits |= Perms.create
                case "d": bits |= Perms.delete
                case "r": bits |= Perms.read
                case "w": bits |= Perms.write
                case "a": bits |= Perms.admin
                default: return nil
                }
            }
            result.append(ACL(perms: bits, id: Id(scheme: scheme, id: id)))
        }
        return result.isEmpty ? nil : result
    }

    /// The message zkCli prints for a server error on `path`.
    static func error(_ error: any Error, path: String) -> String {
        guard let clientError = error as? ClientError else { return "\(error)" }
        // The node the failing call named (a walk fails on one node below the command's path).
        var path = path
        if case .keeper(_, let failed?) = clientError { path = failed }
        switch clientError.code {
        case .noNode: return "Node does not exist: \(path)"
        case .nodeExists: return "Node already exists: \(path)"
        case .notEmpty: return "Node not empty: \(path)"
        case .badVersion: return "version No is not valid : \(path)"
        case .noAuth: return "Insufficient permission : \(path)"
        case .noChildrenForEphemerals: return "Ephemerals cannot have children: \(path)"
        case .badArguments: return clientError.description
        default: return clientError.description
        }
    }
}
