// `tocsin-bench e2e`: from the ingest ack of an event to the warning it causes on the feed.
import Foundation
import Histogram
import Logging
import TocsinConfig
import TocsinCore
import TocsinWorkers
import ZeroMQ

let endToEndUsage = """
    usage: tocsin-bench e2e [--json PATH] [--quick] [--rate N] [--every K] [--seconds S] [--warmup S]
                            [--tmp DIR] [--config PATH]

    An in-process Pipeline (shipped config, public endpoints on free tcp ports, durability normal, live clock).
    One platform DEALER sends --rate events/s on a fixed schedule; every K-th event is a report (report.fire,
    then report.traffic_accident, then report.crowd once the grid is used up) at a fresh location at least
    1.01 km from every other one, which opens an incident at tier IV: one `alert`. The others are water_level
    readings of 1.2 m (below every tier: they open nothing). A SUB on the feed (`actual/warning/`) takes each
    warning's `evidence.sample[0]` and records the time from the ack of that event to the warning's arrival.
    Also records the ack latency (send to reply) of every event of the same run.

      --quick       2 s measured after 0.5 s of warm-up, instead of 5 s after 1 s
      --rate N      events per second (default 10,000)
      --every K     one warning-making event in K (default 20)
      --tmp DIR     where the data folder goes (default .build-bench/tmp)
    """

struct EndToEndResult {
    var sent = 0
    var acked = 0
    var notAccepted = 0
    var firstBad: String?
    /// Warning-making events sent inside the measured window, and warnings matched to them.
    var triggers = 0
    var matched = 0
    /// Warnings that arrived before the client had read their event's ack (recorded as 0).
    var beforeAck = 0
    var warnings = 0
    var warningTypes: [String: Int] = [:]
    var unmatched = 0
    var achievedRate = 0.0
    var maxSendLagMicros: UInt64 = 0
    /// Ack to warning, microseconds.
    var ackToWarning = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    /// Send to warning, microseconds (the whole path a platform sees).
    var sendToWarning = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    /// Send to ack of every event in the window, microseconds.
    var ack = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var stopSeconds = 0.0
    /// Per second of the measured window (by the send time of the warning-making event): median and worst
    /// ack-to-warning, ms; shows whether the feed falls further behind as incidents pile up.
    var bySecond: [(second: Int, count: Int, medianMs: Double, maxMs: Double)] = []
}

/// The events of the run, built before it starts: every `every`-th one (seq % every == 0) makes a warning.
struct EndToEndEvents {
    static let reportTypes = ["report.fire", "report.traffic_accident", "report.crowd"]
    static let grid = ShenzhenGrid(spacingM: 1010)
    static let source = "sz.futian.shatou"

    let prefix: String
    var messages: [[UInt8]] = []

    init(run: String, count: Int, every: Int) throws {
        prefix = "\(run)-e-"
        let capacity = Self.grid.count * Self.reportTypes.count
        guard (count + every - 1) / every <= capacity else {
            throw BenchError("e2e: \(grouped(Double(count))) events need more than the \(grouped(Double(capacity))) "
                             + "fresh locations the layout has; lower --seconds or --rate, or raise --every")
        }
        let time = Timestamp(micros: WallClock.now().micros / 1_000_000 * 1_000_000).rfc3339
        messages.reserveCapacity(count)
        for seq in 0..<count {
            var w = JSONWriter(capacity: 256)
            w.beginObject()
            w.field("id", prefix + Self.digits(seq))
            w.field("source", Self.source)
            if seq % every == 0 {
                let j = seq / every
                let p = Self.grid.point(j % Self.grid.count)
                w.field("kind", "report")
                w.field("type", Self.reportTypes[j / Self.grid.count])
                w.field("time", time)
                w.key("location")
                w.beginObject()
                w.field("lat", (p.lat * 1e6).rounded() / 1e6)
                w.field("lon", (p.lon * 1e6).rounded() / 1e6)
                w.endObject()
                w.field("text", "smoke from a building")
            } else {
                w.field("kind", "sensor")
                w.field("type", "water_level")
                w.field("time", time)
                w.key("location")
                w.beginObject()
                w.field("lat", 22.5277)
                w.field("lon", 114.0250)
                w.endObject()
                w.key("values")
                w.beginObject()
                w.field("level_m", 1.2)
                w.endObject()
                w.field("device", "gauge-\(seq % 97)")
            }
            w.field("status", "actual")
            w.endObject()
            messages.append(w.bytes)
        }
    }

