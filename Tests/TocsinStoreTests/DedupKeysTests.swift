import Testing
import TocsinCore
@testable import TocsinStore

@Suite struct DedupKeysTests {
    @Test func insertsAndRemovesAsASetDoes() {
        var random = SplitMix64(seed: 7)
        var keys = DedupKeys()
        var reference = Set<Int64>()
        // Few distinct keys (a pool of 3,000) so that inserts repeat and removals hit; 0 and -1 among them.
        var pool: [Int64] = [0, -1, Int64.min, Int64.max]
        for _ in 0..<2_996 { pool.append(Int64(bitPattern: random.next())) }
        for step in 0..<200_000 {
            let key = pool[Int(random.next() % UInt64(pool.count))]
            if random.next() % 3 == 0 {
                keys.remove(key)
                reference.remove(key)
            } else {
                let inserted = keys.insert(key)
                #expect(inserted == reference.insert(key).inserted, "step \(step), key \(key)")
            }
            if step % 10_000 == 0 {
                let count = keys.count
                #expect(count == reference.count)
                for k in pool {
                    let has = keys.contains(k)
                    #expect(has == reference.contains(k), "step \(step), key \(k)")
                }
            }
        }
        let count = keys.count
        #expect(count == reference.count)
        for k in pool {
            let has = keys.contains(k)
            #expect(has == reference.contains(k))
        }
    }

    @Test func keysWhoseRunsWrapAroundTheTableStayReachableAfterRemovals() {
        // Keys ending up in the table's last slots (a run crossing the end), then every other one removed.
        var keys = DedupKeys()
        var random = SplitMix64(seed: 11)
        var present: [Int64] = []
        while present.count < 40 {
            let k = Int64(bitPattern: random.next())
            // Home slot = the top 6 bits of k x golden (64 slots while under 48 keys): the last two slots.
            if (UInt64(bitPattern: k) &* 0x9E37_79B9_7F4A_7C15) >> 58 >= 62 {
                let inserted = keys.insert(k)
                #expect(inserted)
                present.append(k)
            }
        }
        for (n, k) in present.enumerated() where n % 2 == 0 { keys.remove(k) }
        for (n, k) in present.enumerated() {
            let has = keys.contains(k)
            #expect(has == (n % 2 == 1))
        }
        let count = keys.count
        #expect(count == 20)
    }

    @Test func growsPastAMillionKeys() {
        var keys = DedupKeys()
        var random = SplitMix64(seed: 3)
        var all: [Int64] = []
        var refused = 0
        for _ in 0..<1_200_000 {
            let k = Int64(bitPattern: random.next())
            all.append(k)
            if !keys.insert(k) { refused += 1 }
        }
        #expect(refused == 0)
        var missing = 0, inserted = 0
        for k in all where !keys.contains(k) { missing += 1 }
        // Every one of them again: each known.
        for k in all where keys.insert(k) { inserted += 1 }
        let count = keys.count
        #expect(missing == 0 && inserted == 0)
        #expect(count == all.count)
    }
}
