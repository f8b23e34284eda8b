import CLibuv
import Glibc
import Logging
import ModuleAPI
import Synchronization

/// The transport on libuv: one event loop on its own thread serves every listener (client,
/// quorum, election) and every outbound connection. It frames client-port bytes with the shared
/// FrameDecoder, passes raw-stream bytes through as they arrive, and hands messages to each
/// connection's handler; replies, connects and listens come from other threads as commands
/// drained on the loop.
///
/// Why @unchecked Sendable is safe: the libuv handles, `listeners`, `connections`, `attempts` and
/// `stopping` are touched only on the loop thread; the loop and its wake-up handle are set up
/// under `shared`'s lock before that thread starts. Other threads reach the loop only through
/// `shared` (commands, guarded by a Mutex) and `uv_async_send`, which libuv makes thread-safe and
/// which is called under the same lock, so it never races the wake-up handle's close.
public final class LibuvTransport: Transport, @unchecked Sendable {
    enum Command {
        case listen(ListenOptions, any ConnectionHandler, ListenReply)
        case connect(ConnectOptions, any ConnectionHandler)
        case send(LibuvConnection, [UInt8])
        case close(LibuvConnection)
        case reading(LibuvConnection, Bool)
        case stop
    }

    /// What other threads share with the loop thread.
    private struct Shared {
        var commands: [Command] = []
        /// Started by the first listen or connect, so connecting before listening works.
        var thread: pthread_t?
        var stopped = false
    }

    /// Why a listen or connect failed once `shutdown` began.
    private static let shutDown = "the transport is shut down"

    /// Bytes read per callback; reads are consumed before the next one, so one buffer serves all.
    static let readBufferBytes = 64 * 1024