    static func digits(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 10 - s.count)) + s
    }

    /// The sequence number in an id of this run, or nil.
    func seq(ofID id: String) -> Int? {
        guard id.hasPrefix(prefix) else { return nil }
        return Int(id.dropFirst(prefix.count))
    }

    /// The sequence number in a reply `{"id":"<prefix><digits>",...}`.
    func seq(inReply reply: [UInt8]) -> Int? { replySeq(reply, prefix: prefix, digits: 10) }
}

func measureEndToEnd(configPath: String, rate: Double, every: Int, warmup: Double, seconds: Double, folder: String,
                     run: String, logger: Logger) throws -> EndToEndResult {
    let count = Int(rate * (warmup + seconds)) + 16
    let events = try EndToEndEvents(run: run, count: count, every: every)
    let p = try RunningPipeline(configPath: configPath, durability: .normal, folder: folder, logger: logger)
    var stopped = false
    defer { if !stopped { p.stop() } }

    let platformContext = try Context(ioThreads: 1)
    let centreContext = try Context(ioThreads: 1)
    defer {
        for c in [platformContext, centreContext] {
            c.shutdown()
            c.terminate()
        }
    }
    let feed = try centreContext.makeSocket(.sub)
    defer { feed.close() }
    try feed.setReceiveHighWaterMark(0)
    try feed.subscribe("actual/warning/")
    try feed.connect(p.feedEndpoint)
    let socket = try platformContext.makeSocket(.dealer)
    defer { socket.close() }
    try socket.setSendHighWaterMark(100_000)
    try socket.setReceiveHighWaterMark(100_000)
    try socket.connect(p.ingestEndpoint)
    let fd = try socket.fileDescriptor(), feedFD = try feed.fileDescriptor()
    usleep(200_000)  // the SUB's subscription reaches the PUB (slow joiner)

    var r = EndToEndResult()
    let interval = 1e9 / rate
    let t0 = monoNanos() + 50_000_000
    let recordFrom = t0 + nanos(warmup)
    let stopAt = recordFrom + nanos(seconds)
    var sentAt = [UInt64](repeating: 0, count: count)
    var dueAt = [UInt64](repeating: 0, count: count)
    var ackAt = [UInt64](repeating: 0, count: count)
    var warnedAt = [UInt64](repeating: 0, count: count)
    var inFlight = 0

    func drainAcks() throws {
        while let reply = try socket.receive(dontWait: true) {
            let now = monoNanos()
            inFlight -= 1
            r.acked += 1
            let body = reply.frames.last ?? []
            guard isAccepted(body), let seq = events.seq(inReply: body), seq < r.sent else {
                r.notAccepted += 1
                if r.firstBad == nil { r.firstBad = String(decoding: body.prefix(300), as: UTF8.self) }
                continue
            }
            ackAt[seq] = now
            if dueAt[seq] >= recordFrom { _ = r.ack.record((now - sentAt[seq]) / 1000) }
        }
    }
    func drainFeed() throws {
        while let m = try feed.receive(dontWait: true) {
            let now = monoNanos()
            r.warnings += 1
            guard let body = m.frames.last, let v = try? JSONValue.parse(body) else {
                r.unmatched += 1
                continue
            }
            r.warningTypes[v["msgType"]?.stringValue ?? "?", default: 0] += 1
            guard let id = v["evidence"]?["sample"]?.arrayValue?.first?.stringValue, let seq = events.seq(ofID: id),
                  seq < r.sent, seq % every == 0, warnedAt[seq] == 0
            else {
                r.unmatched += 1
                continue
            }
            warnedAt[seq] = now
        }
    }
    func pending() throws -> Bool { try socket.events().readable || feed.events().readable }

    var seq = 0
    while true {
        let due = t0 + UInt64(Double(seq) * interval)
        if due >= stopAt || seq >= count { break }
        if monoNanos() >= due {
            try socket.send([events.messages[seq]])
            let sent = monoNanos()
            sentAt[seq] = sent
            dueAt[seq] = due
            if due >= recordFrom { r.maxSendLagMicros = max(r.maxSendLagMicros, (sent - due) / 1000) }
            seq += 1
            r.sent = seq
            inFlight += 1
            continue
        }
        try drainAcks()
        try drainFeed()
        if try pending() { continue }
        waitReadable(fd, feedFD, until: due)
    }
    r.achievedRate = Double(seq) / (Double(monoNanos() - t0) / 1e9)
    // Every trigger sent in the window should get its warning; wait for them (15 s at most).
    let triggers = (0..<r.sent).filter { $0 % every == 0 && dueAt[$0] >= recordFrom }
    let deadline = monoNanos() + 15_000_000_000
    while monoNanos() < deadline {
        try drainAcks()
        try drainFeed()
        if inFlight == 0 && triggers.allSatisfy({ warnedAt[$0] != 0 }) { break }
        if try pending() { continue }
        waitReadable(fd, feedFD, until: min(deadline, monoNanos() + 50_000_000))
    }
    r.triggers = triggers.count
    var buckets: [Int: [Double]] = [:]
    for s in triggers where warnedAt[s] != 0 && ackAt[s] != 0 {
        let second = Int((sentAt[s] - recordFrom) / 1_000_000_000)
        buckets[second, default: []].append(Double(warnedAt[s] > ackAt[s] ? warnedAt[s] - ackAt[s] : 0) / 1e6)
        r.matched += 1
        if warnedAt[s] < ackAt[s] { r.beforeAck += 1 }
        _ = r.ackToWarning.record(warnedAt[s] > ackAt[s] ? (warnedAt[s] - ackAt[s]) / 1000 : 0)
        _ = r.sendToWarning.record((warnedAt[s] - sentAt[s]) / 1000)
    }
    r.bySecond = buckets.keys.sorted().map { k in
        let v = buckets[k]!.sorted()
        return (k, v.count, v[v.count / 2], v.last!)
    }
    let stopStart = monoNanos()
    p.stop()
    stopped = true
    r.stopSeconds = Double(monoNanos() - stopStart) / 1e9
    return r
}

