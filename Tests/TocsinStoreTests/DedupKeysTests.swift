import Testing
import TocsinCore
@testable import TocsinStore

@Suite struct DedupKeysTests {
    /// The rows kept under `key`, in any order.
    static func seqs(_ keys: borrowing DedupKeys, _ key: Int64) -> Set<Int64> {
        var out = Set<Int64>()
        _ = keys.contains(key) { out.insert($0); return false }
        return out
    }

    @Test func keepsAndForgetsPairsAsADictionaryOfSetsDoes() {
        var random = SplitMix64(seed: 7)
        var keys = DedupKeys()
        var reference: [Int64: Set<Int64>] = [:]
        var pairs: [(key: Int64, seq: Int64)] = []
        // Few distinct keys (a pool of 3,000) so that keys repeat under several rows and removals hit; 0, -1 and
        // the extremes among them.
        var pool: [Int64] = [0, -1, Int64.min, Int64.max]
        for _ in 0..<2_996 { pool.append(Int64(bitPattern: random.next())) }
        var nextSeq: Int64 = 1
        for step in 0..<200_000 {
            if random.next() % 3 == 0, !pairs.isEmpty {
                let n = Int(random.next() % UInt64(pairs.count))
                let (key, seq) = pairs.remove(at: n)
                keys.remove(key, seq: seq)
                reference[key]?.remove(seq)
            } else {
                let key = pool[Int(random.next() % UInt64(pool.count))]
                keys.insert(key, seq: nextSeq)
                reference[key, default: []].insert(nextSeq)
                pairs.append((key, nextSeq))
                nextSeq += 1
            }
            if step % 10_000 == 0 {
                let count = keys.count
                #expect(count == pairs.count)
                for k in pool {
                    let kept = Self.seqs(keys, k)
                    #expect(kept == reference[k] ?? [], "step \(step), key \(k)")
                }
            }
        }
        for k in pool {
            let kept = Self.seqs(keys, k)
            #expect(kept == reference[k] ?? [])
        }
        // Removing a pair that is not kept changes nothing.
        let before = keys.count
        keys.remove(pool[0], seq: nextSeq + 1)
        let after = keys.count
        #expect(before == after)
    }

    @Test func pairsWhoseRunsWrapAroundTheTableStayReachableAfterRemovals() {
        // Keys ending up in the table's last slots (a run crossing the end), some of them twice, then every
        // other pair removed.
        var keys = DedupKeys()
        var random = SplitMix64(seed: 11)
        var present: [(Int64, Int64)] = []
        var seq: Int64 = 1
        while present.count < 40 {
            let k = Int64(bitPattern: random.next())
            // Home slot = the top 6 bits of k x golden (64 slots while under 48 pairs): the last two slots.
            if (UInt64(bitPattern: k) &* 0x9E37_79B9_7F4A_7C15) >> 58 >= 62 {
                for _ in 0..<(present.count % 3 == 0 ? 2 : 1) where present.count < 40 {
                    keys.insert(k, seq: seq)
                    present.append((k, seq))
                    seq += 1
                }
            }
        }
        for (n, (k, s)) in present.enumerated() where n % 2 == 0 { keys.remove(k, seq: s) }
        for (n, (k, s)) in present.enumerated() {
            let kept = Self.seqs(keys, k).contains(s)
            #expect(kept == (n % 2 == 1))
        }
        let count = keys.count
        #expect(count == 20)
    }

    @Test func growsPastAMillionKeys() {
        var keys = DedupKeys()
        var random = SplitMix64(seed: 3)
        var all: [Int64] = []
        for n in 0..<1_200_000 {
            let k = Int64(bitPattern: random.next())
            all.append(k)
            keys.insert(k, seq: Int64(n + 1))
        }
        var wrong = 0
        for (n, k) in all.enumerated() where Self.seqs(keys, k) != [Int64(n + 1)] { wrong += 1 }
        let count = keys.count
        #expect(wrong == 0)
        #expect(count == all.count)
        let unknown = keys.contains(0x0123_4567_89AB_CDEF)
        #expect(!unknown)
    }
}
