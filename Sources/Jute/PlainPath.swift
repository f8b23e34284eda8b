/// The common case of ZooKeeper's path rules, shared by the server's and the client's checks so
/// that neither walks Unicode scalars or UTF-16 units for an everyday path.
public enum PlainPath {
    /// True for an absolute path of printable ASCII whose segments are neither empty, "." nor
    /// "..", decided in one pass over the UTF-8 bytes. Such a path passes ZooKeeper's PathUtils
    /// rules; anything else must go through the full checks, which name the reason and index.
    public static func isPlain(_ path: String, sequential: Bool) -> Bool {
        var path = path
        // Over the contiguous UTF-8 buffer: String's UTF8View iterator cost ~40 instructions a byte.
        return path.withUTF8 { isPlain(utf8: $0, sequential: sequential) }
    }

    private static func isPlain(utf8 bytes: UnsafeBufferPointer<UInt8>, sequential: Bool) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        guard bytes.first == slash else { return false }
        var segmentLength = 0
        var onlyDots = true
        for byte in bytes.dropFirst() {
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
        if sequential || bytes.count == 1 { return true }
        return segmentLength > 0 && !(onlyDots && segmentLength <= 2)
    }
}
