import Testing
import TocsinConfig
import TocsinWorkers

/// The token buckets themselves, on a clock the test drives.
@Suite struct RateLimiterTests {
    let slow = RateLimit(eventsPerSecond: 10, burst: 5)

    @Test func aBurstPassesThenTheRate() {
        var limiter = PlatformRateLimiter(limits: IngestRateLimits(perPlatform: slow))
        let first = (0..<8).map { _ in limiter.take("sz.futian.shatou", now: 100) }
        #expect(first.filter { $0 == nil }.count == 5)
        #expect(first.suffix(3).allSatisfy { $0 == slow })
        // 0.25 s later: 2.5 tokens back, so two more pass.
        let later = (0..<4).map { _ in limiter.take("sz.futian.shatou", now: 100.25) }
        #expect(later.filter { $0 == nil }.count == 2)
        // A long quiet spell refills to the burst, not beyond.
        let rested = (0..<10).map { _ in limiter.take("sz.futian.shatou", now: 1000) }
        #expect(rested.filter { $0 == nil }.count == 5)
    }

    @Test func platformsHaveTheirOwnBuckets() {
        var limiter = PlatformRateLimiter(limits: IngestRateLimits(perPlatform: slow))
        for _ in 0..<20 { _ = limiter.take("sz.nanshan.yuehai", now: 5) }
        #expect(limiter.take("sz.nanshan.yuehai", now: 5) == slow)
        #expect(limiter.take("sz.futian.shatou", now: 5) == nil)
        #expect(limiter.bucketCount == 2)
    }

    @Test func overridesAndOff() {
        let fast = RateLimit(eventsPerSecond: 1000, burst: 100)
        var limiter = PlatformRateLimiter(limits: IngestRateLimits(perPlatform: slow, overrides: ["sz": fast]))
        var passed = 0
        for _ in 0..<101 where limiter.take("sz", now: 1) == nil { passed += 1 }
        #expect(passed == 100)
        #expect(limiter.take("sz", now: 1) == fast)
        var off = PlatformRateLimiter(limits: .off)
        #expect(!off.isActive)
        var refused = 0
        for _ in 0..<10_000 where off.take("sz", now: 1) != nil { refused += 1 }
        #expect(refused == 0)
    }

    @Test func aReloadKeepsTokensWithinTheNewBurst() {
        var limiter = PlatformRateLimiter(limits: IngestRateLimits(perPlatform: RateLimit(eventsPerSecond: 1, burst: 100)))
        #expect(limiter.take("sz", now: 0) == nil)
        limiter.update(IngestRateLimits(perPlatform: slow))
        let after = (0..<10).map { _ in limiter.take("sz", now: 0) }
        #expect(after.filter { $0 == nil }.count == 5)
    }
}
