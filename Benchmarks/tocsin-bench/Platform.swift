// The child modes of the end-to-end runs: `platform` (one platform, a DEALER, as its own process) and
// `subscribers` (command centers: several SUBs with a prefix filter, in one process). See Children.swift for
// how the parent drives them, and Flow.swift for the runs.
import Foundation
import Histogram
import TocsinCore
import TocsinWorkers
import ZeroMQ

/// Where the warning-making events of a run go: each at a fresh point of a 1.01 km grid over Shenzhen (farther
/// apart than every radius of the catalog), so each opens its own incident and makes exactly one `alert`. Four
/// report types make a warning from one report (fire, traffic accident and crowd at tier IV, collapse at III);
/// each point is used again at two earlier times, 61 and 92 min before the run, outside the 30-min window of the
/// incidents opened there before but inside their 2-h quiet period (so none closes during a run).
enum TriggerLayout {
    static let grid = ShenzhenGrid(spacingM: 1010)
    static let types = ["report.fire", "report.traffic_accident", "report.crowd", "report.collapse"]
    static let roundOffsets: [Double] = [0, -61 * 60, -92 * 60]
    static var capacity: Int { grid.count * types.count * roundOffsets.count }

    /// Slot `s`: its point, type and time offset. Past `capacity` the slots repeat (such a report then joins an
    /// incident opened before and makes no new warning: runs that need one warning each check the capacity first).
    static func slot(_ slot: Int) -> (lat: Double, lon: Double, type: String, offset: Double) {
        let s = slot % capacity
        let p = grid.point(s % grid.count)
        let type = types[(s / grid.count) % types.count]
        let round = s / (grid.count * types.count)
        return ((p.lat * 1e6).rounded() / 1e6, (p.lon * 1e6).rounded() / 1e6, type, roundOffsets[round])
    }
}

/// The events of platform `index` of `platforms`: event `seq` has the id `<run>-p<index>-<10 digits>`; every
/// `every`-th (seq % every == 0) is a report at a fresh trigger slot, the others are `water_level` readings of
/// 1.2 m at the platform's street (below every tier: they all join one incident that never warns).
struct PlatformEvents {
    let prefix: String
    let platform: EventFactory.Platform
    let index: Int
    let platforms: Int
    let every: Int
    private var second: Int64 = -1
    private var time = ""
    private var reading: [UInt8] = []
    private var digitsAt = 0

    init(run: String, index: Int, platforms: Int, every: Int) {
        prefix = "\(run)-p\(index)-"
        platform = EventFactory.platforms[index % EventFactory.platforms.count]
        self.index = index
        self.platforms = platforms
        self.every = max(1, every)
        refresh()
    }

    /// How many triggers `count` events hold, and whether they fit the layout.
    static func triggers(count: Int, every: Int) -> Int { (count + every - 1) / every }

    private mutating func refresh() {
        let s = WallClock.now().micros / 1_000_000
        guard s != second else { return }
        second = s
        time = Timestamp(micros: s * 1_000_000).rfc3339
        reading = EventFactory.reading(idPrefix: prefix, platform: platform, time: time, level: 1.2,
                                       device: "gauge-\(index)")
        digitsAt = 7 + prefix.utf8.count
    }

    static func digits(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 10 - s.count)) + s
    }

    /// Event `seq`. Readings are the template with the id's digits patched in; the time is refreshed every
    /// 1,024 events.
    mutating func make(_ seq: Int) -> [UInt8] {
        if seq & 1023 == 0 { refresh() }
        if seq % every == 0 {
            let slot = TriggerLayout.slot((seq / every) * platforms + index)
            var w = JSONWriter(capacity: 320)
            w.beginObject()
            w.field("id", prefix + Self.digits(seq))
            w.field("source", platform.source)
            w.field("kind", "report")
            w.field("type", slot.type)
            w.field("time", Timestamp(micros: second * 1_000_000).adding(seconds: slot.offset).rfc3339)
            w.key("location")
            w.beginObject()
            w.field("lat", slot.lat)
            w.field("lon", slot.lon)
            w.endObject()
            w.field("text", "smoke from a building")
            w.field("status", "actual")
            w.endObject()
            return w.bytes
        }
        var bytes = reading
        EventFactory.patch(&bytes, digitsAt: digitsAt, seq)
        return bytes
    }

    /// Event `seq` as `make(seq)` makes it, lent to `body`: a reading is the template patched in place (no array
    /// per event; the platform process's own cost per event counts against the machine's).
    mutating func withEvent<T>(_ seq: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        if seq & 1023 == 0 { refresh() }
        if seq % every == 0 { return try make(seq).withUnsafeBytes(body) }
        EventFactory.patch(&reading, digitsAt: digitsAt, seq)
        return try reading.withUnsafeBytes(body)
    }

    /// The sequence number in a reply `{"id":"<prefix><digits>",...}`, or nil when it is not one of ours.
    func seq(inReply reply: UnsafeRawBufferPointer) -> Int? { replySeq(reply, prefix: prefix, digits: 10) }
}

