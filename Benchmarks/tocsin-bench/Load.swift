import Foundation
import Histogram
import TocsinCore
import TocsinWorkers
import ZeroMQ

/// The measurement window shared by every client of one run, in monotonic nanoseconds: replies that arrive
/// in `[start, end)` are counted; sending stops at `end`, then what is in flight is drained.
struct Window: Sendable {
    var start: UInt64
    var end: UInt64
    var seconds: Double { Double(end - start) / 1e9 }

    /// A window that opens after `warmup` seconds from now and lasts `seconds`.
    static func after(warmup: Double, seconds: Double) -> Window {
        let start = monoNanos() + nanos(warmup)
        return Window(start: start, end: start + nanos(seconds))
    }
}

/// What one client saw.
struct ClientResult: Sendable {
    var sent = 0
    var replies = 0
    /// Replies received inside the window.
    var counted = 0
    /// Replies that were not what we expected (e.g. not `accepted`), and the first of them.
    var bad = 0
    var firstBad: String?
    /// Sent but never answered within the drain time.
    var unanswered: Int { sent - replies }
}

/// Makes ~300-byte valid `water_level` events with unique ids (`<run>-c<client>-<10 digits>`) and the
/// current time (to the second), by patching digits into a template instead of encoding each event.
struct EventFactory {
    struct Platform: Sendable {
        var source: String
        var lat: Double
        var lon: Double
    }

    /// Street platforms of the shipped `Config/areas.yaml`, in four districts, with their centres.
    static let platforms: [Platform] = [
        Platform(source: "sz.futian.shatou", lat: 22.5277, lon: 114.0250),
        Platform(source: "sz.nanshan.yuehai", lat: 22.5290, lon: 113.9450),
        Platform(source: "sz.luohu.dongmen", lat: 22.5480, lon: 114.1200),
        Platform(source: "sz.baoan.xinan", lat: 22.5600, lon: 113.8900),
    ]

    static let targetSize = 300
    static let digits = 10

    let idPrefix: String
    let platform: Platform
    private var template: [UInt8] = []
    private var digitsOffset = 0
    private var second: Int64 = -1

    init(run: String, client: Int) {
        idPrefix = "\(run)-c\(client)-"
        platform = Self.platforms[client % Self.platforms.count]
        refresh()
    }

    /// The offset of the sequence digits inside the id, for readers of replies.
    var idLength: Int { idPrefix.utf8.count + Self.digits }

    private mutating func refresh() {
        let now = WallClock.now()
        let s = now.micros / 1_000_000
        guard s != second else { return }
        second = s
        let time = Timestamp(micros: s * 1_000_000).rfc3339
        func build(device: String) -> [UInt8] {
            Self.reading(idPrefix: idPrefix, platform: platform, time: time, level: 2.17, device: device)
        }
        let bare = build(device: "gauge-")
        let pad = max(0, Self.targetSize - bare.count)
        template = build(device: "gauge-" + String(repeating: "0", count: pad))
        // The digits follow `{"id":"<prefix>`.
        digitsOffset = 7 + idPrefix.utf8.count
    }

    /// The event with sequence number `seq`.
    mutating func make(_ seq: Int) -> [UInt8] {
        if seq & 1023 == 0 { refresh() }
        var bytes = template
        Self.patch(&bytes, digitsAt: digitsOffset, seq)
        return bytes
    }

    /// A water-level reading (300-odd bytes) of `platform` at `time` whose id is `idPrefix` and ten zeros: the
    /// template that `patch` numbers.
    static func reading(idPrefix: String, platform: Platform, time: String, level: Double, device: String) -> [UInt8] {
        var w = JSONWriter(capacity: 384)
        w.beginObject()
        w.field("id", idPrefix + String(repeating: "0", count: digits))
        w.field("source", platform.source)
        w.field("kind", "sensor")
        w.field("type", "water_level")
        w.field("time", time)
        w.key("location")
        w.beginObject()
        w.field("lat", platform.lat)
        w.field("lon", platform.lon)
        w.endObject()
        w.key("values")
        w.beginObject()
        w.field("level_m", level)
        w.endObject()
        w.field("status", "actual")
        w.field("device", device)
        w.endObject()
        return w.bytes
    }

    /// Writes `seq` as the ten digits at `offset` of a template's id.
    static func patch(_ bytes: inout [UInt8], digitsAt offset: Int, _ seq: Int) {
        var n = seq
        var i = offset + digits - 1
        while i >= offset {
            bytes[i] = UInt8(48 + n % 10)
            n /= 10
            i -= 1
        }
    }