    let logger: Logger
    private let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
    let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: readBufferBytes, alignment: 16)
    private let shared = Mutex(Shared())

    // Loop-thread state.
    private var listeners: [Listener] = []
    private var connections: [ConnectionID: LibuvConnection] = [:]
    private var attempts: [ObjectIdentifier: ConnectAttempt] = [:]
    private var nextConnectionID: ConnectionID = 1
    private var stopping = false

    public init(logger: Logger) {
        self.logger = logger
    }

    deinit {
        loop.deallocate()
        wakeup.deallocate()
        readBuffer.deallocate()
    }

    public func listen(_ options: ListenOptions, handler: any ConnectionHandler) throws {
        // A handler may listen from a callback; waiting there for the loop would wait forever.
        if onLoopThread { return try openListener(options, handler) }
        let reply = ListenReply()
        try submit(.listen(options, handler, reply))
        try reply.wait()
    }

    public func connect(_ options: ConnectOptions, handler: any ConnectionHandler) {
        do {
            try submit(.connect(options, handler))
        } catch {
            // Shut down: there is no loop left to report on, so the caller hears at once.
            handler.connectFailed(options, reason: "\(error)")
        }
    }

    /// Must not be called on the loop thread (from a handler callback): it waits for that thread.
    public func shutdown() {
        let thread = shared.withLock { shared -> pthread_t? in
            guard !shared.stopped else { return nil }
            shared.stopped = true
            guard let thread = shared.thread else { return nil }
            shared.commands.append(.stop)
            uv_async_send(wakeup)
            return thread
        }
        if let thread { pthread_join(thread, nil) }
    }

    /// For connections: after shutdown the command is dropped, as the connection is closed by then.
    func enqueue(_ command: Command) {
        try? submit(command)
    }

    private func submit(_ command: Command) throws {
        try shared.withLock { shared in
            guard !shared.stopped else { throw TransportError(Self.shutDown) }
            if shared.thread == nil { shared.thread = try startLoop() }
            shared.commands.append(command)
            uv_async_send(wakeup)
        }
    }

    /// Called under `shared`'s lock, once.
    private func startLoop() throws -> pthread_t {
        try check(uv_loop_init(loop), "uv_loop_init")
        try check(uv_async_init(loop, wakeup, onWakeup), "uv_async_init")
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self)
        guard pthread_create(&thread, nil, runLoop, context.toOpaque()) == 0 else {
            context.release()
            throw TransportError("cannot start the libuv thread")
        }
        return thread
    }

    var onLoopThread: Bool {
        shared.withLock { shared in shared.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    func takeCommands() -> [Command] {
        shared.withLock { shared in
            defer { shared.commands.removeAll(keepingCapacity: true) }
            return shared.commands
        }
    }

    func run() {
        uv_run(loop, UV_RUN_DEFAULT)
        uv_loop_close(loop)
    }

    // MARK: Loop thread

    private func openListener(_ options: ListenOptions, _ handler: any ConnectionHandler) throws {
        guard !stopping else { throw TransportError(Self.shutDown) }
        var address = sockaddr_storage()
        try Self.resolve(options.host, options.port, into: &address)
        let listener = Listener(options: options, handler: handler, transport: self)
        try check(uv_tcp_init(loop, listener.handle), "uv_tcp_init")
        listener.handle.pointee.data = Unmanaged.passUnretained(listener).toOpaque()
        do {
            try withUnsafePointer(to: &address) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try check(uv_tcp_bind(listener.handle, $0, 0), "bind \(options.host):\(options.port)")
                }
            }
            try check(uv_listen(listener.stream, options.backlog, onConnection), "listen on \(options.host):\(options.port)")
        } catch {
            uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(listener.handle)), freeHandle)
            throw error
        }
        listeners.append(listener)
    }

    func accept(_ listener: Listener) {
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, handle)
        guard uv_accept(listener.stream, UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handle))) == 0 else {
            uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(handle)), freeHandle)
            return
        }
        let options = listener.options
        let decoder = options.rawStream
            ? nil : FrameDecoder(frameBytesMax: options.frameBytesMax, fourLetterWords: options.fourLetterWords)
        adopt(handle, handler: listener.handler, decoder: decoder)
    }

    private func startConnect(_ options: ConnectOptions, _ handler: any ConnectionHandler) {
        let attempt = ConnectAttempt(options: options, handler: handler, transport: self)
        attempts[ObjectIdentifier(attempt)] = attempt
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        // "localhost" is IPv4 loopback, as for listen, so it reaches a listener on "localhost".
        let host = options.host == "localhost" ? "127.0.0.1" : options.host
        let status = uv_getaddrinfo(loop, attempt.resolveRequest, onResolved, host, String(options.port), &hints)
        if status != 0 { fail(attempt, Self.describe(status, "resolve \(options.host)")) }
    }

    func resolved(_ attempt: ConnectAttempt, _ status: Int32, _ addresses: UnsafeMutablePointer<addrinfo>?) {
        defer { uv_freeaddrinfo(addresses) }
        let options = attempt.options
        guard status == 0, let address = addresses?.pointee.ai_addr else {
            return fail(attempt, Self.describe(status, "resolve \(options.host)"))
        }
        // Shutdown could not cancel a lookup already running; it ends here instead.
        guard !stopping else { return fail(attempt, Self.shutDown) }
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, handle)
        attempt.handle = handle
        let connecting = uv_tcp_connect(attempt.connectRequest, handle, address, onConnected)
        if connecting != 0 {
            uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(handle)), freeHandle)
            fail(attempt, Self.describe(connecting, "connect \(options.host):\(options.port)"))
        }
    }

    func connected(_ attempt: ConnectAttempt, _ status: Int32) {
        let handle = attempt.handle!
        guard status == 0 else {
            // Shutdown closes the handle itself, and this reports its UV_ECANCELED.
            let closing = UnsafeMutablePointer<uv_handle_t>(OpaquePointer(handle))
            if uv_is_closing(closing) == 0 { uv_close(closing, freeHandle) }
            return fail(attempt, Self.describe(status, "connect \(attempt.options.host):\(attempt.options.port)"))
        }
        attempts[ObjectIdentifier(attempt)] = nil
        adopt(handle, handler: attempt.handler, decoder: nil)
    }

    private func fail(_ attempt: ConnectAttempt, _ reason: String) {
        attempts[ObjectIdentifier(attempt)] = nil
        // An attempt cut short by shutdown reports libuv's "canceled"; say why instead.
        attempt.handler.connectFailed(attempt.options, reason: stopping ? Self.shutDown : reason)
    }

    /// Hands a connected socket to its handler and starts reading, unless the handler refuses it.
    private func adopt(_ handle: UnsafeMutablePointer<uv_tcp_t>, handler: any ConnectionHandler, decoder: FrameDecoder?) {
        // Client replies and quorum packets are small and latency-bound: never hold them back.
        uv_tcp_nodelay(handle, 1)
        let (host, port) = Self.peer(of: handle)
        let connection = LibuvConnection(
            id: nextConnectionID, remoteHost: host, remotePort: port, handler: handler, transport: self,
            handle: handle, decoder: decoder)
        nextConnectionID += 1
        handle.pointee.data = Unmanaged.passRetained(connection).toOpaque()
        connections[connection.id] = connection
        connection.admitted = handler.connectionOpened(connection)
        guard connection.admitted else { return closeNow(connection) }
        startReading(connection)
    }

    func startReading(_ connection: LibuvConnection) {
        guard !connection.reading, !connection.closing else { return }
        connection.reading = uv_read_start(connection.stream, allocateReadBuffer, onRead) == 0
    }

    /// Backpressure: complete frames wait in the decoder, the peer's bytes in the socket.
    func pause(_ connection: LibuvConnection) {
        connection.paused = true
        stopReading(connection)
    }

    private func resume(_ connection: LibuvConnection) {
        guard connection.paused, !connection.closing else { return }
        connection.paused = false
        if connection.decoder != nil { deliverFrames(connection) }
        if !connection.paused { startReading(connection) }
    }

    func stopReading(_ connection: LibuvConnection) {
        guard connection.reading else { return }
        uv_read_stop(connection.stream)
        connection.reading = false
    }

    /// Frames every complete message in the bytes just read and hands them to the handler; a raw
    /// stream's bytes go as they are, its reader frames them.
    func received(_ connection: LibuvConnection, _ bytes: UnsafeRawBufferPointer) {
        guard !connection.closing else { return }
        guard connection.decoder != nil else {
            return connection.handler.connection(connection, received: .bytes(Array(bytes)))
        }
        connection.decoder!.append(bytes)
        deliverFrames(connection)
    }

    private func deliverFrames(_ connection: LibuvConnection) {
        do {
            while !connection.paused, !connection.closing, let message = try connection.decoder!.next() {
                connection.handler.connection(connection, received: message)
                if case .fourLetterWord = message {
                    // The kernel answers and closes; nothing after the word is a request.
                    pause(connection)
                    return
                }
            }
        } catch {
            logger.warning("\(error): a message from \(connection.remoteAddress) is malformed or larger than jute.maxbuffer=\(connection.decoder!.frameBytesMax); closing")
            closeNow(connection)
        }
    }

    func drainCommands() {
        var flushed: [LibuvConnection] = []
        for command in takeCommands() {
            switch command {
            case .send(let connection, let bytes):
                guard !connection.closing else { continue }
                if connection.outbox.isEmpty { flushed.append(connection) }
                connection.outbox.append(contentsOf: bytes)
            case .close(let connection):
                flush(connection)
                closeAfterWrites(connection)
            case .listen(let options, let handler, let reply):
                reply.finish(Result { try openListener(options, handler) })
            case .connect(let options, let handler):
                startConnect(options, handler)
            case .reading(let connection, let enabled):
                enabled ? resume(connection) : pause(connection)
            case .stop:
                stop()
                return
            }
        }
        for connection in flushed { flush(connection) }
    }

    /// One write per connection per wake-up, however many replies were queued.
    func flush(_ connection: LibuvConnection) {
        guard !connection.outbox.isEmpty, !connection.closing else { return }
        let count = connection.outbox.count
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 1)
        connection.outbox.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: count) }
        connection.outbox.removeAll(keepingCapacity: true)
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = buffer
        var uvBuffer = uv_buf_init(buffer.assumingMemoryBound(to: CChar.self), UInt32(count))
        if uv_write(request, connection.stream, &uvBuffer, 1, onWrite) != 0 {
            buffer.deallocate()
            request.deallocate()
            closeNow(connection)
        }
    }

    /// Closes once queued writes are on the wire (uv_shutdown waits for them).
    func closeAfterWrites(_ connection: LibuvConnection) {
        guard !connection.closing else { return }
        stopReading(connection)
        connection.closing = true
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        if uv_shutdown(request, connection.stream, onShutdown) != 0 {
            request.deallocate()
            closeHandle(connection)
        }
    }

    /// Closes at once, dropping unwritten bytes (peer gone, bad input, refused).
    func closeNow(_ connection: LibuvConnection) {
        guard !connection.closing else { return }
        stopReading(connection)
        connection.closing = true
        closeHandle(connection)
    }

    func closeHandle(_ connection: LibuvConnection) {
        let handle = UnsafeMutablePointer<uv_handle_t>(OpaquePointer(connection.handle))
        if uv_is_closing(handle) == 0 { uv_close(handle, onClose) }
    }

    func closed(_ connection: LibuvConnection) {
        connections[connection.id] = nil
        if connection.admitted { connection.handler.connectionClosed(connection) }
    }

    /// Closes every handle, so `uv_run` returns once their callbacks have run.
    private func stop() {
        stopping = true
        for listener in listeners { uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(listener.handle)), freeHandle) }
        for connection in connections.values { closeNow(connection) }
        for attempt in attempts.values {
            // Either way the attempt's callback runs once more and reports the failure.
            if let handle = attempt.handle {
                uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(handle)), freeHandle)
            } else {
                uv_cancel(UnsafeMutablePointer<uv_req_t>(OpaquePointer(attempt.resolveRequest)))
            }
        }
        uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(wakeup)), nil)
    }

    // MARK: Helpers

    private func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw TransportError(Self.describe(status, what)) }
    }

    private static func describe(_ status: Int32, _ what: String) -> String {
        "\(what): \(String(cString: uv_strerror(status)))"
    }

    private static func resolve(_ host: String, _ port: Int, into address: inout sockaddr_storage) throws {
        let literal = host == "localhost" ? "127.0.0.1" : host
        let status = withUnsafeMutablePointer(to: &address) { pointer -> Int32 in
            if literal.contains(":") {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(literal, Int32(port), $0) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(literal, Int32(port), $0) }
        }
        guard status == 0 else { throw TransportError("clientPortAddress \(host) is not an IP address") }
    }

    private static func peer(of handle: UnsafeMutablePointer<uv_tcp_t>) -> (String, Int) {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        var name = [CChar](repeating: 0, count: 64)
        return withUnsafeMutablePointer(to: &storage) { pointer -> (String, Int) in
            let address = UnsafeMutableRawPointer(pointer)
            guard uv_tcp_getpeername(handle, address.assumingMemoryBound(to: sockaddr.self), &length) == 0 else { return ("unknown", 0) }
            if Int32(pointer.pointee.ss_family) == AF_INET6 {
                let v6 = address.assumingMemoryBound(to: sockaddr_in6.self)
                uv_ip6_name(v6, &name, name.count)
                return (String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), Int(UInt16(bigEndian: v6.pointee.sin6_port)))
            }
            let v4 = address.assumingMemoryBound(to: sockaddr_in.self)
            uv_ip4_name(v4, &name, name.count)
            return (String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), Int(UInt16(bigEndian: v4.pointee.sin_port)))
        }
    }
}
