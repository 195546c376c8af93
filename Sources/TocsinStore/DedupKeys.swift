/// The journal's dedup keys in memory: a set of 64-bit keys in one flat table (open addressing, linear probing).
///
/// The keys are FNV-1a hashes (`dedupKey`), so a multiply by the golden ratio spreads them over the table with
/// no hashing of their own; Swift's `Set` ran each through SipHash and a resize that hashed every key again,
/// and the journal thread spent about a tenth of its time above SQLite's there. The table takes the same
/// memory as `Set<Int64>`'s (a power of two of 8-byte slots, at most three quarters full).
struct DedupKeys: ~Copyable {
    /// `0` marks an empty slot; the key 0 itself is kept apart (`hasZero`).
    private var slots: UnsafeMutablePointer<Int64>
    private var capacity: Int
    private var shift: Int
    private var hasZero = false
    /// The number of keys.
    private(set) var count = 0

    init(minimumCapacity: Int = 0) {
        var capacity = 64
        while capacity * 3 / 4 < minimumCapacity { capacity *= 2 }
        self.capacity = capacity
        shift = 64 - capacity.trailingZeroBitCount
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
    }

    deinit { slots.deallocate() }

    @inline(__always)
    private func home(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }

    /// Whether `key` is in the set.
    func contains(_ key: Int64) -> Bool {
        if key == 0 { return hasZero }
        var i = home(key)
        while true {
            let k = slots[i]
            if k == key { return true }
            if k == 0 { return false }
            i = (i + 1) & (capacity - 1)
        }
    }

    /// Adds `key`; false when it was there already.
    @discardableResult
    mutating func insert(_ key: Int64) -> Bool {
        if key == 0 {
            if hasZero { return false }
            hasZero = true
            count += 1
            return true
        }
        var i = home(key)
        while true {
            let k = slots[i]
            if k == key { return false }
            if k == 0 { break }
            i = (i + 1) & (capacity - 1)
        }
        slots[i] = key
        count += 1
        if count > capacity * 3 / 4 { grow() }
        return true
    }

    /// Takes `key` out (if there): the keys after it in its run move back, so that every key stays reachable
    /// from its home slot without tombstones.
    mutating func remove(_ key: Int64) {
        if key == 0 {
            if hasZero { hasZero = false; count -= 1 }
            return
        }
        let mask = capacity - 1
        var i = home(key)
        while true {
            let k = slots[i]
            if k == key { break }
            if k == 0 { return }
            i = (i + 1) & mask
        }
        slots[i] = 0
        count -= 1
        var j = i
        while true {
            j = (j + 1) & mask
            let k = slots[j]
            if k == 0 { return }
            // `k` stays where it is when its home lies cyclically in (i, j]: the hole is not on its way.
            let h = home(k)
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if stays { continue }
            slots[i] = k
            slots[j] = 0
            i = j
        }
    }

    private mutating func grow() {
        let old = slots, oldCapacity = capacity
        capacity *= 2
        shift -= 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        let mask = capacity - 1
        for n in 0..<oldCapacity {
            let key = old[n]
            if key == 0 { continue }
            var i = home(key)
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = key
        }
        old.deallocate()
    }
}
