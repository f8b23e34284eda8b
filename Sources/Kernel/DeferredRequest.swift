import Jute

/// A parsed client request, kept whole so it can wait behind its session's pending writes.
struct DeferredRequest {
    let connection: ServerConnection
    let header: RequestHeader
    /// Positioned after the request header.
    let reader: JuteReader
    let startedMs: Int64

    var isWrite: Bool { OpCode(rawValue: header.type).map(\.isWrite) ?? false }
}

extension OpCode {
    /// Ops that become transactions (and so wait for the log before their reply).
    var isWrite: Bool {
        switch self {
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .setACL, .check, .multi, .reconfig,
             .closeSession:
            true
        default:
            false
        }
    }
}
