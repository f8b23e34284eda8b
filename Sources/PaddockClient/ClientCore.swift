import NIOCore
import NIOPosix

/// A reply as it came off the wire: its header, and the body after it.
struct Reply: Sendable {
    var header: ReplyHeader
    var body: [UInt8]
    var bodyOffset: Int
}

/// The session's engine: one connection at a time to one server of the connection string, the
/// requests sent on it and awaiting replies (in order: ZooKeeper answers a connection in order),
/// those queued until a connection is up, the watches, pings and the read timeout, and the
/// reconnect to the next server with the same session (then auth and setWatches again).
///
/// Why @unchecked Sendable is safe: every field but the immutable ones is touched only on `loop`;
/// the public API reaches the core through `loop.execute`, and replies come back through
/// continuations.
final class ClientCore: @unchecked Sendable {
    struct Options {
        var connectString: ConnectString
        var sessionTimeoutMs: Int32
        var packetBytesMax: Int
    }

    private struct Pending {
        var xid: Int32
        let frame: [UInt8]
        /// The watch the request asks for, registered once its reply arrives (ZooKeeper's
        /// WatchRegistration).
        var watch: (WatchRegistry.Sink, WatchRegistry.Kind)?
        var reply: (Result<Reply, any Error>) -> Void
    }

    enum State: Equatable {
        case connecting, connected, closing, expired, authFailed, closed
    }

    let loop: any EventLoop
    let options: Options
    let sessionEvents: AsyncStream<SessionEvent>
    private let eventSink: AsyncStream<SessionEvent>.Continuation

    // Loop state.
    private(set) var state = State.connecting
    private(set) var sessionId: Int64 = 0
    private(set) var negotiatedTimeoutMs: Int32 = 0
    private(set) var password = [UInt8](repeating: 0, count: 16)
    private var lastZxid: Int64 = 0
    private var nextXid: Int32 = 1
    private var channel: (any Channel)?
    private var handshakeDone = false
    private var serverIndex: Int
    private var failedInARow = 0
    private var sent: CircularBuffer<Pending> = []
    private var queued: CircularBuffer<Pending> = []
    private var authInfo: [AuthPacket] = []
    private var watches = WatchRegistry()
    private var lastReceived = NIODeadline.now()
    private var lastSent = NIODeadline.now()
    private var ticker: RepeatedTask?
    private var started = false
    private var cutOff = false
    private var flushScheduled = false
    private var firstConnect: [CheckedContinuation<Void, any Error>] = []
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []

