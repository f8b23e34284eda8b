import ZAB

/// Crashes, restarts and partitions: by hand in scripted scenarios, at random during chaos.
extension World {
    /// The process dies: its engine, timers, connections and unsynced log tail are gone; its
    /// disk (snapshot, synced log, epoch files) stays.
    public func crash(_ id: Int64) {
        guard host(id).isUp else { return }
        stats.crashes += 1
        let before = reachability()
        let volatileKept = options.tornWrites ? Int(rng.int(in: 0...Int64(host(id).disk.volatileCount))) : 0
        withHost(id) { host in
            host.disk.crash(keepingVolatile: volatileKept)
            var fresh = Host()
            fresh.disk = host.disk
            fresh.incarnation = host.incarnation + 1
            host = fresh
        }
        note("crash", peer: id)
        frozenUntilMs[id] = nil
        ticksToSkip[id] = nil
        for connection in openConnections {
            let c = connections[connection]!
            if c.follower == id || c.leader == id {
                // The peer's kernel resets the connection: the survivor hears quickly.
                breakConnection(connection, noticeDelayMs: 1...50)
            }
        }
        resendElections(reachableBefore: before)
    }

    /// A new process on the crashed server's disk.
    public func restart(_ id: Int64) {
        guard !host(id).isUp else { return }
        let before = reachability()
        note("restart", peer: id)
        boot(id)
        resendElections(reachableBefore: before)
    }

    /// Splits the ensemble: servers talk only within their group. Connections across the cut
    /// break; with `noticed`, each side hears of it after a random delay (a reset), otherwise
    /// never (packets vanish, and only the engines' timeouts can tell).
    public func partition(_ groupOf: (Int64) -> Int, noticed: Bool) {
        stats.partitions += 1
        partitionGeneration += 1
        let before = reachability()
        groups = peerIds.map(groupOf)
        note("partition \(peerIds.map { "p\($0):\(groups[Int($0) - 1])" }.joined(separator: " "))\(noticed ? "" : ", silent")")
        for connection in openConnections {
            let c = connections[connection]!
            if groups[Int(c.follower) - 1] != groups[Int(c.leader) - 1] {
                breakConnection(connection, noticeDelayMs: noticed ? 10...2_000 : nil)
            }
        }
        resendElections(reachableBefore: before)
    }

    public func healPartition() {
        guard groups.contains(where: { $0 != groups[0] }) else { return }
        partitionGeneration += 1
        let before = reachability()
        groups = groups.map { _ in 0 }
        note("heal partition")
        resendElections(reachableBefore: before)
    }

    // MARK: Chaos

    /// Random faults and client writes until `healEverything`.
    public func startChaos() {
        chaos = true
        if options.faultMeanIntervalMs > 0 { schedule(.fault, afterMs: rng.int(in: 1...2 * options.faultMeanIntervalMs)) }
        if options.clientWriteMeanIntervalMs > 0 {
            schedule(.clientWrite, afterMs: rng.int(in: 1...2 * options.clientWriteMeanIntervalMs))
        }
    }

    /// Ends the chaos: no more faults or client writes, the partition heals, everyone restarts.
    public func healEverything() {
        chaos = false
        note("heal everything")
        frozenUntilMs.removeAll()
        ticksToSkip.removeAll()
        for id in stalledDisks { resumeDisk(id) }
        healPartition()
        for id in peerIds { restart(id) }
    }

    func injectFault() {
        if options.extendedFaults && rng.chance(0.4) { return injectExtendedFault() }
        if rng.chance(0.55) {
            let victim = rng.pick(peerIds)
            if host(victim).isUp { crashForAWhile(victim) }
        } else {
            let groupCount = options.serverCount > 3 && rng.chance(0.3) ? 3 : 2
            var assignment = peerIds.map { _ in Int(rng.next() % UInt64(groupCount)) }
            if assignment.allSatisfy({ $0 == assignment[0] }) { assignment[Int(rng.next() % UInt64(assignment.count))] += 1 }
            partition({ assignment[Int($0) - 1] }, noticed: rng.chance(0.5))
            schedule(.healPartition(generation: partitionGeneration), afterMs: rng.int(in: 100...6_000))
        }
    }

    /// One of the faults beyond crashes and plain partitions: a frozen process (the leader more
    /// often than not), a disk whose fsyncs stall, a clock that jumps, a partition that flaps.
    private func injectExtendedFault() {
        let up = peerIds.filter { host($0).isUp && (frozenUntilMs[$0] ?? 0) <= nowMs }
        guard let anyone = up.isEmpty ? nil : rng.pick(up) else { return }
        let limitTicks = Int64(options.syncLimitTicks)
        switch rng.next() % 4 {
        case 0:
            let leaders = servingLeaders.filter(up.contains)
            freeze(!leaders.isEmpty && rng.chance(0.6) ? rng.pick(leaders) : anyone,
                   forMs: rng.int(in: 50...(limitTicks + 30) * options.tickMs))
        case 1:
            stats.diskStalls += 1
            note("disk stalls", peer: anyone)
            stallDisk(anyone)
            schedule(.resumeDisk(anyone), afterMs: rng.int(in: 100...5_000))
        case 2:
            jumpClock(anyone, ticks: Int(rng.int(in: 1...limitTicks + 3)) * (rng.chance(0.5) ? 1 : -1))
        default:
            stats.flappingPartitions += 1
            flapPartition(remaining: Int(rng.int(in: 3...8)))
        }
    }

    /// The process stops for a while (a long GC pause, SIGSTOP): it handles nothing, peers hear
    /// nothing from it, then it carries on with whatever arrived meanwhile, as if no time passed.
    public func freeze(_ id: Int64, forMs durationMs: Int64) {
        stats.freezes += 1
        note("frozen for \(durationMs) ms", peer: id)
        frozenUntilMs[id] = nowMs + durationMs
        schedule(.thaw(id), afterMs: durationMs)
    }

    /// The server's clock jumps: forward, it sees `ticks` ticks at once (every tick-counted
    /// timeout sees the time pass); back, its next `-ticks` ticks pass unseen.
    public func jumpClock(_ id: Int64, ticks: Int) {
        stats.clockJumps += 1
        note("clock jumps \(ticks > 0 ? "forward" : "back") \(abs(ticks)) ticks", peer: id)
        if ticks < 0 {
            ticksToSkip[id, default: 0] += -ticks
        } else {
            for _ in 0..<ticks { step(id, .tick) }
        }
    }

    /// A random cut that heals within a few hundred ms, then another, `remaining` times.
    func flapPartition(remaining: Int) {
        guard remaining > 0 else { return }
        var assignment = peerIds.map { _ in Int(rng.next() % 2) }
        if assignment.allSatisfy({ $0 == assignment[0] }) { assignment[Int(rng.next() % UInt64(assignment.count))] ^= 1 }
        partition({ assignment[Int($0) - 1] }, noticed: rng.chance(0.5))
        schedule(.healPartition(generation: partitionGeneration), afterMs: rng.int(in: 20...300))
        schedule(.flap(remaining: remaining - 1), afterMs: rng.int(in: 100...600))
    }

    /// A chaos crash: the server comes back after a while, mostly soon, sometimes after long
    /// enough for the others to move far ahead (SNAP).
    func crashForAWhile(_ id: Int64) {
        crash(id)
        let downMs = rng.chance(0.3) ? rng.int(in: 3_000...12_000) : rng.int(in: 100...3_000)
        schedule(.restart(id, incarnation: host(id).incarnation), afterMs: downMs)
    }
}