    /// The sequence number in a reply `{"id":"<prefix><digits>",...}`, or nil when it is not one of ours.
    func seq(inReply reply: [UInt8]) -> Int? { replySeq(reply, prefix: idPrefix, digits: Self.digits) }
}

/// The sequence number in a gateway reply `{"id":"<prefix><digits>",...}` to an event whose id is `prefix`
/// followed by `digits` decimal digits; nil when it is not one of those. The gateway writes compact JSON with
/// `id` first, so the digits sit at a fixed place.
func replySeq(_ reply: [UInt8], prefix: String, digits: Int) -> Int? {
    reply.withUnsafeBytes { replySeq($0, prefix: prefix, digits: digits) }
}

func replySeq(_ reply: UnsafeRawBufferPointer, prefix: String, digits: Int) -> Int? {
    let start = 7 + prefix.utf8.count
    guard reply.count >= start + digits else { return nil }
    var n = 0
    for i in start..<(start + digits) {
        let d = reply[i] &- 48
        guard d < 10 else { return nil }
        n = n * 10 + Int(d)
    }
    return n
}

/// `{"id":"...","status":"accepted"}`: the gateway writes compact JSON, so a suffix check is exact.
private let acceptedSuffix = Array(#","status":"accepted"}"#.utf8)

@inline(__always)
func isAccepted(_ reply: [UInt8]) -> Bool {
    reply.withUnsafeBytes { isAccepted($0) }
}

@inline(__always)
func isAccepted(_ reply: UnsafeRawBufferPointer) -> Bool {
    guard reply.count > acceptedSuffix.count, let base = reply.baseAddress else { return false }
    return acceptedSuffix.withUnsafeBytes { suffix in
        memcmp(base + (reply.count - suffix.count), suffix.baseAddress!, suffix.count) == 0
    }
}

/// One pipelining DEALER on the calling thread: keeps `window` messages in flight until the window closes,
/// then waits up to `drainSeconds` for the replies still owed.
func runPipelinedClient(context: Context, endpoint: String, window: Int, timing: Window, drainSeconds: Double = 20,
                        make: (Int) -> [UInt8], check: ([UInt8]) -> Bool) throws -> ClientResult {
    let socket = try context.makeSocket(.dealer)
    defer { socket.close() }
    try socket.setSendHighWaterMark(Int32(window * 4))
    try socket.setReceiveHighWaterMark(Int32(window * 4))
    try socket.connect(endpoint)
    var result = ClientResult()
    var poller = Poller()
    poller.add(socket)
    var inFlight = 0

    func drain(now: UInt64) throws {
        while let reply = try socket.receive(dontWait: true) {
            inFlight -= 1
            result.replies += 1
            if now >= timing.start && now < timing.end { result.counted += 1 }
            let body = reply.frames.last ?? []
            if !check(body) {
                result.bad += 1
                if result.firstBad == nil { result.firstBad = String(decoding: body.prefix(300), as: UTF8.self) }
            }
        }
    }

    while monoNanos() < timing.end {
        while inFlight < window {
            try socket.send([make(result.sent)])
            result.sent += 1
            inFlight += 1
        }
        _ = try poller.poll(timeoutMilliseconds: 50)
        try drain(now: monoNanos())
    }
    let deadline = monoNanos() + nanos(drainSeconds)
    while inFlight > 0 && monoNanos() < deadline {
        _ = try poller.poll(timeoutMilliseconds: 50)
        try drain(now: monoNanos())
    }
    return result
}

/// Runs `clients` pipelining DEALERs, each on its own thread with its own socket (one shared client context
/// with one I/O thread), and sums what they saw.
func runClients(endpoint: String, clients: Int, window: Int, timing: Window,
                message: @escaping @Sendable (Int) -> (Int) -> [UInt8],
                check: @escaping @Sendable ([UInt8]) -> Bool) throws -> (total: ClientResult, perClient: [ClientResult]) {
    let context = try Context(ioThreads: 1)
    defer {
        context.shutdown()
        context.terminate()
    }
    let results = Collected<Result<ClientResult, BenchError>>()
    var threads: [BenchThread] = []
    for c in 0..<clients {
        threads.append(BenchThread(name: "client-\(c)") {
            let make = message(c)
            do {
                results.add(.success(try runPipelinedClient(context: context, endpoint: endpoint, window: window,
                                                            timing: timing, make: make, check: check)))
            } catch {
                results.add(.failure(BenchError("client \(c): \(error)")))
            }
        })
    }
    threads.forEach { $0.join() }
    var total = ClientResult()
    var each: [ClientResult] = []
    for r in results.all {
        let one = try r.get()
        each.append(one)
        total.sent += one.sent
        total.replies += one.replies
        total.counted += one.counted
        total.bad += one.bad
        total.firstBad = total.firstBad ?? one.firstBad
    }
    return (total, each)
}

/// What a paced run measured.
struct LatencyResult: Sendable {
    var sent = 0
    var replies = 0
    var recorded = 0
    var bad = 0
    var firstBad: String?
    /// Send-to-reply, microseconds.
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    /// Scheduled-send-to-reply, microseconds: includes the sender's own lateness (coordinated omission check).
    var scheduled = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    /// The largest lag of an actual send behind its schedule, microseconds.
    var maxSendLagMicros: UInt64 = 0
    var achievedRate = 0.0
    /// Replies slower than 1 ms: (seconds since recording began, latency in ms), the first 200,000; shows
    /// whether slow acks come in periodic bursts (e.g. WAL checkpoints) or at random.
    var slow: [(at: Double, ms: Double)] = []
}

/// One DEALER that sends `rate` events per second on a fixed schedule (waiting with `ppoll` on the socket's
/// `ZMQ_FD`, so replies are read as soon as they come) and records each reply's latency from its send.
func runPacedClient(endpoint: String, rate: Double, warmup: Double, seconds: Double, run: String) throws -> LatencyResult {
    let context = try Context(ioThreads: 1)
    defer {
        context.shutdown()
        context.terminate()
    }
    let socket = try context.makeSocket(.dealer)
    defer { socket.close() }
    try socket.setSendHighWaterMark(100_000)
    try socket.setReceiveHighWaterMark(100_000)
    try socket.connect(endpoint)
    let fd = try socket.fileDescriptor()

    var factory = EventFactory(run: run, client: 0)
    var result = LatencyResult()
    let interval = 1e9 / rate
    let t0 = monoNanos() + 50_000_000
    let recordFrom = t0 + nanos(warmup)
    let stopAt = recordFrom + nanos(seconds)
    // Send and scheduled times by sequence number (the run sends rate * (warmup + seconds) events).
    let capacity = Int(rate * (warmup + seconds)) + 16
    var sentAt = [UInt64](repeating: 0, count: capacity)
    var dueAt = [UInt64](repeating: 0, count: capacity)
    var inFlight = 0

    func drain() throws {
        while let reply = try socket.receive(dontWait: true) {
            let now = monoNanos()
            inFlight -= 1
            result.replies += 1
            let body = reply.frames.last ?? []
            guard isAccepted(body), let seq = factory.seq(inReply: body), seq < result.sent else {
                result.bad += 1
                if result.firstBad == nil { result.firstBad = String(decoding: body.prefix(300), as: UTF8.self) }
                continue
            }
            if dueAt[seq] >= recordFrom {
                let micros = (now - sentAt[seq]) / 1000
                _ = result.histogram.record(micros)
                if micros > 1000 && result.slow.count < 200_000 {
                    result.slow.append((Double(sentAt[seq] - recordFrom) / 1e9, Double(micros) / 1000))
                }
                _ = result.scheduled.record((now - dueAt[seq]) / 1000)
                result.recorded += 1
            }
        }
    }

    var seq = 0
    while true {
        let due = t0 + UInt64(Double(seq) * interval)
        if due >= stopAt || seq >= capacity { break }
        let now = monoNanos()
        if now >= due {
            try socket.send([factory.make(seq)])
            let sent = monoNanos()
            sentAt[seq] = sent
            dueAt[seq] = due
            if due >= recordFrom { result.maxSendLagMicros = max(result.maxSendLagMicros, (sent - due) / 1000) }
            seq += 1
            result.sent = seq
            inFlight += 1
            continue
        }
        try drain()
        // ZMQ_FD is edge-triggered: wait on it only after ZMQ_EVENTS says nothing is ready.
        if try socket.events().readable { continue }
        waitReadable(fd, until: due)
    }
    result.achievedRate = Double(seq) / (Double(monoNanos() - t0) / 1e9)
    let deadline = monoNanos() + 10_000_000_000
    while inFlight > 0 && monoNanos() < deadline {
        try drain()
        if try socket.events().readable { continue }
        waitReadable(fd, until: min(deadline, monoNanos() + 50_000_000))
    }
    return result
}
