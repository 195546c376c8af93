import Foundation
import Testing
import TocsinConfig
import TocsinCore
import TocsinHTTP
import TocsinTesting
import TocsinWorkers

/// The live stream (server-sent events), the public CAP documents and Atom feed, and the dashboard page.
@Suite(.serialized) struct StreamAndCAPTests {
    /// Reads server-sent events from an open stream: all received so far, once at least `count` arrived (or
    /// after 10 s).
    final class SSEReader {
        let fd: Int32
        var text = ""
        init(_ fd: Int32) { self.fd = fd }

        func events(atLeast count: Int) -> [(id: Int, event: String, data: JSONValue)] {
            var buffer = [UInt8](repeating: 0, count: 65536)
            var events = parse()
            let deadline = Date().addingTimeInterval(10)
            while events.count < count && Date() < deadline {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                text += String(decoding: buffer[0..<n], as: UTF8.self)
                events = parse()
            }
            return events
        }

        func parse() -> [(id: Int, event: String, data: JSONValue)] {
            // "\r\n" (HTTP and chunk framing) is one Character in Swift: normalise before splitting lines.
            let plain = text.replacingOccurrences(of: "\r\n", with: "\n")
            var events: [(Int, String, JSONValue)] = []
            for block in plain.components(separatedBy: "\n\n") {
                var id: Int?, event = "", data: JSONValue?
                for line in block.components(separatedBy: "\n") {
                    // Chunk-size lines of the chunked encoding sit between blocks; only SSE fields count.
                    if line.hasPrefix("id: ") { id = Int(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data = try? JSONValue.parse(Array(line.dropFirst(6).utf8)) }
                }
                if let id, let data { events.append((id, event, data)) }
            }
            return events
        }
    }

    @Test func streamReplaysFromSinceThenFollowsTheFeedFilteredByPrefix() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        try p.publish(LiveEvents.water("s-1", level: 2.6))
        try p.waitIdle()
        let fd = try MiniHTTP.connect(port: p.port)
        defer { close(fd) }
        MiniHTTP.send(fd, MiniHTTP.head(method: "GET", path: "/api/stream?since=0&prefix=actual/warning/",
                                        token: Ops.futian.token))
        let reader = SSEReader(fd)
        let first = reader.events(atLeast: 1)
        #expect(first.count == 1)
        #expect(first.first?.event == "warning")
        #expect(first.first?.data["topic"] == "actual/warning/street/sz.futian.shatou.")
        #expect(first.first?.data["body"]?["tier"] == "IV")
        // Live: a rising level gives an update (district) and the flood plan's tasks, which the prefix leaves out.
        try p.publish(LiveEvents.water("s-2", level: 3.1))
        let both = reader.events(atLeast: 2)
        #expect(both.count == 2)
        #expect(both.map(\.data).compactMap { $0["body"]?["tier"]?.stringValue } == ["IV", "III"])
        #expect(both.allSatisfy { $0.data["topic"]?.stringValue?.hasPrefix("actual/warning/") == true })
        // ids are the feed's seq: they match `since` over the command endpoint.
        let command = try WireClient(endpoint: p.config.endpoints.command)
        defer { command.close() }
        let since = try #require(try command.request(#"{"op":"since","seq":0,"prefix":"actual/warning/"}"#))
        #expect(both.map(\.id) == (since["messages"]?.arrayValue ?? []).compactMap { $0["body"]?["seq"]?.int })

        // Resuming with Last-Event-ID after the first message gives exactly the second.
        let fd2 = try MiniHTTP.connect(port: p.port)
        defer { close(fd2) }
        MiniHTTP.send(fd2, MiniHTTP.head(method: "GET", path: "/api/stream?prefix=actual/warning/", token: nil,
                                         extra: ["Authorization: Bearer \(Ops.city.token)",
                                                 "Last-Event-ID: \(both.first?.id ?? 0)"]))
        let resumed = SSEReader(fd2).events(atLeast: 1)
        #expect(both.count == 2 && resumed.map(\.id) == [both[1].id])

