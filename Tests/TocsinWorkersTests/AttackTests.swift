import Foundation
import Synchronization
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// Attacks on a `tocsin run` with CURVE on, over tcp loopback (issue 9): a client without CURVE, an unknown key,
/// a revoked key (removed from the config, reloaded with SIGHUP), a listed key publishing another area's events,
/// junk TCP connections, and a platform flooding at 50 times its rate limit while a well-behaved platform
/// measures its ack latency. Nothing of the attackers reaches the journal or the feed; every attempt is counted
/// in `stats`; the good platform's p99 stays within twice its baseline; the server's memory stays bounded.
///
/// `make test` runs it scaled down; `TOCSIN_SOAK=full` (`make soak`) runs the issue's sizes.
@Suite(.serialized) struct AttackTests {
    struct Size {
        var attempts: Int
        var junk: Int
        var seconds: Double
        static let short = Size(attempts: 200, junk: 100, seconds: 3)
        static let full = Size(attempts: 10_000, junk: 1_000, seconds: 10)
        static var current: Size { ProcessInfo.processInfo.environment["TOCSIN_SOAK"] == "full" ? .full : .short }
    }

    /// The good platform's pace (events/s), the flooder's limit and its rate (50 times the limit).
    static let goodRate = 200.0
    static let floodLimit = 100
    static let floodRate = 50.0 * Double(floodLimit)

