import CLibuv
import ModuleAPI

/// One TCP connection, accepted by a listener or opened by `connect`.
///
/// Why @unchecked Sendable is safe: `id`, `remoteAddress`, `remoteHost`, `handler` and `transport`
/// are immutable; every other field is touched only on the transport's loop thread. The methods
/// other threads call (`send`, `close`, `setReading`) only enqueue a command for that thread.
final class LibuvConnection: ClientConnection, @unchecked Sendable {
    let id: ConnectionID
    let remoteAddress: String
    let remoteHost: String
    /// The handler of the listener that accepted it, or the one passed to `connect`.
    let handler: any ConnectionHandler
    private unowned let transport: LibuvTransport
    var transportForCallbacks: LibuvTransport { transport }

    // Loop-thread state.
    let handle: UnsafeMutablePointer<uv_tcp_t>
    /// Nil on a raw stream, whose bytes go to the handler as they arrive.
    var decoder: FrameDecoder?
    var outbox: [UInt8] = []
    var admitted = false
    var closing = false
    var reading = false
    /// Set by setReading(false): complete frames wait in the decoder until reading resumes.
    var paused = false

    init(id: ConnectionID, remoteHost: String, remotePort: Int, handler: any ConnectionHandler,
         transport: LibuvTransport, handle: UnsafeMutablePointer<uv_tcp_t>, decoder: FrameDecoder?) {
        self.id = id
        self.remoteHost = remoteHost
        self.remoteAddress = remoteHost.contains(":") ? "[\(remoteHost)]:\(remotePort)" : "\(remoteHost):\(remotePort)"
        self.handler = handler
        self.transport = transport
        self.handle = handle
        self.decoder = decoder
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handle)) }

    func send(_ bytes: [UInt8]) { transport.enqueue(.send(self, bytes)) }
    func close() { transport.enqueue(.close(self)) }
    func setReading(_ enabled: Bool) {
        // Pausing from a callback takes effect at once, as the kernel asked mid-delivery; resuming
        // always goes through the loop, so frames are never delivered inside a callback.
        if !enabled && transport.onLoopThread { return transport.pause(self) }
        transport.enqueue(.reading(self, enabled))
    }
}
