import Foundation
import TocsinCore

/// How big the fault suite runs: `short` inside `make test` (well under 90 s on two cores), `full` with
/// `TOCSIN_SOAK=full` (`make soak`: the sizes the issue asks for, many minutes).
struct SoakSize: Sendable, CustomStringConvertible {
    var name: String
    // crash
    var crashEvents: Int
    var crashKills: Int
    // pause
    var pauseEvents: Int
    var pauses: Int
    var pauseSeconds: Double
    // subscribers
    var burstMessages: Int
    /// How long the platforms take to send the burst's events (the feed follows), so that faults land inside it.
    var burstSeconds: Double
    var subscriberPauseSeconds: Double
    // shutdown
    var shutdowns: Int
    var shutdownEvents: Int

    static let short = SoakSize(name: "short", crashEvents: 20_000, crashKills: 3, pauseEvents: 8_000, pauses: 2,
                                pauseSeconds: 2, burstMessages: 10_000, burstSeconds: 6, subscriberPauseSeconds: 2, shutdowns: 10,
                                shutdownEvents: 8_000)
    static let full = SoakSize(name: "full", crashEvents: 200_000, crashKills: 20, pauseEvents: 80_000, pauses: 10,
                               pauseSeconds: 20, burstMessages: 100_000, burstSeconds: 60, subscriberPauseSeconds: 10, shutdowns: 100,
                               shutdownEvents: 80_000)

    /// `TOCSIN_SOAK=full` picks the full sizes; anything else the short ones.
    static var current: SoakSize {
        ProcessInfo.processInfo.environment["TOCSIN_SOAK"] == "full" ? .full : .short
    }

    var description: String { name }

    /// The full sizes: the suite then allows much longer waits (many minutes on two cores).
    var isFull: Bool { name == "full" }
}

/// A small seeded generator (SplitMix64), so that a run's schedule of faults can be repeated: the seed is printed,
/// and `TOCSIN_SOAK_SEED` sets it.
struct SoakRandom: RandomNumberGenerator {
    private var generator: SplitMix64
    let seed: UInt64

    init() {
        let env = ProcessInfo.processInfo.environment["TOCSIN_SOAK_SEED"].flatMap(UInt64.init)
        seed = env ?? UInt64.random(in: 1...UInt64(UInt32.max))
        generator = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { generator.next() }
}
