import CLibuv
import Glibc

// libuv takes C function pointers, so its callbacks are top-level functions that find their
// Swift objects through the handles' `data` fields. All run on the loop thread.

private func transport(_ data: UnsafeMutableRawPointer?) -> LibuvTransport {
    Unmanaged<LibuvTransport>.fromOpaque(data!).takeUnretainedValue()
}

private func connection(_ data: UnsafeMutableRawPointer?) -> LibuvConnection {
    Unmanaged<LibuvConnection>.fromOpaque(data!).takeUnretainedValue()
}

private func listener(_ data: UnsafeMutableRawPointer?) -> Listener {
    Unmanaged<Listener>.fromOpaque(data!).takeUnretainedValue()
}

private func attempt(_ data: UnsafeMutableRawPointer?) -> ConnectAttempt {
    Unmanaged<ConnectAttempt>.fromOpaque(data!).takeUnretainedValue()
}

func runLoop(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let transport = Unmanaged<LibuvTransport>.fromOpaque(context!).takeRetainedValue()
    transport.run()
    return nil
}

func onConnection(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    let listener = listener(server!.pointee.data)
    guard status == 0 else {
        listener.transport.logger.warning("accept failed: \(String(cString: uv_strerror(status)))")
        return
    }
    listener.transport.accept(listener)
}

func onResolved(_ request: UnsafeMutablePointer<uv_getaddrinfo_t>?, _ status: Int32, _ addresses: UnsafeMutablePointer<addrinfo>?) {
    let attempt = attempt(request!.pointee.data)
    attempt.transport.resolved(attempt, status, addresses)
}

func onConnected(_ request: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    let attempt = attempt(request!.pointee.data)
    attempt.transport.connected(attempt, status)
}

func onWakeup(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    transport(handle!.pointee.data).drainCommands()
}

func allocateReadBuffer(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?) {
    let connection = connection(handle!.pointee.data)
    let transport = connection.transportForCallbacks
    buffer!.pointee = uv_buf_init(transport.readBuffer.assumingMemoryBound(to: CChar.self), UInt32(LibuvTransport.readBufferBytes))
}

func onRead(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?) {
    let connection = connection(stream!.pointee.data)
    let transport = connection.transportForCallbacks
    if count < 0 {
        transport.closeNow(connection)
    } else if count > 0 {
        transport.received(connection, UnsafeRawBufferPointer(start: buffer!.pointee.base, count: count))
    }
}

func onWrite(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    request!.pointee.data.deallocate()
    let stream = request!.pointee.handle!
    request!.deallocate()
    if status < 0 {
        let connection = connection(stream.pointee.data)
        connection.transportForCallbacks.closeNow(connection)
    }
}

func onShutdown(_ request: UnsafeMutablePointer<uv_shutdown_t>?, _ status: Int32) {
    let stream = request!.pointee.handle!
    request!.deallocate()
    let connection = connection(stream.pointee.data)
    connection.transportForCallbacks.closeHandle(connection)
}

func onClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    let connection = Unmanaged<LibuvConnection>.fromOpaque(handle!.pointee.data!).takeRetainedValue()
    connection.transportForCallbacks.closed(connection)
    handle!.deallocate()
}

func freeHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    handle!.deallocate()
}
