import Foundation

/// Histories as JSON Lines, the form process tests (Python workers, Swift workers) write them in:
/// one object per operation,
///
///     {"client": 3, "key": "/lin/r1", "op": "cas", "version": 2, "value": "c3-17",
///      "call": 1200, "return": 1350, "result": {"type": "ok", "version": 3}}
///
/// op: read | create | write | cas | delete | create-sequential ("key" is then the parent);
/// result: {"type": "ok", "version"?: n, "sequence"?: n} | {"type": "read", "value"?: s, "version"?: n}
/// | {"type": "error", "code": "NoNode" | "NodeExists" | "BadVersion"} | null with "return" null
/// when the outcome is unknown (a connection lost with the request in flight).
public struct HistoryFile {
    public var registers: [ClientOperation<ZnodeRegister.Input, ZnodeRegister.Output>] = []
    public var sequences: [ClientOperation<SequentialCreates.Input, SequentialCreates.Output>] = []

    public struct FormatError: Error, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "history line \(line): \(reason)" }
    }

    private struct Record: Decodable {
        struct Result: Decodable {
            var type: String
            var version: Int32?
            var value: String?
            var sequence: Int32?
            var code: String?
        }
        var client: Int
        var key: String
        var op: String
        var value: String?
        var version: Int32?
        var call: Int64
        var `return`: Int64?
        var result: Result?
    }

    public init(contentsOf text: String) throws {
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let record: Record
            do {
                record = try decoder.decode(Record.self, from: Data(line.utf8))
            } catch {
                throw FormatError(line: index + 1, reason: "not a history record: \(error)")
            }
            try add(record, line: index + 1)
        }
    }

    private mutating func add(_ record: Record, line: Int) throws {
        guard (record.result == nil) == (record.return == nil) else {
            throw FormatError(line: line, reason: "an operation has a result exactly when it has a return time")
        }
        if let end = record.return, end < record.call { throw FormatError(line: line, reason: "returns before its call") }
        if record.op == "create-sequential" {
            var output: Int32?
            if let result = record.result {
                guard result.type == "ok", let sequence = result.sequence else {
                    throw FormatError(line: line, reason: "a sequential create's result is {\"type\": \"ok\", \"sequence\": n}")
                }
                output = sequence
            }
            sequences.append(ClientOperation(client: record.client, key: record.key, input: .create, output: output,
                                       call: record.call, completion: record.return))
            return
        }
        let input: ZnodeRegister.Input
        switch record.op {
        case "read": input = .read
        case "create": input = .create(try value(record, line: line))
        case "write": input = .write(try value(record, line: line))
        case "cas":
            guard let version = record.version else { throw FormatError(line: line, reason: "cas needs a version") }
            input = .compareAndSet(expectedVersion: version, try value(record, line: line))
        case "delete": input = .delete(expectedVersion: record.version)
        default: throw FormatError(line: line, reason: "unknown op \(record.op)")
        }
        registers.append(ClientOperation(client: record.client, key: record.key, input: input,
                                   output: try record.result.map { try output($0, line: line) },
                                   call: record.call, completion: record.return))
    }

    private func value(_ record: Record, line: Int) throws -> String {
        guard let value = record.value else { throw FormatError(line: line, reason: "\(record.op) needs a value") }
        return value
    }

    private func output(_ result: Record.Result, line: Int) throws -> ZnodeRegister.Output {
        switch (result.type, result.code) {
        case ("ok", _): return .ok(version: result.version)
        case ("read", _): return .read(value: result.value, version: result.version)
        case ("error", "NoNode"): return .noNode
        case ("error", "NodeExists"): return .nodeExists
        case ("error", "BadVersion"): return .badVersion
        default: throw FormatError(line: line, reason: "unknown result \(result.type) \(result.code ?? "")")
        }
    }

    /// Every key's verdict, registers then sequences.
    public func check() -> [KeyVerdict] {
        LinearizabilityChecker.check(ZnodeRegister.self, registers) + LinearizabilityChecker.check(SequentialCreates.self, sequences)
    }
}
