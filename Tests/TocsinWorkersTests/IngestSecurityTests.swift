import Foundation
import Testing
import TocsinConfig
import TocsinCore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

@Suite(.serialized) struct IngestSecurityTests {
    let server: CurveKeyPair
    let futian: CurveKeyPair
    let ops: CurveKeyPair
    let stranger: CurveKeyPair

    init() throws {
        server = try CurveKeyPair.generate()
        futian = try CurveKeyPair.generate()
        ops = try CurveKeyPair.generate()
        stranger = try CurveKeyPair.generate()
    }

    func securePipeline() throws -> TestPipeline {
        let areas = AreaTree(Fixtures.shippedConfig.areas.sorted.map { area in
            var a = area
            if a.path.rawValue == "sz.futian" { a.publicKey = futian.publicKey }
            return a
        })
        return try TestPipeline(
            security: SecurityConfig(mode: .curve, serverSecretKey: server.secretKey, clients: ["ops": ops.publicKey]),
            areas: areas)
    }

    @Test func listedPlatformIsServedWithinItsArea() throws {
        let p = try securePipeline()
        defer { p.stop() }
        let client = try p.client(curve: (server.publicKey, futian))
        defer { client.close() }
        let ok = try #require(try client.request(TestEvents.water(id: "s-1", source: "sz.futian.shatou", time: nowText())))
        #expect(ok["status"] == "accepted")
        let own = try #require(try client.request(TestEvents.water(id: "s-2", source: "sz.futian", time: nowText())))
        #expect(own["status"] == "accepted")
        let other = try #require(try client.request(
            TestEvents.water(id: "s-3", source: "sz.nanshan", time: nowText(), lat: 22.53, lon: 113.93)))
        #expect(other["status"] == "rejected")
        #expect(other["error"] == "source sz.nanshan is not allowed for platform sz.futian")
        let command = try p.commandClient(curve: (server.publicKey, ops))
        defer { command.close() }
        let stats = try #require(try command.request(#"{"op":"stats"}"#))
        #expect(stats["events"]?["accepted"]?.int == 2)
        #expect(stats["events"]?["unauthorised"]?.int == 1)
        #expect(stats["events"]?["rejected"]?.int == 1)
    }

    @Test func unknownKeyAndPlainClientGetNothing() throws {
        let p = try securePipeline()
        defer { p.stop() }
        let strangerClient = try p.client(curve: (server.publicKey, stranger))
        defer { strangerClient.close() }
        try strangerClient.send(TestEvents.water(id: "x-1", time: nowText()))
        #expect(try strangerClient.reply(timeoutMilliseconds: 800) == nil)

        let plain = try p.client()
        defer { plain.close() }
        try plain.send(TestEvents.water(id: "x-2", time: nowText()))
        #expect(try plain.reply(timeoutMilliseconds: 800) == nil)

        // The command endpoint refuses strangers too; a listed client sees the refusals counted.
        let strangerCommand = try p.commandClient(curve: (server.publicKey, stranger))
        defer { strangerCommand.close() }
        #expect(try strangerCommand.request(#"{"op":"stats"}"#, timeoutMilliseconds: 800) == nil)

        let command = try p.commandClient(curve: (server.publicKey, ops))
        defer { command.close() }
        let stats = try #require(try command.request(#"{"op":"stats"}"#))
        #expect(stats["events"]?["accepted"]?.int == 0)
        #expect((stats["events"]?["unauthorised"]?.int ?? 0) >= 2)
    }

    @Test func curveWithoutServerKeyRefusesToStart() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var c = Fixtures.shippedConfig
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        c.endpoints = Endpoints(ingest: "ipc://\(dir)/i", feed: "ipc://\(dir)/f", command: "ipc://\(dir)/c")
        c.security = SecurityConfig(mode: .curve, serverSecretKey: nil)
        #expect(throws: PipelineError.self) { try Pipeline(config: c, dataPath: dir + "/data", logger: logger) }
    }
}

import Logging

/// The feed is a CURVE server too: a listed command-center key receives warnings, an unknown key nothing.
@Suite(.serialized) struct FeedSecurityTests {
    @Test func onlyListedKeysReceiveTheFeed() throws {
        let server = try CurveKeyPair.generate()
        let ops = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let platform = try CurveKeyPair.generate()
        let areas = AreaTree(Fixtures.shippedConfig.areas.sorted.map { area in
            var a = area
            if a.path.rawValue == "sz.futian" { a.publicKey = platform.publicKey }
            return a
        })
        let p = try TestPipeline(
            security: SecurityConfig(mode: .curve, serverSecretKey: server.secretKey, clients: ["ops": ops.publicKey]),
            areas: areas)
        defer { p.stop() }
        let context = try Context()
        defer {
            context.shutdown()
            context.terminate()
        }
        func subscriber(_ keys: CurveKeyPair) throws -> Socket {
            let s = try context.makeSocket(.sub)
            try s.setCurveServerKey(server.publicKey)
            try s.setCurvePublicKey(keys.publicKey)
            try s.setCurveSecretKey(keys.secretKey)
            try s.subscribe("actual/warning/")
            try s.connect(p.config.endpoints.feed)
            return s
        }
        let listed = try subscriber(ops)
        let unknown = try subscriber(stranger)
        defer {
            listed.close()
            unknown.close()
        }
        let client = try p.client(curve: (server.publicKey, platform))
        defer { client.close() }
        // A fire at a new place each try (a new incident, a new alert) until the listed subscriber, whose
        // CURVE handshake and subscription take a moment, receives one.
        try listed.setReceiveTimeout(milliseconds: 1000)
        var warning: Message?
        for attempt in 0..<10 where warning == nil {
            let reply = try client.request(TestEvents.fire(id: "sec-f\(attempt)", time: nowText(),
                                                           lat: 22.5277 + Double(attempt) * 0.01))
            #expect(reply?["status"] == "accepted")
            warning = try listed.receive()
        }
        let received = try #require(warning)
        #expect(String(decoding: received.frames[0], as: UTF8.self).hasPrefix("actual/warning/street/sz.futian."))
        try unknown.setReceiveTimeout(milliseconds: 500)
        #expect(try unknown.receive() == nil)
    }
}
