/// One znode used as a register with versions, as clients use ZooKeeper for configuration
/// values, CAS counters and locks: create, delete, plain and conditional setData, and reads that
/// see the data and version.
public enum ZnodeRegister: SequentialModel {
    public struct State: Hashable, Sendable {
        public var exists: Bool
        public var value: String
        public var version: Int32
        public init(exists: Bool, value: String, version: Int32) {
            self.exists = exists
            self.value = value
            self.version = version
        }
    }

    public enum Input {
        /// getData (or exists): sees the value and version, or that the node is absent.
        case read
        /// create with this value.
        case create(String)
        /// setData with version -1.
        case write(String)
        /// setData conditional on the version: the CAS of counters and leases.
        case compareAndSet(expectedVersion: Int32, String)
        /// delete, unconditional (nil) or at a version.
        case delete(expectedVersion: Int32?)
    }

    public enum Output: Equatable {
        /// What a read saw; nil value and version when the node did not exist.
        case read(value: String?, version: Int32?)
        /// A write succeeded; the version it reported (create reports 0; delete reports none).
        case ok(version: Int32?)
        case noNode, nodeExists, badVersion
    }

    public static let initial = State(exists: false, value: "", version: 0)

    public static func step(_ state: State, _ input: Input, _ output: Output?) -> [State] {
        let outcomes = possible(state, input)
        guard let output else {
            // Unknown outcome: any of the op's possible effects, or none.
            return Array(Set(outcomes.map(\.after) + [state]))
        }
        return outcomes.filter { $0.output == output }.map(\.after)
    }

    /// Each output the op may give from `state`, with the state it leaves.
    private static func possible(_ state: State, _ input: Input) -> [(output: Output, after: State)] {
        switch input {
        case .read:
            return [(state.exists ? .read(value: state.value, version: state.version) : .read(value: nil, version: nil), state)]
        case .create(let value):
            if state.exists { return [(.nodeExists, state)] }
            return [(.ok(version: 0), State(exists: true, value: value, version: 0))]
        case .write(let value):
            guard state.exists else { return [(.noNode, state)] }
            return [(.ok(version: state.version + 1), State(exists: true, value: value, version: state.version + 1))]
        case .compareAndSet(let expected, let value):
            guard state.exists else { return [(.noNode, state)] }
            guard state.version == expected else { return [(.badVersion, state)] }
            return [(.ok(version: expected + 1), State(exists: true, value: value, version: expected + 1))]
        case .delete(let expected):
            guard state.exists else { return [(.noNode, state)] }
            if let expected, expected != state.version { return [(.badVersion, state)] }
            return [(.ok(version: nil), initial)]
        }
    }

    public static func describe(_ input: Input, _ output: Output?) -> String {
        let call: String = switch input {
        case .read: "read"
        case .create(let value): "create \(value)"
        case .write(let value): "write \(value)"
        case .compareAndSet(let version, let value): "cas v\(version) -> \(value)"
        case .delete(let version): "delete" + (version.map { " v\($0)" } ?? "")
        }
        let result: String = switch output {
        case nil: "unknown"
        case .read(let value?, let version?): "\(value) v\(version)"
        case .read: "absent"
        case .ok(let version?): "ok v\(version)"
        case .ok: "ok"
        case .noNode: "NoNode"
        case .nodeExists: "NodeExists"
        case .badVersion: "BadVersion"
        }
        return "\(call) => \(result)"
    }
}

/// The sequence numbers ZooKeeper hands to sequential children of one parent: no two creates
/// share a number, and numbers grow in the order the creates took effect (ZooKeeper may skip
/// numbers, as deletions under the parent also advance its counter). The state is the highest
/// number handed out so far.
public enum SequentialCreates: SequentialModel {
    public enum Input { case create }
    public typealias Output = Int32
    public typealias State = Int32

    public static let initial: Int32 = -1

    public static func step(_ state: Int32, _ input: Input, _ output: Int32?) -> [Int32] {
        // An unknown outcome may have used a number; later numbers only need to be larger.
        guard let output else { return [state] }
        return output > state ? [output] : []
    }

    public static func describe(_ input: Input, _ output: Int32?) -> String {
        "create sequential => " + (output.map { String($0) } ?? "unknown")
    }
}

/// A register without versions: the simulator's view, where a client write is a txn that names
/// a key and carries a value, and reads see the last value the applied log gives the key.
public enum PlainRegister: SequentialModel {
    public enum Input { case write(String), read }
    public enum Output: Equatable { case written, read(String?) }
    public typealias State = String?

    public static let initial: String? = nil

    public static func step(_ state: String?, _ input: Input, _ output: Output?) -> [String?] {
        switch (input, output) {
        case (.write(let value), nil): return value == state ? [state] : [state, value]
        case (.write(let value), .written?): return [value]
        case (.read, .read(let seen)?): return seen == state ? [state] : []
        case (.read, nil): return [state]
        default: return []
        }
    }

    public static func describe(_ input: Input, _ output: Output?) -> String {
        switch (input, output) {
        case (.write(let value), nil): "write \(value) => unknown"
        case (.write(let value), _): "write \(value) => ok"
        case (.read, .read(let seen)?): "read => \(seen ?? "nothing")"
        case (.read, _): "read => unknown"
        }
    }
}
