// `tocsin-bench micro decode|classify`: small single-purpose runs for profiling one hot path at a time, made to
// be run under `valgrind --tool=callgrind` (instruction counts repeat from run to run, unlike times on a shared
// machine). The event mix is the end-to-end runs' (PlatformEvents: 4 platforms, one event in 20 a report that
// opens an incident with a warning, the others readings that join their platform's incident).
import Foundation
import GRDB
import Logging
import TocsinConfig
import TocsinCore
import TocsinStore
import TocsinWorkers

let microUsage = """
    usage: tocsin-bench micro decode|classify [--count N] [--every K] [--config PATH] [--tmp DIR]

      decode     EventDecoder.decode of --count events (what ingest does per event, and classify again)
      journal    SQLiteJournal.append of --count events in batches of 1,000 (the ingest journal writer's work),
                 synchronous=NORMAL
      classify   the classify worker alone catching up on a journal of --count events: read, decode, correlate,
                 commit the outbox and the incidents (a Pipeline with only the classify role)
    """

/// The end-to-end event mix, `count` events over 4 platforms.
func microEvents(count: Int, every: Int) -> [[UInt8]] {
    var makers = (0..<4).map { PlatformEvents(run: "micro", index: $0, platforms: 4, every: every) }
    var out: [[UInt8]] = []
    out.reserveCapacity(count)
    for i in 0..<count { out.append(makers[i % 4].make(i / 4)) }
    return out
}

