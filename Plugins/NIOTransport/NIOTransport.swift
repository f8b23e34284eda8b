import Logging
import ModuleAPI
import NIOCore
import NIOPosix
import Synchronization

/// The transport on SwiftNIO. One NIO event loop (a group of one thread) serves every listener
/// and outbound connection, as the libuv transport's single loop does, so a handler sees the
/// same threading whichever module a port runs on. Client ports are framed by the shared
/// FrameDecoder, raw streams pass through: both transports put the same bytes on the wire.
///
/// Why @unchecked Sendable is safe: `serverChannels`, `connections`, `attempts`, the id counters
/// and `stopping` are touched only on the loop; other threads reach it through `loop.execute`
/// and `submit`, and share only `stopped`, guarded by its Mutex. A connect is queued on the loop
/// under that lock, so nothing is queued once shutdown has begun.
public final class NIOTransport: Transport, @unchecked Sendable {
    /// Why a listen or connect failed once `shutdown` began.
    static let shutDown = "the transport is shut down"

    let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop: any EventLoop
    private let stopped = Mutex(false)

    // Loop state.
    private var serverChannels: [any Channel] = []
    private var connections: [ConnectionID: NIOConnection] = [:]
    private var attempts: [UInt64: ConnectAttempt] = [:]
    private var nextConnectionID: ConnectionID = 1
    private var nextAttemptID: UInt64 = 1
    private(set) var stopping = false

    public init(logger: Logger) {
        self.logger = logger
        loop = group.next()
    }

    public func listen(_ options: ListenOptions, handler: any ConnectionHandler) throws {
        // Waiting for the bind on the loop itself would wait forever.
        precondition(!loop.inEventLoop, "listen must not be called from a handler callback")
        guard !stopped.withLock({ $0 }) else { throw TransportError(Self.shutDown) }
        let host = options.host == "localhost" ? "127.0.0.1" : options.host
        guard let address = try? SocketAddress(ipAddress: host, port: options.port) else {
            throw TransportError("clientPortAddress \(options.host) is not an IP address")
        }
        let bootstrap = ServerBootstrap(group: loop)
            .serverChannelOption(.backlog, value: options.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Client replies and quorum packets are small and latency-bound: never hold them back.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // NIO would close at the peer's end of input before a four-letter word is answered.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let decoder = options.rawStream
                    ? nil : FrameDecoder(frameBytesMax: options.frameBytesMax, fourLetterWords: options.fourLetterWords)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ChannelAdapter(transport: self, handler: handler, decoder: decoder, attempt: nil))
                }
            }
        do {
            try bootstrap.bind(to: address).flatMapThrowing { channel in
                // Shutdown may have begun while binding; it closes only what it can see.
                guard !self.stopping else {
                    channel.close(promise: nil)
                    throw TransportError(Self.shutDown)
                }
                self.serverChannels.append(channel)
            }.wait()
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError("bind \(options.host):\(options.port): \(error)")
        }
    }

    public func connect(_ options: ConnectOptions, handler: any ConnectionHandler) {
        let queued = stopped.withLock { stopped -> Bool in
            guard !stopped else { return false }
            loop.execute { self.startConnect(options, handler) }
            return true
        }
        // Shut down: there is no loop left to report on, so the caller hears at once.
        if !queued { handler.connectFailed(options, reason: Self.shutDown) }
    }

    /// Must not be called on the loop (from a handler callback): it waits for the loop.
    public func shutdown() {
        precondition(!loop.inEventLoop, "shutdown must not be called from a handler callback")
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        // Runs after every connect queued before `stopped` was set, so each has its attempt.
        let closing = try? loop.submit { self.stop() }.wait()
        // connectionClosed is reported from channelInactive, which precedes each closeFuture.
        _ = try? EventLoopFuture.andAllComplete(closing ?? [], on: loop).wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: Loop

    private func startConnect(_ options: ConnectOptions, _ handler: any ConnectionHandler) {
        guard !stopping else { return handler.connectFailed(options, reason: Self.shutDown) }
        let attempt = ConnectAttempt(id: nextAttemptID, options: options, handler: handler)
        nextAttemptID += 1
        attempts[attempt.id] = attempt
        // "localhost" is IPv4 loopback, as for listen, so it reaches a listener on "localhost".
        let host = options.host == "localhost" ? "127.0.0.1" : options.host
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ChannelAdapter(transport: self, handler: handler, decoder: nil, attempt: attempt))
                }
            }
            .connect(host: host, port: options.port)
            .whenFailure { error in self.fail(attempt, Self.describe(error, options)) }
    }

    /// Reports a failed attempt once: a connect cut short by shutdown was reported by `stop`.
    private func fail(_ attempt: ConnectAttempt, _ reason: String) {
        guard attempts.removeValue(forKey: attempt.id) != nil else { return }
        attempt.handler.connectFailed(attempt.options, reason: reason)
    }

    /// A channel became active: accepted, or connected for `attempt`. Returns its connection, or
    /// nil when it must close unreported (refused by the handler, or shutdown began).
    func adopt(_ channel: any Channel, handler: any ConnectionHandler, decoder: FrameDecoder?,
               attempt: ConnectAttempt?) -> NIOConnection? {
        if let attempt, attempts.removeValue(forKey: attempt.id) == nil { return nil }
        guard !stopping else { return nil }
        let connection = NIOConnection(
            id: nextConnectionID, channel: channel, handler: handler, transport: self, decoder: decoder)
        nextConnectionID += 1
        connections[connection.id] = connection
        connection.admitted = handler.connectionOpened(connection)
        guard connection.admitted else {
            connections[connection.id] = nil
            return nil
        }
        return connection
    }

    func closed(_ connection: NIOConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        connection.handler.connectionClosed(connection)
    }

    /// Closes every listener and connection and fails every attempt; returns the close futures
    /// shutdown waits for.
    private func stop() -> [EventLoopFuture<Void>] {
        stopping = true
        for attempt in attempts.values.sorted(by: { $0.id < $1.id }) { fail(attempt, Self.shutDown) }
        var closing: [EventLoopFuture<Void>] = []
        for channel in serverChannels {
            channel.close(promise: nil)
            closing.append(channel.closeFuture)
        }
        for connection in connections.values {
            connection.closeNow()
            closing.append(connection.channel.closeFuture)
        }
        return closing
    }

    private static func describe(_ error: any Error, _ options: ConnectOptions) -> String {
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first {
                return "connect \(options.host):\(options.port): \(first.error)"
            }
            if let lookup = failure.dnsAError ?? failure.dnsAAAAError { return "resolve \(options.host): \(lookup)" }
        }
        return "connect \(options.host):\(options.port): \(error)"
    }
}

/// An outbound connection on its way. Loop only: the transport's `attempts` holds it until the
/// channel is active or the connect fails, and whichever comes first reports.
final class ConnectAttempt: Sendable {
    let id: UInt64
    let options: ConnectOptions
    let handler: any ConnectionHandler

    init(id: UInt64, options: ConnectOptions, handler: any ConnectionHandler) {
        self.id = id
        self.options = options
        self.handler = handler
    }
}
