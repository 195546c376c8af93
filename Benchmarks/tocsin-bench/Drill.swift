// `tocsin-bench drill`: how fast a drill replays a day of sensor readings in virtual time.
import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinDrillRunner

let drillUsage = """
    usage: tocsin-bench drill [--json PATH] [--quick] [--events N] [--rising K] [--config PATH]

    Builds a 24-hour Scenario in code: gauges (water_level), each a `series` over 24 h with a reading every
    60.48 s (1,429 readings), enough gauges for --events readings (default 1,000,000: 700 gauges). Most stay
    below every tier (1.0 -> 1.6 m, noise +-0.2 m); one gauge in --rising (default 70) rises 2.0 -> 3.6 m and
    opens a flood incident that climbs to tier II. Each gauge sits on its own point of a 1.01 km grid over
    Shenzhen and publishes as the nearest street. Runs it with DrillRunner in virtual time (the default: an
    in-process pipeline on a virtual clock, 30-s steps), and reports the wall-clock time and events/s.

      --quick      100,000 readings (70 gauges) instead of 1,000,000
      --no-baseline  skip the second run with 1 gauge (the fixed cost of the 2,880 clock steps, about 6 s)
    """

struct DrillBenchResult {
    var gauges: Int
    var rising: Int
    var events: Int
    var expandSeconds: Double
    var runSeconds: Double
    var accepted: Int
    var notAccepted: Int
    var firstNotAccepted: String?
    var feedWarnings: Int
    var feedTasks: Int
    var peakRSS: Int
}

/// The scenario: `gauges` water-level series over 24 h.
func benchScenario(config: TocsinConfiguration, gauges: Int, risingEvery: Int) -> Scenario {
    let start = Timestamp(rfc3339: "2026-07-01T00:00:00+08:00")!
    let grid = ShenzhenGrid(spacingM: 1010)
    let streets = config.areas.sorted.filter { $0.path.level == .street }
    var injects: [Inject] = []
    let stride = max(1, grid.count / max(gauges, 1))
    for g in 0..<gauges {
        let p = grid.point((g * stride) % grid.count)
        let location = GeoPoint(lat: (p.lat * 1e6).rounded() / 1e6, lon: (p.lon * 1e6).rounded() / 1e6)
        let street = streets.min { $0.center.distance(to: location) < $1.center.distance(to: location) }!
        let rising = risingEvery > 0 && g % risingEvery == risingEvery / 2
        let series = Inject.Series(value: "level_m", from: rising ? 2.0 : 1.0, to: rising ? 3.6 : 1.6, over: 86_400,
                                   every: 60.48, noise: rising ? 0.05 : 0.2, decimals: 2, seed: UInt64(g + 1))
        injects.append(Inject(name: "gauge \(g)\(rising ? " (rising)" : "")", at: 0, source: street.path,
                              type: "water_level", kind: .sensor, location: location, device: "gauge-\(g)",
                              pattern: .series(series)))
    }
    return Scenario(name: "24 h of water-level gauges", purpose: "tocsin-bench drill", start: start,
                    utcOffset: 8 * 3600, duration: 86_400, injects: injects, slug: "bench")
}

func measureDrill(config: TocsinConfiguration, events target: Int, risingEvery: Int) throws -> DrillBenchResult {
    let perGauge = Inject.Series(value: "level_m", from: 0, to: 0, over: 86_400, every: 60.48).count
    let gauges = max(1, Int((Double(target) / Double(perGauge)).rounded()))
    let scenario = benchScenario(config: config, gauges: gauges, risingEvery: risingEvery)
    let rising = scenario.injects.filter { $0.name.hasSuffix("(rising)") }.count
    // The expansion alone (the runner does it again inside its run): part of the cost, shown on its own.
    let e0 = monoNanos()
    let events = scenario.expandedInjects().count
    let expandSeconds = Double(monoNanos() - e0) / 1e9

    var quiet = Logger(label: "tocsin-bench.drill")
    quiet.logLevel = .error
    let runner = DrillRunner(scenario: scenario, config: config, options: DrillOptions(), logger: quiet,
                             output: { _ in })
    let t0 = monoNanos()
    let outcome = try runner.run()
    let runSeconds = Double(monoNanos() - t0) / 1e9
    var accepted = 0, notAccepted = 0, warnings = 0, tasks = 0
    var firstBad: String?
    for record in outcome.log.records {
        switch record {
        case .injected(_, _, let reply):
            if reply == "accepted" {
                accepted += 1
            } else {
                notAccepted += 1
                if firstBad == nil { firstBad = reply }
            }
        case .feed(_, let topic, _):
            if topic.contains("/warning/") { warnings += 1 } else { tasks += 1 }
        default: break
        }
    }
    return DrillBenchResult(gauges: gauges, rising: rising, events: events, expandSeconds: expandSeconds,
                            runSeconds: runSeconds, accepted: accepted, notAccepted: notAccepted,
                            firstNotAccepted: firstBad, feedWarnings: warnings, feedTasks: tasks,
                            peakRSS: peakResidentBytes())
}

/// The time 1,000,000 readings would take: the baseline's fixed cost plus this run's per-event cost beyond it
/// (linear in events when there is no baseline). Labelled as extrapolated wherever it is shown.
func extrapolate(_ r: DrillBenchResult, _ baseline: DrillBenchResult?) -> Double {
    guard let b = baseline, r.events > b.events else { return 1_000_000 * r.runSeconds / Double(r.events) }
    return b.runSeconds + (1_000_000 - Double(b.events)) * (r.runSeconds - b.runSeconds) / Double(r.events - b.events)
}

