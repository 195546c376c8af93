// The cost curve: events/s and resident memory as the journal grows from 1,000 to 1,000,000 events; memory per
// open incident and idle CPU with 100 to 100,000 incidents open. An in-process Pipeline (shipped config, tcp
// endpoints, durability normal, the live ticker as in production) fed by platforms on threads of this process.
import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinWorkers
import ZeroMQ

/// Sends exactly `count` events through `platforms` DEALERs (one thread each, one shared client context), each
/// keeping `window` in flight; returns the seconds from the first send to the last ack and the replies that were
/// not `accepted`.
func pump(endpoint: String, count: Int, platforms: Int = 4, window: Int = 1000,
          make: @escaping @Sendable (_ platform: Int) -> (Int) -> [UInt8]) throws -> (seconds: Double, bad: Int, firstBad: String?) {
    let context = try Context(ioThreads: 1)
    defer {
        context.shutdown()
        context.terminate()
    }
    let results = Collected<Result<(Int, String?), BenchError>>()
    let start = monoNanos()
    var threads: [BenchThread] = []
    for k in 0..<platforms {
        let share = count / platforms + (k < count % platforms ? 1 : 0)
        threads.append(BenchThread(name: "pump-\(k)") {
            let next = make(k)
            do {
                let socket = try context.makeSocket(.dealer)
                defer { socket.close() }
                try socket.setSendHighWaterMark(Int32(window * 4))
                try socket.setReceiveHighWaterMark(Int32(window * 4))
                try socket.connect(endpoint)
                var poller = Poller()
                poller.add(socket)
                var sent = 0, replies = 0, bad = 0
                var firstBad: String?
                let deadline = monoNanos() + 600_000_000_000
                while replies < share && monoNanos() < deadline {
                    while sent < share && sent - replies < window {
                        try socket.send([next(sent)])
                        sent += 1
                    }
                    _ = try poller.poll(timeoutMilliseconds: 50)
                    while let reply = try socket.receive(dontWait: true) {
                        replies += 1
                        let body = reply.frames.last ?? []
                        if !isAccepted(body) {
                            bad += 1
                            if firstBad == nil { firstBad = String(decoding: body.prefix(300), as: UTF8.self) }
                        }
                    }
                }
                if replies < share { bad += share - replies }
                results.add(.success((bad, firstBad)))
            } catch {
                results.add(.failure(BenchError("pump \(k): \(error)")))
            }
        })
    }
    threads.forEach { $0.join() }
    let seconds = Double(monoNanos() - start) / 1e9
    var bad = 0
    var firstBad: String?
    for r in results.all {
        let (b, f) = try r.get()
        bad += b
        firstBad = firstBad ?? f
    }
    return (seconds, bad, firstBad)
}

/// Readings that join the platform's one incident (water_level 2.17 m at the platform's street, below every
/// tier): the journal grows, the open incidents do not. Ids `<run>-c<platform>-<10 digits>`, 300 bytes.
func readingMaker(run: String) -> @Sendable (Int) -> (Int) -> [UInt8] {
    { k in
        nonisolated(unsafe) var factory = EventFactory(run: run, client: k)
        return { seq in factory.make(seq) }
    }
}

// MARK: - Journal curve

struct JournalPoint {
    var journaled: Int
    var sample: Int
    /// The sample's events from the first send to the last ack, and to the pipeline idle.
    var ackSeconds: Double
    var idleSeconds: Double
    var fillSeconds: Double
    var rssStart: Int
    var rssFilled: Int
    var rssAfter: Int
    var bad: Int
    var firstBad: String?
    var idleReached: Bool
    /// CPU seconds (user + system, `getrusage`) of the process, the pipeline and its in-process platforms, over
    /// the sample (first send to idle).
    var cpuSeconds: Double

    /// Events per second through to the feed (first send to idle).
    var perSecond: Double { Double(sample) / idleSeconds }
    var ackPerSecond: Double { Double(sample) / ackSeconds }
    /// Wall time per event, µs (two cores).
    var microsPerEvent: Double { idleSeconds / Double(sample) * 1e6 }
    /// CPU time per event, µs: what one more event costs, whatever else the machine is doing meanwhile.
    var cpuMicrosPerEvent: Double { cpuSeconds / Double(sample) * 1e6 }