    /// `resuming` attaches to an existing session (id and password) instead of opening one.
    init(options: Options, loop: any EventLoop, resuming: SessionCredentials? = nil) {
        self.options = options
        if let resuming {
            sessionId = resuming.id
            password = resuming.password
        }
        self.loop = loop
        (sessionEvents, eventSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        serverIndex = Int.random(in: 0..<options.connectString.servers.count)
    }

    // MARK: API side (any thread)

    /// Waits until the first connection is up (or the session ended).
    func start() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute {
                guard self.state == .connecting || self.state == .connected else {
                    return continuation.resume(throwing: self.endError)
                }
                guard self.state == .connecting else { return continuation.resume() }
                self.firstConnect.append(continuation)
                if !self.started {
                    self.started = true
                    self.connectNext()
                }
            }
        }
    }

    /// Sends a request frame (length, xid placeholder, type, body) and waits for its reply.
    func call(_ frame: [UInt8], watch: (WatchRegistry.Sink, WatchRegistry.Kind)? = nil) async throws -> Reply {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute {
                self.submit(Pending(xid: 0, frame: frame, watch: watch, reply: { continuation.resume(with: $0) }))
            }
        }
    }

    /// `call` with a completion instead of a suspension; `completion` runs on `loop`. Called on the
    /// loop (from another completion), it sends without a hop.
    func call(_ frame: [UInt8], completion: @escaping @Sendable (Result<Reply, any Error>) -> Void) {
        if loop.inEventLoop {
            submit(Pending(xid: 0, frame: frame, watch: nil, reply: completion))
        } else {
            loop.execute { self.submit(Pending(xid: 0, frame: frame, watch: nil, reply: completion)) }
        }
    }

    func addAuth(_ packet: AuthPacket) {
        loop.execute {
            self.authInfo.append(packet)
            if self.state == .connected { self.write(Self.authFrame(packet)) }
        }
    }

    func removeLocalWatches(path: String, kinds: [WatchRegistry.Kind], event: @escaping @Sendable (WatchRegistry.Kind) -> EventType) {
        loop.execute { self.watches.remove(path: path, kinds: kinds, event: event) }
    }

    /// Ends the session: closeSession if connected, then the connection. Returns once closed;
    /// idempotent.
    func close(closeRequest: [UInt8]) async {
        await withCheckedContinuation { continuation in
            loop.execute {
                switch self.state {
                case .connected:
                    self.closeWaiters.append(continuation)
                    self.state = .closing
                    self.send(Pending(xid: 0, frame: closeRequest, watch: nil) { _ in self.end(.closed) })
                    // A server that never answers must not hold close() up past the session timeout.
                    self.loop.scheduleTask(in: .milliseconds(Int64(self.negotiatedTimeoutMs))) { self.end(.closed) }
                case .closing:
                    self.closeWaiters.append(continuation)
                case .connecting:
                    self.end(.closed)
                    continuation.resume()
                case .expired, .authFailed, .closed:
                    continuation.resume()
                }
            }
        }
    }

    // MARK: Loop

    private func submit(_ pending: Pending) {
        switch state {
        case .connected:
            send(pending)
        case .connecting:
            queued.append(pending)
        case .closing, .expired, .authFailed, .closed:
            pending.reply(.failure(endError))
        }
    }

    /// What a request gets once the session is over (or closing).
    private var endError: ClientError {
        switch state {
        case .expired: .keeper(.sessionExpired, path: nil)
        case .authFailed: .keeper(.authFailed, path: nil)
        default: .closed
        }
    }

    private func send(_ pending: Pending) {
        var pending = pending
        pending.xid = nextXid
        nextXid = nextXid == Int32.max ? 1 : nextXid + 1
        write(pending.frame, xid: pending.xid)
        sent.append(pending)
    }

    /// Copies the frame into the channel's buffer once, with the xid (the four bytes after the
    /// length) filled in there rather than in the caller's array.
    private func write(_ frame: [UInt8], xid: Int32? = nil) {
        guard let channel else { return }
        lastSent = .now()
        var buffer = channel.allocator.buffer(capacity: frame.count)
        buffer.writeBytes(frame)
        if let xid { buffer.setInteger(xid, at: buffer.readerIndex + 4) }
        channel.write(buffer, promise: nil)
        // One flush (one syscall) for every request submitted in this turn of the loop.
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute {
            self.flushScheduled = false
            self.channel?.flush()
        }
    }

    /// Cuts the client off from every server (the connection drops, no reconnect) until called
    /// with false: what a partition does to a client. For tests of session expiry.
    func setCutOff(_ cutOff: Bool) {
        loop.execute {
            self.cutOff = cutOff
            if cutOff {
                self.dropConnection()
            } else if self.state == .connecting && self.channel == nil {
                self.connectNext()
            }
        }
    }

    private func connectNext() {
        guard !cutOff else { return }
        let servers = options.connectString.servers
        let server = servers[serverIndex % servers.count]
        serverIndex += 1
        handshakeDone = false
        lastReceived = .now()
        // Once every server has failed in a row, wait a little before the next round.
        let pause = failedInARow >= servers.count ? Int64.random(in: 50...500) : 0
        loop.scheduleTask(in: .milliseconds(pause)) {
            guard self.state == .connecting else { return }
            ClientBootstrap(group: self.loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(.milliseconds(Int64(self.options.sessionTimeoutMs) / Int64(max(servers.count, 1))))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(FrameSplitter(packetBytesMax: self.options.packetBytesMax)),
                            ClientChannelHandler(core: self))
                    }
                }
                .connect(host: server.host, port: server.port)
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        guard self.state == .connecting else { return channel.close(promise: nil) }
                        self.channel = channel
                        self.sendConnectRequest(server: server)
                    case .failure:
                        self.connectionFailed()
                    }
                }
        }
        startTicker()
    }

    private func sendConnectRequest(server: ConnectString.Server) {
        let request = ConnectRequest(protocolVersion: 0, lastZxidSeen: lastZxid, timeOut: options.sessionTimeoutMs,
                                     sessionId: sessionId, passwd: password, readOnly: false)
        write(JuteWriter.frame { request.write(to: &$0) })
    }

    private func connectionFailed() {
        failedInARow += 1
        guard state == .connecting else { return }
        connectNext()
    }

    /// Every complete frame from the server.
    func received(_ frame: [UInt8], from channel: any Channel) {
        guard channel === self.channel else { return }
        lastReceived = .now()
        if !handshakeDone { return handshake(frame) }
        var reader = JuteReader(frame)
        guard let header = try? reader.readRecord(ReplyHeader.self) else { return dropConnection() }
        if header.zxid > 0 { lastZxid = header.zxid }
        switch header.xid {
        case ReservedXid.notification:
            guard let event = try? reader.readRecord(WatcherEvent.self) else { return dropConnection() }
            watches.fire(WatchedEvent(type: EventType(rawValue: event.type) ?? .none,
                                      state: KeeperState(rawValue: event.state) ?? .syncConnected,
                                      path: options.connectString.clientPath(event.path)))
        case ReservedXid.ping, ReservedXid.setWatches:
            break
        case ReservedXid.auth:
            if header.err == KeeperError.authFailed.rawValue {
                end(.authFailed)
            }
        default:
            guard let pending = sent.popFirst(), pending.xid == header.xid else {
                // ZooKeeper answers in order; anything else means the stream is not understood.
                return dropConnection()
            }
            if let (sink, kind) = pending.watch { register(sink, kind, header: header, frame: pending.frame) }
            pending.reply(.success(Reply(header: header, body: frame, bodyOffset: reader.offset)))
        }
    }

    private func handshake(_ frame: [UInt8]) {
        var reader = JuteReader(frame)
        guard let response = try? reader.readRecord(ConnectResponse.self) else { return dropConnection() }
        guard response.timeOut > 0 else {
            return end(.expired)
        }
        let reconnect = sessionId != 0
        sessionId = response.sessionId
        password = response.passwd
        negotiatedTimeoutMs = response.timeOut
        handshakeDone = true
        failedInARow = 0
        state = .connected
        let server = options.connectString.servers[(serverIndex - 1) % options.connectString.servers.count]
        eventSink.yield(.connected(server: server.description))
        for packet in authInfo { write(Self.authFrame(packet)) }
        if reconnect && !watches.isEmpty { write(setWatchesFrame()) }
        while let pending = queued.popFirst() { send(pending) }
        for continuation in firstConnect { continuation.resume() }
        firstConnect = []
        startTicker()
    }

    /// The watch a successful read asked for: an exists that found the node watches its data,
    /// one that found nothing watches for its creation.
    private func register(_ sink: WatchRegistry.Sink, _ kind: WatchRegistry.Kind, header: ReplyHeader, frame: [UInt8]) {
        let error = KeeperError(rawValue: header.err) ?? .systemError
        // The path is the request body's first field, after length, xid and type.
        var reader = JuteReader(frame, offset: 12)
        let path = options.connectString.clientPath((try? reader.readString()).flatMap { $0 } ?? "")
        switch (kind, error) {
        case (.exist, .ok): watches.add(sink, kind: .data, path: path)
        case (.exist, .noNode), (_, .ok): watches.add(sink, kind: kind, path: path)
        default: sink.finish()
        }
    }

    /// setWatches2 with every watch, relative to the last zxid seen, so the server fires what
    /// changed while the client was away (ZooKeeper's client does the same after a reconnect).
    private func setWatchesFrame() -> [UInt8] {
        let server = options.connectString.serverPath
        let request = SetWatches2(
            relativeZxid: lastZxid, dataWatches: watches.paths(.data).map(server),
            existWatches: watches.paths(.exist).map(server), childWatches: watches.paths(.child).map(server),
            persistentWatches: watches.paths(.persistent).map(server),
            persistentRecursiveWatches: watches.paths(.persistentRecursive).map(server))
        return JuteWriter.frame { w in
            RequestHeader(xid: ReservedXid.setWatches, type: OpCode.setWatches2.rawValue).write(to: &w)
            request.write(to: &w)
        }
    }

    private static func authFrame(_ packet: AuthPacket) -> [UInt8] {
        JuteWriter.frame { w in
            RequestHeader(xid: ReservedXid.auth, type: OpCode.auth.rawValue).write(to: &w)
            packet.write(to: &w)
        }
    }

    /// The connection is gone (closed, reset, timed out or not understood): requests sent on it
    /// fail with ConnectionLoss, as ZooKeeper's client does, and the next server is tried. Those
    /// not sent yet wait for it.
    func connectionClosed(_ channel: any Channel) {
        guard channel === self.channel else { return }
        self.channel = nil
        if state == .closing { return end(.closed) }
        let wasConnected = state == .connected
        failSent(ClientError.keeper(.connectionLoss, path: nil))
        guard wasConnected || state == .connecting else { return }
        if wasConnected {
            state = .connecting
            eventSink.yield(.disconnected)
        } else {
            failedInARow += 1
        }
        connectNext()
    }

    private func dropConnection() {
        channel?.close(promise: nil)
    }

    private func failSent(_ error: any Error) {
        while let pending = sent.popFirst() {
            pending.watch?.0.finish()
            pending.reply(.failure(error))
        }
    }

    /// The session is over for good: expired, auth failed or closed. Every request, watch and
    /// waiter hears of it once.
    private func end(_ final: State) {
        guard state == .connecting || state == .connected || state == .closing else { return }
        state = final
        let error = endError
        failSent(error)
        while let pending = queued.popFirst() {
            pending.watch?.0.finish()
            pending.reply(.failure(error))
        }
        let (keeperState, event): (KeeperState, SessionEvent) = switch final {
        case .expired: (.expired, .expired)
        case .authFailed: (.authFailed, .authFailed)
        default: (.closed, .closed)
        }
        watches.finishAll(keeperState)
        for continuation in firstConnect { continuation.resume(throwing: error) }
        firstConnect = []
        for continuation in closeWaiters { continuation.resume() }
        closeWaiters = []
        ticker?.cancel()
        ticker = nil
        channel?.close(promise: nil)
        channel = nil
        eventSink.yield(event)
        eventSink.finish()
    }

    /// Pings when idle for a third of the session timeout; gives a connection up when nothing
    /// came for two thirds of it (ZooKeeper's client: readTimeout = 2/3, ping at half of that).
    private func startTicker() {
        guard ticker == nil else { return }
        let timeoutMs = Int64(options.sessionTimeoutMs)
        ticker = loop.scheduleRepeatedTask(initialDelay: .milliseconds(timeoutMs / 10), delay: .milliseconds(max(timeoutMs / 10, 20))) { _ in
            self.tick()
        }
    }

    private func tick() {
        let timeoutMs = Int64(negotiatedTimeoutMs > 0 ? negotiatedTimeoutMs : options.sessionTimeoutMs)
        let now = NIODeadline.now()
        guard channel != nil else { return }
        if now - lastReceived > .milliseconds(timeoutMs * 2 / 3) {
            return dropConnection()
        }
        if state == .connected && now - lastSent > .milliseconds(timeoutMs / 3) {
            write(JuteWriter.frame { RequestHeader(xid: ReservedXid.ping, type: OpCode.ping.rawValue).write(to: &$0) })
        }
    }
}

/// Splits the server's byte stream into length-prefixed frames (without the prefix).
struct FrameSplitter: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]
    let packetBytesMax: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard length >= 0, Int(length) <= packetBytesMax else {
            throw ClientError.badArguments("Packet len \(length) is out of range")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readBytes(length: Int(length))!))
        return .continue
    }
}

/// Hands a channel's frames and its end to the core.
final class ClientChannelHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    private let core: ClientCore

    init(core: ClientCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.received(unwrapInboundIn(data), from: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
