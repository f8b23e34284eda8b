// swift-tools-version:6.2
import PackageDescription

// Paddock: a ZooKeeper-compatible coordination service shaped as a microkernel.
// Targets and what each may import are drawn in ../shared/ARCHITECTURE.md.
let package = Package(
    name: "Paddock",
    products: [
        .executable(name: "paddock", targets: ["paddock"]),
        // The example out-of-tree auth plugin (see Plugins/AuthPluginABI), built as a shared library.
        .library(name: "paddock-token-auth", type: .dynamic, targets: ["TokenAuthExample"]),
        // The async/await client library for Paddock and any ZooKeeper 3.8 server.
        .library(name: "PaddockClient", targets: ["PaddockClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "Jute"),
        .target(name: "DataTree", dependencies: ["Jute"]),
        .target(name: "ZAB", dependencies: ["Jute"]),
        .target(name: "ModuleAPI", dependencies: ["Jute"]),
        .target(
            name: "PaddockClient",
            dependencies: ["Jute", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .target(
            name: "Storage",
            dependencies: ["Jute", "DataTree", "ModuleAPI", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Kernel",
            dependencies: [
                "Jute", "DataTree", "ZAB", "ModuleAPI", "Storage",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .systemLibrary(
            name: "CLibuv", path: "Plugins/CLibuv", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .target(
            name: "LibuvTransport",
            dependencies: ["ModuleAPI", "CLibuv", .product(name: "Logging", package: "swift-log")],
            path: "Plugins/LibuvTransport"
        ),
        .target(
            name: "NIOTransport",
            dependencies: ["ModuleAPI", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Plugins/NIOTransport"
        ),
        .target(name: "DigestAuth", dependencies: ["ModuleAPI"], path: "Plugins/DigestAuth"),
        .target(name: "IPAuth", dependencies: ["ModuleAPI"], path: "Plugins/IPAuth"),
        .target(name: "Observer", dependencies: ["ModuleAPI"], path: "Plugins/Observer"),
        .target(name: "AuthPluginABI", path: "Plugins/AuthPluginABI"),
        .target(name: "ExternalAuth", dependencies: ["ModuleAPI", "AuthPluginABI"], path: "Plugins/ExternalAuth"),
        .target(name: "TokenAuthExample", dependencies: ["AuthPluginABI"], path: "Plugins/TokenAuthExample"),
        .systemLibrary(
            name: "CEditline", path: "Sources/CEditline", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CZlib", path: "Plugins/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "ZlibSnapshot", dependencies: ["ModuleAPI", "CZlib"], path: "Plugins/ZlibSnapshot"),
        .executableTarget(
            name: "paddock",
            dependencies: [
                "Kernel", "ModuleAPI", "Storage", "DataTree", "Jute", "PaddockClient", "CEditline", "LibuvTransport", "NIOTransport", "DigestAuth", "IPAuth", "ExternalAuth", "Observer", "ZlibSnapshot",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "JuteTests", dependencies: ["Jute"], resources: [.copy("Vectors")]),
        .testTarget(name: "DataTreeTests", dependencies: ["DataTree", "Jute"]),
        .testTarget(name: "ZABTests", dependencies: ["ZAB"]),
        // Against live servers: the `paddock` built beside it and Apache ZooKeeper 3.8.
        .testTarget(name: "PaddockClientTests", dependencies: ["PaddockClient"]),
        .testTarget(name: "PaddockCommandTests", dependencies: ["paddock"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "ModuleAPI", "Jute", "DataTree"]),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "DataTree", "Jute", "ModuleAPI", "CodecConformance",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "PluginTests",
            dependencies: ["DigestAuth", "IPAuth", "LibuvTransport", "NIOTransport", "ModuleAPI", "TransportConformance",
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The shared conformance checks every transport module's tests run.
        .target(name: "TransportConformance", dependencies: ["ModuleAPI"], path: "Tests/TransportConformance"),
        // The shared conformance checks every snapshot codec's tests run.
        .target(name: "CodecConformance", dependencies: ["ModuleAPI"], path: "Tests/CodecConformance"),
        .testTarget(name: "ZlibSnapshotTests", dependencies: ["ZlibSnapshot", "ModuleAPI", "CodecConformance"]),
        // Many ZAB engines in one process on a seeded clock, network and disk (engine-level simulation).
        .target(name: "Linearizability", path: "Tests/Linearizability"),
        .executableTarget(
            name: "paddock-fuzz",
            dependencies: ["Kernel", "Storage", "ZAB", "Jute", "DataTree", "ModuleAPI", "ZlibSnapshot",
                           .product(name: "Logging", package: "swift-log")],
            path: "Tests/Fuzz",
            exclude: ["Corpus", "make_corpus.py"]
        ),
        .executableTarget(name: "history-check", dependencies: ["Linearizability"], path: "Tests/HistoryCheck"),
        .testTarget(name: "LinearizabilityTests", dependencies: ["Linearizability", "Simulation"]),
        .target(name: "Simulation", dependencies: ["ZAB", "Jute", "Linearizability"], path: "Tests/Simulation"),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "ZAB", "Jute"]),
    ]
)
