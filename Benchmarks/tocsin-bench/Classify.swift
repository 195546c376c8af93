// `tocsin-bench classify`: the pure IncidentEngine on one thread, with many incidents open.
import Foundation
import TocsinConfig
import TocsinCore

let classifyUsage = """
    usage: tocsin-bench classify [--json PATH] [--quick] [--open 100,10000,100000] [--events N] [--config PATH]

    Classification throughput of the pure IncidentEngine on one thread. For each count of open incidents it
    opens that many incidents (9 incident types x 3 statuses, each on a grid of points 1.01 km apart over
    Shenzhen), then times `apply` of --events prebuilt events that each join a random open incident, then the
    same with decoding (EventDecoder on the event's JSON bytes, as the classify worker does per journal record).
    Also reports resident memory per open incident (RSS delta / N, /proc/self/statm).

      --quick     200,000 events instead of 1,000,000
      --open      counts of open incidents (default 100,10000,100000; at most 105,705)
      --events N  events applied per count (default 1,000,000)
    """

/// An event type whose first event opens an incident, with values that do so.
private struct Opener {
    var type: String
    var kind: EventKind
    var values: EventValues
    var device: Bool
}

/// One event type per incident type of the shipped catalog (9 incident types).
private let openers: [Opener] = [
    Opener(type: "report.fire", kind: .report, values: [:], device: false),
    Opener(type: "report.traffic_accident", kind: .report, values: [:], device: false),
    Opener(type: "report.collapse", kind: .report, values: [:], device: false),
    Opener(type: "report.crowd", kind: .report, values: [:], device: false),
    Opener(type: "report.illness", kind: .report, values: ["cases": 1], device: false),
    Opener(type: "water_level", kind: .sensor, values: ["level_m": 2.6], device: true),
    Opener(type: "rainfall", kind: .sensor, values: ["mm_per_h": 25], device: true),
    Opener(type: "wind_speed", kind: .sensor, values: ["m_per_s": 18], device: true),
    Opener(type: "gas_concentration", kind: .sensor, values: ["ppm": 12], device: true),
]
private let statuses: [Status] = [.actual, .exercise, .test]

/// Where the open incidents are: incident k belongs to group k % 27 (incident type x status, which the
/// engine's grid keeps apart) and sits on that group's grid point k / 27. Neighbours of one group are 1.01 km
/// apart, farther than every radius of the shipped catalog (500 m; 1 km for disease clusters).
private struct Layout {
    static let groups = openers.count * statuses.count
    static let grid = ShenzhenGrid(spacingM: 1010)
    static let maxIncidents = groups * grid.count
    static let source = AreaPath(unchecked: "sz.futian.shatou")
    static let start = Timestamp(rfc3339: "2026-07-01T00:00:00Z")!

    static func opener(_ k: Int) -> Opener { openers[(k % groups) % openers.count] }
    static func status(_ k: Int) -> Status { statuses[(k % groups) / openers.count] }
    static func location(_ k: Int) -> GeoPoint {
        let p = grid.point(k / groups)
        return GeoPoint(lat: p.lat, lon: p.lon)
    }

    /// The event that opens incident k (journal seq k + 1).
    static func opening(_ k: Int) -> Event {
        let o = opener(k)
        return Event(id: "open-\(k)", source: source, kind: o.kind, type: o.type, time: start, location: location(k),
                     values: o.values, status: status(k), device: o.device ? "dev-\(k)" : nil)
    }

    /// Event i, joining incident `k`: within ~30 m of its centre, within 10 minutes of its opening.
    static func joining(_ i: Int, incident k: Int, count: Int, rng: inout BenchRandom) -> Event {
        let o = opener(k)
        let c = location(k)
        let p = GeoPoint(lat: c.lat + (rng.unit() - 0.5) * 0.0005, lon: c.lon + (rng.unit() - 0.5) * 0.0005)
        var values = o.values
        if o.kind == .sensor, let (name, v) = values.first {
            values[name] = (v * (0.8 + 0.4 * rng.unit()) * 100).rounded() / 100
        }
        let time = start.adding(seconds: (600 * Double(i) / Double(count) * 1000).rounded() / 1000)
        return Event(id: "ev-\(i)", source: source, kind: o.kind, type: o.type, time: time, location: p,
                     values: values, status: status(k), device: o.device ? "dev-\(k)" : nil)
    }
}

struct ClassifyRun {
    var open: Int
    var events: Int
    var applySeconds: Double
    var applyCPUSeconds: Double
    var decodeSeconds: Double
    var decodeCPUSeconds: Double
    var rssDelta: Int
    var populateSeconds: Double
    /// Checks: the engine still had exactly `open` incidents after each run (every event joined one), and
    /// every JSON record decoded.
    var openAfterApply: Int
    var openAfterDecode: Int
    var decodeFailures: Int
    var changes: Int

