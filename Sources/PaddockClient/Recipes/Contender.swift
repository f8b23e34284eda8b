/// Waiting in line with an ephemeral sequential node, the core of the lock, read/write lock and
/// leader latch recipes: create a node under `directory`, then until no earlier node blocks it
/// wait for the deletion of the nearest blocking one (watching one node, not the whole list, so
/// a release wakes one waiter). A timeout or an error removes the node.
struct Contender {
    let client: ZooKeeperClient
    let directory: String
    let prefix: String

    /// `blocker(earlier)` names the node this one must wait for, among those ahead of it in
    /// sequence order, or nil when it holds. Returns the node's path once it holds.
    func wait(timeout: Duration?, blocker: ([String]) -> String?) async throws -> String {
        try await client.ensurePath(directory)
        let tag = SequentialName.tag()
        let name = try await createNode(tag: tag)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        do {
            while true {
                let children = SequentialName.sorted(try await client.getChildren(directory).children)
                guard let mine = children.firstIndex(of: name) else { throw ClientError.keeper(.noNode, path: directory + "/" + name) }
                guard let blocking = blocker(Array(children[..<mine])) else { return directory + "/" + name }
                let (stat, watch) = try await client.existsAndWatch(directory + "/" + blocking)
                guard stat != nil else { continue }
                let remaining = deadline.map { $0 - ContinuousClock.now }
                if let remaining, remaining <= .zero { throw RecipeError.timedOut }
                guard let event = await client.firstEvent(watch, within: remaining) else { throw RecipeError.timedOut }
                if event.type == .none { throw ClientError.keeper(.sessionExpired, path: directory) }
            }
        } catch {
            try? await client.delete(directory + "/" + name)
            throw error
        }
    }

    /// Creates this contender's node; after a connection loss, finds it by its tag if the create
    /// went through.
    private func createNode(tag: String) async throws -> String {
        do {
            let path = try await client.create(directory + "/" + tag + prefix, mode: .ephemeralSequential).path
            return String(path.dropFirst(directory.count + 1))
        } catch let error as ClientError where error.code == .connectionLoss {
            if let found = try await client.getChildren(directory).children.first(where: { $0.hasPrefix(tag) }) { return found }
            throw error
        }
    }

    static func isWrite(_ name: String) -> Bool { name.contains("-write-") }
}