/// Options of a child mode: `--name value` pairs.
private func childOptions(_ args: [String]) throws -> [String: String] {
    var out: [String: String] = [:]
    var i = 0
    while i < args.count {
        guard args[i].hasPrefix("--"), i + 1 < args.count else { throw BenchError("bad child argument \(args[i])") }
        out[args[i]] = args[i + 1]
        i += 2
    }
    return out
}

// MARK: - platform

/// `tocsin-bench platform --endpoint E --index K --platforms P --run R --every N --warmup S --seconds S
/// (--rate R | --window W) --out PATH`: one platform. With `--rate` it sends on a fixed schedule (events built
/// beforehand) and records send-to-ack; with `--window` it keeps that many events in flight as fast as it can.
/// Waits for `go <t0>` on stdin; the measured window is [t0 + warmup, t0 + warmup + seconds).
func runPlatformCommand(_ arguments: [String]) throws {
    let o = try childOptions(arguments)
    guard let endpoint = o["--endpoint"], let out = o["--out"], let run = o["--run"] else {
        throw BenchError("platform: --endpoint, --run and --out are required")
    }
    let index = Int(o["--index"] ?? "0") ?? 0
    let platforms = Int(o["--platforms"] ?? "1") ?? 1
    let every = Int(o["--every"] ?? "20") ?? 20
    let warmup = Double(o["--warmup"] ?? "1") ?? 1
    let seconds = Double(o["--seconds"] ?? "5") ?? 5
    let rate = Double(o["--rate"] ?? "0") ?? 0
    let window = Int(o["--window"] ?? "1000") ?? 1000

    var events = PlatformEvents(run: run, index: index, platforms: platforms, every: every)
    let context = try Context(ioThreads: 1)
    defer {
        context.shutdown()
        context.terminate()
    }
    let socket = try context.makeSocket(.dealer)
    defer { socket.close() }
    try socket.setSendHighWaterMark(200_000)
    try socket.setReceiveHighWaterMark(200_000)
    try socket.connect(endpoint)
    let fd = try socket.fileDescriptor()

    // Paced runs build every event first, so that building costs nothing on the schedule.
    var prebuilt: [[UInt8]] = []
    if rate > 0 {
        let count = Int(rate * (warmup + seconds)) + 16
        guard PlatformEvents.triggers(count: count, every: every) * platforms <= TriggerLayout.capacity else {
            throw BenchError("platform: more warning-making events than the \(TriggerLayout.capacity) fresh places")
        }
        prebuilt.reserveCapacity(count)
        for seq in 0..<count { prebuilt.append(events.make(seq)) }
    }
    var link = ParentLink()
    link.ready()
    let t0 = try link.waitGo()
    let threads0 = threadCPUSeconds()
    let late = monoNanos() > t0
    let recordFrom = t0 + nanos(warmup)
    let stopAt = recordFrom + nanos(seconds)

    var sent = 0, replies = 0, accepted = 0, counted = 0, bad = 0, triggersInWindow = 0
    var firstBad: String?
    var ack = latencyHistogram()
    var sentAt = [UInt64](repeating: 0, count: max(prebuilt.count, 1))
    var maxLag: UInt64 = 0

    func drain() throws {
        // Each reply read where libzmq holds it. Unpaced, one clock reading for the replies that are there now
        // (they count in the window or not by it); paced, each reply's own for its send-to-ack time.
        let drainedAt = monoNanos()
        var seq = -1
        while try socket.receiveLast(dontWait: true, { body in
            replies += 1
            seq = -1
            guard isAccepted(body), let n = events.seq(inReply: body), n < sent else {
                bad += 1
                if firstBad == nil { firstBad = String(decoding: body.prefix(300), as: UTF8.self) }
                return
            }
            seq = n
        }) {
            guard seq >= 0 else { continue }
            let now = rate > 0 ? monoNanos() : drainedAt
            accepted += 1
            if now >= recordFrom && now < stopAt { counted += 1 }
            if rate > 0 {
                let due = t0 + UInt64(Double(seq) * 1e9 / rate)
                if due >= recordFrom { _ = ack.record((now - sentAt[seq]) / 1000) }
            }
        }
    }

    if rate > 0 {
        let interval = 1e9 / rate
        while sent < prebuilt.count {
            let due = t0 + UInt64(Double(sent) * interval)
            if due >= stopAt { break }
            let now = monoNanos()
            if now >= due {
                _ = try prebuilt[sent].withUnsafeBytes { try socket.send(frame: $0) }
                let at = monoNanos()
                sentAt[sent] = at
                if due >= recordFrom {
                    maxLag = max(maxLag, (at - due) / 1000)
                    if sent % every == 0 { triggersInWindow += 1 }
                }
                sent += 1
                continue
            }
            try drain()
            // ZMQ_FD is edge-triggered: wait on it only after ZMQ_EVENTS says nothing is ready.
            if try socket.events().readable { continue }
            waitReadable(fd, until: due)
        }
    } else {
        while monoNanos() < t0 { waitReadable(fd, until: t0) }
        var poller = Poller()
        poller.add(socket)
        while monoNanos() < stopAt {
            let now = monoNanos()
            while sent - replies < window {
                if now >= recordFrom && now < stopAt && sent % every == 0 { triggersInWindow += 1 }
                _ = try events.withEvent(sent) { try socket.send(frame: $0) }
                sent += 1
            }
            _ = try poller.poll(timeoutMilliseconds: 20)
            try drain()
        }
    }
    let sendEnd = monoNanos()
    let drainUntil = monoNanos() + 30_000_000_000
    while replies < sent && monoNanos() < drainUntil {
        try drain()
        if try socket.events().readable { continue }
        waitReadable(fd, until: min(drainUntil, monoNanos() + 50_000_000))
    }
    // The threads' CPU first: what comes after (the histogram's pairs, the JSON) is not the run's.
    let cpuByThread = threadCPUDelta(threads0, threadCPUSeconds())
    var doc: [String: Any] = [
        "sent": sent, "replies": replies, "accepted": accepted, "counted": counted, "not_accepted": bad,
        "triggers_in_window": triggersInWindow, "triggers_sent": PlatformEvents.triggers(count: sent, every: every),
        "started_late": late, "max_send_lag_us": maxLag, "window_seconds": seconds,
        "achieved_rate": Double(sent) / max(1e-9, Double(sendEnd - t0) / 1e9),
        "ack_us": histogramPairs(ack),
        "cpu_seconds_by_thread": cpuByThread,
    ]
    if let firstBad { doc["first_not_accepted"] = firstBad }
    try writeResult(doc, to: out)
}

