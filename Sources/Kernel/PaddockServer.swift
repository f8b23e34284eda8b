import Dispatch
import Logging
import ModuleAPI
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// A running server: the kernel state on its serial executor, the transaction log, the
/// client-port transport and the timers. Start with `start()`, stop with `shutdown()`.
public final class PaddockServer: Sendable {
    private let executor = KernelExecutor()
    private let transport: any Transport
    private let handler: ClientPortHandler
    private let txnLog: TxnLog
    private let directory: DataDirectory
    private let config: Config
    private let logger: Logger

    /// Recovers the data dir (snapshot + logs) and writes a fresh snapshot; does not serve yet.
    public init(config: Config, modules: ResolvedModules, logger: Logger) throws {
        self.config = config
        self.logger = logger
        directory = DataDirectory(dataDir: config.dataDir, dataLogDir: config.effectiveDataLogDir)
        try directory.create()
        let recovered = try RecoveredState.load(directory, codecs: modules.snapshotCodecsForReading, config: config, logger: logger)
        let executor = self.executor
        txnLog = TxnLog(
            directory: directory.logDirectory, preAllocBytes: config.preAllocSize * 1024, forceSync: config.forceSync,
            logger: logger,
            onDurable: { zxid in executor.post { $0.durable(through: zxid) } },
            onFailure: { _ in
                // Nothing more can be acknowledged safely; ZooKeeper exits here too.
                exit(3)
            })
        let state = KernelState(
            config: config, logger: logger, clock: SystemClock(), authProviders: modules.authProviders,
            tree: recovered.tree, log: txnLog, dataDirectory: directory, snapshotCodec: modules.snapshotCodec,
            post: { work in executor.post(work) })
        state.restoreSessions(recovered.sessions)
        try state.writeSnapshotNow()
        transport = try modules.transport(logger)
        handler = ClientPortHandler(executor: executor, state: state, config: config, logger: logger)
    }

    public func start() throws {
        let options = ListenOptions(host: config.clientPortAddress, port: config.clientPort,
                                    frameBytesMax: config.juteMaxBuffer, fourLetterWords: FourLetterWords.all)
        try transport.listen(options, handler: handler)
        executor.every(milliseconds: config.tickTime) { $0.expireSessions() }
        executor.every(milliseconds: config.containerCheckIntervalMs) { $0.removeExpiredContainers() }
        if config.autopurgePurgeInterval > 0 {
            let directory = self.directory, retain = config.autopurgeSnapRetainCount, logger = self.logger
            executor.every(milliseconds: config.autopurgePurgeInterval * 3_600_000) { _ in
                SnapshotJob.queue.async {
                    do { try Purge.run(directory, retain: retain, logger: logger) } catch { logger.error("purge failed: \(error)") }
                }
            }
        }
        logger.info("serving clients on \(config.clientPortAddress):\(config.clientPort)")
    }

    public func shutdown() {
        transport.shutdown()
        executor.stopTimers()
        txnLog.close()
        logger.info("shut down")
    }
}
