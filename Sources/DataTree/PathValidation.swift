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
        let utf8 = path.utf8
        let slash = utf8.lastIndex(of: UInt8(ascii: "/"))!
        return slash == utf8.startIndex ? "/" : String(path[..<slash])
    }

    /// The last segment of an absolute path other than "/".
    public static func name(of path: String) -> String {
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))!
        return String(path[path.utf8.index(after: slash)...])
    }

    /// `child` under `parent`, minding that the root already ends with a slash.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}
