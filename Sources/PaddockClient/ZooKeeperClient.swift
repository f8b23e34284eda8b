import NIOCore
import NIOPosix

/// A watch: the stream of events it reports. A one-shot watch (from `getDataAndWatch`,
/// `existsAndWatch`, `getChildrenAndWatch`) yields one event and ends; a persistent one
/// (`addWatch`) yields until removed or the session ends. An ending session yields a last event
/// of type `.none` with the session's state.
public typealias Watch = AsyncStream<WatchedEvent>

/// An async/await client for Paddock and any ZooKeeper 3.8 server: every op, watches as streams,
/// a connection string with several servers and a chroot, reconnect within the session timeout
/// with watches re-registered, and many requests in flight on one connection.
///
///     let zk = try await ZooKeeperClient.connect("127.0.0.1:2181,127.0.0.1:2182/app")
///     try await zk.create("/config", data: Array("v1".utf8))
///     let (node, change) = try await zk.getDataAndWatch("/config")
///     for await event in change { print(event.type, node.stat.version) }
public final class ZooKeeperClient: Sendable {
    let core: ClientCore
    let connectString: ConnectString

    /// connected / disconnected / expired / authFailed / closed, in order; ends with the session.
    public var sessionEvents: AsyncStream<SessionEvent> { core.sessionEvents }

