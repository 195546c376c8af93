import Foundation
import GRDB
import GRDBSQLite
import TocsinStore
import ZeroMQ

// MARK: libzmq alone

/// A ROUTER on its own thread (its own context, one I/O thread, as the pipeline's) that sends every message
/// straight back, draining with `dontWait` after each poll: the transport's ceiling for ingest's shape.
final class EchoServer: Sendable {
    let endpoint: String
    private let context: Context
    private let wake: WakeUp
    private let thread: BenchThread

    init() throws {
        context = try Context(ioThreads: 1)
        let router = try context.makeSocket(.router)
        try router.setReceiveHighWaterMark(100_000)
        try router.setSendHighWaterMark(100_000)
        try router.bind("tcp://127.0.0.1:*")
        endpoint = try router.lastEndpoint()
        let wake = try WakeUp()
        self.wake = wake
        // Starting the thread is the memory barrier that hands the socket over.
        thread = BenchThread(name: "echo") {
            var poller = Poller()
            let r = poller.add(router)
            let w = poller.add(fileDescriptor: wake.fileDescriptor)
            do {
                loop: while true {
                    let ready = try poller.poll(timeoutMilliseconds: -1)
                    if ready.isReadable(w) { break loop }
                    if ready.isReadable(r) {
                        while let m = try router.receive(dontWait: true, maxFrames: 8) {
                            _ = try router.send(m.frames, dontWait: true)
                        }
                    }
                }
            } catch {
                FileHandle.standardError.write(Data("echo server: \(error)\n".utf8))
            }
            router.close()
        }
    }

    func stop() {
        wake.signal()
        thread.join()
        wake.close()
        context.shutdown()
        context.terminate()
    }
}

struct EchoResult: Sendable {
    var perSecond: Double
    var client: ClientResult
    /// The whole machine's busy time (`/proc/stat`) over the run, warm-up included, per reply received (us):
    /// what one event's trip through the transport costs both cores, client and server together.
    var machineMicrosPerMessage: Double
}

/// DEALER → ROUTER echo of 300-byte messages, `window` in flight, over TCP loopback.
func measureZMQEcho(warmup: Double, seconds: Double, window: Int) throws -> EchoResult {
    let server = try EchoServer()
    defer { server.stop() }
    let size = EventFactory.targetSize
    let timing = Window.after(warmup: warmup, seconds: seconds)
    let cpu = CPUSample.now()
    let (total, _) = try runClients(
        endpoint: server.endpoint, clients: 1, window: window, timing: timing,
        message: { _ in
            let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
            return { _ in payload }
        },
        check: { $0.count == size })
    guard total.bad == 0, total.unanswered == 0 else {
        throw BenchError("echo: \(total.bad) wrong and \(total.unanswered) missing replies")
    }
    let busy = CPUSample.now().machine - cpu.machine
    return EchoResult(perSecond: Double(total.counted) / timing.seconds, client: total,
                      machineMicrosPerMessage: busy / Double(max(total.replies, 1)) * 1e6)
}

// MARK: SQLite alone

struct InsertResult: Sendable {
    var perSecond: Double
    var rows: Int
    var transactions: Int
    var seconds: Double
    /// The whole machine's busy time (`/proc/stat`) over the measured window per row (us): the inserting thread
    /// and the checkpointer's together (nil for runs of a fixed number of rows).
    var machineMicrosPerRow: Double? = nil
}