    @Test func attackersGetNothingAndEveryAttemptIsCounted() throws {
        let size = Size.current
        let s = try AttackServer()
        defer { s.stop() }
        let feed = try s.subscriber()
        defer { feed.close() }
        let startRSS = s.rss()

        // 1. A revoked key: served while listed, refused on its open connection after the reload.
        let revoked = try s.client(s.revoked, platform: "sz.luohu.dongmen")
        defer { revoked.close() }
        let time = WallClock.now().rfc3339
        for i in 0..<5 {
            let r = try #require(try revoked.request(TestEvents.water(id: "r-ok-\(i)", source: "sz.luohu.dongmen", level: 1,
                                                                        time: time, lat: 22.548, lon: 114.12)))
            #expect(r["status"] == "accepted")
        }
        try s.revoke(platform: "sz.luohu.dongmen")
        var revokedReplies: [String: Int] = [:]
        for i in 0..<size.attempts {
            try revoked.send(TestEvents.fire(id: "atk-r-\(i)", source: "sz.luohu.dongmen", time: time, lat: 22.548, lon: 114.12))
        }
        for _ in 0..<size.attempts {
            guard let r = try revoked.reply() else { break }
            revokedReplies["\(r["status"]?.stringValue ?? "?"): \(r["error"]?.stringValue ?? "")", default: 0] += 1
        }
        #expect(revokedReplies == ["rejected: unauthorised: the key of sz.luohu.dongmen is no longer allowed": size.attempts])
        try s.waitAtLeast("unauthorised", size.attempts)
        let revokedReconnects = min(size.attempts, 100)
        try s.connectionAttempts(revokedReconnects, keys: s.revoked)

        // 2. A listed key publishing another area's events.
        let baoan = try s.client(s.baoan, platform: "sz.baoan.xinan")
        defer { baoan.close() }
        for i in 0..<size.attempts { try baoan.send(TestEvents.fire(id: "atk-l-\(i)", source: "sz.futian.shatou", time: time)) }
        var otherReplies: [String: Int] = [:]
        for _ in 0..<size.attempts {
            guard let r = try baoan.reply() else { break }
            otherReplies["\(r["status"]?.stringValue ?? "?"): \(r["error"]?.stringValue ?? "")", default: 0] += 1
        }
        #expect(otherReplies == ["rejected: source sz.futian.shatou is not allowed for platform sz.baoan.xinan": size.attempts])
        try s.waitAtLeast("unauthorised", 2 * size.attempts + revokedReconnects)

        // 3. Clients without CURVE, and 4. unknown keys: one connection attempt each.
        try s.connectionAttempts(size.attempts, keys: nil)
        try s.connectionAttempts(size.attempts, keys: try CurveKeyPair.generate())

        // 5. Baseline, then the flood and junk connections, while the good platform measures its latency. One
        // re-measurement of both is allowed against noise from the rest of a shared machine.
        let good = try s.client(s.good, platform: "sz.futian.shatou")
        defer { good.close() }
        // Its handshake before the first measured event.
        #expect(try good.request(TestEvents.water(id: "g-warm", level: 1, time: time))?["status"] == "accepted")
        var rounds: [(baseline: Latency, attacked: Latency, flood: Flood, junk: Int)] = []
        var peakRSS = 0
        for _ in 0..<2 {
            let baseline = try s.measureGood(good, seconds: size.seconds, tag: "b\(rounds.count)")
            let flood = Flooder(endpoint: s.ingest, serverKey: s.server.publicKey, keys: s.flooder,
                                rate: Self.floodRate, seconds: size.seconds, tag: "\(rounds.count)")
            let junk = JunkConnections(endpoint: s.ingestPort, count: size.junk, seconds: size.seconds)
            let sampler = RSSSampler(pid: s.child.pid)
            let attacked = try s.measureGood(good, seconds: size.seconds, tag: "a\(rounds.count)")
            let floodResult = flood.join()
            let junkSent = junk.join()
            peakRSS = max(peakRSS, sampler.stop())
            rounds.append((baseline, attacked, floodResult, junkSent))
            print("attack round \(rounds.count): good p99 \(baseline.p99Micros) us -> \(attacked.p99Micros) us under attack"
                  + " (\(baseline.count)/\(attacked.count) acks); flood \(floodResult.sent) sent, \(floodResult.accepted)"
                  + " accepted, \(floodResult.rateLimited) rate limited in \(fixed(floodResult.seconds)) s; \(junkSent) junk"
                  + " connections; RSS \(startRSS / 1024) MiB -> peak \(peakRSS / 1024) MiB")
            if attacked.p99Micros <= 2 * baseline.p99Micros { break }
        }
        let last = try #require(rounds.last)
        #expect(last.attacked.p99Micros <= 2 * last.baseline.p99Micros,
                "good platform p99 \(last.baseline.p99Micros) us -> \(last.attacked.p99Micros) us under attack")
        for r in rounds {
            #expect(r.baseline.failures == 0 && r.attacked.failures == 0)
            // Never a silent drop: every flood event got a reply, accepted within the bucket or rate limited.
            #expect(r.flood.replies == r.flood.sent)
            #expect(r.flood.other == 0, "unexpected flood replies: \(r.flood.firstOther ?? "")")
            #expect(r.flood.accepted + r.flood.rateLimited == r.flood.sent)
            let allowed = Double(Self.floodLimit) + Double(Self.floodLimit) * (r.flood.seconds + 1)
            #expect(Double(r.flood.accepted) <= allowed)
            #expect(r.flood.rateLimited > r.flood.sent / 2)
            #expect(r.junk == size.junk)
        }
        // Bounded memory: the attacks leave the server within 64 MiB of where it started.
        #expect(peakRSS - startRSS < 64 * 1024, "RSS \(startRSS) KiB -> peak \(peakRSS) KiB")

        // Every attempt counted; nothing of the attackers in the journal or on the feed.
        let goodAccepted = 1 + rounds.reduce(0) { $0 + $1.baseline.count + $1.attacked.count }
        let floodAccepted = rounds.reduce(0) { $0 + $1.flood.accepted }
        let rateLimited = rounds.reduce(0) { $0 + $1.flood.rateLimited }
        let junk = rounds.reduce(0) { $0 + $1.junk }
        let expected: [String: Int] = [
            "accepted": 5 + goodAccepted + floodAccepted,
            "rejected": 2 * size.attempts + rateLimited,
            "rate_limited": rateLimited,
            // Connections that never completed a handshake: no CURVE, unknown and revoked keys, junk.
            "refused_connections": 2 * size.attempts + revokedReconnects + junk,
        ]
        let stats = try s.settledStats(expected)
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(stats[name] == value, "stats \(name): \(stats)")
        }
        // `unauthorised`: the events of the revoked key and of the other area (exact), plus the ZAP refusals of
        // the unknown and revoked keys' connection attempts. Those are counted per ZAP request; in about one run
        // of five a few attempts (under 1%) end without one, while `refused_connections` above counts every
        // attempt exactly, so the ZAP part is bounded rather than exact.
        let zapAttempts = size.attempts + revokedReconnects
        let unauthorised = stats["unauthorised"] ?? 0
        #expect(unauthorised <= 2 * size.attempts + zapAttempts, "stats: \(stats)")
        #expect(unauthorised >= 2 * size.attempts + zapAttempts * 95 / 100, "stats: \(stats)")
        #expect(stats["seq"] == 0)
        #expect(try feed.received().isEmpty)

        s.stopServer()
        let reader = try JournalReader(path: s.dir + "/data/journal.sqlite")
        defer { try? reader.close() }
        let records = try reader.read(after: 0, limit: 1_000_000)
        #expect(records.count == expected["accepted"])
        #expect(records.filter { $0.eventID.hasPrefix("atk-") }.isEmpty)
    }
}

