import Dispatch
import Logging
import ModuleAPI

/// A running server: the kernel state on its serial executor, the client-port transport and
/// the timers. Start with `start()`, stop with `shutdown()`.
public final class PaddockServer: Sendable {
    private let executor = KernelExecutor()
    private let transport: any Transport
    private let handler: ClientPortHandler
    private let config: Config
    private let logger: Logger

    public init(config: Config, modules: ResolvedModules, logger: Logger) throws {
        self.config = config
        self.logger = logger
        transport = try modules.transport(logger)
        let state = KernelState(config: config, logger: logger, clock: SystemClock(), authProviders: modules.authProviders)
        handler = ClientPortHandler(executor: executor, state: state, config: config, logger: logger)
    }

    public func start() throws {
        let options = ListenOptions(host: config.clientPortAddress, port: config.clientPort,
                                    frameBytesMax: config.juteMaxBuffer, fourLetterWords: FourLetterWords.all)
        try transport.listen(options, handler: handler)
        executor.every(milliseconds: config.tickTime) { $0.expireSessions() }
        executor.every(milliseconds: config.containerCheckIntervalMs) { $0.removeExpiredContainers() }
        logger.info("serving clients on \(config.clientPortAddress):\(config.clientPort)")
    }

    public func shutdown() {
        transport.shutdown()
        executor.stopTimers()
        logger.info("shut down")
    }
}