    var json: [String: Any] {
        ["journaled": journaled, "sample": sample, "per_second": perSecond, "ack_per_second": ackPerSecond,
         "us_per_event": microsPerEvent, "cpu_us_per_event": cpuMicrosPerEvent, "cpu_seconds": cpuSeconds,
         "ack_seconds": ackSeconds, "idle_seconds": idleSeconds,
         "fill_seconds": fillSeconds, "rss_start_bytes": rssStart, "rss_filled_bytes": rssFilled,
         "rss_after_bytes": rssAfter, "not_accepted": bad, "idle_reached": idleReached]
    }
}

/// A fresh pipeline filled with `journaled` events (not measured), then `sample` more, measured from the first
/// send until the pipeline is idle again (everything classified and dispatched).
func measureJournalPoint(journaled: Int, sample: Int, configPath: String, folder: String, run: String,
                         logger: Logger) throws -> JournalPoint {
    let p = try RunningPipeline(configPath: configPath, durability: .normal, folder: folder, logger: logger)
    defer { p.stop() }
    let command = try CommandClient(endpoint: p.commandEndpoint)
    defer { command.close() }
    _ = command.waitIdle(journal: 0, timeout: 10)
    trimMalloc()
    let rssStart = residentBytes()
    let fillRun = "\(run)f\(journaled)"
    let fill = try pump(endpoint: p.ingestEndpoint, count: journaled, make: readingMaker(run: fillRun))
    var idle = command.waitIdle(journal: journaled, timeout: 300) != nil
    trimMalloc()
    let rssFilled = residentBytes()
    let t0 = monoNanos()
    let cpu0 = processCPUSeconds()
    let measured = try pump(endpoint: p.ingestEndpoint, count: sample, make: readingMaker(run: "\(run)s\(journaled)"))
    let idleAt = command.waitIdle(journal: journaled + sample, timeout: 300)
    let cpu = processCPUSeconds() - cpu0
    idle = idle && idleAt != nil
    let rssAfter = residentBytes()
    return JournalPoint(journaled: journaled, sample: sample, ackSeconds: measured.seconds,
                        idleSeconds: Double((idleAt ?? monoNanos()) - t0) / 1e9, fillSeconds: fill.seconds,
                        rssStart: rssStart, rssFilled: rssFilled, rssAfter: rssAfter, bad: fill.bad + measured.bad,
                        firstBad: fill.firstBad ?? measured.firstBad, idleReached: idle, cpuSeconds: cpu)
}

// MARK: - Open incidents: memory and idle CPU

/// What the open incidents are.
enum IncidentKind: String {
    /// Sensor readings below every tier (water level, rainfall, wind, gas): incidents without a tier, which only
    /// the classify worker holds (dispatch and plan never hear of them).
    case quiet
    /// One report each (fire, traffic accident, crowd, collapse): an incident at tier IV or III, its `alert` on
    /// the feed and its response plan's tasks: every worker holds something for it.
    case warned

    var types: [(type: String, kind: String, value: String?)] {
        switch self {
        case .quiet:
            [("water_level", "sensor", "level_m"), ("rainfall", "sensor", "mm_per_h"), ("wind_speed", "sensor", "m_per_s"),
             ("gas_concentration", "sensor", "ppm")]
        case .warned:
            [("report.fire", "report", nil), ("report.traffic_accident", "report", nil), ("report.crowd", "report", nil),
             ("report.collapse", "report", nil)]
        }
    }
}

/// Places for up to about 180,000 separate incidents: a 510 m grid over Shenzhen (farther apart than the 500 m
/// radius) x 4 event types x 3 statuses (the engine never joins different types or statuses).
enum IncidentLayout {
    static let grid = ShenzhenGrid(spacingM: 510)
    static let statuses = ["actual", "exercise", "test"]
    static var capacity: Int { grid.count * 4 * statuses.count }

