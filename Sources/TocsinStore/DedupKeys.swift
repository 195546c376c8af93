/// The journal's dedup keys in memory, each with the sequence number of the row it came from: one flat table
/// (open addressing, linear probing) of `(key, seq)` pairs.
///
/// The keys are FNV-1a hashes (`dedupKey`), so a multiply by the golden ratio spreads them over the table with
/// no hashing of their own. A key is kept once per row that has it: two events whose keys collide both stay
/// findable, and the journal tells them apart by reading their rows (by `seq`, SQLite's row id). With the row's
/// number at hand the journal needs no SQLite index on the key, whose random inserts dirtied a page of the index
/// for nearly every event of a commit and made each event's write cost grow with the journal (see
/// docs/performance.md, eleventh round). 16 bytes a slot, at most three quarters full.
struct DedupKeys: ~Copyable {
    private var keys: UnsafeMutablePointer<Int64>
    /// `0` marks an empty slot (rows are numbered from 1).
    private var seqs: UnsafeMutablePointer<Int64>
    private var capacity: Int
    private var shift: Int
    /// The number of `(key, seq)` pairs.
    private(set) var count = 0

    init(minimumCapacity: Int = 0) {
        var capacity = 64
        while capacity * 3 / 4 < minimumCapacity { capacity *= 2 }
        self.capacity = capacity
        shift = 64 - capacity.trailingZeroBitCount
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: 0, count: capacity)
        seqs = .allocate(capacity: capacity)
        seqs.initialize(repeating: 0, count: capacity)
    }

    deinit {
        keys.deallocate()
        seqs.deallocate()
    }

    @inline(__always)
    private func home(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }

    /// Calls `body` with the seq of each row kept under `key` until it returns true; true when it did. Almost
    /// every new event's key is in no slot: one probe that finds an empty one.
    @inline(__always)
    func contains(_ key: Int64, where body: (Int64) throws -> Bool) rethrows -> Bool {
        let mask = capacity - 1
        var i = home(key)
        while true {
            let s = seqs[i]
            if s == 0 { return false }
            if keys[i] == key, try body(s) { return true }
            i = (i + 1) & mask
        }
    }

    /// Whether any row is kept under `key`.
    func contains(_ key: Int64) -> Bool { contains(key) { _ in true } }

    /// Keeps `key` for row `seq` (`seq` > 0; a key already kept for other rows is kept again).
    mutating func insert(_ key: Int64, seq: Int64) {
        precondition(seq > 0, "rows are numbered from 1")
        let mask = capacity - 1
        var i = home(key)
        while seqs[i] != 0 { i = (i + 1) & mask }
        keys[i] = key
        seqs[i] = seq
        count += 1
        if count > capacity * 3 / 4 { grow() }
    }

    /// Forgets `key` for row `seq` (if kept): the pairs after it in its run move back, so that every pair stays
    /// reachable from its home slot without tombstones.
    mutating func remove(_ key: Int64, seq: Int64) {
        let mask = capacity - 1
        var i = home(key)
        while true {
            let s = seqs[i]
            if s == 0 { return }
            if s == seq && keys[i] == key { break }
            i = (i + 1) & mask
        }
        seqs[i] = 0
        count -= 1
        var j = i
        while true {
            j = (j + 1) & mask
            if seqs[j] == 0 { return }
            // The pair at `j` stays when its home lies cyclically in (i, j]: the hole is not on its way.
            let h = home(keys[j])
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if stays { continue }
            keys[i] = keys[j]
            seqs[i] = seqs[j]
            seqs[j] = 0
            i = j
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldSeqs = seqs, oldCapacity = capacity
        capacity *= 2
        shift -= 1
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: 0, count: capacity)
        seqs = .allocate(capacity: capacity)
        seqs.initialize(repeating: 0, count: capacity)
        let mask = capacity - 1
        for n in 0..<oldCapacity where oldSeqs[n] != 0 {
            var i = home(oldKeys[n])
            while seqs[i] != 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[n]
            seqs[i] = oldSeqs[n]
        }
        oldKeys.deallocate()
        oldSeqs.deallocate()
    }
}
