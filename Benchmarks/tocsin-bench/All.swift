// `tocsin-bench all`: one run that measures the raw limits and every Tocsin figure of issue 8 on the same
// machine, one after the other, and prints one table (figure | value | raw limit | ratio | target | met), also
// written as JSON. `make bench` runs it. See docs/performance.md.
import Foundation
import Histogram
import Logging
import TocsinConfig
import TocsinCore
import TocsinStore

let allUsage = """
    usage: tocsin-bench [all] [--json PATH] [--quick] [--suites raw,e2e,latency,journal,incidents,drill]
                        [--tmp DIR] [--config PATH] [--seconds S] [--warmup S] [--rates 1000,10000,50000]
                        [--every K] [--e2e-every K] [--pairs N] [--marks 1000,...] [--sample N] [--repeats N] [--open 100,...] [--kinds quiet,warned]
                        [--idle-seconds S] [--drill-events N]

    Runs, in this order (each suite can be picked alone with --suites):
      raw        libzmq DEALER->ROUTER echo (300 B, 1,000 in flight); PUB -> 10 SUBs with a prefix filter
                 (1 KB); SQLite batched inserts in WAL, synchronous NORMAL and FULL; and the relay (ack every
                 event, publish a warning per report, nothing else) driven like `latency` below: the raw latency;
                 and the machine's CPU per echo message and per SQLite row, whose sum is the raw floor (an
                 event's transport and storage alone)
      e2e        Tocsin end to end, platforms as 4 separate processes over tcp (1,000 in flight each; one event
                 in 100 makes a warning), 10 feed subscribers in another process: accepted events/s and events/s
                 sustained through to the feed, durability normal and full (--e2e-every K: one event in K makes
                 a warning instead; a K larger than the run's events: none, the pipeline without dispatch and
                 plan work); `normal` --pairs times, each run just after a run of the raw SQLite loop (with
                 the raw suite), the pair of median ratio kept
      latency    the same at a fixed --rates (one event in --every makes a warning): scheduled send -> warning on
                 a subscriber, p50/p99/p99.9
      journal    events/s and RSS with --marks events already journaled (fresh pipeline each, --sample more;
                 each mark --repeats times, the rounds interleaved, the median kept)
      incidents  RSS per open incident and idle CPU (% of a core, live ticker, no events) with --open incidents
                 of each --kinds (quiet: below every tier; warned: one alert and a response plan each); the
                 largest count --repeats times, the run of median memory kept
      drill      a day of water-level readings replayed in virtual time (DrillRunner)

      --quick    a few minutes in all: shorter windows, marks to 100,000, open to 10,000, drill of 100,000
      --json     also write every figure to PATH (make bench: out/bench.json)
    """

struct AllOptions {
    var json: String?
    var quick = false
    var suites: [String] = AllOptions.allSuites
    var tmp = ".build-bench/tmp"
    var config = ConfigLoader.defaultPath
    var seconds = 5.0
    var warmup = 1.0
    var rates: [Int] = [1000, 10_000, 50_000]
    var every = 20
    var throughputEvery = 100
    var pairs = 3
    var marks: [Int] = [1000, 10_000, 100_000, 1_000_000]
    var sample = 200_000
    var repeats = 3
    var open: [Int] = [100, 1000, 10_000, 100_000]
    var kinds: [IncidentKind] = [.quiet, .warned]
    var idleSeconds = 5.0
    var drillEvents = 1_000_000
    var drillBaseline = true

    static let allSuites = ["raw", "e2e", "latency", "journal", "incidents", "drill"]