// MARK: - subscribers

/// `tocsin-bench subscribers --endpoint FEED --count N --prefix P --run R --every K [--interval NS --warmup S]
/// --out PATH`: N SUB sockets (one context, one thread), each subscribed to `--prefix`. For every warning it
/// reads `evidence.sample[0]`, the id of the event that opened the incident; with `--interval` (the platforms'
/// send interval) it records, for events scheduled in the measured window, the time from the event's scheduled
/// send (t0 + seq x interval) to the warning's arrival on each subscriber. Runs until `stop` (or EOF) on stdin,
/// then reads for 200 ms more.
func runSubscribersCommand(_ arguments: [String]) throws {
    let o = try childOptions(arguments)
    guard let endpoint = o["--endpoint"], let out = o["--out"], let run = o["--run"] else {
        throw BenchError("subscribers: --endpoint, --run and --out are required")
    }
    let count = Int(o["--count"] ?? "10") ?? 10
    let prefix = o["--prefix"] ?? "actual/warning/"
    let interval = Double(o["--interval"] ?? "0") ?? 0
    let warmup = Double(o["--warmup"] ?? "1") ?? 1
    let every = Int(o["--every"] ?? "20") ?? 20

    let context = try Context(ioThreads: 1)
    defer {
        context.shutdown()
        context.terminate()
    }
    var sockets: [Socket] = []
    defer { for s in sockets { s.close() } }
    var poller = Poller()
    // The same sockets without stdin, for the last 200 ms after `stop`: the parent may have closed stdin by then,
    // and a closed stdin is always readable, which made the loop spin (about 0.2 s of CPU, counted as the run's
    // until 2026-11-30: 0.12-0.14 us per event in runs with four warnings in all).
    var socketsOnly = Poller()
    for _ in 0..<count {
        let s = try context.makeSocket(.sub)
        sockets.append(s)
        try s.setReceiveHighWaterMark(0)
        try s.subscribe(prefix)
        try s.connect(endpoint)
        poller.add(s)
        socketsOnly.add(s)
    }
    let stdinIndex = poller.add(fileDescriptor: 0)
    usleep(300_000)  // subscriptions reach the PUB (slow joiner)
    var link = ParentLink()
    link.ready()
    let t0 = try link.waitGo()
    let threads0 = threadCPUSeconds()
    let recordFrom = t0 + nanos(warmup)
    let runPrefix = Array("\(run)-p".utf8)

    var received = [Int](repeating: 0, count: count)
    var matched = [Int](repeating: 0, count: count)
    var recorded = 0, unmatched = 0, late = 0
    var latency = latencyHistogram()
    var stopAt: UInt64?

    func handle(_ body: UnsafeRawBufferPointer, subscriber: Int, now: UInt64) {
        received[subscriber] += 1
        guard let (platform, seq) = sampleEvent(in: body, runPrefix: runPrefix), seq % every == 0 else {
            unmatched += 1
            return
        }
        _ = platform
        matched[subscriber] += 1
        guard interval > 0 else { return }
        let due = t0 + UInt64(Double(seq) * interval)
        guard due >= recordFrom else { return }
        if now < due {
            late += 1
            return
        }
        _ = latency.record((now - due) / 1000)
        recorded += 1
    }

    while true {
        if let stopAt, monoNanos() >= stopAt { break }
        let ready = stopAt == nil ? try poller.poll(timeoutMilliseconds: 1000) : try socketsOnly.poll(timeoutMilliseconds: 20)
        let now = monoNanos()
        for r in ready where r.index < count {
            // Each warning read where libzmq holds it (its topic frame dropped).
            while try sockets[r.index].receiveLast(dontWait: true, { handle($0, subscriber: r.index, now: now) }) {
            }
        }
        if stopAt == nil, ready.isReadable(stdinIndex) || link.closed {
            if let line = link.line(timeoutMs: 0), line == "stop" { stopAt = monoNanos() + 200_000_000 }
        }
    }
    // The threads' CPU first: what comes after (the histogram's pairs, the JSON) is not the run's.
    let cpuByThread = threadCPUDelta(threads0, threadCPUSeconds())
    try writeResult([
        "received": received, "matched": matched, "unmatched": unmatched, "recorded": recorded,
        "before_schedule": late, "latency_us": histogramPairs(latency),
        "cpu_seconds_by_thread": cpuByThread,
    ], to: out)
}

