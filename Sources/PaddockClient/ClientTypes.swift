// The record types a client passes and gets back (Stat, ACL, Id, CreateMode, KeeperError, ...)
// are Jute's, ZooKeeper's own records; re-exported so `import PaddockClient` is enough.
@_exported import Jute

/// Why an operation failed: a ZooKeeper error code (KeeperException's), or a client-side check.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with this code; `path` as the caller named it, when the op had one.
    case keeper(KeeperError, path: String?)
    /// The request was refused before sending (bad path, bad connection string, bad version).
    case badArguments(String)
    /// The client was closed; nothing more can be sent.
    case closed

    public var code: KeeperError {
        switch self {
        case .keeper(let code, _): code
        case .badArguments: .badArguments
        case .closed: .sessionExpired
        }
    }

    /// ZooKeeper's KeeperException message shape: "KeeperErrorCode = NoNode for /a".
    public var description: String {
        switch self {
        case .keeper(let code, let path):
            "KeeperErrorCode = \(code.name)" + (path.map { " for \($0)" } ?? "")
        case .badArguments(let reason): reason
        case .closed: "the client is closed"
        }
    }
}

extension KeeperError {
    /// KeeperException.Code's message text.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .systemError: "SystemError"
        case .runtimeInconsistency: "RuntimeInconsistency"
        case .dataInconsistency: "DataInconsistency"
        case .connectionLoss: "ConnectionLoss"
        case .marshallingError: "MarshallingError"
        case .unimplemented: "Unimplemented"
        case .operationTimeout: "OperationTimeout"
        case .badArguments: "BadArguments"
        case .unknownSession: "UnknownSession"
        case .newConfigNoQuorum: "NewConfigNoQuorum"
        case .reconfigInProgress: "ReconfigInProgress"
        case .apiError: "APIError"
        case .noNode: "NoNode"
        case .noAuth: "NoAuth"
        case .badVersion: "BadVersion"
        case .noChildrenForEphemerals: "NoChildrenForEphemerals"
        case .nodeExists: "NodeExists"
        case .notEmpty: "Directory not empty"
        case .sessionExpired: "Session expired"
        case .invalidCallback: "Invalid callback"
        case .invalidACL: "InvalidACL"
        case .authFailed: "AuthFailed"
        case .sessionMoved: "Session moved"
        case .notReadOnly: "Not a read-only call"
        case .ephemeralOnLocalSession: "Ephemeral node on local session"
        case .noWatcher: "No such watcher"
        case .requestTimeout: "Request timeout"
        case .reconfigDisabled: "Reconfig is disabled"
        case .sessionClosedRequireSasl: "Session closed because client failed to authenticate"
        case .quotaExceeded: "Quota has exceeded"
        case .throttled: "Op throttled due to high load"
        }
    }
}

/// What a watch reports: the change and the node's path (relative to the chroot).
public struct WatchedEvent: Sendable, Equatable {
    public var type: EventType
    public var state: KeeperState
    public var path: String
    public init(type: EventType, state: KeeperState, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }
}

/// The session's life as the client sees it.
public enum SessionEvent: Sendable, Equatable {
    /// Connected (again) to this server; the session is the same one after a reconnect.
    case connected(server: String)
    /// The connection was lost; the client is trying the other servers within the session timeout.
    case disconnected
    /// The ensemble expired the session: ephemerals are gone, watches will not fire.
    case expired
    /// The server refused the session's credentials (addauth failed).
    case authFailed
    /// `close()` ended the session.
    case closed
}

/// One operation of a `multi` transaction (ZooKeeper's Op).
public enum Op: Sendable {
    case create(path: String, data: [UInt8], acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent, ttl: Int64? = nil)
    case delete(path: String, version: Int32 = -1)
    case setData(path: String, data: [UInt8], version: Int32 = -1)
    case check(path: String, version: Int32)
}

/// One result of a `multi` (ZooKeeper's OpResult): per op, in order. When the transaction failed,
/// every result is an error: the failing op's code, and RuntimeInconsistency (after it) or
/// ok (before it) for the others, as ZooKeeper reports.
public enum OpResult: Sendable, Equatable {
    /// A plain create reports the path alone (stat nil), as ZooKeeper's multi does.
    case created(path: String, stat: Stat?)
    case deleted
    case set(Stat)
    case checked
    case error(KeeperError)
}

/// Node data with its Stat.
public struct NodeData: Sendable, Equatable {
    /// nil when the node was created with null data (zkCli's `create /a` without a value).
    public var data: [UInt8]?
    public var stat: Stat
    public init(data: [UInt8]?, stat: Stat) {
        self.data = data
        self.stat = stat
    }
}

/// What identifies a session to the ensemble: with these another client (or process) can attach
/// to it, as ZooKeeper's `new ZooKeeper(..., sessionId, sessionPasswd)` does.
public struct SessionCredentials: Sendable, Equatable {
    public var id: Int64
    public var password: [UInt8]
    public init(id: Int64, password: [UInt8]) {
        self.id = id
        self.password = password
    }
}
