import Jute
import Linearizability
import ZAB

/// The driver contract: what a real server does with each effect, in list order.
extension World {
    func execute(_ effects: [ZabEffect], on id: Int64) {
        // A process can die between any two effects of one step (after a persist, before the send
        // it guards, say); everything before the crash point has happened.
        let crashPoint = chaos && !effects.isEmpty && rng.chance(options.crashMidStepChance) ? Int(rng.next() % UInt64(effects.count)) : nil
        for (index, effect) in effects.enumerated() {
            if index == crashPoint {
                note("crash part-way through a step, before \(TraceEntry.describe(effect))", peer: id)
                crashForAWhile(id)
                return
            }
            record(id, .effect(effect))
            execute(effect, on: id)
        }
    }

    private func execute(_ effect: ZabEffect, on id: Int64) {
        switch effect {
        case .sendElection(let to, let notification):
            checkVote(notification)
            sendElection(from: id, to: to, notification)
        case .armTimer(let timer, let ms):
            let (incarnation, generation) = withHost(id) { host -> (Int, Int) in
                host.timerGenerations[timer, default: 0] += 1
                return (host.incarnation, host.timerGenerations[timer]!)
            }
            schedule(.timer(id, incarnation: incarnation, timer, generation: generation), afterMs: Int64(ms))
        case .connectToLeader(let leader):
            connect(id, to: leader)
        case .send(let to, let packet):
            checkAck(packet, from: id)
            send(.packet(packet), from: id, to: to)
        case .sendSnapshot(let to):
            stats.snapshotsSent += 1
            if isObserver(to) { stats.snapshotsToObservers += 1 }
            send(.snapshot(host(id).applied), from: id, to: to)
        case .disconnect(let peer):
            disconnect(id, from: peer)
        case .persist(let txn):
            persist(txn, on: id)
        case .truncateLog(let zxid):
            withHost(id) { $0.disk.truncate(after: zxid) }
        case .reloadFromDisk:
            stats.truncations += 1
            let applied = withHost(id) { host -> [LoggedTxn] in
                host.applied = host.disk.history
                return host.applied
            }
            replaced(applied, on: id, by: "reload from disk")
            step(id, .reloaded(lastZxid: applied.last?.zxid ?? 0))
        case .takeSnapshot:
            withHost(id) { $0.disk.writeSnapshot($0.applied) }
        case .persistAcceptedEpoch(let epoch):
            withHost(id) { $0.disk.acceptedEpoch = epoch }
        case .persistCurrentEpoch(let epoch):
            if host(id).role == .leading { checkVoterQuorum(host(id).epochAckers.union([id]), on: id, for: "fixes epoch \(epoch)") }
            withHost(id) { $0.disk.currentEpoch = epoch }
        case .commit(let txn):
            commit(txn, on: id)
        case .roleChanged(let state, let leader):
            if state != .looking && (state == .observing) != isObserver(id) {
                fail("(g) p\(id), \(isObserver(id) ? "an observer" : "a voter"), becomes \(state)")
            }
            withHost(id) { host in
                host.role = state
                host.leader = leader
                host.servingEpoch = nil
                host.outstanding = [:]
                host.epochAckers = []
                host.newLeaderAckers = [:]
                host.observerSynced = false
                // The follower stops dialling its old leader (a new one says connectToLeader again).
                host.connectTarget = nil
            }
        case .serving(let epoch):
            serving(epoch, on: id)
        case .toKernel(let from, let packet):
            // A learner's kernel answers the leader's PING; that answer is what keeps the
            // leader counting it as alive. Everything else here is session business.
            if (host(id).role == .following || host(id).role == .observing) && packet.type == QuorumPacketType.ping {
                send(.packet(QuorumPacket(type: QuorumPacketType.ping, zxid: packet.zxid)), from: id, to: from)
            }
        case .log:
            break
        }
    }

    private func persist(_ txn: LoggedTxn, on id: Int64) {
        if let last = host(id).disk.log.last, last.zxid >= txn.zxid {
            fail("log order: p\(id) appends \(TraceEntry.describe(txn)) after \(TraceEntry.describe(last))")
        }
        let (startSync, incarnation, snapshotDue) = withHost(id) { host -> (Bool, Int, Bool) in
            if host.role == .leading { host.outstanding[txn.zxid] = [] }
            host.txnsUntilSnapshot -= 1
            return (host.disk.append(txn), host.incarnation, host.txnsUntilSnapshot == 0)
        }
        // The kernel's snapshot policy: every so many logged txns, a snapshot of the tree.
        if snapshotDue {
            let next = nextSnapshotCountdown()
            withHost(id) { host in
                host.disk.writeSnapshot(host.applied)
                host.txnsUntilSnapshot = next
            }
        }
        if startSync { schedule(.fsync(id, incarnation: incarnation), afterMs: fsyncDelay()) }
    }