private func fixed(_ x: Double) -> String { String(format: "%.1f", x) }

/// `tocsin run` with CURVE on free tcp ports; platform keys in a copy of the shipped areas.
final class AttackServer {
    let dir = Fixtures.temporaryDirectory("tocsin-attack")
    let server: CurveKeyPair, ops: CurveKeyPair, good: CurveKeyPair, flooder: CurveKeyPair
    let revoked: CurveKeyPair, baoan: CurveKeyPair
    let ingest: String, ingestPort: Int, feed: String, command: String
    let configPath: String
    var child: ChildProcess
    let control: WireClient
    private var keys: [String: String]
    private var stopped = false

    init() throws {
        server = try .generate()
        ops = try .generate()
        good = try .generate()
        flooder = try .generate()
        revoked = try .generate()
        baoan = try .generate()
        keys = ["sz.futian.shatou": good.publicKey, "sz.nanshan.yuehai": flooder.publicKey,
                "sz.luohu.dongmen": revoked.publicKey, "sz.baoan.xinan": baoan.publicKey]
        let endpoints = TestTCPEndpoints()
        ingestPort = endpoints.ingestPort
        ingest = endpoints.ingest
        feed = endpoints.feed
        command = endpoints.command
        configPath = dir + "/tocsin.yaml"
        try Self.writeAreas(keys, dir: dir)
        let text = endpoints.yaml + """

            data: \(dir)/data
            durability: normal
            ingest:
              rate_limit:
                events_per_second: 10000
                burst: 100000
                platforms:
                  sz.nanshan.yuehai: {events_per_second: \(AttackTests.floodLimit), burst: \(AttackTests.floodLimit)}
            security:
              mode: curve
              server_secret_key: "\(server.secretKey)"
              clients:
                ops: "\(ops.publicKey)"
            areas: \(dir)/areas.yaml
            catalog: \(Fixtures.repositoryRoot)/Config/catalog.yaml
            plans: \(Fixtures.repositoryRoot)/Config/plans
            http: {listen: off}
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        child = try ChildProcess(arguments: ["run", "--config", configPath], logPath: dir + "/tocsin.log")
        control = try WireClient(endpoint: command, curve: (server.publicKey, ops))
        for _ in 0..<100 {
            if let r = try control.request(#"{"op":"stats"}"#, timeoutMilliseconds: 200), r["ok"] == true { return }
            if !child.process.isRunning { break }
        }
        child.kill(SIGKILL)
        throw PipelineError("tocsin did not become ready: \(child.log)")
    }

    /// The shipped areas with `public_key` on the platforms in `keys` (street platforms: one flow mapping a line).
    static func writeAreas(_ keys: [String: String], dir: String) throws {
        var text = try String(contentsOfFile: Fixtures.repositoryRoot + "/Config/areas.yaml", encoding: .utf8)
        for (path, key) in keys {
            let anchor = "{path: \(path), "
            guard text.contains(anchor) else { throw PipelineError("no street \(path) in areas.yaml") }
            text = text.replacingOccurrences(of: anchor, with: "{path: \(path), public_key: \"\(key)\", ")
        }
        try text.write(toFile: dir + "/areas.yaml", atomically: true, encoding: .utf8)
    }

    /// Removes the platform's key from the areas file and reloads with SIGHUP; returns once the log says so.
    func revoke(platform: String) throws {
        keys[platform] = nil
        try Self.writeAreas(keys, dir: dir)
        let before = child.log.components(separatedBy: "reload: ZAP allow-list replaced").count
        child.kill(SIGHUP)
        for _ in 0..<500 {
            if child.log.components(separatedBy: "reload: ZAP allow-list replaced").count > before { return }
            usleep(10_000)
        }
        throw PipelineError("tocsin did not reload: \(child.log.suffix(2000))")
    }

    func client(_ keys: CurveKeyPair, platform: String) throws -> WireClient {
        try WireClient(endpoint: ingest, curve: (server.publicKey, keys))
    }

    /// A feed subscriber (the ops key) subscribed to everything, with its handshake done.
    func subscriber() throws -> FeedWatcher { try FeedWatcher(endpoint: feed, serverKey: server.publicKey, keys: ops) }

    func stats() throws -> [String: Int] {
        guard let r = try control.request(#"{"op":"stats"}"#), r["ok"] == true else { throw PipelineError("no stats") }
        var out: [String: Int] = ["seq": r["seq"]?.int ?? -1, "refused_connections": r["refused_connections"]?.int ?? -1]
        for name in ["accepted", "duplicate", "rejected", "oversized", "unauthorised", "rate_limited"] {
            out[name] = r["events"]?[name]?.int ?? -1
        }
        return out
    }

    /// Stats once they match `expected` (counters of refused connections arrive a moment after the attempt), or
    /// as they are after 10 s.
    func settledStats(_ expected: [String: Int]) throws -> [String: Int] {
        var s = try stats()
        for _ in 0..<100 where expected.contains(where: { s[$0.key] != $0.value }) {
            usleep(100_000)
            s = try stats()
        }
        return s
    }

    /// Waits until `counter` is at least `n` (at most 10 s). `unauthorised` also counts rejected events, which
    /// ingest stores when its endpoint is next idle: the connection waves wait for these first, or a step's
    /// events counted late could stand in for a wave's own ZAP refusals and close its sockets before they asked
    /// ZAP (a fresh clone's run counted 274 of 300).
    func waitAtLeast(_ counter: String, _ n: Int) throws {
        for _ in 0..<100 where (try stats()[counter] ?? 0) < n { usleep(100_000) }
    }

    /// `count` connection attempts to ingest, each a DEALER that never reconnects and sends one fire report:
    /// without CURVE when `keys` is nil. In waves of 50; a wave is closed once the server counted its refused
    /// connections, and with a key its ZAP refusals too (a socket closed first would end before asking ZAP).
    func connectionAttempts(_ count: Int, keys: CurveKeyPair?) throws {
        let context = try Context()
        defer {
            context.shutdown()
            context.terminate()
        }
        var done = 0
        while done < count {
            let wave = min(50, count - done)
            let start = try stats()
            let before = start["refused_connections"] ?? 0, deniedBefore = start["unauthorised"] ?? 0
            var sockets: [Socket] = []
            defer { for s in sockets { s.close() } }
            for i in 0..<wave {
                let socket = try context.makeSocket(.dealer)
                sockets.append(socket)
                try socket.setReconnectInterval(milliseconds: -1)
                if let keys { try socket.configureCurveClient(keys: keys, serverKey: server.publicKey) }
                try socket.connect(ingest)
                _ = try socket.send([Array(TestEvents.fire(id: "atk-c-\(done + i)", time: WallClock.now().rfc3339).utf8)],
                                    dontWait: true)
            }
            var now = before, denied = deniedBefore
            // Up to 15 s: a connection is counted once the server accepts it, and on a loaded machine (the whole
            // suite in parallel on two cores) a connect can wait for TCP's SYN retry (1 s, then 3 s) first; a fresh
            // clone's `make test` once counted 49 of 50 within the 5 s this allowed before.
            for _ in 0..<750 where now < before + wave || (keys != nil && denied < deniedBefore + wave) {
                usleep(20_000)
                let s = try stats()
                now = s["refused_connections"] ?? 0
                denied = s["unauthorised"] ?? 0
            }
            guard now >= before + wave, keys == nil || denied >= deniedBefore + wave else {
                throw PipelineError("\(now - before) refused connections, \(denied - deniedBefore) ZAP refusals counted of \(wave)")
            }
            done += wave
        }
    }

    /// The good platform at `AttackTests.goodRate` events/s for `seconds`: one event in flight, latency each.
    func measureGood(_ client: WireClient, seconds: Double, tag: String) throws -> Latency {
        let time = WallClock.now().rfc3339
        let interval = 1 / AttackTests.goodRate
        let start = Date()
        var samples: [Int] = []
        var failures = 0
        var i = 0
        while Date().timeIntervalSince(start) < seconds {
            let due = start.addingTimeInterval(Double(i) * interval)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
            let sent = DispatchTime.now().uptimeNanoseconds
            let r = try client.request(TestEvents.water(id: "g-\(tag)-\(i)", level: 1, time: time))
            if r?["status"] == "accepted" {
                samples.append(Int((DispatchTime.now().uptimeNanoseconds - sent) / 1000))
            } else {
                failures += 1
            }
            i += 1
        }
        return Latency(samples: samples, failures: failures)
    }

    /// Resident memory of the server, KiB (`VmRSS` in /proc/PID/status).
    func rss() -> Int { readRSS(pid: child.pid) }

    func stopServer() {
        if stopped { return }
        stopped = true
        control.close()
        child.kill(SIGTERM)
        #expect(child.wait(timeout: 10) == 0, "tocsin did not stop cleanly: \(child.log.suffix(2000))")
    }

    func stop() {
        if !stopped {
            stopServer()
        }
        if child.process.isRunning { child.kill(SIGKILL) }
        Fixtures.removeTemporary(dir)
    }
}

func readRSS(pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

struct Latency {
    var samples: [Int]
    var failures: Int
    var count: Int { samples.count }
    var p99Micros: Int {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return Int.max }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
    }
}

/// A CURVE subscriber to the feed that counts what it receives.
final class FeedWatcher {
    let context: Context
    let socket: Socket

    init(endpoint: String, serverKey: String, keys: CurveKeyPair) throws {
        context = try Context()
        socket = try context.makeSocket(.sub)
        try socket.configureCurveClient(keys: keys, serverKey: serverKey)
        try socket.subscribe("")
        try socket.connect(endpoint)
    }

    func received() throws -> [Message] {
        try socket.setReceiveTimeout(milliseconds: 300)
        var out: [Message] = []
        while let m = try socket.receive() { out.append(m) }
        return out
    }

    func close() {
        socket.close()
        context.shutdown()
        context.terminate()
    }
}

struct Flood: Sendable {
    var sent = 0, replies = 0, accepted = 0, rateLimited = 0, other = 0
    var firstOther: String?
    var seconds = 0.0
}

/// A platform sending `rate` events/s for `seconds` on its own thread, reading every reply.
final class Flooder: Sendable {
    private let result = Mutex(Flood())
    private let done = DispatchSemaphore(value: 0)

    init(endpoint: String, serverKey: String, keys: CurveKeyPair, rate: Double, seconds: Double, tag: String) {
        let thread = Thread { [self] in
            defer { done.signal() }
            var flood = Flood()
            do {
                let client = try WireClient(endpoint: endpoint, curve: (serverKey, keys))
                defer { client.close() }
                let time = WallClock.now().rfc3339
                let expectedError = "rate limited: platform sz.nanshan.yuehai is over \(AttackTests.floodLimit) events/s,"
                    + " burst \(AttackTests.floodLimit); resend later"
                func take(_ r: JSONValue) {
                    flood.replies += 1
                    if r["status"] == "accepted" {
                        flood.accepted += 1
                    } else if r["status"] == "rejected", r["error"]?.stringValue == expectedError {
                        flood.rateLimited += 1
                    } else {
                        flood.other += 1
                        if flood.firstOther == nil { flood.firstOther = "\(r)" }
                    }
                }
                let start = Date()
                while Date().timeIntervalSince(start) < seconds {
                    // Send what is due by now, then read what came back.
                    let due = Int(Date().timeIntervalSince(start) * rate)
                    while flood.sent < due {
                        try client.send(TestEvents.water(id: "f-\(tag)-\(flood.sent)", source: "sz.nanshan.yuehai", level: 1,
                                                         time: time, lat: 22.529, lon: 113.945))
                        flood.sent += 1
                    }
                    while let r = try client.reply(timeoutMilliseconds: 1) { take(r) }
                }
                flood.seconds = Date().timeIntervalSince(start)
                for _ in 0..<(flood.sent - flood.replies) {
                    guard let r = try client.reply(timeoutMilliseconds: 10_000) else { break }
                    take(r)
                }
            } catch {
                flood.other += 1
                flood.firstOther = "\(error)"
            }
            let final = flood
            result.withLock { $0 = final }
        }
        thread.start()
    }

    func join() -> Flood {
        done.wait()
        return result.withLock { $0 }
    }
}

/// `count` raw TCP connections spread over `seconds`: garbage, a ZMTP greeting cut short, a whole greeting
/// asking for the NULL mechanism, or nothing; each closed right after.
final class JunkConnections: Sendable {
    private let sent = Mutex(0)
    private let done = DispatchSemaphore(value: 0)

    init(endpoint port: Int, count: Int, seconds: Double) {
        let thread = Thread { [self] in
            defer { done.signal() }
            var greeting: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0] + Array("NULL".utf8)
            greeting += [UInt8](repeating: 0, count: 64 - greeting.count)
            var generator = SystemRandomNumberGenerator()
            let start = Date()
            for i in 0..<count {
                let due = start.addingTimeInterval(seconds * Double(i) / Double(count)).timeIntervalSinceNow
                if due > 0 { usleep(UInt32(due * 1e6)) }
                let payload: [UInt8] = switch i % 4 {
                case 0: (0..<Int.random(in: 1...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 1: Array(greeting.prefix(10))
                case 2: greeting
                default: []
                }
                if rawConnect(port: port, send: payload) { sent.withLock { $0 += 1 } }
            }
        }
        thread.start()
    }

    func join() -> Int {
        done.wait()
        return sent.withLock { $0 }
    }
}

/// Connects to 127.0.0.1:`port`, writes `payload`, closes. True when the connection was made.
func rawConnect(port: Int, send payload: [UInt8]) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
    guard connected else { return false }
    if !payload.isEmpty { _ = payload.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    return true
}

/// Samples a process's RSS every 50 ms on its own thread until `stop()`, which returns the peak (KiB).
final class RSSSampler: Sendable {
    private let state = Mutex((peak: 0, stopping: false))
    private let done = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        let thread = Thread { [self] in
            defer { done.signal() }
            for _ in 0..<100_000 {
                let rss = readRSS(pid: pid)
                let stop = state.withLock { s -> Bool in
                    s.peak = max(s.peak, rss)
                    return s.stopping
                }
                if stop { return }
                usleep(50_000)
            }
        }
        thread.start()
    }

    func stop() -> Int {
        state.withLock { $0.stopping = true }
        done.wait()
        return state.withLock { $0.peak }
    }
}