        let bad = try p.get("/api/stream?since=minus-one", token: Ops.city.token)
        #expect(bad.status == 400 && bad.json["code"] == "bad_request")
        let byQuery = try MiniHTTP.connect(port: p.port)
        defer { close(byQuery) }
        MiniHTTP.send(byQuery, MiniHTTP.head(method: "GET", path: "/api/stream?since=0&token=\(Ops.nanshan.token)",
                                             token: nil))
        // Nanshan's operator sees none of Futian's messages, only Nanshan's.
        try p.publish(TestEvents.fire(id: "s-nanshan", source: "sz.nanshan.yuehai", time: WallClock.now().rfc3339,
                                      lat: 22.529, lon: 113.945))
        let nanshan = SSEReader(byQuery).events(atLeast: 1)
        #expect(!nanshan.isEmpty)
        #expect(nanshan.allSatisfy { $0.data["body"]?["area"]?.stringValue?.hasPrefix("sz.nanshan") == true })
    }

    @Test func capDocumentsAndTheAtomFeedValidateAgainstTheSchema() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        try p.publish(LiveEvents.water("c-1", level: 3.1))
        try p.publish(TestEvents.fire(id: "c-fire", source: "sz.nanshan.yuehai", injured: 1,
                                      time: WallClock.now().rfc3339, lat: 22.52, lon: 113.95))
        try p.waitIdle()
        let listed = try p.poll("/api/warnings", token: Ops.city.token) { ($0["warnings"]?.arrayValue?.count ?? 0) == 2 }
        let ids = (listed["warnings"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        let dir = Fixtures.temporaryDirectory("tocsin-cap-http")
        defer { Fixtures.removeTemporary(dir) }
        for id in ids {
            let doc = try p.get("/cap/\(id).xml")
            #expect(doc.status == 200)
            #expect(doc.headers["content-type"]?.hasPrefix("application/cap+xml") == true)
            let file = dir + "/\(id).xml"
            try doc.text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CAPSchema.validate(file: file)
            #expect(result.status == 0, "\(id): \(result.output)")
            #expect(doc.text.contains("<identifier>\(id)</identifier>"))
        }
        let missing = try p.get("/cap/w-nope.xml")
        #expect(missing.status == 404 && missing.json["code"] == "not_found")

        let feed = try p.get("/cap/feed.atom")
        #expect(feed.status == 200)
        #expect(feed.headers["content-type"]?.hasPrefix("application/atom+xml") == true)
        let feedFile = dir + "/feed.atom"
        try feed.text.write(toFile: feedFile, atomically: true, encoding: .utf8)
        #expect(try CAPSchema.wellFormed(file: feedFile).status == 0)
        #expect(feed.text.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"))
        // Every entry links its CAP document and carries it inline; each inline alert validates on its own.
        var alerts: [String] = []
        var rest = Substring(feed.text)
        while let start = rest.range(of: "<alert "), let end = rest.range(of: "</alert>", range: start.upperBound..<rest.endIndex) {
            alerts.append(String(rest[start.lowerBound..<end.upperBound]))
            rest = rest[end.upperBound...]
        }
        #expect(alerts.count == 2)
        for (i, alert) in alerts.enumerated() {
            let file = dir + "/entry-\(i).xml"
            try ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + alert).write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CAPSchema.validate(file: file)
            #expect(result.status == 0, "entry \(i): \(result.output)")
        }
        for id in ids { #expect(feed.text.contains("/cap/\(id).xml\"")) }
        #expect(feed.text.components(separatedBy: "<entry>").count - 1 == 2)
        let exercise = try p.get("/cap/feed.atom?status=exercise")
        #expect(exercise.status == 200 && !exercise.text.contains("<entry>"))
        #expect(try p.get("/cap/feed.atom?status=bogus").status == 400)
    }

    @Test func dashboardIsOneSelfContainedPageWithTheCityMap() throws {
        let p = try HTTPTestPipeline()
        defer { p.stop() }
        let page = try p.get("/")
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        let html = page.text
        // Nothing fetched from elsewhere: no external scripts, styles, fonts or tiles.
        #expect(!html.contains("http://") || !html.contains("src=\"http"))
        #expect(!html.contains("https://"))
        let districts = p.config.areas.sorted.filter { $0.path.level == .district }.count
        let streets = p.config.areas.sorted.filter { $0.path.level == .street }.count
        #expect(html.components(separatedBy: "<polygon class=\"district").count - 1 == districts)
        #expect(html.components(separatedBy: "<circle class=\"street\"").count - 1 == streets)
        #expect(html.contains("id=\"banner\"") && html.contains("EXERCISE"))
        #expect(html.contains("/api/stream"))
    }
}