/// p50 ... max of a µs histogram, in ms.
func percentilesJSON(_ h: Histogram<UInt64>) -> [String: Any] {
    ["p50_ms": Double(h.valueAtPercentile(50)) / 1000, "p90_ms": Double(h.valueAtPercentile(90)) / 1000,
     "p99_ms": Double(h.valueAtPercentile(99)) / 1000, "p99_9_ms": Double(h.valueAtPercentile(99.9)) / 1000,
     "max_ms": Double(h.max) / 1000, "mean_ms": h.mean / 1000, "count": h.totalCount]
}

func runEndToEndCommand(_ arguments: [String]) throws {
    let args = try SuiteArgs(arguments, valued: ["--json", "--rate", "--every", "--seconds", "--warmup", "--tmp", "--config"],
                             switches: ["--quick"], usage: endToEndUsage)
    let quick = args.has("--quick")
    let rate = try args.number("--rate", default: 10_000)
    let every = Int(try args.number("--every", default: 20))
    let seconds = try args.number("--seconds", default: quick ? 2 : 5)
    let warmup = try args.number("--warmup", default: quick ? 0.5 : 1)
    let tmp = args.string("--tmp") ?? ".build-bench/tmp"
    let configPath = args.string("--config") ?? ConfigLoader.defaultPath
    bootstrapBenchLogging()
    let logger = Logger(label: "tocsin-bench")
    let folder = tmp + "/run-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let run = String(UUID().uuidString.prefix(4)).lowercased()

    let phases = Phases()
    var result: EndToEndResult?
    try phases.run("e2e, \(grouped(rate)) events/s, 1 in \(every) makes a warning, \(seconds) s") {
        let r = try measureEndToEnd(configPath: configPath, rate: rate, every: every, warmup: warmup, seconds: seconds,
                                    folder: folder, run: run, logger: logger)
        result = r
        return "  ack to warning p50 \(ms(r.ackToWarning, 50)) ms, p99 \(ms(r.ackToWarning, 99)) ms; "
            + "\(r.matched)/\(r.triggers) warnings matched; ack p99 \(ms(r.ack, 99)) ms"
    }
    guard let r = result else { return }
    var rows = [["measure (ms)", "p50", "p90", "p99", "p99.9", "max", "count"]]
    func row(_ label: String, _ h: Histogram<UInt64>) -> [String] {
        [label, ms(h, 50), ms(h, 90), ms(h, 99), ms(h, 99.9), h.totalCount == 0 ? "-" : fixed(Double(h.max) / 1000, 2),
         grouped(Double(h.totalCount))]
    }
    rows.append(row("ack to warning on the feed", r.ackToWarning))
    rows.append(row("send to warning on the feed", r.sendToWarning))
    rows.append(row("send to ack (every event of the run)", r.ack))
    print(markdownTable(rows, align: "|---|---:|---:|---:|---:|---:|---:|"))
    print("ack to warning by second of the run (median / max ms): "
          + r.bySecond.map { "\($0.second): \(fixed($0.medianMs, 1)) / \(fixed($0.maxMs, 1))" }.joined(separator: ", "))
    print("\(grouped(rate)) events/s for \(seconds) s after \(warmup) s of warm-up; 1 event in \(every) opens a new "
          + "incident at tier IV (one alert); durability normal; tcp loopback")
    print()
    var lines: [String] = []
    let p99 = Double(r.ackToWarning.valueAtPercentile(99)) / 1000
    lines.append("p99 ack-to-warning latency < 10 ms: \(fixed(p99, 2)) ms: "
                 + "\(r.ackToWarning.totalCount > 0 && p99 < 10 ? "met" : "NOT met")")
    var problems: [String] = []
    if r.matched != r.triggers { problems.append("\(r.triggers - r.matched) of \(r.triggers) warning-making events got no warning within 15 s") }
    if r.notAccepted > 0 || r.acked != r.sent { problems.append("sent \(r.sent), acks \(r.acked), not accepted \(r.notAccepted)\(r.firstBad.map { "; e.g. \($0)" } ?? "")") }
    if r.unmatched > 0 { problems.append("\(r.unmatched) warnings not matched to a warning-making event (by msgType: \(r.warningTypes))") }
    if r.achievedRate < rate * 0.98 { problems.append("the sender reached only \(grouped(r.achievedRate)) events/s") }
    if problems.isEmpty {
        lines.append("check: every event was accepted, every warning-making event got exactly one warning (an alert), "
                     + "and no other warning came")
    } else {
        lines += problems.map { "CHECK FAILED: " + $0 }
    }
    if r.beforeAck > 0 { lines.append("note: \(r.beforeAck) warnings were read before their event's ack (counted as 0 ms)") }
    print(lines.map { "- " + $0 }.joined(separator: "\n"))
    print(phases.quietLine)
    if let path = args.string("--json") {
        let doc: [String: Any] = [
            "suite": "e2e",
            "settings": ["rate": rate, "every": every, "seconds": seconds, "warmup": warmup, "config": configPath,
                         "durability": "normal"] as [String: Any],
            "ack_to_warning": percentilesJSON(r.ackToWarning),
            "send_to_warning": percentilesJSON(r.sendToWarning),
            "send_to_ack": percentilesJSON(r.ack),
            "sent": r.sent, "acks": r.acked, "not_accepted": r.notAccepted, "triggers_in_window": r.triggers,
            "warnings_matched": r.matched, "warnings_received": r.warnings, "warnings_by_msg_type": r.warningTypes,
            "warnings_unmatched": r.unmatched, "warnings_before_ack": r.beforeAck,
            "achieved_rate": r.achievedRate, "max_send_lag_ms": Double(r.maxSendLagMicros) / 1000,
            "stop_seconds": r.stopSeconds, "targets": lines,
            "ack_to_warning_by_second": r.bySecond.map {
                ["second": $0.second, "count": $0.count, "median_ms": $0.medianMs, "max_ms": $0.maxMs] as [String: Any]
            },
        ]
        try phases.writeJSON(doc, to: path)
    }
}

/// Warnings and errors of the pipeline on stderr, as `ingest` does.
func bootstrapBenchLogging() {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = .warning
        return h
    }
}
