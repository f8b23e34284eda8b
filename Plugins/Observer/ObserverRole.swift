import ModuleAPI

/// ZooKeeper's observer (`peerType=observer` with a `server.N=...:observer` line): follows the
/// leader without voting. It takes no part in elections beyond learning the leader, counts
/// toward no quorum, gets committed txns as INFORM, serves reads and forwards writes.
public struct ObserverRole: PeerRole {
    public init() {}
    public var name: String { "observer" }
    public var votes: Bool { false }
}
