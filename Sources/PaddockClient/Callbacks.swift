/// ZooKeeper's AsyncCallback style, for pipelines and load generators where a task switch per
/// request would cost more than the request: each call sends at once and runs `completion` on the
/// client's event loop, so a completion that issues the next request sends it without a thread
/// hop. Completions hold up the connection while they run; keep them short.
///
///     zk.getData("/config") { result in
///         if case .success(let node) = result { print(node.stat.version) }
///     }
extension ZooKeeperClient {
    public func getData(_ path: String, completion: @escaping @Sendable (Result<NodeData, ClientError>) -> Void) {
        send(.getData, path: path, completion: { (response: GetDataResponse) in NodeData(data: response.data, stat: response.stat) },
             then: completion) { PathWatchRequest(path: $0, watch: false).write(to: &$1) }
    }

    public func setData(_ path: String, _ data: [UInt8], version: Int32 = -1,
                        completion: @escaping @Sendable (Result<Stat, ClientError>) -> Void) {
        send(.setData, path: path, completion: { (response: StatResponse) in response.stat }, then: completion) {
            SetDataRequest(path: $0, data: data, version: version).write(to: &$1)
        }
    }

    /// Creates a persistent or ephemeral node (sequential or not); completes with its path.
    public func create(_ path: String, data: [UInt8]?, acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
                       completion: @escaping @Sendable (Result<String, ClientError>) -> Void) {
        guard !mode.isTTL && !mode.isContainer else {
            return completion(.failure(.badArguments("container and TTL nodes are created with the async create")))
        }
        let client = self
        send(.create2, path: path, sequential: mode.isSequential,
             completion: { (response: Create2Response) in client.connectString.clientPath(response.path) }, then: completion) {
            CreateRequest(path: $0, data: data, acl: acl, flags: mode.rawValue, ttl: nil).write(to: &$1)
        }
    }

    public func delete(_ path: String, version: Int32 = -1, completion: @escaping @Sendable (Result<Void, ClientError>) -> Void) {
        send(.delete, path: path, completion: { (_: EmptyResponse) in () }, then: completion) {
            PathVersionRequest(path: $0, version: version).write(to: &$1)
        }
    }

    /// Runs `work` on the event loop where completions run: for state that completions share.
    public func onEventLoop(_ work: @escaping @Sendable () -> Void) {
        core.loop.execute(work)
    }

    /// Checks the path, frames the request with the server-side path, and decodes the reply
    /// into `Response` on the loop before handing `transform`'s value to the caller.
    private func send<Response: JuteRecord, Value>(
        _ op: OpCode, path: String, sequential: Bool = false, completion transform: @escaping @Sendable (Response) -> Value,
        then completion: @escaping @Sendable (Result<Value, ClientError>) -> Void,
        _ body: @escaping (String, inout JuteWriter) -> Void
    ) {
        do {
            try PathRules.validate(path, sequential: sequential)
        } catch {
            return completion(.failure(error))
        }
        let serverPath = connectString.serverPath(path)
        let client = self
        core.call(Self.frame(op) { body(serverPath, &$0) }) { result in
            completion(Result {
                let response: Response = try client.decode(try result.get(), path: path)
                return transform(response)
            }.mapError { $0 as? ClientError ?? .keeper(.systemError, path: path) })
        }
    }
}

/// A reply with no body (delete's).
private struct EmptyResponse: JuteRecord {
    init() {}
    init(from reader: inout JuteReader) throws {}
    func write(to writer: inout JuteWriter) {}
}
