// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Tocsin",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tocsin", targets: ["tocsin"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "TocsinCore", targets: ["TocsinCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // libzmq, the system C library (Debian: libzmq3-dev).
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        // Our safe wrapper: context, sockets, frames, poller, CURVE keys, ZAP.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ", .product(name: "Logging", package: "swift-log")]),
        // The pure domain: no ZeroMQ, no SQLite.
        .target(name: "TocsinCore"),
        // YAML loading and validation into core types.
        .target(name: "TocsinConfig", dependencies: ["TocsinCore", "Yams"]),
        // The journal and durable state, behind small protocols.
        .target(name: "TocsinStore", dependencies: [
            "TocsinCore", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Workers, the bus over ZeroMQ, the in-process supervisor.
        .target(name: "TocsinWorkers", dependencies: [
            "TocsinCore", "TocsinConfig", "TocsinStore", "ZeroMQ",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test support: builders, temp folders, fixtures.
        .target(name: "TocsinTesting", dependencies: ["TocsinCore", "TocsinConfig", "ZeroMQ"]),
        // Drills: scenarios, their expansion and evaluation, the after-action report (pure; the runner drives it).
        .target(name: "TocsinDrill", dependencies: ["TocsinCore", "TocsinConfig", "Yams"]),
        // The drill runner: drives the real workers (in process on a virtual clock, or a running instance).
        .target(name: "TocsinDrillRunner", dependencies: [
            "TocsinDrill", "TocsinWorkers", "TocsinConfig", "TocsinCore", "ZeroMQ",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tocsin", dependencies: [
            "TocsinCore", "TocsinConfig", "TocsinStore", "TocsinWorkers", "ZeroMQ", "TocsinDrill", "TocsinDrillRunner",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tocsin-bench", dependencies: [
            "CZeroMQ", "TocsinConfig", "TocsinCore", "TocsinStore", "TocsinWorkers", "ZeroMQ",
            "TocsinDrill", "TocsinDrillRunner",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Benchmarks/tocsin-bench"),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TocsinCoreTests", dependencies: ["TocsinCore", "TocsinTesting"]),
        .testTarget(name: "TocsinConfigTests", dependencies: ["TocsinConfig", "TocsinTesting"]),
        .testTarget(name: "TocsinDrillTests", dependencies: ["TocsinDrill", "TocsinTesting"]),
        .testTarget(name: "TocsinDrillRunnerTests", dependencies: [
            "TocsinDrillRunner", "TocsinDrill", "TocsinTesting", "TocsinConfig", "TocsinCore",
        ]),
        .testTarget(name: "TocsinStoreTests", dependencies: ["TocsinStore", "TocsinTesting"]),
        .testTarget(name: "TocsinWorkersTests", dependencies: [
            "TocsinWorkers", "TocsinTesting", "ZeroMQ", "TocsinStore",
        ]),
    ]
)
