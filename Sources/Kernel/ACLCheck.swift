import Jute

/// ACL validation at write time, as ZooKeeper's fixupACL: no empty lists, `world` only for
/// `anyone`, `auth` expanded to the session's authenticated ids, duplicates removed.
/// Enforcement of permissions and the pluggable schemes arrive with the auth modules.
enum ACLCheck {
    static func fixup(_ acl: [ACL], session: Session) throws(KeeperError) -> [ACL] {
        guard !acl.isEmpty else { throw .invalidACL }
        var result: [ACL] = []
        for entry in acl {
            switch entry.id.scheme {
            case "world":
                guard entry.id.id == "anyone" else { throw .invalidACL }
                append(entry, to: &result)
            case "auth":
                let ids = session.authIds.filter { $0.scheme != "ip" }
                guard !ids.isEmpty else { throw .invalidACL }
                for id in ids { append(ACL(perms: entry.perms, id: id), to: &result) }
            case "digest":
                guard entry.id.id.contains(":") else { throw .invalidACL }
                append(entry, to: &result)
            case "ip":
                guard !entry.id.id.isEmpty else { throw .invalidACL }
                append(entry, to: &result)
            default:
                throw .invalidACL
            }
        }
        return result
    }

    private static func append(_ entry: ACL, to list: inout [ACL]) {
        if !list.contains(entry) { list.append(entry) }
    }
}