func runMicroCommand(_ arguments: [String]) throws {
    guard let name = arguments.first, ["decode", "classify", "journal", "sqlite"].contains(name) else { throw BenchError(microUsage) }
    let args = try SuiteArgs(Array(arguments.dropFirst()), valued: ["--count", "--every", "--config", "--tmp"],
                             switches: [], usage: microUsage)
    let count = Int(try args.number("--count", default: 200_000))
    let every = Int(try args.number("--every", default: 20))
    let config = try ConfigLoader.load(path: args.string("--config") ?? ConfigLoader.defaultPath)
    let events = microEvents(count: count, every: every)
    switch name {
    case "decode":
        let decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: config.maxFutureSeconds)
        let now = WallClock.now()
        var failures = 0, checksum = 0
        let t0 = monoNanos(), c0 = threadCPUNanos()
        for e in events {
            switch decoder.decode(e, now: now) {
            case .success(let event): checksum &+= event.id.utf8.count
            case .failure: failures += 1
            }
        }
        let seconds = Double(monoNanos() - t0) / 1e9, cpu = Double(threadCPUNanos() - c0) / 1e9
        print("decode: \(grouped(Double(count))) events in \(fixed(seconds, 3)) s (CPU \(fixed(cpu, 3)) s): "
              + "\(fixed(cpu / Double(count) * 1e6, 3)) µs CPU per event; \(failures) failures; checksum \(checksum)")
        guard failures == 0 else { throw BenchError("decode: \(failures) events did not decode") }

    case "sqlite":
        // The raw limit's inserts (Raw.swift) for --count rows, to compare how their cost grows with the table.
        let folder = (args.string("--tmp") ?? ".build-bench/tmp") + "/micro-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try measureSQLiteInserts(folder: folder, sync: .normal, warmup: 0, seconds: 0, rows: count) { n, us in
            print("  up to \(grouped(Double(n))): \(fixed(us, 2)) µs CPU per row")
        }
        print("sqlite: \(grouped(Double(r.rows))) rows in \(fixed(r.seconds, 3)) s: \(grouped(r.perSecond)) rows/s")

    case "journal":
        let folder = (args.string("--tmp") ?? ".build-bench/tmp") + "/micro-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: .infinity)
        var entries: [JournalEntry] = []
        for e in events {
            guard case .success(let event) = decoder.decode(e, now: Timestamp(micros: .max)) else {
                throw BenchError("journal: an event of the mix does not decode")
            }
            entries.append(JournalEntry(source: event.source.rawValue, eventID: event.id, status: event.status, payload: e))
        }
        let journal = try SQLiteJournal(path: folder + "/journal.sqlite", sync: .normal)
        let t0 = monoNanos(), c0 = threadCPUNanos()
        var accepted = 0
        var decade = 10_000, decadeStart = (t0, c0)
        for start in stride(from: 0, to: entries.count, by: 1000) {
            let outcomes = try journal.append(Array(entries[start..<min(start + 1000, entries.count)]), counts: ["rejected": 0])
            accepted += outcomes.filter { if case .accepted = $0 { true } else { false } }.count
            if accepted >= decade {
                // Thread CPU per event over each decade of journal size: whether appends cost more as it grows.
                let n = Double(decade - (decade == 10_000 ? 0 : decade / 10))
                print("  up to \(grouped(Double(decade))): \(fixed(Double(threadCPUNanos() - decadeStart.1) / n / 1000, 2)) µs CPU, "
                      + "\(fixed(Double(monoNanos() - decadeStart.0) / n / 1000, 2)) µs wall per event")
                decadeStart = (monoNanos(), threadCPUNanos())
                decade *= 10
            }
        }
        let seconds = Double(monoNanos() - t0) / 1e9, cpu = Double(threadCPUNanos() - c0) / 1e9
        try journal.close()
        print("journal: \(grouped(Double(accepted))) of \(grouped(Double(count))) appended in \(fixed(seconds, 3)) s "
              + "(thread CPU \(fixed(cpu, 3)) s): \(grouped(Double(count) / seconds)) events/s")
        // Opening it again reads every row's dedup key back into memory: what a restart costs.
        let r0 = monoNanos()
        let reopened = try SQLiteJournal(path: folder + "/journal.sqlite", sync: .normal)
        let reopenSeconds = Double(monoNanos() - r0) / 1e9
        try reopened.close()
        print("journal: opened again with \(grouped(Double(accepted))) events in \(fixed(reopenSeconds, 3)) s")
        // As a journal written before the keys' blob rows: every row's key read from the row (and stored).
        let plain = try DatabaseQueue(path: folder + "/journal.sqlite")
        try plain.write { try $0.execute(sql: "DELETE FROM journal_keys") }
        try plain.close()
        let o0 = monoNanos()
        let old = try SQLiteJournal(path: folder + "/journal.sqlite", sync: .normal)
        let oldSeconds = Double(monoNanos() - o0) / 1e9
        try old.close()
        print("journal: opened without its keys' blob rows (a journal from before them) in \(fixed(oldSeconds, 3)) s")

    case "classify":
        let folder = (args.string("--tmp") ?? ".build-bench/tmp") + "/micro-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The journal, written directly (ingest is not measured here).
        let journal = try SQLiteJournal(path: folder + "/journal.sqlite", sync: .normal)
        let decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: .infinity)
        var batch: [JournalEntry] = []
        for e in events {
            guard case .success(let event) = decoder.decode(e, now: Timestamp(micros: .max)) else {
                throw BenchError("classify: an event of the mix does not decode")
            }
            batch.append(JournalEntry(source: event.source.rawValue, eventID: event.id, status: event.status, payload: e))
            if batch.count == 4096 {
                _ = try journal.append(batch)
                batch = []
            }
        }
        _ = try journal.append(batch)
        try journal.close()
        // Classify catches up only once it knows the time: store a clock as if the ticker had spoken.
        let seed = try WorkerStore(path: folder + "/classify.sqlite", sync: .normal)
        try seed.commit(offsets: ["clock": WallClock.now().micros], state: [:], outbox: [])
        try seed.close()
        var c = config
        c.endpoints.internal = InternalEndpoints(
            journal: "ipc://\(folder)/j", clock: "ipc://\(folder)/c", incidents: "ipc://\(folder)/i",
            control: "ipc://\(folder)/x", warnings: "ipc://\(folder)/w", tasks: "ipc://\(folder)/t",
            plan: "ipc://\(folder)/p")
        c.durability = .normal
        var quiet = Logger(label: "tocsin-bench.micro")
        quiet.logLevel = .error
        let progress = try WorkerStore(path: folder + "/classify.sqlite", sync: .normal)
        defer { try? progress.close() }
        let cpu0 = processCPUSeconds()
        let t0 = monoNanos()
        let pipeline = try Pipeline(config: c, dataPath: folder, roles: [.classify], logger: quiet)
        pipeline.start()
        let deadline = monoNanos() + 600_000_000_000
        while try progress.offset("journal") < Int64(count) && monoNanos() < deadline { usleep(2000) }
        let seconds = Double(monoNanos() - t0) / 1e9
        let cpu = processCPUSeconds() - cpu0
        pipeline.stop()
        let changes = try progress.lastSeqOnDisk()
        print("classify: \(grouped(Double(count))) journal records in \(fixed(seconds, 3)) s (process CPU \(fixed(cpu, 3)) s): "
              + "\(grouped(Double(count) / seconds)) records/s; \(changes) outbox messages")
    default:
        throw BenchError(microUsage)
    }
}
