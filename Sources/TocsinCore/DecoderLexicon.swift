import Foundation

/// The names an event decoder looks up for every event, found by their bytes in the frame: the registered area
/// paths (`source`, `area`) and the catalog's event types (`type`).
///
/// Looking a name up in the catalog's or the area tree's table took making a `String` of the bytes (an allocation
/// for a path longer than 15 bytes, freed again with the event), hashing it, and for a type copying its spec
/// (a reference count of each of its arrays, shared with every other thread that decodes). Here a name is hashed
/// from the frame's bytes (FNV-1a) into an open-addressed table and compared byte for byte, and the event takes
/// the table's own copy of a path. Each decoder builds its own tables, with copies of the strings of its own,
/// so that the ingest and classify threads do not count references on the same objects.
final class DecoderLexicon: Sendable {
    /// One event type of the catalog.
    final class TypeEntry: Sendable {
        let spec: EventTypeSpec
        init(_ spec: EventTypeSpec) { self.spec = spec }
    }

    private let paths: ByteTable<AreaPath>
    private let types: ByteTable<TypeEntry>

    init(catalog: Catalog, areas: AreaTree) {
        paths = ByteTable(areas.areas.keys.map { path in
            let copy = AreaPath(unchecked: String(decoding: Array(path.rawValue.utf8), as: UTF8.self))
            return (Array(path.rawValue.utf8), copy)
        })
        types = ByteTable(catalog.types.map { name, spec in (Array(name.utf8), TypeEntry(spec)) })
    }

    /// The registered area path spelled by `count` bytes at `p`; nil when none is.
    @inline(__always)
    func path(_ p: UnsafePointer<UInt8>, count: Int) -> AreaPath? { paths.value(p, count: count) }

    /// The catalog's event type named by `count` bytes at `p`; nil when it has none of that name.
    @inline(__always)
    func type(_ p: UnsafePointer<UInt8>, count: Int) -> TypeEntry? { types.value(p, count: count) }
}

/// A fixed table from byte strings to values: FNV-1a hashes, open addressing with linear probing, at most half
/// full.
struct ByteTable<Value: Sendable>: Sendable {
    private let hashes: [UInt64]
    /// Every key's bytes, one after the other; key `k` at `starts[k]..<starts[k + 1]`.
    private let bytes: [UInt8]
    private let starts: [Int]
    private let values: [Value]
    /// Per bucket, the key's index, or -1.
    private let buckets: [Int32]
    private let mask: Int

    init(_ entries: [([UInt8], Value)]) {
        var hashes: [UInt64] = [], bytes: [UInt8] = [], starts: [Int] = [0], values: [Value] = []
        var size = 8
        while size < entries.count * 2 { size *= 2 }
        var buckets = [Int32](repeating: -1, count: size)
        for (key, value) in entries {
            var h: UInt64 = Self.offsetBasis
            for b in key { h = (h ^ UInt64(b)) &* Self.prime }
            var i = Int(truncatingIfNeeded: h) & (size - 1)
            while buckets[i] >= 0 { i = (i + 1) & (size - 1) }
            buckets[i] = Int32(values.count)
            hashes.append(h)
            bytes += key
            starts.append(bytes.count)
            values.append(value)
        }
        self.hashes = hashes
        self.bytes = bytes
        self.starts = starts
        self.values = values
        self.buckets = buckets
        mask = size - 1
    }

    /// FNV-1a, 64 bits.
    static var offsetBasis: UInt64 { 0xcbf2_9ce4_8422_2325 }
    static var prime: UInt64 { 0x100_0000_01b3 }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        var h = offsetBasis
        for k in 0..<count { h = (h ^ UInt64(p[k])) &* prime }
        return h
    }

    func value(_ p: UnsafePointer<UInt8>, count: Int) -> Value? {
        let h = Self.hash(p, count: count)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let k = Int(buckets[i])
            if k < 0 { return nil }
            if hashes[k] == h, starts[k + 1] - starts[k] == count,
               count == 0 || bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress! + starts[k], p, count) == 0 }) {
                return values[k]
            }
            i = (i + 1) & mask
        }
    }
}
