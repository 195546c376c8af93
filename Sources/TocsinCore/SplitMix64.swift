/// SplitMix64 (Steele, Lea, Flood 2014): a small seeded generator, fast and the same on every platform, for what
/// must come out the same from the same seed (a drill's expanded injects, the benchmark's events, a soak run's
/// schedule of faults, tests' random scripts). Not for anything that must be unpredictable.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
