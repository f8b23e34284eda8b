import ModuleAPI
import NIOCore
import Synchronization

/// One TCP connection, accepted by a listener or opened by `connect`.
///
/// Why @unchecked Sendable is safe: `id`, the addresses, `channel`, `handler` and `transport` are
/// immutable; `outbox` is guarded by its Mutex; every other field is touched only on the loop.
/// The methods other threads call (`send`, `close`, `setReading`) hop onto the loop.
final class NIOConnection: ClientConnection, @unchecked Sendable {
    let id: ConnectionID
    let remoteAddress: String
    let remoteHost: String
    let channel: any Channel
    /// The handler of the listener that accepted it, or the one passed to `connect`.
    let handler: any ConnectionHandler
    private unowned let transport: NIOTransport
    /// Replies queued since the last flush: many sends from the kernel become one write.
    private let outbox: Mutex<ByteBuffer>

    // Loop state.
    /// Nil on a raw stream, whose bytes go to the handler as they arrive.
    var decoder: FrameDecoder?
    var admitted = false
    var closing = false
    /// Set by setReading(false): complete frames wait in the decoder until reading resumes.
    private var paused = false
    private var lastWrite: EventLoopFuture<Void>?
    /// The peer shut its side while paused: acted on when reading resumes, as libuv sees the
    /// end of input only then.
    private var inputEnded = false

    init(id: ConnectionID, channel: any Channel, handler: any ConnectionHandler, transport: NIOTransport,
         decoder: FrameDecoder?) {
        self.id = id
        let host = channel.remoteAddress?.ipAddress ?? "unknown"
        let port = channel.remoteAddress?.port ?? 0
        self.remoteHost = host
        self.remoteAddress = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        self.channel = channel
        self.handler = handler
        self.transport = transport
        self.decoder = decoder
        self.outbox = Mutex(channel.allocator.buffer(capacity: 0))
    }

    func send(_ bytes: [UInt8]) {
        let wasEmpty = outbox.withLock { outbox -> Bool in
            defer { outbox.writeBytes(bytes) }
            return outbox.readableBytes == 0
        }
        if wasEmpty { channel.eventLoop.execute { self.flush() } }
    }

    func close() {
        channel.eventLoop.execute { self.closeAfterWrites() }
    }

    func setReading(_ enabled: Bool) {
        // Pausing from a callback takes effect at once, as the kernel asked mid-delivery; resuming
        // always goes through the loop, so frames are never delivered inside a callback.
        if !enabled && channel.eventLoop.inEventLoop { return pause() }
        channel.eventLoop.execute { enabled ? self.resume() : self.pause() }
    }

    // MARK: Loop

    /// Frames every complete message and hands it to the handler; raw bytes go as they are.
    func received(_ bytes: ByteBuffer) {
        guard !closing else { return }
        guard decoder != nil else { return handler.connection(self, received: .bytes(Array(bytes.readableBytesView))) }
        bytes.withUnsafeReadableBytes { decoder!.append($0) }
        deliverFrames()
    }

    private func deliverFrames() {
        do {
            while !paused, !closing, let message = try decoder!.next() {
                handler.connection(self, received: message)
                if case .fourLetterWord = message {
                    // The kernel answers and closes; nothing after the word is a request.
                    pause()
                    return
                }
            }
        } catch {
            transport.logger.warning("\(error): a message from \(remoteAddress) is malformed or larger than jute.maxbuffer=\(decoder!.frameBytesMax); closing")
            closeNow()
        }
    }

    private func pause() {
        guard !paused else { return }
        paused = true
        channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    private func resume() {
        guard paused, !closing else { return }
        paused = false
        if decoder != nil { deliverFrames() }
        guard !paused else { return }
        if inputEnded { return closeNow() }
        channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
    }

    /// The peer will send no more. A connection that is reading closes at once (ZooKeeper closes
    /// on end of stream); a paused one, such as a four-letter word's awaiting its answer, waits.
    func inputClosed() {
        if paused { inputEnded = true } else { closeNow() }
    }

    /// One write per connection per loop turn, however many replies were queued.
    private func flush() {
        let pending = outbox.withLock { outbox -> ByteBuffer in
            defer { outbox = channel.allocator.buffer(capacity: 0) }
            return outbox
        }
        guard pending.readableBytes > 0, !closing else { return }
        lastWrite = channel.writeAndFlush(pending)
    }

    /// Closes once queued writes are on the wire.
    private func closeAfterWrites() {
        flush()
        guard !closing else { return }
        closing = true
        let channel = channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }

    /// Closes at once, dropping unwritten bytes (peer gone, bad input, shutdown).
    func closeNow() {
        closing = true
        channel.close(promise: nil)
    }
}

/// The pipeline end of a connection: turns NIO's events into the transport's calls.
final class ChannelAdapter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private unowned let transport: NIOTransport
    private let handler: any ConnectionHandler
    private let decoder: FrameDecoder?
    private let attempt: ConnectAttempt?
    private var connection: NIOConnection?

    init(transport: NIOTransport, handler: any ConnectionHandler, decoder: FrameDecoder?, attempt: ConnectAttempt?) {
        self.transport = transport
        self.handler = handler
        self.decoder = decoder
        self.attempt = attempt
    }

    func channelActive(context: ChannelHandlerContext) {
        connection = transport.adopt(context.channel, handler: handler, decoder: decoder, attempt: attempt)
        if connection == nil { context.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection?.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection {
            connection.closing = true
            transport.closed(connection)
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { connection?.inputClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a failed write: the connection is gone either way, as with libuv.
        transport.logger.debug("connection \(connection.map { $0.remoteAddress } ?? "?"): \(error)")
        context.close(promise: nil)
    }
}
