// Raw limits of the feed side: PUB/SUB fan-out to 10 subscribers with prefix filters, and a relay that does
// what the pipeline does on the wire (ack every event, publish a warning for each warning-making one) and
// nothing else, driven by the same platform and subscriber processes as Tocsin (Flow.swift).
import Foundation
import Histogram
import TocsinCore
import ZeroMQ

/// The feed topics of the raw fan-out: one street in each of ten districts, as a warning owned by that street.
let fanOutTopics: [[UInt8]] = [
    "sz.futian.shatou", "sz.luohu.dongmen", "sz.nanshan.yuehai", "sz.baoan.xinan", "sz.longgang.longcheng",
    "sz.yantian.shatoujiao", "sz.longhua.minzhi", "sz.pingshan.pingshan", "sz.guangming.guangming",
    "sz.dapeng.kuichong",
].map { Array("actual/warning/street/\($0).".utf8) }

/// A warning-shaped body of about `size` bytes whose `evidence.sample[0]` is `id`.
func fakeWarning(id: String, size: Int = 1000) -> [UInt8] {
    var w = JSONWriter(capacity: size + 64)
    w.beginObject()
    w.field("id", "w-0")
    w.field("msgType", "alert")
    w.key("evidence")
    w.beginObject()
    w.field("events", 1)
    w.key("sample")
    w.beginArray()
    w.value(id)
    w.endArray()
    w.endObject()
    let pad = max(0, size - w.bytes.count - 12)
    w.field("pad", String(repeating: "x", count: pad))
    w.endObject()
    return w.bytes
}

struct FanOutResult {
    /// Messages per second that reached every subscriber (the slowest one's count in the window).
    var perSecond: Double
    var subscribers: Int
    var published: Int
    var receivedBySubscriber: [Int]
    var bodyBytes: Int
}

/// One PUB (its own context and I/O thread, `ZMQ_XPUB_NODROP` and a 100,000 high-water mark as the feed has)
/// publishing 1,000-byte warnings as fast as it can, over tcp loopback, to `subscribers` SUBs (another context,
/// one thread polling them all) each subscribed to the prefix `actual/warning/`. Topics cycle over ten
/// districts' streets. Counts what each subscriber received inside the measured window.
func measureFanOut(subscribers: Int = 10, warmup: Double, seconds: Double) throws -> FanOutResult {
    let pubContext = try Context(ioThreads: 1)
    let subContext = try Context(ioThreads: 1)
    defer {
        for c in [pubContext, subContext] {
            c.shutdown()
            c.terminate()
        }
    }
    let pub = try pubContext.makeSocket(.pub)
    try pub.setSendHighWaterMark(100_000)
    try pub.setXPubNoDrop(true)
    try pub.bind("tcp://127.0.0.1:*")
    let endpoint = try pub.lastEndpoint()
    var subs: [Socket] = []
    for _ in 0..<subscribers {
        let s = try subContext.makeSocket(.sub)
        try s.setReceiveHighWaterMark(100_000)
        try s.subscribe("actual/warning/")
        try s.connect(endpoint)
        subs.append(s)
    }
    usleep(300_000)  // subscriptions reach the PUB
    let body = fakeWarning(id: "raw-0")
    let timing = Window.after(warmup: warmup, seconds: seconds)
    let counts = Collected<[Int]>()
    let pubCount = Collected<Int>()
    let subsForThread = subs
    let receiver = BenchThread(name: "fanout-subs") {
        var poller = Poller()
        for s in subsForThread { poller.add(s) }
        var got = [Int](repeating: 0, count: subsForThread.count)
        var quietSince = monoNanos()
        while true {
            let ready = (try? poller.poll(timeoutMilliseconds: 50)) ?? []
            let now = monoNanos()
            if ready.isEmpty {
                if now > timing.end && now - quietSince > 300_000_000 { break }
                continue
            }
            quietSince = now
            for r in ready {
                while let _ = try? subsForThread[r.index].receive(dontWait: true) {
                    if now >= timing.start && now < timing.end { got[r.index] += 1 }
                }
            }
        }
        counts.add(got)
        for s in subsForThread { s.close() }
    }
    let pubForThread = pub
    let publisher = BenchThread(name: "fanout-pub") {
        var n = 0
        while monoNanos() < timing.end {
            for _ in 0..<64 {
                guard (try? pubForThread.send([fanOutTopics[n % fanOutTopics.count], body])) == true else { break }
                n += 1
            }
        }
        pubCount.add(n)
        pubForThread.close()
    }
    publisher.join()
    receiver.join()
    let got = counts.all.first ?? []
    return FanOutResult(perSecond: Double(got.min() ?? 0) / timing.seconds, subscribers: subscribers,
                        published: pubCount.all.first ?? 0, receivedBySubscriber: got, bodyBytes: body.count)
}

