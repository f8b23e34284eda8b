import Jute
import ZAB

/// A quorum connection: a learner's TCP connection to its leader, one FIFO pipe each way.
struct Connection {
    let follower: Int64
    let leader: Int64
    /// The learner's connect has completed (its engine heard connectedToLeader).
    var established = false
    /// A crash or partition cut it: nothing more arrives either way.
    var broken = false
    /// One side closed it: that side hears nothing more; what it sent before still arrives, then
    /// the close itself.
    var closedBy: Int64?
    var toLeader = Pipe()
    var toFollower = Pipe()

    func other(than id: Int64) -> Int64 { id == follower ? leader : follower }

    var canSend: Bool { established && !broken && closedBy == nil }

    subscript(to id: Int64) -> Pipe {
        get { id == leader ? toLeader : toFollower }
        set { if id == leader { toLeader = newValue } else { toFollower = newValue } }
    }
}

struct Pipe {
    var queue: [(readyAtMs: Int64, message: PipeMessage)] = []
    /// Every queued message has been given its arrival time; one delivery event at a time.
    var deliveryScheduled = false
    var lastReadyAtMs: Int64 = 0
    /// Stopped by the hold rule at its first message.
    var held = false
    /// A SNAP packet waiting for the snapshot stream behind it (the learner's driver reads both,
    /// installs the tree, then hands the SNAP packet to its engine).
    var pendingSnap: QuorumPacket?
}

enum PipeMessage {
    case packet(QuorumPacket)
    case snapshot([LoggedTxn])
    case close
}

extension World {
    // MARK: Election connections

    /// Delivered after a short delay unless the two cannot talk; FIFO per pair, like TCP.
    func sendElection(from: Int64, to: Int64, _ notification: ElectionNotification) {
        withHost(from) { $0.lastElectionSent[to] = notification }
        guard reachable(from, to) else { return }
        let delayMs = rng.int(in: 1...20)
        let readyAt = withHost(from) { host -> Int64 in
            let readyAt = max(nowMs + delayMs, host.electionReadyAtMs[to] ?? 0)
            host.electionReadyAtMs[to] = readyAt
            return readyAt
        }
        queue.push(.election(from: from, fromIncarnation: host(from).incarnation, to: to,
                             toIncarnation: host(to).incarnation, notification), at: readyAt)
    }

    /// Pairs that could not talk before and can now reconnect, and each side resends the last
    /// notification it sent the other.
    func resendElections(reachableBefore: [[Bool]]) {
        for a in peerIds {
            for b in peerIds where a != b && !reachableBefore[Int(a) - 1][Int(b) - 1] && reachable(a, b) {
                if let last = host(a).lastElectionSent[b] { sendElection(from: a, to: b, last) }
            }
        }
    }

    func reachability() -> [[Bool]] { peerIds.map { a in peerIds.map { b in reachable(a, b) } } }

    // MARK: Opening quorum connections

    /// The learner dials its leader, retrying every 200 ms while the leader cannot be reached.
    func connect(_ id: Int64, to leader: Int64) {
        if let old = host(id).leaderLink { close(old, by: id) }
        let (incarnation, attempt) = withHost(id) { host -> (Int, Int) in
            host.connectTarget = leader
            host.connectAttempt += 1
            return (host.incarnation, host.connectAttempt)
        }
        schedule(.connectAttempt(id, incarnation: incarnation, attempt: attempt), afterMs: 0)
    }

    func connectAttempt(_ id: Int64, incarnation: Int, attempt: Int) {
        let h = host(id)
        guard h.incarnation == incarnation, h.connectAttempt == attempt, let leader = h.connectTarget else { return }
        guard reachable(id, leader) else {
            schedule(.connectAttempt(id, incarnation: incarnation, attempt: attempt), afterMs: 200)
            return
        }
        let connection = nextConnectionId
        nextConnectionId += 1
        connections[connection] = Connection(follower: id, leader: leader)
        withHost(id) { host in
            host.leaderLink = connection
            host.connectTarget = nil
        }
        schedule(.established(connection: connection), afterMs: rng.int(in: 1...20))
    }

    func established(_ id: Int) {
        guard var c = connections[id], !c.broken, c.closedBy == nil else { return }
        c.established = true
        connections[id] = c
        step(c.follower, .connectedToLeader(c.leader))
    }

    // MARK: Sending and delivering

    /// The connection `from` uses to talk to `to`: its link to its leader, or a learner's link.
    func link(of from: Int64, to: Int64) -> Int? {
        if let id = host(from).leaderLink, connections[id]?.leader == to { return id }
        return host(from).learnerLinks[to]
    }

    /// Over the connection to `to`, FIFO, after a delay; dropped if there is none or it is cut.
    func send(_ message: PipeMessage, from: Int64, to: Int64) {
        guard let id = link(of: from, to: to), connections[id]?.canSend == true else { return }
        enqueue(message, on: id, to: to)
    }

    private func enqueue(_ message: PipeMessage, on id: Int, to: Int64) {
        var pipe = connections[id]![to: to]
        let readyAt = max(nowMs + delay(shortMs: 1...10, longMs: 50...300, longChance: slowMessageChance), pipe.lastReadyAtMs)
        pipe.lastReadyAtMs = readyAt
        pipe.queue.append((readyAt, message))
        if !pipe.deliveryScheduled && !pipe.held {
            pipe.deliveryScheduled = true
            queue.push(.pipe(connection: id, to: to), at: readyAt)
        }
        connections[id]![to: to] = pipe
    }

