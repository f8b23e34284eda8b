import Dispatch
import Logging
import ModuleAPI
import Storage
import ZAB

#if canImport(Glibc)
import Glibc
#endif

/// A running server: the kernel state on its serial executor, the transaction log, the
/// client-port transport and the timers. Start with `start()`, stop with `shutdown()`.
public final class PaddockServer: Sendable {
    private let executor = KernelExecutor()
    private let transport: any Transport
    /// The quorum and election ports' transport: the client port's, unless
    /// paddock.quorum.transport names another module (its own instance, its own event loop).
    private let quorumTransport: any Transport
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
            sessionServerId: try Ensemble.myId(config: config) ?? 1,
            post: { work in executor.post(work) })
        state.restoreSessions(recovered.sessions)
        transport = try modules.transport(logger)
        quorumTransport = config.quorumTransport == nil ? transport : try modules.quorumTransport(logger)
        if let ensemble = try Ensemble(config: config) {
            guard modules.role.votes != ensemble.me.isObserver else {
                throw ConfigError(file: "zoo.cfg", line: 0, key: "peerType",
                                  message: "peerType=\(modules.role.name) but server.\(ensemble.myId) is "
                                      + (ensemble.me.isObserver ? "an observer" : "a participant"))
            }
            // ZooKeeper snapshots an ensemble member only once it is synced; a snapshot now
            // could capture txns the next leader makes it truncate. A first start still needs
            // one, for recovery's "logs without a snapshot" rule.
            if !recovered.hadSnapshot { try state.writeSnapshotNow() }
            state.replication = try Replication.recover(
                ensemble: ensemble, config: config, directory: directory, recovered: recovered, transport: quorumTransport,
                executor: executor, codecsForReading: modules.snapshotCodecsForReading)
            logger.info("server \(ensemble.myId) of an ensemble of \(ensemble.voters.count) voters")
        } else {
            try state.writeSnapshotNow()
        }
        handler = ClientPortHandler(executor: executor, state: state, config: config, logger: logger)
    }

    public func start() throws {
        let options = ListenOptions(host: config.clientPortAddress, port: config.clientPort,
                                    frameBytesMax: config.juteMaxBuffer, fourLetterWords: FourLetterWords.all)
        try transport.listen(options, handler: handler)
        if let ensemble = try Ensemble(config: config) {
            let me = ensemble.me
            for (port, number) in [(PeerPortHandler.Port.quorum, me.quorumPort), (.election, me.electionPort)] {
                try quorumTransport.listen(ListenOptions(host: me.host, port: number, frameBytesMax: config.juteMaxBuffer,
                                                   fourLetterWords: [], rawStream: true),
                                     handler: PeerPortHandler(port: port, outboundPeer: nil, executor: executor))
            }
            executor.every(milliseconds: config.tickTime) { $0.step(.tick) }
            executor.post { $0.step(.start) }
            logger.info("quorum port \(me.host):\(me.quorumPort), election port \(me.host):\(me.electionPort) (transport \(config.quorumTransport ?? config.transport))")
        }
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
        logger.info("serving clients on \(config.clientPortAddress):\(config.clientPort) (transport \(config.transport))")
    }

    public func shutdown() {
        transport.shutdown()
        if quorumTransport !== transport { quorumTransport.shutdown() }
        executor.stopTimers()
        txnLog.close()
        logger.info("shut down")
    }
}