    var applyRate: Double { Double(events) / applySeconds }
    var decodeRate: Double { Double(events) / decodeSeconds }
    var bytesPerIncident: Double { Double(rssDelta) / Double(open) }
}

/// A fresh engine with `n` open incidents, opened one by one (no array of opening events is kept, so the RSS
/// delta is the engine's).
private func populatedEngine(catalog: Catalog, open n: Int) -> IncidentEngine {
    var engine = IncidentEngine(catalog: catalog)
    for k in 0..<n { _ = engine.apply(Layout.opening(k), seq: Int64(k + 1)) }
    return engine
}

func measureClassify(config: TocsinConfiguration, open n: Int, events count: Int) throws -> ClassifyRun {
    guard n <= Layout.maxIncidents else {
        throw BenchError("--open: at most \(grouped(Double(Layout.maxIncidents))) incidents fit the layout")
    }
    let catalog = config.catalog
    // Apply only.
    trimMalloc()
    let rss0 = residentBytes()
    let p0 = monoNanos()
    var engine = populatedEngine(catalog: catalog, open: n)
    let populateSeconds = Double(monoNanos() - p0) / 1e9
    let rssDelta = residentBytes() - rss0
    guard engine.openCount == n else {
        throw BenchError("classify: expected \(n) open incidents after opening them, got \(engine.openCount)")
    }
    var rng = BenchRandom(seed: UInt64(n))
    var events: [Event] = []
    events.reserveCapacity(count)
    for i in 0..<count { events.append(Layout.joining(i, incident: rng.below(n), count: count, rng: &rng)) }
    let base = Int64(n)
    var changes = 0
    var t0 = monoNanos(), c0 = threadCPUNanos()
    for i in 0..<count {
        changes &+= engine.apply(events[i], seq: base + 1 + Int64(i)).count
    }
    let applySeconds = Double(monoNanos() - t0) / 1e9
    let applyCPU = Double(threadCPUNanos() - c0) / 1e9
    let openAfterApply = engine.openCount
    engine = IncidentEngine(catalog: catalog)

    // Decode + apply, on the same events as the classify worker reads them: the journal's canonical JSON.
    let records = events.map { EventEncoder.encode($0) }
    // One round trip, to be sure the decoder reads back what was meant.
    let decoder = EventDecoder(catalog: catalog, areas: config.areas, maxFutureSeconds: .infinity)
    if case .success(let e) = decoder.decode(records[0], now: Timestamp(micros: .max)), e == events[0] {
    } else {
        throw BenchError("classify: the first event does not decode to itself: \(decoder.decode(records[0], now: Timestamp(micros: .max)))")
    }
    events = []
    engine = populatedEngine(catalog: catalog, open: n)
    var failures = 0
    let now = Timestamp(micros: .max)
    t0 = monoNanos()
    c0 = threadCPUNanos()
    for i in 0..<count {
        switch decoder.decode(records[i], now: now) {
        case .success(let event): changes &+= engine.apply(event, seq: base + 1 + Int64(i)).count
        case .failure: failures += 1
        }
    }
    let decodeSeconds = Double(monoNanos() - t0) / 1e9
    let decodeCPU = Double(threadCPUNanos() - c0) / 1e9
    return ClassifyRun(open: n, events: count, applySeconds: applySeconds, applyCPUSeconds: applyCPU,
                       decodeSeconds: decodeSeconds, decodeCPUSeconds: decodeCPU, rssDelta: rssDelta,
                       populateSeconds: populateSeconds, openAfterApply: openAfterApply,
                       openAfterDecode: engine.openCount, decodeFailures: failures, changes: changes)
}