    /// Connects to one of the servers (in random order, then the next on failure) and returns
    /// once a session is up: a new one, or the one `resuming` names. `packetBytesMax` bounds a
    /// reply, as the client's jute.maxbuffer.
    public static func connect(
        _ connectString: String, sessionTimeout: Duration = .seconds(10), resuming: SessionCredentials? = nil,
        packetBytesMax: Int = 0xfffff, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ZooKeeperClient {
        let parsed = try ConnectString(connectString)
        let timeoutMs = sessionTimeout.components.seconds * 1000 + sessionTimeout.components.attoseconds / 1_000_000_000_000_000
        let client = ZooKeeperClient(
            core: ClientCore(options: .init(connectString: parsed, sessionTimeoutMs: Int32(clamping: timeoutMs),
                                            packetBytesMax: packetBytesMax), loop: group.next(), resuming: resuming),
            connectString: parsed)
        try await client.core.start()
        return client
    }

    private init(core: ClientCore, connectString: ConnectString) {
        self.core = core
        self.connectString = connectString
    }

    /// The session's id and password, and the timeout the server granted (ms).
    public var session: (credentials: SessionCredentials, timeoutMs: Int32) {
        get async {
            await withCheckedContinuation { continuation in
                core.loop.execute {
                    continuation.resume(returning: (SessionCredentials(id: self.core.sessionId, password: self.core.password),
                                                    self.core.negotiatedTimeoutMs))
                }
            }
        }
    }

    /// Ends the session (its ephemerals go) and the connection.
    public func close() async {
        await core.close(closeRequest: Self.frame(.closeSession) { _ in })
    }

    // MARK: Nodes

    /// Creates a node; returns its path (with the sequence number for a sequential mode) and Stat.
    /// nil data is stored as null, as ZooKeeper does.
    @discardableResult
    public func create(_ path: String, data: [UInt8]? = [], acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
                       ttl: Int64? = nil) async throws -> (path: String, stat: Stat) {
        try PathRules.validate(path, sequential: mode.isSequential)
        let opCode: OpCode = mode.isTTL ? .createTTL : mode.isContainer ? .createContainer : .create2
        let request = CreateRequest(path: connectString.serverPath(path), data: data, acl: acl, flags: mode.rawValue,
                                    ttl: mode.isTTL ? ttl ?? 0 : nil)
        let response: Create2Response = try await call(opCode, path: path) { request.write(to: &$0) }
        return (connectString.clientPath(response.path), response.stat)
    }

    public func delete(_ path: String, version: Int32 = -1) async throws {
        try PathRules.validate(path)
        let request = PathVersionRequest(path: connectString.serverPath(path), version: version)
        _ = try await send(.delete, path: path) { request.write(to: &$0) }
    }

    /// The node's Stat, or nil when it does not exist.
    public func exists(_ path: String) async throws -> Stat? {
        try await exists(path, watch: nil)
    }

    /// exists, plus a one-shot watch: for a change or deletion of an existing node, or for the
    /// creation of a missing one.
    public func existsAndWatch(_ path: String) async throws -> (stat: Stat?, watch: Watch) {
        let (watch, sink) = Watch.makeStream()
        return (try await exists(path, watch: sink), watch)
    }

    private func exists(_ path: String, watch sink: Watch.Continuation?) async throws -> Stat? {
        try PathRules.validate(path)
        let request = PathWatchRequest(path: connectString.serverPath(path), watch: sink != nil)
        let reply = try await core.call(Self.frame(.exists) { request.write(to: &$0) }, watch: sink.map { ($0, .exist) })
        if reply.header.err == KeeperError.noNode.rawValue { return nil }
        let response: StatResponse = try decode(reply, path: path)
        return response.stat
    }

    public func getData(_ path: String) async throws -> NodeData {
        try await getData(path, watch: nil)
    }

    /// getData, plus a one-shot watch for the node's next change or deletion.
    public func getDataAndWatch(_ path: String) async throws -> (node: NodeData, watch: Watch) {
        let (watch, sink) = Watch.makeStream()
        return (try await getData(path, watch: sink), watch)
    }

    private func getData(_ path: String, watch sink: Watch.Continuation?) async throws -> NodeData {
        try PathRules.validate(path)
        let request = PathWatchRequest(path: connectString.serverPath(path), watch: sink != nil)
        let response: GetDataResponse = try await call(.getData, path: path, watch: sink.map { ($0, .data) }) {
            request.write(to: &$0)
        }
        return NodeData(data: response.data, stat: response.stat)
    }

    /// Sets the data if the version matches (-1 matches any); returns the new Stat.
    @discardableResult
    public func setData(_ path: String, _ data: [UInt8], version: Int32 = -1) async throws -> Stat {
        try PathRules.validate(path)
        let request = SetDataRequest(path: connectString.serverPath(path), data: data, version: version)
        let response: StatResponse = try await call(.setData, path: path) { request.write(to: &$0) }
        return response.stat
    }

    public func getChildren(_ path: String) async throws -> (children: [String], stat: Stat) {
        try await getChildren(path, watch: nil)
    }

    /// getChildren, plus a one-shot watch for the next change of the child list or deletion.
    public func getChildrenAndWatch(_ path: String) async throws -> (children: [String], stat: Stat, watch: Watch) {
        let (watch, sink) = Watch.makeStream()
        let (children, stat) = try await getChildren(path, watch: sink)
        return (children, stat, watch)
    }

    private func getChildren(_ path: String, watch sink: Watch.Continuation?) async throws -> (children: [String], stat: Stat) {
        try PathRules.validate(path)
        let request = PathWatchRequest(path: connectString.serverPath(path), watch: sink != nil)
        let response: GetChildren2Response = try await call(.getChildren2, path: path, watch: sink.map { ($0, .child) }) {
            request.write(to: &$0)
        }
        return (response.children, response.stat)
    }

    public func getACL(_ path: String) async throws -> (acl: [ACL], stat: Stat) {
        try PathRules.validate(path)
        let request = PathRequest(path: connectString.serverPath(path))
        let response: GetACLResponse = try await call(.getACL, path: path) { request.write(to: &$0) }
        return (response.acl, response.stat)
    }

    @discardableResult
    public func setACL(_ path: String, _ acl: [ACL], version: Int32 = -1) async throws -> Stat {
        try PathRules.validate(path)
        let request = SetACLRequest(path: connectString.serverPath(path), acl: acl, version: version)
        let response: StatResponse = try await call(.setACL, path: path) { request.write(to: &$0) }
        return response.stat
    }

    /// Waits until the server this session is on has every write committed before the call.
    public func sync(_ path: String) async throws {
        try PathRules.validate(path)
        let request = PathRequest(path: connectString.serverPath(path))
        _ = try await send(.sync, path: path) { request.write(to: &$0) }
    }

    /// The number of nodes below `path`, at every depth.
    public func getAllChildrenNumber(_ path: String) async throws -> Int {
        try PathRules.validate(path)
        let request = PathRequest(path: connectString.serverPath(path))
        let response: GetAllChildrenNumberResponse = try await call(.getAllChildrenNumber, path: path) { request.write(to: &$0) }
        return Int(response.totalNumber)
    }

    /// The paths of this session's ephemeral nodes that start with `prefix`.
    public func getEphemerals(_ prefix: String = "/") async throws -> [String] {
        let request = PathRequest(path: connectString.serverPath(prefix))
        let response: PathListResponse = try await call(.getEphemerals, path: prefix) { request.write(to: &$0) }
        return response.paths.map(connectString.clientPath)
    }

    // MARK: Watches

    /// A persistent watch (every change of the node, its children list included) or a
    /// persistent recursive one (every change at or below it but children-list changes),
    /// until `removeAllWatches` or the session's end.
    public func addWatch(_ path: String, mode: AddWatchMode) async throws -> Watch {
        try PathRules.validate(path)
        let (watch, sink) = Watch.makeStream()
        let request = AddWatchRequest(path: connectString.serverPath(path), mode: mode.rawValue)
        let kind: WatchRegistry.Kind = mode == .persistent ? .persistent : .persistentRecursive
        _ = try await send(.addWatch, path: path, watch: (sink, kind)) { request.write(to: &$0) }
        return watch
    }

    /// Removes this session's watches of `type` on `path` on the server, then ends their streams
    /// with a watch-removed event. A ZooKeeper 3.8 server removes a persistent watch only as
    /// part of `.any` (it keeps one mode per path and session), so `.persistent` and
    /// `.persistentRecursive` remove, and end, every watch of the session on the path.
    public func removeAllWatches(_ path: String, type: WatcherType) async throws {
        try PathRules.validate(path)
        let sentType: WatcherType = type.rawValue > WatcherType.any.rawValue ? .any : type
        let request = WatchesRequest(path: connectString.serverPath(path), type: sentType.rawValue)
        _ = try await send(.removeWatches, path: path) { request.write(to: &$0) }
        let kinds: [WatchRegistry.Kind] = switch sentType {
        case .children: [.child]
        case .data: [.data, .exist]
        default: [.data, .exist, .child, .persistent, .persistentRecursive]
        }
        core.removeLocalWatches(path: path, kinds: kinds) { kind in
            switch kind {
            case .child: .childWatchRemoved
            case .data, .exist: .dataWatchRemoved
            case .persistent, .persistentRecursive: .persistentWatchRemoved
            }
        }
    }

    // MARK: Auth

    /// Adds credentials to the session (kept and re-sent after a reconnect). Throws AuthFailed
    /// when the server refuses them, which ends the session as ZooKeeper does.
    public func addAuth(scheme: String, auth: [UInt8]) async throws {
        core.addAuth(AuthPacket(scheme: scheme, auth: auth))
        // The server handles a connection's packets in order: once a request sent after the
        // credentials is answered, a refusal has arrived first.
        _ = try await exists("/")
    }

    /// The identities the server has for this session (scheme and user).
    public func whoAmI() async throws -> [ClientInfo] {
        let response: WhoAmIResponse = try await call(.whoAmI, path: nil) { _ in }
        return response.clientInfo
    }

    // MARK: Plumbing

    /// A request frame: length, an xid the core fills in, the op code, the body.
    static func frame(_ op: OpCode, _ body: (inout JuteWriter) -> Void) -> [UInt8] {
        JuteWriter.frame { w in
            RequestHeader(xid: 0, type: op.rawValue).write(to: &w)
            body(&w)
        }
    }

    /// Sends and checks the reply's error; returns the reply for the caller to decode.
    func send(_ op: OpCode, path: String?, watch: (Watch.Continuation, WatchRegistry.Kind)? = nil,
              _ body: (inout JuteWriter) -> Void) async throws -> Reply {
        let reply = try await core.call(Self.frame(op, body), watch: watch)
        guard reply.header.err == 0 else {
            throw ClientError.keeper(KeeperError(rawValue: reply.header.err) ?? .systemError, path: path)
        }
        return reply
    }

    func call<Response: JuteRecord>(_ op: OpCode, path: String?, watch: (Watch.Continuation, WatchRegistry.Kind)? = nil,
                                    _ body: (inout JuteWriter) -> Void) async throws -> Response {
        try decode(try await send(op, path: path, watch: watch, body), path: path)
    }

    func decode<Response: JuteRecord>(_ reply: Reply, path: String?) throws -> Response {
        guard reply.header.err == 0 else {
            throw ClientError.keeper(KeeperError(rawValue: reply.header.err) ?? .systemError, path: path)
        }
        var reader = JuteReader(reply.body, offset: reply.bodyOffset)
        do {
            return try reader.readRecord(Response.self)
        } catch {
            throw ClientError.keeper(.marshallingError, path: path)
        }
    }
}