    /// The event that opens incident `n` of `kind`.
    static func event(_ n: Int, kind: IncidentKind, run: String, source: EventFactory.Platform, time: String) -> [UInt8] {
        let p = grid.point(n % grid.count)
        let t = kind.types[(n / grid.count) % 4]
        let status = statuses[(n / (grid.count * 4)) % statuses.count]
        var w = JSONWriter(capacity: 320)
        w.beginObject()
        w.field("id", "\(run)-\(n)")
        w.field("source", source.source)
        w.field("kind", t.kind)
        w.field("type", t.type)
        w.field("time", time)
        w.key("location")
        w.beginObject()
        w.field("lat", (p.lat * 1e6).rounded() / 1e6)
        w.field("lon", (p.lon * 1e6).rounded() / 1e6)
        w.endObject()
        if let value = t.value {
            w.key("values")
            w.beginObject()
            w.field(value, 1.2)
            w.endObject()
            w.field("device", "dev-\(n)")
        } else {
            w.field("text", "seen from the street")
        }
        w.field("status", status)
        w.endObject()
        return w.bytes
    }
}

struct IncidentPoint {
    var kind: IncidentKind
    var open: Int
    var openSeconds: Double
    var rssBefore: Int
    var rssAfter: Int
    var idleCPUSeconds: Double
    var idleWallSeconds: Double
    var bad: Int
    var firstBad: String?
    var idleReached: Bool
    /// Warnings the pipeline issued (`stats`): one per incident for `warned`, none for `quiet`.
    var warnings: Int?

    var bytesPerIncident: Double { Double(rssAfter - rssBefore) / Double(open) }
    /// Share of one core used while idle, in percent.
    var idleCorePercent: Double { idleCPUSeconds / idleWallSeconds * 100 }

    var json: [String: Any] {
        var doc: [String: Any] = [
            "kind": kind.rawValue, "open": open, "open_seconds": openSeconds, "rss_before_bytes": rssBefore,
            "rss_after_bytes": rssAfter, "bytes_per_incident": bytesPerIncident, "idle_cpu_seconds": idleCPUSeconds,
            "idle_wall_seconds": idleWallSeconds, "idle_core_percent": idleCorePercent, "not_accepted": bad,
            "idle_reached": idleReached,
        ]
        if let warnings { doc["warnings"] = warnings }
        return doc
    }
}

/// A fresh pipeline; `open` events each open their own incident of `kind`; then, with no event arriving and the
/// live ticker running, this process's CPU time (`getrusage`) over `idleSeconds`. Memory per incident: RSS
/// after opening them minus before (both after `malloc_trim`), over `open`.
func measureIncidents(open: Int, kind: IncidentKind, idleSeconds: Double, configPath: String, folder: String,
                      run: String, logger: Logger) throws -> IncidentPoint {
    guard open <= IncidentLayout.capacity else {
        throw BenchError("incidents: at most \(IncidentLayout.capacity) fit the layout")
    }
    let p = try RunningPipeline(configPath: configPath, durability: .normal, folder: folder, logger: logger)
    defer { p.stop() }
    let command = try CommandClient(endpoint: p.commandEndpoint)
    defer { command.close() }
    _ = command.waitIdle(journal: 0, timeout: 10)
    trimMalloc()
    let rssBefore = residentBytes()
    let time = Timestamp(micros: WallClock.now().micros / 1_000_000 * 1_000_000).rfc3339
    let tag = "\(run)\(kind == .quiet ? "q" : "w")\(open)"
    let t0 = monoNanos()
    let platforms = 4
    let r = try pump(endpoint: p.ingestEndpoint, count: open, platforms: platforms) { k in
        let source = EventFactory.platforms[k % EventFactory.platforms.count]
        return { seq in IncidentLayout.event(seq * platforms + k, kind: kind, run: tag, source: source, time: time) }
    }
    let idle = command.waitIdle(journal: open, timeout: 600)
    let openSeconds = Double((idle ?? monoNanos()) - t0) / 1e9
    let warnings = command.ask("stats")?["warnings"]?.numberValue.map { Int($0) }
    usleep(1_200_000)  // a tick or two after the last commit
    trimMalloc()
    let rssAfter = residentBytes()
    // Diagnostics: glibc's per-arena figures (each worker thread allocates from an arena of its own).
    if ProcessInfo.processInfo.environment["TOCSIN_BENCH_MALLOC_STATS"] != nil { printMallocStats() }
    let cpu0 = processCPUSeconds()
    let w0 = monoNanos()
    usleep(UInt32(idleSeconds * 1e6))
    let cpu = processCPUSeconds() - cpu0
    let wall = Double(monoNanos() - w0) / 1e9
    return IncidentPoint(kind: kind, open: open, openSeconds: openSeconds, rssBefore: rssBefore, rssAfter: rssAfter,
                         idleCPUSeconds: cpu, idleWallSeconds: wall, bad: r.bad, firstBad: r.firstBad,
                         idleReached: idle != nil, warnings: warnings)
}

