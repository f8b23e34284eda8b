import Jute

/// Who a watch notifies: the connection that registered it (ZooKeeper keeps watches per
/// connection, and a client re-registers them with setWatches after it reconnects).
public typealias WatcherID = UInt64

public enum WatchMode: Sendable {
    case standard
    case persistent
    case persistentRecursive
}

/// A notification to deliver to one watcher.
public struct WatchNotification: Equatable, Sendable {
    public var watcher: WatcherID
    public var type: EventType
    public var path: String
    public var zxid: Int64

    public init(watcher: WatcherID, type: EventType, path: String, zxid: Int64) {
        self.watcher = watcher
        self.type = type
        self.path = path
        self.zxid = zxid
    }
}

/// One of ZooKeeper's two watch tables (data watches, child watches): path -> watcher -> mode.
/// One-shot watches are removed when they fire; persistent ones stay until removed.
public struct WatchTable {
    private(set) var byPath: [String: [WatcherID: WatchMode]] = [:]
    private(set) var byWatcher: [WatcherID: Set<String>] = [:]
    /// Recursive watches make every trigger walk up the path; skip the walk when there are none.
    private var recursiveCount = 0

    public init() {}

    public var count: Int { byPath.values.reduce(0) { $0 + $1.count } }
    public var pathCount: Int { byPath.count }

    /// One mode per watcher and path: the latest registration wins, as in ZooKeeper (a one-shot
    /// watch set after a persistent one replaces it).
    public mutating func add(_ path: String, _ watcher: WatcherID, _ mode: WatchMode) {
        let previous = byPath[path, default: [:]].updateValue(mode, forKey: watcher)
        if previous == .persistentRecursive { recursiveCount -= 1 }
        if mode == .persistentRecursive { recursiveCount += 1 }
        byWatcher[watcher, default: []].insert(path)
    }

    public func mode(_ path: String, _ watcher: WatcherID) -> WatchMode? { byPath[path]?[watcher] }

    public func contains(_ path: String, _ watcher: WatcherID, matching: (WatchMode) -> Bool) -> Bool {
        byPath[path]?[watcher].map(matching) ?? false
    }

    /// Removes the watcher's watch on `path` if its mode passes `matching`; true when one was removed.
    @discardableResult
    public mutating func remove(_ path: String, _ watcher: WatcherID, matching: (WatchMode) -> Bool = { _ in true }) -> Bool {
        guard let mode = byPath[path]?[watcher], matching(mode) else { return false }
        byPath[path]![watcher] = nil
        if byPath[path]!.isEmpty { byPath[path] = nil }
        byWatcher[watcher]?.remove(path)
        if byWatcher[watcher]?.isEmpty == true { byWatcher[watcher] = nil }
        if mode == .persistentRecursive { recursiveCount -= 1 }
        return true
    }

    public mutating func removeWatcher(_ watcher: WatcherID) {
        for path in byWatcher[watcher] ?? [] { remove(path, watcher) }
    }

    public func paths(of watcher: WatcherID) -> Set<String> { byWatcher[watcher] ?? [] }
    public func watchers(of path: String) -> [WatcherID: WatchMode] { byPath[path] ?? [:] }
    public var watchers: Dictionary<WatcherID, Set<String>>.Keys { byWatcher.keys }
    public var paths: Dictionary<String, [WatcherID: WatchMode]>.Keys { byPath.keys }

    /// Fires the watches an event on `path` triggers: every watch on the path itself, and
    /// recursive watches on its ancestors. Watchers in `suppress` were already told.
    public mutating func trigger(_ path: String, _ type: EventType, zxid: Int64,
                                 suppress: Set<WatcherID> = [], into out: inout [WatchNotification]) -> Set<WatcherID> {
        var told: Set<WatcherID> = []
        // isEmpty first: a lookup hashes the path even in an empty table.
        if !byPath.isEmpty, let watchers = byPath[path] {
            for (watcher, mode) in watchers {
                if mode == .standard { remove(path, watcher) }
                if suppress.contains(watcher) || !told.insert(watcher).inserted { continue }
                out.append(WatchNotification(watcher: watcher, type: type, path: path, zxid: zxid))
            }
        }
        guard recursiveCount > 0, path != "/" else { return told }
        var ancestor = path
        repeat {
            ancestor = PathValidation.parent(of: ancestor)
            for (watcher, mode) in byPath[ancestor] ?? [:] where mode == .persistentRecursive {
                if suppress.contains(watcher) || !told.insert(watcher).inserted { continue }
                out.append(WatchNotification(watcher: watcher, type: type, path: path, zxid: zxid))
            }
        } while ancestor != "/"
        return told
    }
}