/// Batched inserts into a table shaped like the journal (same columns, same pragmas as `SQLiteJournal`, and like
/// it, since the eleventh round, no index but the row id's and each transaction's dedup keys in one blob row),
/// WAL mode, one transaction per `batch` rows, through a GRDB prepared statement with the values bound in place
/// by the SQLite C API: SQLite's ceiling for ingest's writes.
func measureSQLiteInserts(folder: String, sync: SyncMode, warmup: Double, seconds: Double,
                          batch: Int = 1000, rows: Int? = nil, decades: ((Int, Double) -> Void)? = nil) throws -> InsertResult {
    let path = folder + "/raw-\(sync.rawValue).sqlite"
    var config = Configuration()
    config.journalMode = .wal
    config.busyMode = .timeout(5)
    config.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = \(sync == .full ? "FULL" : "NORMAL")")
        // 64 MiB: the journal had that until it went to 8 MiB (docs/performance-history.md, third round); the larger
        // cache can only make this ceiling higher.
        try db.execute(sql: "PRAGMA cache_size = -65536")
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
    }
    let db = try DatabaseQueue(path: path, configuration: config)
    defer { try? db.close() }
    // As the journal's writer does between commits: past `WALRewind.defaultLimit` frames, the rest of the WAL
    // copied on this connection, so that the WAL starts again instead of growing for ever.
    let rewind = try WALRewind(on: db)
    // As the journal does: the WAL is checkpointed by another connection on another thread (PASSIVE, once it
    // passes 4 MiB), never inside the inserting thread's commits.
    let checkpointer = try DatabaseQueue(path: path, configuration: config)
    let stopCheckpoints = Collected<Bool>()
    let checkpoints = BenchThread(name: "raw-checkpoint") {
        while stopCheckpoints.all.isEmpty {
            usleep(100_000)
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            if size > 4 << 20 {
                _ = try? checkpointer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            }
        }
        try? checkpointer.close()
    }
    defer {
        stopCheckpoints.add(true)
        checkpoints.join()
    }
    try db.write { db in
        try db.execute(sql: """
            CREATE TABLE journal (
                seq INTEGER PRIMARY KEY,
                key INTEGER NOT NULL,
                source TEXT NOT NULL,
                event_id TEXT NOT NULL,
                status TEXT NOT NULL,
                payload BLOB NOT NULL
            );
            CREATE TABLE journal_keys (last INTEGER PRIMARY KEY, first INTEGER NOT NULL, keys BLOB NOT NULL);
            """)
    }
    let payload = [UInt8](repeating: UInt8(ascii: "p"), count: EventFactory.targetSize)
    let source = Array("sz.futian.shatou".utf8), status = Array("actual".utf8)
    // Ids `raw-0000000001`, ... written in place: the raw limit does none of the work Tocsin could avoid (no
    // string per row, no copy of the bound bytes), only what SQLite must do per row.
    var id = Array("raw-0000000000".utf8)
    var seq: Int64 = 0

    func insertBatch() throws {
        try db.inTransaction(.immediate) { db in
            let st = try db.cachedStatement(
                sql: "INSERT INTO journal (seq, key, source, event_id, status, payload) VALUES (?, ?, ?, ?, ?, ?)")
            let s = st.sqliteStatement
            var batchKeys: [Int64] = []
            batchKeys.reserveCapacity(batch)
            try source.withUnsafeBytes { src in
                try status.withUnsafeBytes { st in
                    try payload.withUnsafeBytes { body in
                        for _ in 0..<batch {
                            seq += 1
                            var n = seq
                            for k in stride(from: id.count - 1, through: 4, by: -1) {
                                id[k] = UInt8(48 + n % 10)
                                n /= 10
                            }
                            // The journal's dedup key: FNV-1a of source, NUL, id.
                            var h: UInt64 = 0xcbf2_9ce4_8422_2325
                            for b in src { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
                            h = h &* 0x0000_0100_0000_01b3
                            for b in id { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
                            batchKeys.append(Int64(bitPattern: h).littleEndian)
                            let rc = id.withUnsafeBytes { eid -> Int32 in
                                sqlite3_reset(s)
                                sqlite3_bind_int64(s, 1, seq)
                                sqlite3_bind_int64(s, 2, Int64(bitPattern: h))
                                sqlite3_bind_text(s, 3, src.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(src.count), SQLITE_STATIC)
                                sqlite3_bind_text(s, 4, eid.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(eid.count), SQLITE_STATIC)
                                sqlite3_bind_text(s, 5, st.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(st.count), SQLITE_STATIC)
                                sqlite3_bind_blob(s, 6, body.baseAddress!, Int32(body.count), SQLITE_STATIC)
                                let rc = sqlite3_step(s)
                                sqlite3_clear_bindings(s)
                                return rc
                            }
                            guard rc == SQLITE_DONE else {
                                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "insert failed")
                            }
                        }
                    }
                }
            }
            // As the journal does: the transaction's keys in one row, for the next start.
            try db.execute(sql: "INSERT INTO journal_keys (last, first, keys) VALUES (?, ?, ?)",
                           arguments: [seq, seq - Int64(batchKeys.count) + 1,
                                       batchKeys.withUnsafeBytes { Data($0) }])
            return .commit
        }
        rewind.afterCommit(db)
    }

    if let rows {
        // A fixed number of rows, with the thread CPU per row reported for each decade of table size.
        var decade = 10_000
        var mark = threadCPUNanos()
        let begin = monoNanos()
        while Int(seq) < rows {
            try insertBatch()
            if Int(seq) >= decade {
                let n = Double(decade == 10_000 ? decade : decade - decade / 10)
                decades?(decade, Double(threadCPUNanos() - mark) / n / 1000)
                mark = threadCPUNanos()
                decade *= 10
            }
        }
        let elapsed = Double(monoNanos() - begin) / 1e9
        return InsertResult(perSecond: Double(seq) / elapsed, rows: Int(seq), transactions: Int(seq) / batch, seconds: elapsed)
    }
    let warmEnd = monoNanos() + nanos(warmup)
    while monoNanos() < warmEnd { try insertBatch() }
    let cpu = CPUSample.now()
    let start = monoNanos()
    let end = start + nanos(seconds)
    var transactions = 0
    while monoNanos() < end {
        try insertBatch()
        transactions += 1
    }
    let elapsed = Double(monoNanos() - start) / 1e9
    let busy = CPUSample.now().machine - cpu.machine
    return InsertResult(perSecond: Double(transactions * batch) / elapsed, rows: transactions * batch,
                        transactions: transactions, seconds: elapsed,
                        machineMicrosPerRow: busy / Double(max(transactions * batch, 1)) * 1e6)
}

private let SQLITE_STATIC = unsafeBitCast(0, to: sqlite3_destructor_type.self)
