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
        healPartition()
        for id in peerIds { restart(id) }
    }

    func injectFault() {
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

    /// A chaos crash: the server comes back after a while, mostly soon, sometimes after long
    /// enough for the others to move far ahead (SNAP).
    func crashForAWhile(_ id: Int64) {
        crash(id)
        let downMs = rng.chance(0.3) ? rng.int(in: 3_000...12_000) : rng.int(in: 100...3_000)
        schedule(.restart(id, incarnation: host(id).incarnation), afterMs: downMs)
    }
}
