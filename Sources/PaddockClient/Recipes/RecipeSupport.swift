extension ZooKeeperClient {
    /// Creates `path` and any missing parents as persistent nodes; an existing node is fine.
    public func ensurePath(_ path: String) async throws {
        guard path != "/" else { return }
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            do {
                try await create(prefix)
            } catch let error as ClientError where error.code == .nodeExists {
                continue
            }
        }
    }

    /// The first event of a one-shot watch, or nil when `limit` passes first. A session that
    /// ends also ends the watch (with a `.none` event).
    func firstEvent(_ watch: Watch, within limit: Duration?) async -> WatchedEvent? {
        guard let limit else {
            var events = watch.makeAsyncIterator()
            return await events.next()
        }
        return await withTaskGroup(of: WatchedEvent?.self) { group in
            group.addTask {
                var events = watch.makeAsyncIterator()
                return await events.next()
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

/// A sequential node's name: a random tag that lets its creator find it again after a
/// connection loss hid the create's reply (Curator's "protected" names), the recipe's prefix,
/// then ZooKeeper's ten-digit sequence number.
struct SequentialName {
    static func tag() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = generator.next() as UInt64
        return "_c_" + String(bits, radix: 16) + "-"
    }

    static func sequence(_ name: String) -> Int64 {
        Int64(name.suffix(10)) ?? Int64.max
    }

    static func sorted(_ names: [String]) -> [String] {
        names.sorted { sequence($0) < sequence($1) }
    }
}

/// The reasons a recipe gives up.
public enum RecipeError: Error, Sendable, Equatable {
    /// The wait ran past its timeout; nothing is left behind.
    case timedOut
    /// The recipe is not held (unlock without lock, leave without enter).
    case notHeld
}