// MARK: - Each point in a process of its own

/// `tocsin-bench point journal|incidents ... --out PATH`: one point of the cost curve in a fresh process, so that
/// its resident memory and CPU time are its pipeline's alone (in one long process, memory freed by an earlier
/// phase's pipeline is reused by the next one and hides its growth).
func runPointCommand(_ arguments: [String]) throws {
    guard let what = arguments.first else { throw BenchError("point: journal or incidents") }
    var o: [String: String] = [:]
    var i = 1
    while i + 1 < arguments.count {
        o[arguments[i]] = arguments[i + 1]
        i += 2
    }
    guard let out = o["--out"], let folder = o["--folder"], let run = o["--run"] else {
        throw BenchError("point: --out, --folder and --run are required")
    }
    let configPath = o["--config"] ?? ConfigLoader.defaultPath
    bootstrapBenchLogging()
    let logger = Logger(label: "tocsin-bench")
    switch what {
    case "journal":
        let p = try measureJournalPoint(journaled: Int(o["--journaled"] ?? "") ?? 1000,
                                        sample: Int(o["--sample"] ?? "") ?? 50_000, configPath: configPath,
                                        folder: folder, run: run, logger: logger)
        var doc = p.json
        if let bad = p.firstBad { doc["first_not_accepted"] = bad }
        try writeResult(doc, to: out)
    case "incidents":
        guard let kind = IncidentKind(rawValue: o["--kind"] ?? "") else { throw BenchError("point: --kind quiet|warned") }
        let p = try measureIncidents(open: Int(o["--open"] ?? "") ?? 100, kind: kind,
                                     idleSeconds: Double(o["--idle"] ?? "") ?? 5, configPath: configPath,
                                     folder: folder, run: run, logger: logger)
        var doc = p.json
        if let bad = p.firstBad { doc["first_not_accepted"] = bad }
        try writeResult(doc, to: out)
    default:
        throw BenchError("point: journal or incidents")
    }
}

extension JournalPoint {
    /// A point measured by a child process (`runPointCommand`).
    init(child doc: [String: Any]) {
        self.init(journaled: int(doc["journaled"]), sample: int(doc["sample"]), ackSeconds: double(doc["ack_seconds"]),
                  idleSeconds: double(doc["idle_seconds"]), fillSeconds: double(doc["fill_seconds"]),
                  rssStart: int(doc["rss_start_bytes"]), rssFilled: int(doc["rss_filled_bytes"]),
                  rssAfter: int(doc["rss_after_bytes"]), bad: int(doc["not_accepted"]),
                  firstBad: doc["first_not_accepted"] as? String, idleReached: doc["idle_reached"] as? Bool ?? false,
                  cpuSeconds: double(doc["cpu_seconds"]))
    }
}

extension IncidentPoint {
    /// A point measured by a child process (`runPointCommand`).
    init(child doc: [String: Any], kind: IncidentKind) {
        self.init(kind: kind, open: int(doc["open"]), openSeconds: double(doc["open_seconds"]),
                  rssBefore: int(doc["rss_before_bytes"]), rssAfter: int(doc["rss_after_bytes"]),
                  idleCPUSeconds: double(doc["idle_cpu_seconds"]), idleWallSeconds: double(doc["idle_wall_seconds"]),
                  bad: int(doc["not_accepted"]), firstBad: doc["first_not_accepted"] as? String,
                  idleReached: doc["idle_reached"] as? Bool ?? false, warnings: doc["warnings"].map { int($0) })
    }
}

/// Runs one point in a child process and reads its result.
func childPoint(_ what: String, _ arguments: [String], configPath: String, folder: String, run: String,
                timeout: Double) throws -> [String: Any] {
    let child = try BenchChild(mode: "point", name: "\(run)-point",
                               arguments: [what, "--config", configPath, "--folder", folder, "--run", run] + arguments,
                               folder: folder)
    return try child.finish(timeout: timeout)
}
