// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Tocsin",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tocsin", targets: ["tocsin"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "TocsinCore", targets: ["TocsinCore"]),
        // For the fuzzing package in Fuzz/ (built with sanitizers, outside the main build).
        .library(name: "TocsinConfig", targets: ["TocsinConfig"]),
        .library(name: "TocsinDrill", targets: ["TocsinDrill"]),
        .library(name: "TocsinWorkers", targets: ["TocsinWorkers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
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
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // The command-center HTTP server: JSON API, live stream, CAP feed, /metrics, the dashboard.
        .target(name: "TocsinHTTP", dependencies: [
            "TocsinCore", "TocsinConfig", "TocsinStore", "TocsinWorkers", "ZeroMQ",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `tocsin watch`: the terminal console (model, renderer, terminal I/O).
        .target(name: "TocsinWatch", dependencies: ["TocsinCore", "ZeroMQ"]),
        // Test support: a SQLite VFS that drops unsynced writes on a simulated power loss (power-loss tests only).
        .target(name: "CPowerLossVFS", linkerSettings: [.linkedLibrary("sqlite3")]),
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
            "TocsinHTTP", "TocsinWatch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tocsin-bench", dependencies: [
            "CZeroMQ", "TocsinConfig", "TocsinCore", "TocsinStore", "TocsinWorkers", "ZeroMQ",
            "TocsinDrill", "TocsinDrillRunner",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Benchmarks/tocsin-bench"),
        // The fault suite (`make soak`; short form in `make test`): its platform and subscriber child processes,
        // and the suite that kills, pauses and stops Tocsin around them.
        .executableTarget(name: "tocsin-soak", dependencies: [
            "TocsinTesting", "TocsinCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TocsinSoakTests", dependencies: ["TocsinTesting", "TocsinStore", "TocsinCore"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TocsinCoreTests", dependencies: ["TocsinCore", "TocsinTesting"]),
        .testTarget(name: "TocsinConfigTests", dependencies: ["TocsinConfig", "TocsinTesting"]),
        .testTarget(name: "TocsinDrillTests", dependencies: ["TocsinDrill", "TocsinTesting"]),
        .testTarget(name: "TocsinDrillRunnerTests", dependencies: [
            "TocsinDrillRunner", "TocsinDrill", "TocsinTesting", "TocsinConfig", "TocsinCore",
        ]),
        .testTarget(name: "TocsinStoreTests", dependencies: ["TocsinStore", "TocsinTesting"]),
        .testTarget(name: "TocsinHTTPTests", dependencies: [
            "TocsinHTTP", "TocsinWorkers", "TocsinTesting", "TocsinConfig", "TocsinCore", "ZeroMQ",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "TocsinWatchTests", dependencies: ["TocsinWatch", "TocsinTesting", "TocsinCore"]),
        .testTarget(name: "TocsinWorkersTests", dependencies: [
            "TocsinWorkers", "TocsinTesting", "ZeroMQ", "TocsinStore", "CPowerLossVFS",
        ]),
    ]
)