func runClassifyCommand(_ arguments: [String]) throws {
    let args = try SuiteArgs(arguments, valued: ["--json", "--open", "--events", "--config"], switches: ["--quick"],
                             usage: classifyUsage)
    let quick = args.has("--quick")
    let counts = try args.counts("--open", default: [100, 10_000, 100_000])
    let events = Int(try args.number("--events", default: quick ? 200_000 : 1_000_000))
    let config = try ConfigLoader.load(path: args.string("--config") ?? ConfigLoader.defaultPath)
    let phases = Phases()
    var runs: [ClassifyRun] = []
    for n in counts {
        try phases.run("classify, \(grouped(Double(n))) open incidents, \(grouped(Double(events))) events") {
            let r = try measureClassify(config: config, open: n, events: events)
            runs.append(r)
            return "  apply \(grouped(r.applyRate)) events/s, decode + apply \(grouped(r.decodeRate)) events/s, "
                + "\(grouped(r.bytesPerIncident)) B RSS per open incident"
        }
    }

    var rows = [["open incidents", "apply only (events/s)", "decode + apply (events/s)",
                 "RSS per open incident (bytes)"]]
    for r in runs {
        rows.append([grouped(Double(r.open)), grouped(r.applyRate), grouped(r.decodeRate),
                     "\(grouped(r.bytesPerIncident)) (\(mebibytes(r.rssDelta)) in all)"])
    }
    func spread(_ rates: [Double]) -> Double { (rates.max() ?? 0) / max(rates.min() ?? 1, 1e-9) }
    let applySpread = spread(runs.map(\.applyRate)), decodeSpread = spread(runs.map(\.decodeRate))
    rows.append(["max / min", fixed(applySpread, 2), fixed(decodeSpread, 2), "-"])
    print(markdownTable(rows, align: "|---:|---:|---:|---:|"))
    print("one thread; \(grouped(Double(events))) events per count, each joining a random open incident; "
          + "events/s from wall time")
    print()

    var targets: [String] = []
    func verdict(_ ok: Bool) -> String { ok ? "met" : "NOT met" }
    if let slowest = runs.min(by: { $0.applyRate < $1.applyRate }) {
        targets.append("apply >= 500,000 events/s on one core at every count: slowest \(grouped(slowest.applyRate)) "
                       + "(\(grouped(Double(slowest.open))) open): \(verdict(slowest.applyRate >= 500_000))")
    }
    if let slowest = runs.min(by: { $0.decodeRate < $1.decodeRate }) {
        targets.append("decode + apply >= 500,000 events/s on one core (the classify worker's per-record work): slowest "
                       + "\(grouped(slowest.decodeRate)): \(verdict(slowest.decodeRate >= 500_000))")
    }
    if runs.count > 1 {
        targets.append("apply flat within 20% across counts (max/min <= 1.2): \(fixed(applySpread, 2)): "
                       + "\(verdict(applySpread <= 1.2))")
        targets.append("decode + apply flat within 20%: \(fixed(decodeSpread, 2)): \(verdict(decodeSpread <= 1.2))")
    }
    if let largest = runs.max(by: { $0.open < $1.open }) {
        targets.append("RSS per open incident < 2 KiB (\(grouped(Double(largest.open))) open): "
                       + "\(grouped(largest.bytesPerIncident)) B: \(verdict(largest.bytesPerIncident < 2048))")
    }
    var problems: [String] = []
    for r in runs {
        if r.openAfterApply != r.open || r.openAfterDecode != r.open || r.decodeFailures > 0 {
            problems.append("\(r.open) open: \(r.openAfterApply) / \(r.openAfterDecode) open after the runs, "
                            + "\(r.decodeFailures) decode failures")
        }
        if r.applyCPUSeconds < 0.9 * r.applySeconds || r.decodeCPUSeconds < 0.9 * r.decodeSeconds {
            problems.append("\(r.open) open: the thread had the CPU only part of the time (apply \(fixed(r.applyCPUSeconds, 2)) "
                            + "of \(fixed(r.applySeconds, 2)) s; decode \(fixed(r.decodeCPUSeconds, 2)) of \(fixed(r.decodeSeconds, 2)) s)")
        }
    }
    if problems.isEmpty {
        targets.append("check: every event joined an existing incident (the open count did not change) and every record decoded")
    } else {
        targets += problems.map { "CHECK FAILED: " + $0 }
    }
    print(targets.map { "- " + $0 }.joined(separator: "\n"))
    print(phases.quietLine)

    if let path = args.string("--json") {
        let doc: [String: Any] = [
            "suite": "classify",
            "settings": ["events": events, "open": counts, "config": args.string("--config") ?? ConfigLoader.defaultPath,
                         "layout": "9 incident types x 3 statuses, grid spacing 1010 m"] as [String: Any],
            "runs": runs.map { r -> [String: Any] in
                [
                    "open": r.open, "events": r.events,
                    "apply_per_second": r.applyRate, "apply_seconds": r.applySeconds,
                    "apply_cpu_seconds": r.applyCPUSeconds,
                    "decode_apply_per_second": r.decodeRate, "decode_apply_seconds": r.decodeSeconds,
                    "decode_apply_cpu_seconds": r.decodeCPUSeconds,
                    "rss_delta_bytes": r.rssDelta, "rss_bytes_per_open_incident": r.bytesPerIncident,
                    "populate_seconds": r.populateSeconds, "open_after_apply": r.openAfterApply,
                    "open_after_decode_apply": r.openAfterDecode, "decode_failures": r.decodeFailures,
                    "changes": r.changes,
                ]
            },
            "apply_max_over_min": applySpread, "decode_apply_max_over_min": decodeSpread,
            "targets": targets,
        ]
        try phases.writeJSON(doc, to: path)
    }
}
