import TocsinCore

/// One event to journal: its dedup key and its canonical bytes.
public struct JournalEntry: Sendable, Hashable {
    public var source: String
    public var eventID: String
    public var status: Status
    /// The event's JSON as the platform sent it (validated by `EventDecoder`, so it decodes to the same event).
    public var payload: [UInt8]

    public init(source: String, eventID: String, status: Status, payload: [UInt8]) {
        self.source = source
        self.eventID = eventID
        self.status = status
        self.payload = payload
    }
}

/// One journaled event, as read back in journal order.
public struct JournalRecord: Sendable, Hashable {
    /// The journal sequence number: 1, 2, 3, ... in acceptance order, never reused.
    public var seq: Int64
    public var source: String
    public var eventID: String
    public var status: Status
    public var payload: [UInt8]

    public init(seq: Int64, source: String, eventID: String, status: Status, payload: [UInt8]) {
        self.seq = seq
        self.source = source
        self.eventID = eventID
        self.status = status
        self.payload = payload
    }
}

/// What appending one entry did.
public enum AppendOutcome: Sendable, Hashable {
    /// Durably written with this journal sequence number.
    case accepted(seq: Int64)
    /// The same `(source, id)` was accepted before (or earlier in the same batch).
    case duplicate
}

/// The journal: the durable, ordered truth that the rest of the pipeline is rebuilt from.
///
/// Appends are batched by the caller (group commit): one call, one transaction, one sync. The journal is
/// written by one owner; any number of readers read it in order from an offset.
public protocol Journal: AnyObject {
    /// Appends a batch in one transaction; when this returns, every `accepted` entry is durable. The batch's
    /// `accepted` and `duplicate` outcomes, plus `counts` (e.g. `rejected`), are added to the stored counters
    /// in the same transaction.
    func append(_ entries: [JournalEntry], counts: [String: Int]) throws -> [AppendOutcome]
    /// The stored counters (`accepted`, `duplicate`, `rejected`, ...), kept across restarts.
    func counters() throws -> [String: Int]
    /// Up to `limit` records with `seq > after`, in order.
    func read(after seq: Int64, limit: Int) throws -> [JournalRecord]
    /// The highest sequence number written, 0 for an empty journal.
    func lastSeq() throws -> Int64
    /// Closes the underlying storage; the journal must not be used afterwards.
    func close() throws
    /// Upkeep between commits, for a writer that has already answered the last batch (the SQLite journal's
    /// WAL rewind, `WALRewind`); by default nothing.
    func betweenCommits()
}

extension Journal {
    public func betweenCommits() {}
}

/// A stable 64-bit FNV-1a hash of `source`, a NUL and `id`: the dedup key's fast filter.
/// (Not Swift's `Hasher`, which is seeded per process: this value is stored on disk.)
@inlinable
public func dedupKey(source: String, id: String) -> Int64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    fnv1a(source, into: &h)
    h ^= 0
    h &*= 0x0000_0100_0000_01b3
    fnv1a(id, into: &h)
    return Int64(bitPattern: h)
}

/// FNV-1a over the UTF-8 of `text`, from its contiguous bytes when it has them (native strings do; walking
/// `utf8` byte by byte cost about six times as much).
@inlinable
func fnv1a(_ text: String, into h: inout UInt64) {
    var state = h
    let done: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
        for b in bytes {
            state ^= UInt64(b)
            state &*= 0x0000_0100_0000_01b3
        }
    }
    if done == nil {
        for b in text.utf8 {
            state ^= UInt64(b)
            state &*= 0x0000_0100_0000_01b3
        }
    }
    h = state
}
