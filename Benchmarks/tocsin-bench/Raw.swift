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
}

/// DEALER → ROUTER echo of 300-byte messages, `window` in flight, over TCP loopback.
func measureZMQEcho(warmup: Double, seconds: Double, window: Int) throws -> EchoResult {
    let server = try EchoServer()
    defer { server.stop() }
    let size = EventFactory.targetSize
    let timing = Window.after(warmup: warmup, seconds: seconds)
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
    return EchoResult(perSecond: Double(total.counted) / timing.seconds, client: total)
}

// MARK: SQLite alone

struct InsertResult: Sendable {
    var perSecond: Double
    var rows: Int
    var transactions: Int
    var seconds: Double
}

/// Batched inserts into a table shaped like the journal (same columns, same index, same pragmas as
/// `SQLiteJournal`), WAL mode, one transaction per `batch` rows, through a GRDB prepared statement with the
/// values bound by the SQLite C API (as the journal does): SQLite's ceiling for ingest's writes.
func measureSQLiteInserts(folder: String, sync: SyncMode, warmup: Double, seconds: Double,
                          batch: Int = 1000) throws -> InsertResult {
    let path = folder + "/raw-\(sync.rawValue).sqlite"
    var config = Configuration()
    config.journalMode = .wal
    config.busyMode = .timeout(5)
    config.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = \(sync == .full ? "FULL" : "NORMAL")")
        try db.execute(sql: "PRAGMA cache_size = -65536")
    }
    let db = try DatabaseQueue(path: path, configuration: config)
    defer { try? db.close() }
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
            CREATE INDEX journal_key ON journal(key);
            """)
    }
    let payload = [UInt8](repeating: UInt8(ascii: "p"), count: EventFactory.targetSize)
    let source = "sz.futian.shatou"
    var seq: Int64 = 0

    func insertBatch() throws {
        try db.inTransaction(.immediate) { db in
            let st = try db.cachedStatement(
                sql: "INSERT INTO journal (seq, key, source, event_id, status, payload) VALUES (?, ?, ?, ?, ?, ?)")
            let s = st.sqliteStatement
            for _ in 0..<batch {
                seq += 1
                let id = "raw-\(seq)"
                sqlite3_reset(s)
                sqlite3_bind_int64(s, 1, seq)
                sqlite3_bind_int64(s, 2, dedupKey(source: source, id: id))
                sqlite3_bind_text(s, 3, source, -1, SQLITE_TRANSIENT)
                sqlite3_bind_text(s, 4, id, -1, SQLITE_TRANSIENT)
                sqlite3_bind_text(s, 5, "actual", -1, SQLITE_TRANSIENT)
                let rc = payload.withUnsafeBytes { b in
                    sqlite3_bind_blob(s, 6, b.baseAddress, Int32(b.count), SQLITE_TRANSIENT)
                    return sqlite3_step(s)
                }
                guard rc == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "insert failed")
                }
            }
            return .commit
        }
    }

    let warmEnd = monoNanos() + nanos(warmup)
    while monoNanos() < warmEnd { try insertBatch() }
    let start = monoNanos()
    let end = start + nanos(seconds)
    var transactions = 0
    while monoNanos() < end {
        try insertBatch()
        transactions += 1
    }
    let elapsed = Double(monoNanos() - start) / 1e9
    return InsertResult(perSecond: Double(transactions * batch) / elapsed, rows: transactions * batch,
                        transactions: transactions, seconds: elapsed)
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