/// The wire side of the pipeline without the pipeline: a ROUTER that answers every event
/// `{"id":..,"status":"accepted"}` at once, and a PUB that publishes a warning-shaped message (its
/// `evidence.sample[0]` the event's id) for each report (`"kind":"report"`), on the topic of the source's street.
/// Its own context and thread, as the pipeline's ingest and dispatch have. The raw limit of end-to-end latency.
final class RelayServer: Sendable {
    let ingestEndpoint: String
    let feedEndpoint: String
    private let context: Context
    private let wake: WakeUp
    private let thread: BenchThread

    init() throws {
        context = try Context(ioThreads: 1)
        let router = try context.makeSocket(.router)
        try router.setReceiveHighWaterMark(100_000)
        try router.setSendHighWaterMark(100_000)
        try router.bind("tcp://127.0.0.1:*")
        ingestEndpoint = try router.lastEndpoint()
        let pub = try context.makeSocket(.pub)
        try pub.setSendHighWaterMark(100_000)
        try pub.setXPubNoDrop(true)
        try pub.bind("tcp://127.0.0.1:*")
        feedEndpoint = try pub.lastEndpoint()
        let wake = try WakeUp()
        self.wake = wake
        thread = BenchThread(name: "relay") {
            var poller = Poller()
            let r = poller.add(router)
            let w = poller.add(fileDescriptor: wake.fileDescriptor)
            let report = Array(#""kind":"report""#.utf8)
            do {
                loop: while true {
                    let ready = try poller.poll(timeoutMilliseconds: -1)
                    if ready.isReadable(w) { break loop }
                    guard ready.isReadable(r) else { continue }
                    while let m = try router.receive(dontWait: true, maxFrames: 8) {
                        guard m.frames.count == 2, let id = stringField(m.frames[1], "id"),
                              let source = stringField(m.frames[1], "source") else { continue }
                        var reply = JSONWriter(capacity: 64)
                        reply.beginObject()
                        reply.field("id", id)
                        reply.field("status", "accepted")
                        reply.endObject()
                        _ = try router.send([m.frames[0], reply.bytes], dontWait: true)
                        if contains(m.frames[1], report) {
                            _ = try pub.send([Array("actual/warning/street/\(source).".utf8), fakeWarning(id: id)])
                        }
                    }
                }
            } catch {
                note("relay: \(error)")
            }
            router.close()
            pub.close()
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

/// The value of `"key":"..."` in compact JSON without escapes in it (the platforms' events), found by scanning:
/// the relay does no JSON work the transport does not need.
func stringField(_ body: [UInt8], _ key: String) -> String? {
    let marker = Array("\"\(key)\":\"".utf8)
    guard let start = firstIndex(of: marker, in: body) else { return nil }
    let from = start + marker.count
    guard let end = body[from...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
    return String(decoding: body[from..<end], as: UTF8.self)
}

/// Whether `needle` occurs in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool { firstIndex(of: needle, in: haystack) != nil }

/// Where `needle` first occurs in `haystack`.
func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    let n = haystack.count, m = needle.count
    guard m > 0, n >= m else { return nil }
    return haystack.withUnsafeBufferPointer { h -> Int? in
        var i = 0
        outer: while i + m <= n {
            for k in 0..<m where h[i + k] != needle[k] {
                i += 1
                continue outer
            }
            return i
        }
        return nil
    }
}