    func deliverNext(on id: Int, to: Int64) {
        guard var c = connections[id], !c.broken else { return }
        var pipe = c[to: to]
        pipe.deliveryScheduled = false
        guard let (_, message) = pipe.queue.first else { return }
        let from = c.other(than: to)
        if case .packet(let packet) = message, let holdRule, holdRule(from, to, packet) {
            pipe.held = true
            heldPipes.append((id, to))
            c[to: to] = pipe
            connections[id] = c
            return
        }
        pipe.queue.removeFirst()
        if let next = pipe.queue.first {
            pipe.deliveryScheduled = true
            queue.push(.pipe(connection: id, to: to), at: max(nowMs, next.readyAtMs))
        }
        c[to: to] = pipe
        connections[id] = c
        receive(message, on: id, from: from, to: to)
    }

    private func receive(_ message: PipeMessage, on id: Int, from: Int64, to: Int64) {
        switch message {
        case .packet(let packet):
            if to == connections[id]!.leader {
                adoptLearnerLink(id, learner: from, at: to)
            } else if packet.type == QuorumPacketType.snap {
                connections[id]![to: to].pendingSnap = packet
                return
            }
            step(to, .packet(from: from, packet))
        case .snapshot(let txns):
            guard let snap = connections[id]![to: to].pendingSnap else {
                fail("p\(to) got a snapshot stream without a SNAP packet before it")
                return
            }
            connections[id]![to: to].pendingSnap = nil
            if (txns.last?.zxid ?? 0) != snap.zxid {
                fail("p\(from) sent SNAP \(TraceEntry.zxidText(snap.zxid)) with a tree that ends at \(TraceEntry.zxidText(txns.last?.zxid ?? 0))")
            }
            withHost(to) { $0.applied = txns }
            replaced(txns, on: to, by: "snapshot from p\(from)")
            step(to, .packet(from: from, snap))
        case .close:
            connections[id]!.broken = true
            if isCurrent(id, at: to) {
                forget(id, at: to)
                step(to, .disconnected(from))
            }
        }
    }

    /// The leader knows a learner by the id its FOLLOWERINFO named. A new connection from the same
    /// learner replaces the old one, which is closed without telling the engine: the learner
    /// left it already, and news of its end must not cut the learner's new session.
    private func adoptLearnerLink(_ id: Int, learner: Int64, at leader: Int64) {
        let old = host(leader).learnerLinks[learner]
        guard old != id else { return }
        if let old { close(old, by: leader) }
        withHost(leader) { $0.learnerLinks[learner] = id }
    }

    // MARK: Closing

    func isCurrent(_ id: Int, at peer: Int64) -> Bool {
        guard let c = connections[id] else { return false }
        return host(peer).leaderLink == id || host(peer).learnerLinks[c.other(than: peer)] == id
    }

    func forget(_ id: Int, at peer: Int64) {
        guard let c = connections[id] else { return }
        withHost(peer) { host in
            if host.leaderLink == id { host.leaderLink = nil }
            if host.learnerLinks[c.other(than: peer)] == id { host.learnerLinks[c.other(than: peer)] = nil }
        }
    }

    /// The engine's `.disconnect(peer)`: close whatever connection we have with it and stop
    /// dialling it.
    func disconnect(_ id: Int64, from peer: Int64) {
        withHost(id) { host in
            if host.connectTarget == peer { host.connectTarget = nil }
        }
        while let connection = link(of: id, to: peer) { close(connection, by: id) }
    }

    /// An orderly close by one side: the other side hears of it after what was already sent.
    func close(_ id: Int, by peer: Int64) {
        forget(id, at: peer)
        guard var c = connections[id], !c.broken, c.closedBy == nil else { return }
        c.closedBy = peer
        c[to: peer].queue.removeAll()
        connections[id] = c
        let other = c.other(than: peer)
        if c.established { enqueue(.close, on: id, to: other) } else { connections[id]!.broken = true }
    }

    /// A crash or partition cut the connection. Each side still up hears of it after a delay
    /// (`noticeDelayMs`), or never (a silent partition: only the engines' timeouts notice). A learner
    /// whose connect was still under way dials again.
    func breakConnection(_ id: Int, noticeDelayMs: ClosedRange<Int64>?) {
        guard var c = connections[id], !c.broken else { return }
        c.broken = true
        c.toLeader = Pipe()
        c.toFollower = Pipe()
        connections[id] = c
        for side in [c.follower, c.leader] where host(side).isUp && isCurrent(id, at: side) {
            if !c.established {
                forget(id, at: side)
                connect(side, to: c.leader)
            } else if let noticeDelayMs {
                schedule(.brokenNotice(connection: id, to: side), afterMs: rng.int(in: noticeDelayMs))
            }
        }
    }

    func brokenNotice(_ id: Int, to peer: Int64) {
        guard isCurrent(id, at: peer), let c = connections[id] else { return }
        forget(id, at: peer)
        step(peer, .disconnected(c.other(than: peer)))
    }

    /// Connections still in use, oldest first (dictionary order is not deterministic).
    var openConnections: [Int] { connections.keys.sorted().filter { !connections[$0]!.broken } }

    // MARK: Holding packets

    /// From now on, quorum packets matching `rule` stop their direction of their connection when
    /// they are about to arrive, until `releaseHeldPackets`.
    public func hold(_ rule: @escaping (_ from: Int64, _ to: Int64, QuorumPacket) -> Bool) {
        holdRule = rule
    }

    public func releaseHeldPackets() {
        holdRule = nil
        for (id, to) in heldPipes where connections[id]?.broken == false {
            connections[id]![to: to].held = false
            connections[id]![to: to].deliveryScheduled = true
            schedule(.pipe(connection: id, to: to), afterMs: 1)
        }
        heldPipes = []
    }
}