    init(_ arguments: [String]) throws {
        let args = try SuiteArgs(
            arguments,
            valued: ["--json", "--suites", "--tmp", "--config", "--seconds", "--warmup", "--rates", "--every", "--e2e-every", "--pairs", "--marks",
                     "--sample", "--repeats", "--open", "--kinds", "--idle-seconds", "--drill-events"],
            switches: ["--quick"], usage: allUsage)
        quick = args.has("--quick")
        json = args.string("--json")
        if let s = args.string("--suites") {
            suites = s.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            let unknown = Set(suites).subtracting(Self.allSuites)
            guard unknown.isEmpty else { throw BenchError("--suites: unknown \(unknown.sorted()); known: \(Self.allSuites)") }
        }
        tmp = args.string("--tmp") ?? tmp
        config = args.string("--config") ?? config
        seconds = try args.number("--seconds", default: quick ? 2 : 5)
        warmup = try args.number("--warmup", default: quick ? 0.5 : 1)
        rates = try args.counts("--rates", default: rates)
        every = Int(try args.number("--every", default: 20))
        throughputEvery = max(1, Int(try args.number("--e2e-every", default: 100)))
        pairs = max(1, Int(try args.number("--pairs", default: quick ? 1 : 3)))
        marks = try args.counts("--marks", default: quick ? [1000, 10_000, 100_000] : marks)
        sample = Int(try args.number("--sample", default: quick ? 20_000 : 200_000))
        repeats = max(1, Int(try args.number("--repeats", default: quick ? 1 : 3)))
        open = try args.counts("--open", default: quick ? [100, 1000, 10_000] : open)
        if let k = args.string("--kinds") {
            kinds = try k.split(separator: ",").map {
                guard let kind = IncidentKind(rawValue: String($0)) else { throw BenchError("--kinds: unknown \($0)") }
                return kind
            }
        }
        idleSeconds = try args.number("--idle-seconds", default: quick ? 2 : 5)
        drillEvents = Int(try args.number("--drill-events", default: quick ? 100_000 : 1_000_000))
        drillBaseline = !quick
    }
}

/// One row of the table.
struct Figure {
    var name: String
    var value: String
    var raw = "-"
    var ratio = "-"
    var target = "-"
    /// nil: no target.
    var met: Bool?
    var data: [String: Any] = [:]

    var row: [String] { [name, value, raw, ratio, target, met.map { $0 ? "yes" : "**no**" } ?? "-"] }
    var json: [String: Any] {
        var doc = data
        doc["figure"] = name
        doc["value"] = value
        doc["raw_limit"] = raw
        doc["ratio"] = ratio
        doc["target"] = target
        if let met { doc["met"] = met }
        return doc
    }
}

