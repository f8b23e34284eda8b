/// The client's watches, by path and kind, as ZooKeeper's client keeps them (ZKWatchManager):
/// one-shot data, exist and child watches, and persistent and persistent-recursive ones. Each
/// watch is a stream; a one-shot stream ends after its event. Loop only (ClientCore's).
struct WatchRegistry {
    typealias Sink = AsyncStream<WatchedEvent>.Continuation

    enum Kind: CaseIterable {
        case data, exist, child, persistent, persistentRecursive
    }

    private var sinks: [Kind: [String: [Sink]]] = [:]

    var isEmpty: Bool { sinks.values.allSatisfy { $0.isEmpty } }

    mutating func add(_ sink: Sink, kind: Kind, path: String) {
        sinks[kind, default: [:]][path, default: []].append(sink)
    }

    func paths(_ kind: Kind) -> [String] { sinks[kind].map { Array($0.keys) } ?? [] }

    /// Delivers a server notification to every watch it triggers (ZooKeeper's rules): created and
    /// changed fire data and exist watches; deleted fires those and child watches; children
    /// changed fires child watches; persistent watches see every event on their path, recursive
    /// ones every event but children-changed at or below theirs.
    mutating func fire(_ event: WatchedEvent) {
        let oneShot: [Kind] = switch event.type {
        case .nodeCreated, .nodeDataChanged: [.data, .exist]
        case .nodeDeleted: [.data, .exist, .child]
        case .nodeChildrenChanged: [.child]
        default: []
        }
        for kind in oneShot {
            for sink in sinks[kind]?.removeValue(forKey: event.path) ?? [] {
                sink.yield(event)
                sink.finish()
            }
        }
        for sink in sinks[.persistent]?[event.path] ?? [] { sink.yield(event) }
        guard event.type != .nodeChildrenChanged else { return }
        for (root, roots) in sinks[.persistentRecursive] ?? [:] where Self.isAtOrBelow(event.path, root) {
            for sink in roots { sink.yield(event) }
        }
    }

    /// Drops the watches of `kinds` on `path` after removeWatches, telling each why.
    mutating func remove(path: String, kinds: [Kind], event: (Kind) -> EventType) {
        for kind in kinds {
            for sink in sinks[kind]?.removeValue(forKey: path) ?? [] {
                sink.yield(WatchedEvent(type: event(kind), state: .syncConnected, path: path))
                sink.finish()
            }
        }
    }

    /// Ends every watch (session expired or closed): none can fire any more.
    mutating func finishAll(_ state: KeeperState) {
        for (_, byPath) in sinks {
            for (path, pathSinks) in byPath {
                for sink in pathSinks {
                    sink.yield(WatchedEvent(type: .none, state: state, path: path))
                    sink.finish()
                }
            }
        }
        sinks = [:]
    }

    static func isAtOrBelow(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || (path.hasPrefix(root) && path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: root.utf8.count)] == UInt8(ascii: "/"))
    }
}