/// The platform index and sequence number of a warning's `evidence.sample[0]` (`<run>-p<k>-<digits>`), found by
/// scanning for `"sample":["` (the dispatch worker writes compact JSON).
private let sampleMarker = Array(#""sample":[""#.utf8)

func sampleEvent(in body: UnsafeRawBufferPointer, runPrefix: [UInt8]) -> (platform: Int, seq: Int)? {
    guard let base = body.baseAddress else { return nil }
    return sampleMarker.withUnsafeBytes { marker -> (Int, Int)? in
        let n = body.count, m = marker.count
        // Each quote (memchr), then the rest of the marker (memcmp).
        var i = 0
        while true {
            guard n - i >= m, let q = memchr(base + i, Int32(UInt8(ascii: "\"")), n - i) else { return nil }
            i = base.distance(to: UnsafeRawPointer(q))
            guard n - i >= m else { return nil }
            if memcmp(base + i, marker.baseAddress!, m) == 0 { break }
            i += 1
        }
        let b = body.bindMemory(to: UInt8.self)
        do {
            var j = i + m
            guard j + runPrefix.count <= n else { return nil }
            for k in 0..<runPrefix.count where b[j + k] != runPrefix[k] { return nil }
            j += runPrefix.count
            var platform = 0
            while j < n, b[j] >= 48, b[j] <= 57 {
                platform = platform * 10 + Int(b[j] - 48)
                j += 1
            }
            guard j < n, b[j] == UInt8(ascii: "-") else { return nil }
            j += 1
            var seq = 0, digits = 0
            while j < n, b[j] >= 48, b[j] <= 57 {
                seq = seq * 10 + Int(b[j] - 48)
                j += 1
                digits += 1
            }
            return digits == 10 ? (platform, seq) : nil
        }
    }
}
