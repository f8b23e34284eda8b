import ArgumentParser
import DataTree
import DigestAuth
import Glibc
import Jute
import Logging
import ModuleAPI
import Storage

/// `paddock snapshot dump FILE`: a snapshot's tree, like ZooKeeper's SnapshotFormatter.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot", abstract: "Inspect snapshot files.",
                                                    subcommands: [Dump.self])

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a snapshot's nodes and sessions.")

        @Argument(help: "A snapshot.<zxid>[.gz] file.") var file: String
        @Flag(name: .customShort("d"), help: "Also print each node's data (base64, as SnapshotFormatter -d).")
        var withData = false

        func run() throws {
            let logger = bootstrapLogging()
            let name = file.split(separator: "/").last.map(String.init) ?? file
            let parts = name.split(separator: ".", maxSplits: 2)
            guard parts.count >= 2, parts[0] == "snapshot", let zxid = UInt64(parts[1], radix: 16) else {
                throw ValidationError("\(file) is not named snapshot.<zxid>[.suffix]")
            }
            let suffix = parts.count == 3 ? "." + parts[2] : ""
            let codecs = builtInModules().snapshotCodecs.values
            guard let codec = codecs.first(where: { $0.fileSuffix == suffix }) else {
                throw ValidationError("no snapshot codec reads '\(suffix)' files")
            }
            let snapshot = try SnapshotReader(path: file, codec: codec).load(zxid: Int64(bitPattern: zxid), logger: logger)
            print(SnapshotDump.render(snapshot, withData: withData), terminator: "")
        }
    }
}

/// `paddock log dump FILE`: a txn log's records, like ZooKeeper's TxnLogToolkit.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Inspect txn log files.",
                                                    subcommands: [Dump.self])

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a txn log's records.")

        @Argument(help: "A log.<zxid> file.") var file: String

        func run() throws {
            let logger = bootstrapLogging()
            let (records, damage) = try TxnLogReader.records(of: file, frameBytesMax: 0xfffff, logger: logger)
            print("ZooKeeper Transactional Log File with dbid 0 txnlog format version \(TxnLogFormat.version)")
            for record in records { print(LogDump.line(record.header, record.txn)) }
            if let damage { print("damaged record \(damage)") }
            print("EOF reached after \(records.count) txns.")
        }
    }
}

enum SnapshotDump {
    static func render(_ snapshot: LoadedSnapshot, withData: Bool) -> String {
        let tree = snapshot.tree
        var out = "ZNode Details (count=\(tree.nodeCount)):\n"
        var lastZxid = snapshot.zxid
        var stack = ["/"]
        while let path = stack.popLast() {
            guard let node = tree.node(path) else { continue }
            let s = node.persisted
            lastZxid = max(lastZxid, s.mzxid, s.pzxid)
            out += "----\n\(path)\n"
            out += "  cZxid = \(zxid(s.czxid))\n  ctime = \(date(s.ctime))\n"
            out += "  mZxid = \(zxid(s.mzxid))\n  mtime = \(date(s.mtime))\n  pZxid = \(zxid(s.pzxid))\n"
            out += "  cversion = \(s.cversion)\n  dataVersion = \(s.version)\n  aclVersion = \(s.aversion)\n"
            out += "  ephemeralOwner = 0x\(String(UInt64(bitPattern: s.ephemeralOwner), radix: 16))\n"
            if withData { out += "  data = \(Base64.encode(node.data ?? []))\n" }
            out += "  dataLength = \(node.data?.count ?? 0)\n"
            for child in node.children.sorted(by: >) { stack.append(PathValidation.join(path, child)) }
        }
        out += "----\nSession Details (sid, timeout, ephemeralCount):\n"
        for session in snapshot.sessions {
            out += "0x\(String(UInt64(bitPattern: session.id), radix: 16)), \(session.timeoutMs), \(tree.ephemeralPaths(of: session.id).count)\n"
        }
        out += "----\nLast zxid: 0x\(String(UInt64(bitPattern: lastZxid), radix: 16))\n"
        return out
    }

    static func zxid(_ value: Int64) -> String {
        let hex = String(UInt64(bitPattern: value), radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 14 - hex.count)) + hex
    }

    /// Java's Date.toString in UTC: "Thu Jan 01 00:00:00 UTC 1970".
    static func date(_ ms: Int64) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        strftime(&buffer, buffer.count, "%a %b %d %H:%M:%S UTC %Y", &parts)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

enum LogDump {
    static func line(_ header: TxnHeader, _ txn: Txn) -> String {
        let op = OpCode(rawValue: header.type).map(name) ?? "unknown(\(header.type))"
        return "\(SnapshotDump.date(header.time)) session 0x\(hex(header.clientId)) cxid 0x\(hex(Int64(header.cxid))) "
            + "zxid 0x\(hex(header.zxid)) \(op) \(details(txn))"
    }

    static func hex(_ value: Int64) -> String { String(UInt64(bitPattern: value), radix: 16) }

    /// TxnLogToolkit's op names.
    static func name(_ op: OpCode) -> String {
        switch op {
        case .createTTL: "createTtl"
        default: "\(op)"
        }
    }

    static func details(_ txn: Txn) -> String {
        switch txn {
        case .create(let c): return "'\(c.path),\(data(c.data)),\(acl(c.acl)),\(c.ephemeral ? "T" : "F"),\(c.parentCVersion)"
        case .createContainer(let c): return "'\(c.path),\(data(c.data)),\(acl(c.acl)),\(c.parentCVersion)"
        case .createTTL(let c): return "'\(c.path),\(data(c.data)),\(acl(c.acl)),\(c.parentCVersion),\(c.ttl)"
        case .delete(let path), .deleteContainer(let path): return "'\(path)"
        case .setData(let path, let bytes, let version): return "'\(path),\(data(bytes)),\(version)"
        case .setACL(let path, let list, let version): return "'\(path),\(acl(list)),\(version)"
        case .check(let path, let version): return "'\(path),\(version)"
        case .createSession(let timeout): return "\(timeout)"
        case .closeSession(let paths): return "v{\(paths.map { "'" + $0 }.joined(separator: ","))}"
        case .error(let err): return "\(err)"
        case .multi(let subs):
            return subs.map { "\(OpCode(rawValue: $0.type).map(name) ?? "\($0.type)"):\(details($0.txn))" }.joined(separator: ";")
        }
    }

    static func data(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "null" }
        return "#" + bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    static func acl(_ list: [ACL]) -> String {
        "v{" + list.map { "s{\($0.perms),s{'\($0.id.scheme),'\($0.id.id)}}" }.joined(separator: ",") + "}"
    }
}