/// The process's peak resident memory (`VmHWM` in /proc/self/status).
func peakResidentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
    return kb * 1024
}

func runDrillCommand(_ arguments: [String]) throws {
    let args = try SuiteArgs(arguments, valued: ["--json", "--events", "--rising", "--config"], switches: ["--quick", "--no-baseline"],
                             usage: drillUsage)
    let quick = args.has("--quick")
    let target = Int(try args.number("--events", default: quick ? 100_000 : 1_000_000))
    let risingEvery = Int(try args.number("--rising", default: 70))
    let configPath = args.string("--config") ?? ConfigLoader.defaultPath
    let config = try ConfigLoader.load(path: configPath)
    bootstrapBenchLogging()
    let phases = Phases()
    var result: DrillBenchResult?
    try phases.run("drill, 24 h scenario, about \(grouped(Double(target))) readings, virtual time") {
        let r = try measureDrill(config: config, events: target, risingEvery: risingEvery)
        result = r
        return "  \(grouped(Double(r.events))) events in \(fixed(r.runSeconds, 1)) s = "
            + "\(grouped(Double(r.events) / r.runSeconds)) events/s; \(r.feedWarnings) warnings, \(r.feedTasks) task messages"
    }
    guard let r = result else { return }
    var baseline: DrillBenchResult?
    if !args.has("--no-baseline") {
        try phases.run("drill baseline: the same 24 h with 1 gauge (the fixed cost of the steps)") {
            let b = try measureDrill(config: config, events: 1, risingEvery: 0)
            baseline = b
            return "  \(grouped(Double(b.events))) events in \(fixed(b.runSeconds, 1)) s"
        }
    }
    let rate = Double(r.events) / r.runSeconds
    let scaled = r.events < 990_000
    var rows = [["measure", "value"]]
    rows.append(["scenario", "24 h, \(r.gauges) gauges x 1,429 readings (\(r.rising) rising above tier IV), 30-s steps"])
    rows.append(["events replayed", grouped(Double(r.events))])
    rows.append(["wall-clock seconds (DrillRunner.run, virtual time)", fixed(r.runSeconds, 1)])
    rows.append(["events/s", grouped(rate)])
    rows.append(["virtual time / wall time", fixed(86_400 / r.runSeconds, 0) + "x"])
    if scaled { rows.append(["1,000,000 readings, EXTRAPOLATED (s)", fixed(extrapolate(r, baseline), 1)]) }
    rows.append(["expanding the injects alone (s; measured apart, the runner does it again inside its time)",
                 fixed(r.expandSeconds, 1)])
    if let b = baseline {
        let steps = Int((86_400.0 / 30).rounded())
        let extraEvents = Double(max(1, r.events - b.events))
        let extraSeconds = r.runSeconds - b.runSeconds
        let perEventMicros = extraSeconds / extraEvents * 1e6
        let marginalRate = extraEvents / max(1e-9, extraSeconds)
        rows.append(["fixed cost of the \(grouped(Double(steps))) clock steps: the same day with 1 gauge "
                     + "(\(grouped(Double(b.events))) events), s", fixed(b.runSeconds, 1)])
        rows.append(["per-event cost beyond that, µs (marginal events/s)",
                     "\(fixed(perEventMicros, 1)) (\(grouped(marginalRate)))"])
    }
    rows.append(["warnings / task messages on the feed", "\(r.feedWarnings) / \(r.feedTasks)"])
    rows.append(["peak RSS of the process", mebibytes(r.peakRSS)])
    print(markdownTable(rows, align: "|---|---:|"))
    print()
    var lines: [String] = []
    let seconds = scaled ? extrapolate(r, baseline) : r.runSeconds
    lines.append("1,000,000 readings replayed in < 30 s: \(fixed(seconds, 1)) s\(scaled ? " (extrapolated)" : ""): "
                 + "\(seconds < 30 ? "met" : "NOT met")")
    if r.notAccepted > 0 || r.accepted != r.events {
        lines.append("CHECK FAILED: \(r.accepted) of \(r.events) accepted\(r.firstNotAccepted.map { "; e.g. \($0)" } ?? "")")
    } else if r.rising > 0 && r.feedWarnings == 0 {
        lines.append("CHECK FAILED: the rising gauges produced no warning")
    } else {
        lines.append("check: every reading was accepted, and the rising gauges produced warnings")
    }
    print(lines.map { "- " + $0 }.joined(separator: "\n"))
    print(phases.quietLine)
    if let path = args.string("--json") {
        let doc: [String: Any] = [
            "suite": "drill",
            "settings": ["events_target": target, "rising_every": risingEvery, "config": configPath,
                         "step_seconds": 30, "every_seconds": 60.48] as [String: Any],
            "gauges": r.gauges, "rising": r.rising, "events": r.events, "run_seconds": r.runSeconds,
            "events_per_second": rate, "expand_seconds": r.expandSeconds, "accepted": r.accepted,
            "not_accepted": r.notAccepted, "feed_warnings": r.feedWarnings, "feed_tasks": r.feedTasks,
            "peak_rss_bytes": r.peakRSS, "extrapolated_seconds_for_1m": scaled ? extrapolate(r, baseline) : r.runSeconds,
            "extrapolated": scaled, "targets": lines,
            "baseline_one_gauge": baseline.map { ["events": $0.events, "run_seconds": $0.runSeconds] as [String: Any] }
                ?? [:],
        ]
        try phases.writeJSON(doc, to: path)
    }
}
