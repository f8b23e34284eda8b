import CLibuv
import Dispatch
import ModuleAPI
import Synchronization

/// One listening socket, with the options and handler its connections get. Loop thread only.
final class Listener {
    let options: ListenOptions
    let handler: any ConnectionHandler
    unowned let transport: LibuvTransport
    /// Freed by its close callback, whether listening failed or the transport stopped.
    let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)

    init(options: ListenOptions, handler: any ConnectionHandler, transport: LibuvTransport) {
        self.options = options
        self.handler = handler
        self.transport = transport
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handle)) }
}

/// An outbound connection on its way: resolving the host, then connecting. Loop thread only; the
/// transport's `attempts` keeps it (and so its requests) alive until it connects or fails.
final class ConnectAttempt {
    let options: ConnectOptions
    let handler: any ConnectionHandler
    unowned let transport: LibuvTransport
    let resolveRequest = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
    let connectRequest = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
    /// Set once the host is resolved; a LibuvConnection takes it over on success.
    var handle: UnsafeMutablePointer<uv_tcp_t>?

    init(options: ConnectOptions, handler: any ConnectionHandler, transport: LibuvTransport) {
        self.options = options
        self.handler = handler
        self.transport = transport
        resolveRequest.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        connectRequest.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        resolveRequest.deallocate()
        connectRequest.deallocate()
    }
}

/// Carries a listen's outcome from the loop thread back to the thread waiting in `listen`.
final class ListenReply: Sendable {
    private let outcome = Mutex<Result<Void, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ result: Result<Void, any Error>) {
        outcome.withLock { $0 = result }
        done.signal()
    }

    func wait() throws {
        done.wait()
        try outcome.withLock { $0! }.get()
    }
}
