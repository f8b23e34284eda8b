import CLibuv
import Glibc
import Logging
import ModuleAPI
import Synchronization

/// The client-port transport on libuv: one event loop on its own thread accepts connections,
/// frames their bytes with the shared FrameDecoder and hands messages to the kernel; replies come
/// back from other threads as commands drained on the loop.
///
/// Why @unchecked Sendable is safe: the libuv handles, `connections`, `handler` and `options` are
/// touched only on the loop thread (or before it starts, in `listen`); other threads reach the
/// loop only through `commands`, guarded by a Mutex, and `uv_async_send`, which libuv makes
/// thread-safe.
public final class LibuvTransport: Transport, @unchecked Sendable {
    enum Command {
        case send(LibuvConnection, [UInt8])
        case close(LibuvConnection)
        case reading(LibuvConnection, Bool)
        case stop
    }

    /// Bytes read per callback; reads are consumed before the next one, so one buffer serves all.
    static let readBufferBytes = 64 * 1024

    let logger: Logger
    private let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
    private let server = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
    let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: readBufferBytes, alignment: 16)
    private let commands = Mutex<[Command]>([])
    private var thread: pthread_t?
    var connections: [ConnectionID: LibuvConnection] = [:]
    private var nextConnectionID: ConnectionID = 1
    var handler: (any ConnectionHandler)?
    var options: ListenOptions?

    public init(logger: Logger) {
        self.logger = logger
    }

    public func listen(_ options: ListenOptions, handler: any ConnectionHandler) throws {
        precondition(thread == nil, "listen called twice")
        self.options = options
        self.handler = handler
        try check(uv_loop_init(loop), "uv_loop_init")
        try check(uv_tcp_init(loop, server), "uv_tcp_init")
        server.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var address = sockaddr_storage()
        try Self.resolve(options.host, options.port, into: &address)
        try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try check(uv_tcp_bind(server, $0, 0), "bind \(options.host):\(options.port)")
            }
        }
        try check(uv_listen(UnsafeMutablePointer<uv_stream_t>(OpaquePointer(server)), options.backlog, onConnection),
                  "listen on \(options.host):\(options.port)")
        try check(uv_async_init(loop, wakeup, onWakeup), "uv_async_init")
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&thread, nil, runLoop, context) == 0 else { throw TransportError("cannot start the libuv thread") }
        self.thread = thread
    }

    public func shutdown() {
        guard let thread else { return }
        enqueue(.stop)
        pthread_join(thread, nil)
        self.thread = nil
    }

    func enqueue(_ command: Command) {
        commands.withLock { $0.append(command) }
        uv_async_send(wakeup)
    }

    func takeCommands() -> [Command] {
        commands.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }

    func run() {
        uv_run(loop, UV_RUN_DEFAULT)
        uv_loop_close(loop)
    }

    // MARK: Loop thread

    func accept() {
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, handle)
        let stream = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handle))
        guard uv_accept(UnsafeMutablePointer<uv_stream_t>(OpaquePointer(server)), stream) == 0, let options, let handler else {
            uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(handle)), freeHandle)
            return
        }
        uv_tcp_nodelay(handle, 1)
        let (host, port) = Self.peer(of: handle)
        let connection = LibuvConnection(
            id: nextConnectionID, remoteHost: host, remotePort: port, transport: self, handle: handle,
            decoder: FrameDecoder(frameBytesMax: options.frameBytesMax, fourLetterWords: options.fourLetterWords))
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

    func stopReading(_ connection: LibuvConnection) {
        guard connection.reading else { return }
        uv_read_stop(connection.stream)
        connection.reading = false
    }

    /// Frames every complete message in the bytes just read and hands them to the kernel.
    func received(_ connection: LibuvConnection, _ bytes: UnsafeRawBufferPointer) {
        guard !connection.closing, let handler else { return }
        connection.decoder.append(bytes)
        do {
            while let message = try connection.decoder.next() {
                handler.connection(connection, received: message)
                if case .fourLetterWord = message {
                    // The kernel answers and closes; nothing after the word is a request.
                    stopReading(connection)
                    return
                }
            }
        } catch {
            logger.warning("\(error): a message from \(connection.remoteAddress) is malformed or larger than jute.maxbuffer=\(connection.decoder.frameBytesMax); closing")
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
            case .reading(let connection, let enabled):
                enabled ? startReading(connection) : stopReading(connection)
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
        if connection.admitted { handler?.connectionClosed(connection) }
    }

    private func stop() {
        for connection in connections.values { closeNow(connection) }
        uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(server)), nil)
        uv_close(UnsafeMutablePointer<uv_handle_t>(OpaquePointer(wakeup)), nil)
    }

    // MARK: Helpers

    private func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw TransportError("\(what): \(String(cString: uv_strerror(status)))") }
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
