import Foundation
import Histogram
import TocsinConfig

func ms(_ h: Histogram<UInt64>, _ percentile: Double) -> String {
    h.totalCount == 0 ? "-" : fixed(Double(h.valueAtPercentile(percentile)) / 1000, 2)
}

/// The table, the targets of the issue and the JSON document of one run.
struct Report {
    let options: Options
    let echo: EchoResult?
    let inserts: [Durability: InsertResult]
    let ingest: [Durability: [Int: IngestResult]]
    let latency: [Durability: LatencyResult]

    static let modes: [Durability] = [.normal, .full]

    /// The lower of the libzmq and SQLite ceilings for `mode`, when both were measured.
    func rawLimit(_ mode: Durability) -> Double? {
        guard let echo, let insert = inserts[mode] else { return nil }
        return min(echo.perSecond, insert.perSecond)
    }

    func table() -> String {
        var rows: [[String]] = [["measure", "normal", "full", "raw limit", "ratio"]]
        let dash = "-"
        if let echo {
            let e = grouped(echo.perSecond)
            rows.append(["libzmq alone: DEALER->ROUTER echo, 300 B, \(grouped(Double(options.window))) in flight, tcp loopback (msg/s)",
                         e, e, dash, dash])
        }
        if !inserts.isEmpty {
            rows.append(["SQLite alone: journal-shaped table, WAL, 1,000-row transactions, 300 B payload (rows/s)",
                         inserts[.normal].map { grouped($0.perSecond) } ?? dash,
                         inserts[.full].map { grouped($0.perSecond) } ?? dash, dash, dash])
        }
        if rawLimit(.normal) != nil || rawLimit(.full) != nil {
            rows.append(["raw limit: lower of libzmq and SQLite (events/s)",
                         rawLimit(.normal).map(grouped) ?? dash, rawLimit(.full).map(grouped) ?? dash, dash, dash])
        }
        for clients in options.clients {
            let n = ingest[.normal]?[clients], f = ingest[.full]?[clients]
            if n == nil && f == nil { continue }
            let limits = Self.modes.map { rawLimit($0).map(grouped) ?? dash }.joined(separator: " / ")
            let ratios = Self.modes.map { mode -> String in
                guard let r = ingest[mode]?[clients], let limit = rawLimit(mode) else { return dash }
                return fixed(r.perSecond / limit, 2)
            }.joined(separator: " / ")
            rows.append(["Tocsin ingest, \(clients) platform\(clients == 1 ? "" : "s") x \(grouped(Double(options.window))) in flight (accepted events/s)",
                         n.map { grouped($0.perSecond) } ?? dash, f.map { grouped($0.perSecond) } ?? dash,
                         limits, ratios])
        }
        if !latency.isEmpty {
            for (label, p) in [("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)] {
                rows.append(["ack latency \(label) at \(grouped(options.rate)) events/s, 1 platform (ms)",
                             latency[.normal].map { ms($0.histogram, p) } ?? dash,
                             latency[.full].map { ms($0.histogram, p) } ?? dash, dash, dash])
            }
        }
        var out = ""
        for (i, row) in rows.enumerated() {
            out += "| " + row.joined(separator: " | ") + " |\n"
            if i == 0 { out += "|---|---:|---:|---:|---:|\n" }
        }
        return out + "\nraw limit and ratio: normal / full; ratio = Tocsin figure / lower raw limit of the same sync mode."
    }

    /// The issue's targets, each with its verdict.
    func targets() -> [String] {
        var lines: [String] = []
        func verdict(_ ok: Bool) -> String { ok ? "met" : "NOT met" }
        for mode in Self.modes {
            guard let runs = ingest[mode], let limit = rawLimit(mode) else { continue }
            for clients in options.clients {
                guard let r = runs[clients] else { continue }
                let ratio = r.perSecond / limit
                lines.append("ingest >= 1/2 of the lower raw limit, durability \(mode.rawValue), \(clients) platform(s): "
                             + "\(grouped(r.perSecond)) of \(grouped(limit)) = \(fixed(ratio, 3)): \(verdict(ratio >= 0.5))")
            }
        }
        for mode in Self.modes {
            guard let runs = ingest[mode], let best = runs.values.max(by: { $0.perSecond < $1.perSecond }) else { continue }
            lines.append("ingest >= 100,000 events/s acknowledged, durability \(mode.rawValue): best \(grouped(best.perSecond)) "
                         + "(\(best.clients) platform(s)): \(verdict(best.perSecond >= 100_000))")
        }
        for mode in Self.modes {
            guard let r = latency[mode] else { continue }
            let p99 = Double(r.histogram.valueAtPercentile(99)) / 1000
            lines.append("p99 ack latency < 5 ms at \(grouped(options.rate)) events/s, durability \(mode.rawValue): "
                         + "\(fixed(p99, 2)) ms: \(verdict(r.histogram.totalCount > 0 && p99 < 5))")
        }
        // Checks that the figures count what they claim to.
        var problems: [String] = []
        for mode in Self.modes {
            for (clients, r) in (ingest[mode] ?? [:]).sorted(by: { $0.key < $1.key }) {
                if r.total.bad > 0 || r.total.unanswered > 0 || r.serverRejected > 0 || r.serverAccepted != r.total.sent {
                    problems.append("ingest \(mode.rawValue)/\(clients): sent \(r.total.sent), replies \(r.total.replies), "
                                    + "not accepted \(r.total.bad), server accepted \(r.serverAccepted), rejected "
                                    + "\(r.serverRejected)\(r.total.firstBad.map { "; e.g. \($0)" } ?? "")")
                }
            }
            if let r = latency[mode] {
                if r.bad > 0 || r.replies != r.sent {
                    problems.append("latency \(mode.rawValue): sent \(r.sent), replies \(r.replies), not accepted \(r.bad)")
                }
                if r.achievedRate < options.rate * 0.98 {
                    problems.append("latency \(mode.rawValue): the sender reached only \(grouped(r.achievedRate)) events/s")
                }
            }
        }
        if problems.isEmpty {
            lines.append("check: every event sent was answered `accepted`, and the pipeline's counters agree")
        } else {
            lines += problems.map { "CHECK FAILED: " + $0 }
        }
        return lines
    }

    func json() -> [String: Any] {
        var doc: [String: Any] = [
            "settings": [
                "seconds": options.seconds, "warmup": options.warmup, "window": options.window,
                "clients": options.clients, "rate": options.rate, "config": options.config,
                "event_bytes": EventFactory.targetSize,
            ] as [String: Any],
        ]
        var raw: [String: Any] = [:]
        if let echo {
            raw["libzmq_echo"] = ["per_second": echo.perSecond, "replies": echo.client.replies,
                                  "counted": echo.client.counted]
        }
        for (mode, r) in inserts {
            raw["sqlite_\(mode.rawValue)"] = ["per_second": r.perSecond, "rows": r.rows,
                                              "transactions": r.transactions, "seconds": r.seconds]
        }
        for mode in Self.modes {
            if let limit = rawLimit(mode) { raw["limit_\(mode.rawValue)"] = limit }
        }
        doc["raw"] = raw
        var ing: [String: Any] = [:]
        for (mode, runs) in ingest {
            for (clients, r) in runs {
                var entry: [String: Any] = [
                    "per_second": r.perSecond, "clients": clients, "sent": r.total.sent, "replies": r.total.replies,
                    "counted": r.total.counted, "not_accepted": r.total.bad,
                    "per_client_sent": r.perClient.map(\.sent),
                    "server_accepted": r.serverAccepted, "server_rejected": r.serverRejected,
                    "journal_bytes": r.journalBytes, "stop_seconds": r.stopSeconds,
                ]
                if let limit = rawLimit(mode) { entry["ratio"] = r.perSecond / limit }
                if let bad = r.total.firstBad { entry["first_not_accepted"] = bad }
                ing["\(mode.rawValue)_\(clients)"] = entry
            }
        }
        doc["ingest"] = ing
        var lat: [String: Any] = [:]
        for (mode, r) in latency {
            func percentiles(_ h: Histogram<UInt64>) -> [String: Any] {
                ["p50_ms": Double(h.valueAtPercentile(50)) / 1000, "p90_ms": Double(h.valueAtPercentile(90)) / 1000,
                 "p99_ms": Double(h.valueAtPercentile(99)) / 1000, "p99_9_ms": Double(h.valueAtPercentile(99.9)) / 1000,
                 "max_ms": Double(h.max) / 1000, "mean_ms": h.mean / 1000, "count": h.totalCount]
            }
            lat[mode.rawValue] = [
                "send_to_reply": percentiles(r.histogram),
                "scheduled_to_reply": percentiles(r.scheduled),
                "sent": r.sent, "replies": r.replies, "not_accepted": r.bad,
                "achieved_rate": r.achievedRate, "max_send_lag_ms": Double(r.maxSendLagMicros) / 1000,
                "slow_over_1ms": slowSummary(r.slow),
            ] as [String: Any]
        }
        doc["latency"] = lat
        doc["targets"] = targets()
        return doc
    }
}

/// Replies over 1 ms grouped into bursts (gaps under 20 ms join a burst): how many bursts, how far apart, and
/// how long the worst one held acks back.
func slowSummary(_ slow: [(at: Double, ms: Double)]) -> [String: Any] {
    var bursts: [(start: Double, end: Double, worst: Double, count: Int)] = []
    for s in slow.sorted(by: { $0.at < $1.at }) {
        if var last = bursts.last, s.at - last.end < 0.020 {
            last.end = s.at
            last.worst = max(last.worst, s.ms)
            last.count += 1
            bursts[bursts.count - 1] = last
        } else {
            bursts.append((s.at, s.at, s.ms, 1))
        }
    }
    var gaps: [Double] = []
    for i in bursts.indices.dropFirst() { gaps.append(bursts[i].start - bursts[i - 1].start) }
    gaps.sort()
    return [
        "replies": slow.count, "bursts": bursts.count,
        "median_ms_between_bursts": gaps.isEmpty ? 0 : gaps[gaps.count / 2] * 1000,
        "median_replies_per_burst": bursts.isEmpty ? 0 : bursts.map(\.count).sorted()[bursts.count / 2],
        "worst_ms": bursts.map(\.worst).max() ?? 0,
    ]
}
