// swift-tools-version: 6.1
// libFuzzer harnesses for Tocsin's parsers of outside input. A package of its own so that the main `swift build`
// never compiles it; it is built with sanitizers into its own scratch folder by `Fuzz/run.sh` (`make fuzz`,
// `make fuzz-ci`). One executable per harness, each defining `LLVMFuzzerTestOneInput`.
import PackageDescription

let package = Package(
    name: "TocsinFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that the products resolve whatever the checkout's folder is called.
        .package(name: "Tocsin", path: ".."),
    ],
    targets: [
        // The shipped configuration and the checks every harness shares.
        .target(name: "FuzzSupport", dependencies: [
            .product(name: "TocsinCore", package: "Tocsin"), .product(name: "TocsinConfig", package: "Tocsin"),
        ]),
        .executableTarget(name: "fuzz-event", dependencies: [
            "FuzzSupport", .product(name: "TocsinCore", package: "Tocsin"),
        ]),
        .executableTarget(name: "fuzz-command", dependencies: [
            "FuzzSupport", .product(name: "TocsinCore", package: "Tocsin"),
            .product(name: "TocsinWorkers", package: "Tocsin"),
        ]),
        .executableTarget(name: "fuzz-config", dependencies: [
            "FuzzSupport", .product(name: "TocsinCore", package: "Tocsin"),
            .product(name: "TocsinConfig", package: "Tocsin"),
        ]),
        .executableTarget(name: "fuzz-scenario", dependencies: [
            "FuzzSupport", .product(name: "TocsinCore", package: "Tocsin"),
            .product(name: "TocsinConfig", package: "Tocsin"), .product(name: "TocsinDrill", package: "Tocsin"),
        ]),
    ]
)
