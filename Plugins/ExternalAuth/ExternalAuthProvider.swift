import AuthPluginABI
import Glibc
import ModuleAPI

/// An auth scheme from a shared library that implements Paddock's C ABI
/// (Plugins/AuthPluginABI/include/paddock_auth_plugin.h), so operators swap auth without
/// rebuilding the server.
///
/// Why @unchecked Sendable is safe: the plugin's description is immutable after loading and the
/// kernel calls its functions from its one executor thread, as the ABI promises plugins.
public final class ExternalAuthProvider: AuthProvider, @unchecked Sendable {
    private let plugin: paddock_auth_plugin
    public let scheme: String
    public let path: String

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads the library at `path` and checks its ABI version. The library stays loaded for the
    /// life of the process (RTLD_NODELETE), as the ABI promises plugins.
    public init(path: String) throws(LoadError) {
        self.path = path
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw LoadError(description: "cannot load auth plugin \(path): \(reason)")
        }
        guard let symbol = dlsym(handle, PADDOCK_AUTH_PLUGIN_ENTRY) else {
            throw LoadError(description: "\(path) is not a Paddock auth plugin: no \(PADDOCK_AUTH_PLUGIN_ENTRY) symbol")
        }
        let entry = unsafeBitCast(symbol, to: paddock_auth_plugin_entry_fn.self)
        guard let description = entry() else { throw LoadError(description: "\(path): \(PADDOCK_AUTH_PLUGIN_ENTRY) returned NULL") }
        plugin = description.pointee
        guard plugin.abi_version == paddock_auth_plugin_abi_version else {
            throw LoadError(description: "\(path) implements auth plugin ABI version \(plugin.abi_version); this server needs version \(paddock_auth_plugin_abi_version)")
        }
        guard let name = plugin.scheme, plugin.authenticate != nil, plugin.matches != nil, plugin.is_valid != nil else {
            throw LoadError(description: "\(path): the plugin description lacks a scheme or a function")
        }
        scheme = String(cString: name)
    }

    public var isAuthenticated: Bool { plugin.is_authenticated != 0 }

    public func authenticate(_ auth: [UInt8], remoteHost: String) -> [String]? {
        var id = [CChar](repeating: 0, count: Int(PADDOCK_AUTH_PLUGIN_ID_BYTES_MAX))
        let status = auth.withUnsafeBufferPointer { bytes in
            plugin.authenticate(bytes.baseAddress, bytes.count, remoteHost, &id, id.count)
        }
        guard status == 0 else { return nil }
        id[id.count - 1] = 0 // never trust a plugin to terminate
        return [String(decoding: id.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)]
    }

    public func matches(id: String, expression: String) -> Bool { plugin.matches(id, expression) != 0 }

    public func isValid(expression: String) -> Bool { plugin.is_valid(expression) != 0 }

    public func userName(for id: String) -> String { id }
}