    /// ZooKeeper's snapCount, randomized as it does so that servers do not snapshot in step;
    /// 0 (never) when snapshots are off.
    func nextSnapshotCountdown() -> Int {
        options.snapshotEveryTxns > 0 ? Int(rng.int(in: Int64(options.snapshotEveryTxns / 2)...Int64(options.snapshotEveryTxns))) : 0
    }

    private func fsyncDelay() -> Int64 { delay(shortMs: 1...20, longMs: 50...400, longChance: slowFsyncChance) }

    /// Group commit: one fsync covers everything appended before it started; whatever came in
    /// meanwhile goes with the next one.
    func fsyncCompleted(_ id: Int64) {
        let (durable, again, incarnation) = withHost(id) { host in
            (host.disk.syncCompleted(), host.disk.startSync(), host.incarnation)
        }
        if again { schedule(.fsync(id, incarnation: incarnation), afterMs: fsyncDelay()) }
        if let durable { step(id, .durable(through: durable)) }
    }

    private func commit(_ txn: LoggedTxn, on id: Int64) {
        let h = host(id)
        if let last = h.applied.last, last.zxid >= txn.zxid {
            fail("(b) p\(id) commits \(TraceEntry.describe(txn)) after \(TraceEntry.describe(last))")
        }
        withHost(id) { host in
            host.applied.append(txn)
            host.outstanding[txn.zxid] = nil
        }
        prefixCheckDue = true
        // Only a commit by a serving leader reaches a client; the commits of a step-down come
        // after roleChanged(.looking) in the same list and acknowledge nothing.
        if h.role == .leading && h.servingEpoch != nil {
            checkVoterQuorum(h.outstanding[txn.zxid] ?? [], on: id, for: "commits \(TraceEntry.describe(txn))")
            checker.acknowledge(txn, by: id)
            if let index = historyIndex[txn.header.cxid], history[index].completion == nil {
                history[index].output = .written
                history[index].completion = nowMs
            }
        }
    }

    /// The applied state was replaced wholesale (snapshot install, reload): still ascending?
    func replaced(_ applied: [LoggedTxn], on id: Int64, by what: String) {
        prefixCheckDue = true
        checker.checkAscending(applied, peer: id, after: what)
    }

    private func serving(_ epoch: Int64, on id: Int64) {
        let isLeader = withHost(id) { host -> Bool in
            host.servingEpoch = epoch
            host.proposalCounter = 0
            return host.role == .leading
        }
        if isLeader {
            checkVoterQuorum(host(id).newLeaderAckers[epoch << 32, default: []].union([id]), on: id, for: "serves epoch \(epoch)")
            stats.leadersServing += 1
            checker.leaderServes(id, epoch: epoch)
        }
    }

    /// A client write through a serving leader (a random one, if a deposed leader has not
    /// noticed yet), numbered in its epoch as the kernel does. Returns the write's cxid.
    @discardableResult
    public func propose(through leader: Int64? = nil) -> Int32? {
        // A frozen leader cannot take a client's request.
        let candidates = servingLeaders.filter { (frozenUntilMs[$0] ?? 0) <= nowMs }
        guard !candidates.isEmpty else { return nil }
        let id = leader ?? rng.pick(candidates)
        guard candidates.contains(id) else { return nil }
        let cxid = nextCxid
        nextCxid += 1
        let zxid = withHost(id) { host -> Int64 in
            host.proposalCounter += 1
            return host.servingEpoch! << 32 | Int64(host.proposalCounter)
        }
        let header = TxnHeader(clientId: 1, cxid: cxid, zxid: zxid, time: 0, type: OpCode.check.rawValue)
        stats.proposals += 1
        historyIndex[cxid] = history.count
        history.append(ClientOperation(client: Int(id), key: Self.registerKey(cxid), input: .write(String(cxid)), output: nil,
                                 call: nowMs, completion: nil))
        step(id, .propose(LoggedTxn(header: header, txn: .check(path: "/", version: -1))))
        return cxid
    }
}

extension World {
    /// Client writes fall on four registers, so writes to one key overlap and overwrite.
    static func registerKey(_ cxid: Int32) -> String { "k\(cxid % 4)" }

    /// (g) Once healed: every server's applied log, read as the four registers' final values, is
    /// a linearizable outcome of the clients' writes (each acknowledged write took effect between
    /// its proposal and its acknowledgment; unacknowledged ones at some point after proposal, or
    /// never).
    public func checkLinearizable() {
        var operations = history
        let keys = Set(history.map(\.key))
        for id in peerIds {
            var last: [String: String] = [:]
            for txn in host(id).applied where historyIndex[txn.header.cxid] != nil {
                last[Self.registerKey(txn.header.cxid)] = String(txn.header.cxid)
            }
            for key in keys {
                operations.append(ClientOperation(client: Int(id), key: key, input: .read, output: .read(last[key]),
                                            call: nowMs, completion: nowMs))
            }
        }
        stats.operationsChecked += operations.count
        for verdict in LinearizabilityChecker.check(PlainRegister.self, operations) where !verdict.linearizable {
            fail("(g) register \(verdict.key) is not linearizable: \(verdict.explanation ?? "")")
        }
    }
}
