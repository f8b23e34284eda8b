/// The common case of ZooKeeper's path rules, shared by the server's and the client's checks so
/// that neither walks Unicode scalars or UTF-16 units for an everyday path.
public enum PlainPath {
    /// True for an absolute path of printable ASCII whose segments are neither empty, "." nor
    /// "..", decided in one pass over the UTF-8 bytes. Such a path passes ZooKeeper's PathUtils
    /// rules; anything else must go through the full checks, which name the reason and index.
    public static func isPlain(_ path: String, sequential: Bool) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var bytes = path.utf8.makeIterator()
        guard bytes.next() == slash else { return false }
        var segmentLength = 0
        var onlyDots = true
        while let byte = bytes.next() {
            guard byte >= 0x20 && byte < 0x7f else { return false }
            if byte == slash {
                guard segmentLength > 0, !(onlyDots && segmentLength <= 2) else { return false }
                segmentLength = 0
                onlyDots = true
            } else {
                segmentLength += 1
                onlyDots = onlyDots && byte == dot
            }
        }
        // A sequential create appends a number to the last segment, so any last segment will do.
        if sequential || path.utf8.count == 1 { return true }
        return segmentLength > 0 && !(onlyDots && segmentLength <= 2)
    }
}
