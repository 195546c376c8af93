import Foundation
import Logging
import Testing
import TocsinConfig
import TocsinCore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// Revocation by reload (`Pipeline.reload`, what SIGHUP calls): a key taken off the config stops being served
/// on the connections it already has, on ingest, on the command endpoint and on the feed; a replaced platform
/// key too, while the new key works. (`AttackTests` covers the same through `tocsin run` and SIGHUP.)
@Suite(.serialized) struct RevocationTests {
    let server: CurveKeyPair, futian: CurveKeyPair, ops: CurveKeyPair, audit: CurveKeyPair

    init() throws {
        server = try .generate()
        futian = try .generate()
        ops = try .generate()
        audit = try .generate()
    }

    func config(platformKey: String?, clients: [String: String]) -> TocsinConfiguration {
        var c = Fixtures.shippedConfig
        c.areas = AreaTree(c.areas.sorted.map { area in
            var a = area
            if a.path.rawValue == "sz.futian" { a.publicKey = platformKey }
            return a
        })
        c.security = SecurityConfig(mode: .curve, serverSecretKey: server.secretKey, clients: clients)
        return c
    }

    func start() throws -> TestPipeline {
        let c = config(platformKey: futian.publicKey, clients: ["ops": ops.publicKey, "audit": audit.publicKey])
        return try TestPipeline(security: c.security, areas: c.areas)
    }

    @Test func revokedPlatformIsRefusedOnItsOpenConnection() throws {
        let p = try start()
        defer { p.stop() }
        let platform = try p.client(curve: (server.publicKey, futian))
        defer { platform.close() }
        let before = try #require(try platform.request(TestEvents.water(id: "v-1", time: nowText())))
        #expect(before["status"] == "accepted")

        var c = p.config
        c.security.clients = ["ops": ops.publicKey, "audit": audit.publicKey]
        p.pipeline.reload(config(platformKey: nil, clients: c.security.clients))
        let after = try #require(try platform.request(TestEvents.water(id: "v-2", time: nowText())))
        #expect(after["status"] == "rejected")
        #expect(after["id"] == "v-2")
        #expect(after["error"] == "unauthorised: the key of sz.futian is no longer allowed")
        // A new connection with the revoked key gets no service at all.
        let again = try p.client(curve: (server.publicKey, futian))
        defer { again.close() }
        #expect(try again.request(TestEvents.water(id: "v-3", time: nowText()), timeoutMilliseconds: 800) == nil)

        let command = try p.commandClient(curve: (server.publicKey, ops))
        defer { command.close() }
        let stats = try #require(try command.request(#"{"op":"stats"}"#))
        #expect(stats["events"]?["accepted"]?.int == 1)
        #expect(stats["events"]?["rejected"]?.int == 1)
        #expect((stats["events"]?["unauthorised"]?.int ?? 0) >= 2)
    }

    @Test func replacedPlatformKeyServesOnlyTheNewKey() throws {
        let p = try start()
        defer { p.stop() }
        let old = try p.client(curve: (server.publicKey, futian))
        defer { old.close() }
        #expect(try old.request(TestEvents.water(id: "k-1", time: nowText()))?["status"] == "accepted")
        let rotated = try CurveKeyPair.generate()
        p.pipeline.reload(config(platformKey: rotated.publicKey, clients: ["ops": ops.publicKey]))
        let refused = try #require(try old.request(TestEvents.water(id: "k-2", time: nowText())))
        #expect(refused["error"] == "unauthorised: the key of sz.futian is no longer allowed")
        let new = try p.client(curve: (server.publicKey, rotated))
        defer { new.close() }
        #expect(try new.request(TestEvents.water(id: "k-3", time: nowText()))?["status"] == "accepted")
    }

