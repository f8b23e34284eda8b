import Jute
import ModuleAPI

/// ACL validation at write time, as ZooKeeper's fixupACL: no empty lists, `world` only for
/// `anyone`, `auth` expanded to the session's authenticated ids, duplicates removed.
/// Other schemes are checked by their auth module. Enforcement of permissions is issue 4's.
enum ACLCheck {
    static func fixup(_ acl: [ACL], session: Session, providers: [String: any AuthProvider]) throws(KeeperError) -> [ACL] {
        guard !acl.isEmpty else { throw .invalidACL }
        var result: [ACL] = []
        for entry in acl {
            switch entry.id.scheme {
            case "world":
                guard entry.id.id == "anyone" else { throw .invalidACL }
                append(entry, to: &result)
            case "auth":
                let ids = session.authIds.filter { providers[$0.scheme]?.isAuthenticated == true }
                guard !ids.isEmpty else { throw .invalidACL }
                for id in ids { append(ACL(perms: entry.perms, id: id), to: &result) }
            default:
                guard let provider = providers[entry.id.scheme], provider.isValid(expression: entry.id.id) else {
                    throw .invalidACL
                }
                append(entry, to: &result)
            }
        }
        return result
    }

    private static func append(_ entry: ACL, to list: inout [ACL]) {
        if !list.contains(entry) { list.append(entry) }
    }
}