func runAllCommand(_ arguments: [String]) throws {
    let o = try AllOptions(arguments)
    bootstrapBenchLogging()
    let logger = Logger(label: "tocsin-bench")
    let config = try ConfigLoader.load(path: o.config)
    let folder = o.tmp + "/run-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    if (filesystemType(of: folder) ?? "").hasPrefix("tmpfs") {
        note("warning: \(o.tmp) is on tmpfs: fsync costs nothing there, so FULL figures mean little")
    }
    let run = String(UUID().uuidString.prefix(4)).lowercased()
    let phases = Phases(settling: folder)
    let suites = Set(o.suites)
    var figures: [Figure] = []
    var doc: [String: Any] = ["suite": "all", "suites": o.suites, "quick": o.quick]
    var problems: [String] = []

    // MARK: raw
    var echo: EchoResult?
    var inserts: [Durability: InsertResult] = [:]
    var relay: [Int: FlowResult] = [:]
    var machineFloor: Double?
    if suites.contains("raw") {
        try phases.run("raw: libzmq DEALER->ROUTER echo, 1,000 in flight, \(o.seconds) s") {
            let r = try measureZMQEcho(warmup: o.warmup, seconds: o.seconds, window: 1000)
            echo = r
            return "  \(grouped(r.perSecond)) msg/s"
        }
        var fan: FanOutResult?
        try phases.run("raw: PUB -> 10 SUBs (prefix actual/warning/), 1 KB, \(o.seconds) s") {
            let r = try measureFanOut(subscribers: 10, warmup: o.warmup, seconds: o.seconds)
            fan = r
            return "  \(grouped(r.perSecond)) msg/s to every subscriber (\(r.receivedBySubscriber.map { grouped(Double($0)) }))"
        }
        for mode in [Durability.normal, .full] {
            try phases.run("raw: SQLite inserts, 1,000 rows per transaction, synchronous=\(mode.rawValue.uppercased()), \(o.seconds) s") {
                let r = try measureSQLiteInserts(folder: folder, sync: mode == .full ? .full : .normal,
                                                 warmup: o.warmup, seconds: o.seconds)
                inserts[mode] = r
                return "  \(grouped(r.perSecond)) rows/s"
            }
        }
        for rate in o.rates {
            try phases.run("raw: relay, 4 platform processes, \(grouped(Double(rate))) events/s, 10 subscribers") {
                let r = try runFlow(.relay, FlowSettings(rate: Double(rate), every: o.every, warmup: o.warmup,
                                                         seconds: o.seconds),
                                    configPath: o.config, folder: folder, run: "\(run)r\(rate)", logger: logger)
                relay[rate] = r
                problems += r.problems
                return "  send -> warning p50 \(ms(r.warning, 50)) p99 \(ms(r.warning, 99)) p99.9 \(ms(r.warning, 99.9)) ms"
            }
        }
        if let echo {
            figures.append(Figure(name: "raw: libzmq DEALER->ROUTER echo, 300 B, 1,000 in flight (msg/s)",
                                  value: grouped(echo.perSecond), data: ["per_second": echo.perSecond]))
        }
        if let fan {
            figures.append(Figure(name: "raw: libzmq PUB -> 10 SUBs, prefix filter, 1 KB (msg/s reaching every SUB)",
                                  value: grouped(fan.perSecond),
                                  data: ["per_second": fan.perSecond, "published": fan.published,
                                         "received_by_subscriber": fan.receivedBySubscriber, "body_bytes": fan.bodyBytes]))
        }
        for mode in [Durability.normal, .full] {
            guard let r = inserts[mode] else { continue }
            figures.append(Figure(name: "raw: SQLite inserts, WAL, 1,000-row transactions, synchronous=\(mode.rawValue.uppercased()) (rows/s)",
                                  value: grouped(r.perSecond),
                                  data: ["per_second": r.perSecond, "rows": r.rows, "transactions": r.transactions]))
        }
        for mode in [Durability.normal, .full] {
            guard let echo, let insert = inserts[mode] else { continue }
            let limit = min(echo.perSecond, insert.perSecond)
            figures.append(Figure(name: "raw limit, \(mode.rawValue): lower of libzmq echo and SQLite (events/s)",
                                  value: grouped(limit), data: ["per_second": limit]))
        }
        // What the raw loops cost the machine per message and row: their sum is an event's transport and storage
        // alone, the floor under Tocsin's machine CPU per event; half the raw limit allows the cores' time over
        // half the limit's events.
        if let echo {
            figures.append(Figure(name: "raw: libzmq echo, the whole machine's CPU per message, both sides (us)",
                                  value: fixed(echo.machineMicrosPerMessage, 2),
                                  data: ["us": echo.machineMicrosPerMessage]))
        }
        for mode in [Durability.normal, .full] {
            guard let us = inserts[mode]?.machineMicrosPerRow else { continue }
            figures.append(Figure(name: "raw: SQLite inserts, synchronous=\(mode.rawValue.uppercased()), the whole machine's CPU per row (us)",
                                  value: fixed(us, 2), data: ["us": us]))
        }
        if let echo, let insert = inserts[.normal], let row = insert.machineMicrosPerRow {
            let floor = echo.machineMicrosPerMessage + row
            let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
            let budget = cores / (0.5 * min(echo.perSecond, insert.perSecond)) * 1e6
            figures.append(Figure(name: "raw floor, normal: an event's transport and storage alone, echo + SQLite per row (us of the machine)",
                                  value: fixed(floor, 2), data: ["us": floor]))
            figures.append(Figure(name: "machine CPU per event that half the raw limit allows: \(Int(cores)) cores / (0.5 x raw limit, normal) (us)",
                                  value: fixed(budget, 2), data: ["us": budget, "cores": cores]))
            machineFloor = floor
        }
        doc["relay"] = relay.map { ["rate": $0.key, "result": $0.value.json] as [String: Any] }
    }
    func rawLimit(_ mode: Durability) -> Double? {
        guard let echo, let insert = inserts[mode] else { return nil }
        return min(echo.perSecond, insert.perSecond)
    }
    func throughputFigure(_ name: String, _ value: Double, mode: Durability, target: Double?,
                          data: [String: Any] = [:], limit pairedLimit: Double? = nil) -> Figure {
        var f = Figure(name: name, value: grouped(value), data: data)
        f.data["per_second"] = value
        if let limit = pairedLimit ?? rawLimit(mode) {
            f.raw = grouped(limit)
            f.ratio = fixed(value / limit, 2)
            f.data["ratio"] = value / limit
            if let target {
                f.target = ">= \(fixed(target, 2)) x raw"
                f.met = value / limit >= target
            }
        } else if let target {
            f.target = ">= \(fixed(target, 2)) x raw"
        }
        return f
    }

    // MARK: e2e
    if suites.contains("e2e") {
        var results: [String: Any] = [:]
        // The shipped mix (one event in 100 makes a warning) is not named; another is, on the rows it changes.
        let mix = o.throughputEvery == 100 ? "" : " [1 in \(grouped(Double(o.throughputEvery))) makes a warning]"
        for mode in [Durability.normal, .full] {
            // `normal` (the target's row) in `pairs` pairs: the raw SQLite loop (when the raw suite runs), then
            // the pipeline, so that each ratio compares two runs a few seconds apart; the pair of median ratio is
            // kept. A single pair's ratio moved by a tenth either way with the machine (docs/performance.md).
            let pairs = mode == .normal ? o.pairs : 1
            var runs: [(raw: Double?, flow: FlowResult)] = []
            for pair in 1...pairs {
                let of = pairs > 1 ? " (pair \(pair) of \(pairs))" : ""
                var raw: Double?
                if pairs > 1, inserts[mode] != nil {
                    try phases.run("e2e: raw SQLite inserts, synchronous=\(mode.rawValue.uppercased()), \(o.seconds) s\(of)") {
                        let r = try measureSQLiteInserts(folder: folder, sync: mode == .full ? .full : .normal,
                                                         warmup: o.warmup, seconds: o.seconds)
                        raw = min(r.perSecond, echo?.perSecond ?? r.perSecond)
                        return "  \(grouped(r.perSecond)) rows/s"
                    }
                }
                try phases.run("e2e: Tocsin \(mode.rawValue), 4 platform processes x 1,000 in flight, 10 subscribers, \(o.seconds) s\(of)") {
                    let r = try runFlow(.tocsin(mode), FlowSettings(rate: nil, every: o.throughputEvery, warmup: o.warmup,
                                                                    seconds: o.seconds),
                                        configPath: o.config, folder: folder, run: "\(run)e\(mode.rawValue.prefix(1))\(pair)",
                                        logger: logger)
                    runs.append((raw, r))
                    problems += r.problems
                    let ratio = raw.map { "; \(fixed(r.ingestPerSecond / $0, 2)) of the raw loop just before" } ?? ""
                    return "  ingest \(grouped(r.ingestPerSecond)) accepted/s\(ratio); sustained \(grouped(r.sustainedPerSecond))/s "
                        + "(idle \(fixed(r.drainSeconds, 1)) s after the last send); \(r.triggersSent) warnings x 10 subscribers; "
                        + "CPU per event \(fixed(r.pipelineMicrosPerEvent, 2)) us in the pipeline, "
                        + "\(fixed(r.machineMicrosPerEvent, 2)) us on the machine; by thread (us): \(r.busiestThreads(8))"
                }
            }
            guard !runs.isEmpty else { continue }
            // The median pair by its ratio (by events/s without raw runs); an even count takes the lower middle.
            let ordered = runs.sorted {
                if let a = $0.raw, let b = $1.raw { return $0.flow.ingestPerSecond / a < $1.flow.ingestPerSecond / b }
                return $0.flow.ingestPerSecond < $1.flow.ingestPerSecond
            }
            let (pairedRaw, r) = ordered[(ordered.count - 1) / 2]
            var json = r.json
            if runs.count > 1 {
                json["pairs"] = runs.map { run -> [String: Any] in
                    var p: [String: Any] = ["ingest_per_second": run.flow.ingestPerSecond,
                                            "sustained_per_second": run.flow.sustainedPerSecond,
                                            "machine_cpu_us_per_event": run.flow.machineMicrosPerEvent]
                    if let raw = run.raw {
                        p["raw_per_second"] = raw
                        p["ratio"] = run.flow.ingestPerSecond / raw
                    }
                    return p
                }
            }
            results[mode.rawValue] = json
            let median = runs.count > 1
                ? " [median of \(runs.count)\(pairedRaw == nil ? "" : " pairs with the raw loop just before")]" : ""
            figures.append(throughputFigure(
                "Tocsin ingest, \(mode.rawValue): 4 platform processes x 1,000 in flight, tcp (accepted events/s)\(mix)\(median)",
                r.ingestPerSecond, mode: mode, target: mode == .normal ? 0.5 : nil, limit: pairedRaw))
            figures.append(throughputFigure(
                "Tocsin end to end, \(mode.rawValue): sustained through classify, dispatch, plan to 10 subscribers (events/s)\(mix)",
                r.sustainedPerSecond, mode: mode, target: nil,
                data: ["seconds_to_idle": r.secondsToIdle, "drain_seconds": r.drainSeconds], limit: pairedRaw))
            figures.append(Figure(
                name: "Tocsin CPU per event, \(mode.rawValue): the pipeline's process, first send to idle (us)",
                value: fixed(r.pipelineMicrosPerEvent, 2), data: ["us": r.pipelineMicrosPerEvent]))
            var machine = Figure(
                name: "Tocsin CPU per event, \(mode.rawValue): the whole machine, platforms and subscribers included (us)",
                value: fixed(r.machineMicrosPerEvent, 2), data: ["us": r.machineMicrosPerEvent])
            if mode == .normal, let floor = machineFloor {
                // Against the raw floor: how many times an event's transport and storage alone Tocsin spends.
                machine.raw = fixed(floor, 2)
                machine.ratio = fixed(r.machineMicrosPerEvent / floor, 2) + "x"
                machine.data["raw_floor_us"] = floor
            }
            figures.append(machine)
        }
        // The ingest stage alone: the gateway and its journal (what acknowledges an event), with no downstream
        // worker taking the same two cores.
        var alone: FlowResult?
        try phases.run("e2e: ingest worker alone, normal, 4 platform processes x 1,000 in flight, \(o.seconds) s") {
            let r = try runFlow(.ingestOnly(.normal), FlowSettings(rate: nil, every: o.throughputEvery, warmup: o.warmup,
                                                                   seconds: o.seconds),
                                configPath: o.config, folder: folder, run: "\(run)ei", logger: logger)
            alone = r
            problems += r.problems
            return "  ingest alone \(grouped(r.ingestPerSecond)) accepted/s"
        }
        if let r = alone {
            results["ingest_only_normal"] = r.json
            figures.insert(throughputFigure(
                "Tocsin ingest worker alone, normal: gateway and journal, no downstream workers (accepted events/s)",
                r.ingestPerSecond, mode: .normal, target: 0.5), at: figures.count - 7)
        }
        doc["e2e"] = results
    }

    // MARK: latency
    if suites.contains("latency") {
        var results: [String: Any] = [:]
        for rate in o.rates {
            var result: FlowResult?
            try phases.run("latency: Tocsin normal, \(grouped(Double(rate))) events/s, 1 in \(o.every) makes a warning, \(o.seconds) s") {
                let r = try runFlow(.tocsin(.normal), FlowSettings(rate: Double(rate), every: o.every, warmup: o.warmup,
                                                                   seconds: o.seconds),
                                    configPath: o.config, folder: folder, run: "\(run)l\(rate)", logger: logger)
                result = r
                problems += r.problems
                return "  send -> warning p50 \(ms(r.warning, 50)) p99 \(ms(r.warning, 99)) p99.9 \(ms(r.warning, 99.9)) ms; "
                    + "send -> ack p99 \(ms(r.ack, 99)) ms"
            }
            guard let r = result else { continue }
            results["\(rate)"] = r.json
            for (label, p) in [("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)] {
                let value = Double(r.warning.valueAtPercentile(p)) / 1000
                var f = Figure(name: "Tocsin send -> warning on a subscriber, \(label), \(grouped(Double(rate))) events/s (ms)",
                               value: fixed(value, 2), data: ["ms": value, "count": r.warning.totalCount])
                if let raw = relay[rate], raw.warning.totalCount > 0 {
                    let rawValue = Double(raw.warning.valueAtPercentile(p)) / 1000
                    f.raw = fixed(rawValue, 2)
                    f.ratio = fixed(value / max(rawValue, 0.001), 1) + "x"
                    f.data["raw_ms"] = rawValue
                }
                if label == "p99" && rate == 10_000 {
                    f.target = "< 10 ms"
                    f.met = r.warning.totalCount > 0 && value < 10
                }
                figures.append(f)
            }
        }
        doc["latency"] = results
    }

    // MARK: journal
    if suites.contains("journal") {
        // Each mark in `repeats` fresh processes, one round over every mark after the other (so that a slow
        // moment of the machine falls on different marks), and the median kept: a single 50,000-event sample
        // (0.4 s) moved by 10-20% from run to run, more than the journal's size did. 200,000 events since the
        // eleventh round (about 0.8 s): at 50,000 (0.2 s by then) a fresh pipeline's first moments weighed on
        // the smallest marks, which came out slowest.
        var runs: [Int: [JournalPoint]] = [:]
        for round in 1...o.repeats {
            for mark in o.marks {
                let of = o.repeats > 1 ? " (\(round) of \(o.repeats))" : ""
                try phases.run("journal: \(grouped(Double(mark))) events journaled, then \(grouped(Double(o.sample))) more\(of)") {
                    let p = JournalPoint(child: try childPoint(
                        "journal", ["--journaled", "\(mark)", "--sample", "\(o.sample)"], configPath: o.config,
                        folder: folder, run: "\(run)j\(mark)r\(round)", timeout: 900))
                    runs[mark, default: []].append(p)
                    if p.bad > 0 { problems.append("journal \(mark): \(p.bad) events not accepted, e.g. \(p.firstBad ?? "?")") }
                    if !p.idleReached { problems.append("journal \(mark): the pipeline did not become idle") }
                    return "  \(grouped(p.perSecond)) events/s to idle (acks \(grouped(p.ackPerSecond))/s; CPU \(fixed(p.cpuMicrosPerEvent, 2)) us per event); "
                        + "RSS \(mebibytes(p.rssFilled)) filled (fill took \(fixed(p.fillSeconds, 1)) s)"
                }
            }
        }
        let points = o.marks.compactMap { mark in
            runs[mark].flatMap { $0.sorted { $0.perSecond < $1.perSecond }.dropFirst(($0.count - 1) / 2).first }
        }
        let of = o.repeats > 1 ? "; median of \(o.repeats)" : ""
        for p in points {
            var data = p.json
            data["per_second_of_each_run"] = runs[p.journaled]?.map(\.perSecond) ?? []
            figures.append(throughputFigure(
                "Tocsin events/s with \(grouped(Double(p.journaled))) journaled (next \(grouped(Double(p.sample))), first send to idle\(of))",
                p.perSecond, mode: .normal, target: nil, data: data))
        }
        // The CPU time (user and system) of the point's process, the pipeline and its platforms, per event of the
        // sample: the median of each mark's runs, each mark on its own (not the run of median events/s).
        let cpuCosts: [(mark: Int, us: Double)] = o.marks.compactMap { mark in
            guard let rs = runs[mark], !rs.isEmpty else { return nil }
            let sorted = rs.map(\.cpuMicrosPerEvent).sorted()
            return (mark, sorted[(sorted.count - 1) / 2])
        }
        for c in cpuCosts {
            figures.append(Figure(
                name: "Tocsin CPU per event with \(grouped(Double(c.mark))) journaled (us, the process: pipeline and platforms\(of))",
                value: fixed(c.us, 2),
                data: ["us": c.us, "us_of_each_run": runs[c.mark]?.map(\.cpuMicrosPerEvent) ?? []]))
        }
        if points.count > 1 {
            let range = "\(grouped(Double(points.first!.journaled))) to \(grouped(Double(points.last!.journaled))) journaled"
            let costs = points.map(\.microsPerEvent)
            let spread = (costs.max() ?? 0) / max(costs.min() ?? 1, 1e-9)
            var f = Figure(name: "cost per event, \(range): max / min",
                           value: fixed(spread, 2), data: ["max_over_min": spread, "us_per_event": costs])
            f.target = "<= 1.20"
            f.met = spread <= 1.2
            figures.append(f)
            // The same in CPU time (the rows above): what an event costs the process whatever else the shared
            // machine does in that quarter of a second.
            let cpu = cpuCosts.map(\.us)
            let cpuSpread = (cpu.max() ?? 0) / max(cpu.min() ?? 1, 1e-9)
            figures.append(Figure(name: "cost per event, \(range): CPU time per event, max / min",
                                  value: fixed(cpuSpread, 2), data: ["max_over_min": cpuSpread, "cpu_us_per_event": cpu]))
        }
        for p in points {
            figures.append(Figure(name: "RSS of the process with \(grouped(Double(p.journaled))) journaled (MiB; \(fixed(Double(p.rssStart) / 1_048_576, 0)) before)",
                                  value: fixed(Double(p.rssFilled) / 1_048_576, 1), data: p.json))
        }
        doc["journal"] = points.map { p -> [String: Any] in
            var data = p.json
            data["runs"] = runs[p.journaled]?.map(\.json) ?? []
            return data
        }
    }

    // MARK: incidents
    if suites.contains("incidents") {
        var points: [IncidentPoint] = []
        // The largest count (the targets' row) `repeats` times, the run of median memory kept: the RSS per
        // incident of one run moved by up to 100 bytes from run to run (the allocator's partly used pages), with
        // the bytes malloc holds the same to within 0.1%.
        let largest = o.open.max() ?? 0
        var runsOfLargest: [IncidentKind: [IncidentPoint]] = [:]
        for kind in o.kinds {
            for n in o.open {
                let repeats = n == largest ? max(o.repeats, 1) : 1
                for round in 1...repeats {
                    let of = repeats > 1 ? " (\(round) of \(repeats))" : ""
                    try phases.run("incidents: \(grouped(Double(n))) open, \(kind.rawValue), then \(o.idleSeconds) s idle\(of)") {
                        let p = IncidentPoint(child: try childPoint(
                            "incidents", ["--open", "\(n)", "--kind", kind.rawValue, "--idle", "\(o.idleSeconds)"],
                            configPath: o.config, folder: folder, run: "\(run)i\(kind.rawValue.prefix(1))\(n)r\(round)",
                            timeout: 900), kind: kind)
                        if n == largest { runsOfLargest[kind, default: []].append(p) }
                        if round == repeats {
                            let runs = n == largest ? runsOfLargest[kind] ?? [p] : [p]
                            points.append(runs.sorted { $0.bytesPerIncident < $1.bytesPerIncident }[(runs.count - 1) / 2])
                        }
                        if p.bad > 0 { problems.append("incidents \(kind.rawValue) \(n): \(p.bad) not accepted, e.g. \(p.firstBad ?? "?")") }
                        if !p.idleReached { problems.append("incidents \(kind.rawValue) \(n): the pipeline did not become idle") }
                        if kind == .warned, let w = p.warnings, w != n {
                            problems.append("incidents warned \(n): \(w) warnings issued, expected one per incident")
                        }
                        return "  \(grouped(p.bytesPerIncident)) B per incident; idle \(fixed(p.idleCorePercent, 2)) % of a core; "
                            + "opening took \(fixed(p.openSeconds, 1)) s"
                    }
                }
            }
        }
        for kind in o.kinds {
            for p in points where p.kind == kind {
                var data = p.json
                let median = p.open == largest && (runsOfLargest[kind]?.count ?? 0) > 1
                if median {
                    data["bytes_per_incident_of_each_run"] = runsOfLargest[kind]?.map(\.bytesPerIncident) ?? []
                    data["idle_core_percent_of_each_run"] = runsOfLargest[kind]?.map(\.idleCorePercent) ?? []
                }
                let of = median ? "; median of \(runsOfLargest[kind]?.count ?? 1)" : ""
                var f = Figure(name: "memory per open incident, \(grouped(Double(p.open))) open, \(kind.rawValue) (bytes of RSS\(of))",
                               value: grouped(p.bytesPerIncident), data: data)
                if p.open == 100_000 || (p.open == largest && largest < 100_000) {
                    f.target = "< 2,048"
                    f.met = p.bytesPerIncident < 2048
                }
                figures.append(f)
            }
        }
        for kind in o.kinds {
            for p in points where p.kind == kind {
                var f = Figure(name: "idle CPU with \(grouped(Double(p.open))) open, \(kind.rawValue), ticker running (% of a core)",
                               value: fixed(p.idleCorePercent, 2), data: p.json)
                if p.open == 100_000 || (p.open == largest && largest < 100_000) {
                    f.target = "< 2 %"
                    f.met = p.idleCorePercent < 2
                }
                figures.append(f)
            }
        }
        doc["incidents"] = points.map(\.json)
    }

    // MARK: drill
    if suites.contains("drill") {
        var result: DrillBenchResult?
        var baseline: DrillBenchResult?
        try phases.run("drill: 24 h of water-level gauges, about \(grouped(Double(o.drillEvents))) readings, virtual time") {
            let r = try measureDrill(config: config, events: o.drillEvents, risingEvery: 70)
            result = r
            if r.notAccepted > 0 || r.accepted != r.events { problems.append("drill: \(r.accepted) of \(r.events) accepted") }
            if r.rising > 0 && r.feedWarnings == 0 { problems.append("drill: the rising gauges produced no warning") }
            return "  \(grouped(Double(r.events))) events in \(fixed(r.runSeconds, 1)) s"
        }
        if o.drillBaseline {
            try phases.run("drill baseline: the same 24 h with 1 gauge (the fixed cost of 2,880 clock steps)") {
                let b = try measureDrill(config: config, events: 1, risingEvery: 0)
                baseline = b
                return "  \(grouped(Double(b.events))) events in \(fixed(b.runSeconds, 1)) s"
            }
        }
        if let r = result {
            let rate = Double(r.events) / r.runSeconds
            figures.append(throughputFigure(
                "drill replay in virtual time: \(grouped(Double(r.events))) readings over 24 h, 30-s steps (events/s)",
                rate, mode: .normal, target: nil,
                data: ["events": r.events, "run_seconds": r.runSeconds, "warnings": r.feedWarnings, "tasks": r.feedTasks,
                       "peak_rss_bytes": r.peakRSS]))
            let scaled = r.events < 990_000
            figures.append(Figure(name: "drill replay: seconds for 1,000,000 readings\(scaled ? " (EXTRAPOLATED)" : "")",
                                  value: fixed(scaled ? extrapolate(r, baseline) : r.runSeconds, 1),
                                  data: ["baseline_seconds": baseline?.runSeconds ?? 0, "extrapolated": scaled]))
        }
    }

    // MARK: table
    print()
    print(markdownTable([["figure", "value", "raw limit", "ratio", "target", "met"]] + figures.map(\.row),
                        align: "|---|---:|---:|---:|---:|:---:|"))
    print("ratio: Tocsin / raw limit of the same run (throughput: the lower of libzmq echo and SQLite of the same sync "
          + "mode; latency: the relay, same processes and rate, x = times slower)")
    if problems.isEmpty {
        print("- check: every event was accepted, every warning-making event reached every subscriber exactly once, "
              + "and every pipeline became idle")
    } else {
        print(problems.map { "- CHECK FAILED: " + $0 }.joined(separator: "\n"))
    }
    print(phases.quietLine)
    let wall = Date().timeIntervalSince(phases.began)
    print("- whole run: \(fixed(wall / 60, 1)) min")
    fflush(nil)  // the table before the notes on stderr
    if let path = o.json {
        doc["figures"] = figures.map(\.json)
        doc["problems"] = problems
        doc["settings"] = [
            "seconds": o.seconds, "warmup": o.warmup, "rates": o.rates, "every": o.every,
            "throughput_every": o.throughputEvery, "pairs": o.pairs, "marks": o.marks, "sample": o.sample, "repeats": o.repeats, "open": o.open,
            "kinds": o.kinds.map(\.rawValue), "idle_seconds": o.idleSeconds, "drill_events": o.drillEvents,
            "config": o.config, "tmp": o.tmp,
        ] as [String: Any]
        try phases.writeJSON(doc, to: path)
    }
}
