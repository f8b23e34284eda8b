import Logging
import ModuleAPI
import Synchronization

/// The kernel's side of the client-port transport. Called on the transport's event loop: it
/// enforces maxClientCnxns and the per-connection inflight cap there, and posts everything else
/// to the kernel executor.
final class ClientPortHandler: ConnectionHandler {
    private struct Admission {
        var connectionsByHost: [String: Int] = [:]
        var inflightByConnection: [ConnectionID: Int] = [:]
    }

    private let executor: KernelExecutor
    private let config: Config
    private let logger: Logger
    private let admission = Mutex(Admission())

    init(executor: KernelExecutor, state: KernelState, config: Config, logger: Logger) {
        self.executor = executor
        self.config = config
        self.logger = logger
        executor.install(state)
    }

    func connectionOpened(_ connection: any ClientConnection) -> Bool {
        let host = connection.remoteHost
        let limit = config.maxClientCnxns
        let admitted = admission.withLock { admission in
            let count = admission.connectionsByHost[host, default: 0]
            guard limit == 0 || count < limit else { return false }
            admission.connectionsByHost[host] = count + 1
            admission.inflightByConnection[connection.id] = 0
            return true
        }
        guard admitted else {
            logger.warning("too many connections from \(host) - max is \(limit)")
            return false
        }
        executor.post { $0.opened(connection) }
        return true
    }

    func connection(_ connection: any ClientConnection, received message: InboundMessage) {
        let cap = config.connectionRequestsInflightMax
        let overCap = admission.withLock { admission in
            let inflight = admission.inflightByConnection[connection.id, default: 0] + 1
            admission.inflightByConnection[connection.id] = inflight
            return inflight == cap
        }
        // Backpressure: stop reading rather than queue without bound; resumed in `finished`.
        if overCap { connection.setReading(false) }
        executor.post { [self] state in
            switch message {
            case .frame(let frame):
                if let server = state.connections[connection.id] { state.handleFrame(server, frame) }
            case .fourLetterWord(let word):
                connection.send(Array(state.fourLetterWord(word).utf8))
                connection.close()
            case .bytes:
                preconditionFailure("the client port is framed")
            }
            if finished(connection.id) { connection.setReading(true) }
        }
    }

    func connectionClosed(_ connection: any ClientConnection) {
        let host = connection.remoteHost
        admission.withLock { admission in
            admission.inflightByConnection[connection.id] = nil
            if let count = admission.connectionsByHost[host] {
                admission.connectionsByHost[host] = count > 1 ? count - 1 : nil
            }
        }
        executor.post { $0.closed(connection.id) }
    }

    /// A request of `id` has been handled; true when that takes it back under the cap it was
    /// paused at, so reading resumes.
    private func finished(_ id: ConnectionID) -> Bool {
        let cap = config.connectionRequestsInflightMax
        return admission.withLock { admission -> Bool in
            guard let inflight = admission.inflightByConnection[id] else { return false }
            admission.inflightByConnection[id] = inflight - 1
            return inflight == cap
        }
    }
}
