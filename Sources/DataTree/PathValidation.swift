import Jute

/// ZooKeeper's path rules (PathUtils.validatePath): absolute, no empty, "." or ".." segments,
/// no trailing slash, no control or reserved characters.
public enum PathValidation {
    /// Returns nil when `path` is valid, or the reason it is not. A sequential create is checked
    /// with a digit appended, since the server adds the suffix (so "/a/" is a valid prefix).
    public static func problem(_ path: String, sequential: Bool = false) -> String? {
        if PlainPath.isPlain(path, sequential: sequential) { return nil }
        return problemInEveryScalar(path, sequential: sequential)
    }

    /// The rules over Unicode scalars, with ZooKeeper's message and index.
    static func problemInEveryScalar(_ path: String, sequential: Bool) -> String? {
        let path = sequential ? path + "1" : path
        let scalars = Array(path.unicodeScalars)
        guard !scalars.isEmpty else { return "Path length must be > 0" }
        guard scalars[0] == "/" else { return "Path must start with / character" }
        if scalars.count == 1 { return nil }
        guard scalars[scalars.count - 1] != "/" else { return "Path must not end with / character" }
        var previous: Unicode.Scalar = "/"
        for i in 1..<scalars.count {
            let c = scalars[i]
            if c == "\u{0}" { return "null character not allowed @\(i)" }
            if c == "/" && previous == "/" { return "empty node name specified @\(i)" }
            if c == "." && previous == "." {
                let segmentStart = scalars[i - 2] == "/"
                let segmentEnd = i + 1 == scalars.count || scalars[i + 1] == "/"
                if segmentStart && segmentEnd { return "relative paths not allowed @\(i)" }
            } else if c == "." && previous == "/" {
                if i + 1 == scalars.count || scalars[i + 1] == "/" { return "relative paths not allowed @\(i)" }
            }
            if isReserved(c) { return "invalid character @\(i)" }
            previous = c
        }
        return nil
    }

    private static func isReserved(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (v > 0x00 && v <= 0x1f) || (v >= 0x7f && v <= 0x9f) || (v >= 0xd800 && v <= 0xf8ff)
            || (v >= 0xfff0 && v <= 0xffff)
    }

    /// The parent of an absolute path other than "/".
    public static func parent(of path: String) -> String {
        let slash = lastSlashOffset(path)
        guard slash > 0 else { return "/" }
        return String(path[..<path.utf8.index(path.utf8.startIndex, offsetBy: slash)])
    }

    /// The last segment of an absolute path other than "/".
    public static func name(of path: String) -> String {
        String(path[path.utf8.index(path.utf8.startIndex, offsetBy: lastSlashOffset(path) + 1)...])
    }

    /// True when the path starts with "/" and holds no NUL: what must hold before parent(of:)
    /// may be asked.
    public static func isAbsoluteWithoutNull(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { $0.first == UInt8(ascii: "/") && !$0.contains(0) }
    }

    /// Offset of the last "/" in the UTF-8 of an absolute path. Over the contiguous buffer: the
    /// UTF8View's lastIndex(of:) cost ~300 instructions a path, on every create and delete.
    private static func lastSlashOffset(_ path: String) -> Int {
        var path = path
        return path.withUTF8 { bytes in
            assert(bytes.first == UInt8(ascii: "/"), "an absolute path")
            var offset = bytes.count - 1
            while offset > 0 && bytes[offset] != UInt8(ascii: "/") { offset -= 1 }
            return offset
        }
    }

    /// `child` under `parent`, minding that the root already ends with a slash.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}
