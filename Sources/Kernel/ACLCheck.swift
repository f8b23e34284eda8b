import Jute
import ModuleAPI

/// ZooKeeper's ACL rules: validation when an ACL is set (fixupACL) and the permission check on
/// every op that needs one (checkACL). Schemes other than world and auth belong to auth modules.
struct ACLPolicy {
    /// Auth modules by scheme.
    let providers: [String: any AuthProvider]
    /// `skipACL=yes`: every permission check passes, as in ZooKeeper.
    let skipACL: Bool
    /// The digest id that is the superuser (`DigestAuthenticationProvider.superDigest`).
    let superDigest: String?

    static let superId = Id(scheme: "super", id: "")

    /// No empty lists, `world` only for `anyone`, `auth` expanded to the session's
    /// authenticated ids, each other id checked by its scheme's module. Duplicates are removed
    /// before `auth` expands, as ZooKeeper does (so an expansion may repeat an explicit entry).
    func fixup(_ acl: [ACL], session: Session) throws(KeeperError) -> [ACL] {
        guard !acl.isEmpty else { throw .invalidACL }
        var unique: [ACL] = []
        for entry in acl where !unique.contains(entry) { unique.append(entry) }
        var result: [ACL] = []
        for entry in unique {
            switch entry.id.scheme {
            case "world":
                guard entry.id.id == "anyone" else { throw .invalidACL }
                result.append(entry)
            case "auth":
                let ids = session.authIds.filter { providers[$0.scheme]?.isAuthenticated == true }
                guard !ids.isEmpty else { throw .invalidACL }
                result += ids.map { ACL(perms: entry.perms, id: $0) }
            default:
                guard let provider = providers[entry.id.scheme], provider.isValid(expression: entry.id.id) else {
                    throw .invalidACL
                }
                result.append(entry)
            }
        }
        return result
    }

    /// Passes when some entry grants one of `perms` to world:anyone or to one of the session's
    /// ids (as that scheme's module matches it); the superuser and an empty ACL always pass.
    func check(_ perms: Int32, _ acl: [ACL], session: Session) throws(KeeperError) {
        if skipACL || acl.isEmpty || session.authIds.contains(Self.superId) { return }
        for entry in acl where entry.perms & perms != 0 {
            if entry.id.scheme == "world" && entry.id.id == "anyone" { return }
            guard let provider = providers[entry.id.scheme] else { continue }
            for id in session.authIds where id.scheme == entry.id.scheme {
                if provider.matches(id: id.id, expression: entry.id.id) { return }
            }
        }
        throw .noAuth
    }

    func allows(_ perms: Int32, _ acl: [ACL], session: Session) -> Bool {
        (try? check(perms, acl, session: session)) != nil
    }

    /// getACL for a caller without ADMIN: digest hashes are hidden (`user:x`), as ZooKeeper does.
    func redacted(_ acl: [ACL]) -> [ACL] {
        acl.map { entry in
            guard entry.id.scheme == "digest", let colon = entry.id.id.firstIndex(of: ":") else { return entry }
            return ACL(perms: entry.perms, id: Id(scheme: "digest", id: entry.id.id[..<colon] + ":x"))
        }
    }

    /// The ids a successful `addauth` adds: the module's, plus super for the superDigest.
    func idsAfterAuthentication(scheme: String, ids: [String]) -> [Id] {
        var result = ids.map { Id(scheme: scheme, id: $0) }
        if scheme == "digest", let superDigest, ids.contains(superDigest) { result.append(Self.superId) }
        return result
    }
}