    @Test func revokedCommandClientGetsAnErrorAndLosesTheFeed() throws {
        let p = try start()
        defer { p.stop() }
        let revoked = try p.commandClient(curve: (server.publicKey, audit))
        defer { revoked.close() }
        #expect(try revoked.request(#"{"op":"stats"}"#)?["ok"] == true)
        let context = try Context()
        defer {
            context.shutdown()
            context.terminate()
        }
        func subscriber(_ keys: CurveKeyPair) throws -> Socket {
            let s = try context.makeSocket(.sub)
            try s.configureCurveClient(keys: keys, serverKey: server.publicKey)
            try s.subscribe("actual/warning/")
            try s.connect(p.config.endpoints.feed)
            try s.setReceiveTimeout(milliseconds: 1000)
            return s
        }
        let revokedFeed = try subscriber(audit)
        let listedFeed = try subscriber(ops)
        defer {
            revokedFeed.close()
            listedFeed.close()
        }
        let platform = try p.client(curve: (server.publicKey, futian))
        defer { platform.close() }
        // Both subscribers receive a warning (new fires until they do: handshakes and subscriptions take a moment).
        var got = (false, false)
        for attempt in 0..<10 where !(got.0 && got.1) {
            #expect(try platform.request(TestEvents.fire(id: "f-a\(attempt)", time: nowText(),
                                                         lat: 22.5277 + Double(attempt) * 0.01))?["status"] == "accepted")
            if try listedFeed.receive() != nil { got.0 = true }
            if try revokedFeed.receive() != nil { got.1 = true }
        }
        #expect(got.0 && got.1)

        p.pipeline.reload(config(platformKey: futian.publicKey, clients: ["ops": ops.publicKey]))
        let refused = try #require(try revoked.request(#"{"op":"stats"}"#))
        #expect(refused["ok"] == false)
        #expect(refused["error"] == "unauthorised: the key of client:audit is no longer allowed")
        // The feed dropped its connections: the listed subscriber comes back, the revoked one does not.
        for _ in 0..<3 { _ = try listedFeed.receive(); _ = try revokedFeed.receive() }
        var listedAfter = false
        for attempt in 0..<10 where !listedAfter {
            #expect(try platform.request(TestEvents.fire(id: "f-b\(attempt)", time: nowText(),
                                                         lat: 22.60 + Double(attempt) * 0.01))?["status"] == "accepted")
            listedAfter = try listedFeed.receive() != nil
        }
        #expect(listedAfter)
        try revokedFeed.setReceiveTimeout(milliseconds: 300)
        #expect(try revokedFeed.receive() == nil)
        let command = try p.commandClient(curve: (server.publicKey, ops))
        defer { command.close() }
        #expect((try command.request(#"{"op":"stats"}"#)?["events"]?["unauthorised"]?.int ?? 0) >= 1)
    }

    @Test func ratePerPlatformIsToldAndCounted() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-rate")
        defer { Fixtures.removeTemporary(dir) }
        var c = Fixtures.shippedConfig
        c.endpoints = Endpoints(ingest: "ipc://\(dir)/ingest", feed: "ipc://\(dir)/feed", command: "ipc://\(dir)/command")
        c.dataPath = dir + "/data"
        c.durability = .normal
        c.rateLimits = IngestRateLimits(perPlatform: RateLimit(eventsPerSecond: 10_000, burst: 100_000),
                                        overrides: ["sz.futian.shatou": RateLimit(eventsPerSecond: 1, burst: 20)])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let pipeline = try Pipeline(config: c, logger: logger)
        pipeline.start()
        defer { pipeline.stop() }
        let client = try WireClient(endpoint: c.endpoints.ingest)
        defer { client.close() }
        let started = Date()
        let time = nowText()
        for i in 0..<50 { try client.send(TestEvents.water(id: "rl-\(i)", level: 1, time: time)) }
        for i in 0..<30 {
            try client.send(TestEvents.water(id: "ok-\(i)", source: "sz.nanshan.yuehai", level: 1, time: time,
                                             lat: 22.529, lon: 113.945))
        }
        var limited: [String] = [], accepted: [String] = [], other: [String] = []
        for _ in 0..<80 {
            let r = try #require(try client.reply())
            let id = r["id"]?.stringValue ?? "?"
            if r["status"] == "accepted" {
                accepted.append(id)
            } else if r["error"] == "rate limited: platform sz.futian.shatou is over 1 events/s, burst 20; resend later" {
                limited.append(id)
            } else {
                other.append("\(r)")
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(other.isEmpty, "\(other)")
        // The other platform is untouched; this one gets its burst (plus a token a second) and is told the rest.
        #expect(accepted.filter { $0.hasPrefix("ok-") }.count == 30)
        let passed = accepted.filter { $0.hasPrefix("rl-") }.count
        #expect(passed >= 20 && Double(passed) <= 20 + elapsed.rounded(.up))
        #expect(limited.count == 50 - passed)
        #expect(limited.allSatisfy { $0.hasPrefix("rl-") })

        let command = try WireClient(endpoint: c.endpoints.command)
        defer { command.close() }
        var stats = try #require(try command.request(#"{"op":"stats"}"#))
        for _ in 0..<50 where stats["events"]?["rate_limited"]?.int != limited.count {
            usleep(20_000)
            stats = try #require(try command.request(#"{"op":"stats"}"#))
        }
        #expect(stats["events"]?["rate_limited"]?.int == limited.count)
        #expect(stats["events"]?["rejected"]?.int == limited.count)
        #expect(stats["events"]?["accepted"]?.int == accepted.count)
    }
}
