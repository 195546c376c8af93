import Foundation
import Testing
@testable import TocsinCore

/// The tree-free fast paths of the task and warning decoders (`JSONRecordScanner`) against the full decoders they
/// stand in front of: whatever bytes the fast path accepts, the full decoder reads as the same value; the
/// records as the workers write them always take the fast path.
@Suite struct RecordScannerTests {
    static func tasks() throws -> [PlanTask] {
        var r = PlanFixtures.Run()
        var tasks = r.gauge(2.6, at: 0)
        tasks += try r.step("verify", by: Make.futian, at: 60)
        tasks += r.gauge(3.4, at: 120)
        return tasks
    }

    /// The bytes the full decoder is given: nil when it rejects them.
    static func full<T>(_ bytes: [UInt8], _ decode: (JSONValue) throws -> T) -> T? {
        guard let value = try? JSONValue.parse(bytes) else { return nil }
        return try? decode(value)
    }

    /// Variants of `bytes` that a fast path must either refuse or read as the full decoder does: every prefix,
    /// and at every position a byte replaced by each of a few that change the grammar or a value, or deleted.
    static func variants(of bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for n in 0..<bytes.count { out.append(Array(bytes[..<n])) }
        let replacements: [UInt8] = Array(#"" \,}{]:0a-"#.utf8) + [0x80, 0x0A]
        for i in bytes.indices {
            for b in replacements where b != bytes[i] {
                var v = bytes
                v[i] = b
                out.append(v)
            }
            var deleted = bytes
            deleted.remove(at: i)
            out.append(deleted)
        }
        return out
    }

    /// `text`'s object with `member` (name and value text) added before its closing brace.
    static func adding(_ member: String, to text: String) -> [UInt8] {
        Array((text.dropLast() + "," + member + "}").utf8)
    }

    @Test func workersRecordsTakeTheFastPath() throws {
        let tasks = try Self.tasks()
        #expect(tasks.contains { $0.by != nil })
        for t in tasks {
            #expect(PlanTask(recordJSON: t.json) == t)
            var numbered = t
            numbered.seq = 42
            #expect(PlanTask(recordJSON: numbered.json) == numbered)
        }
        let warnings = try WarningJSONTests.sampleWarnings()
        #expect(warnings.contains { $0.acknowledgedAt != nil } && warnings.contains { !$0.references.isEmpty })
        for w in warnings { #expect(Warning(recordJSON: w.json) == w) }
    }

    @Test func whitespaceAndEscapesAreReadAsTheFullDecoderReadsThem() throws {
        let t = try Self.tasks()[0]
        // Whitespace around every token (no string of this task holds `,"` or `":`).
        let spaced = " { " + t.jsonString.dropFirst().dropLast()
            .replacingOccurrences(of: #",""#, with: " ,\n\t\"").replacingOccurrences(of: #"":"#, with: "\"\r: ") + " }\n"
        #expect(Self.full(Array(spaced.utf8)) { try PlanTask(json: $0) } == t)
        #expect(PlanTask(recordJSON: Array(spaced.utf8)) == t)
        let escaped = Array(t.jsonString.replacingOccurrences(of: #""action":"Do "#, with: #""action":"D\u006f "#).utf8)
        #expect(PlanTask(recordJSON: escaped) == t)
    }

    /// Repeated members, members the fast path does not know, names written with escapes, a null extension:
    /// the fast path leaves each to the full decoder.
    @Test func refusesWhatItLeavesToTheFullDecoder() throws {
        let t = try Self.tasks()[0]
        let w = try WarningJSONTests.sampleWarnings()[0]
        for bytes in [
            Self.adding(#""step":"other""#, to: t.jsonString), Self.adding(#""future":[1]"#, to: t.jsonString),
            Self.adding(#""by":null"#, to: t.jsonString),
            Array(t.jsonString.replacingOccurrences(of: #""plan":"#, with: #""pl\u0061n":"#).utf8),
        ] {
            #expect(PlanTask(recordJSON: bytes) == nil)
        }
        #expect(try PlanTask(json: Self.adding(#""future":[1]"#, to: t.jsonString)) == t)
        #expect(throws: TaskDecodingError.self) { try PlanTask(json: Self.adding(#""step":"other""#, to: t.jsonString)) }
        for bytes in [
            Self.adding(#""tier":"IV""#, to: w.jsonString), Self.adding(#""future":1"#, to: w.jsonString),
            Array(w.jsonString.replacingOccurrences(of: #""radiusM":50"#, with: #""radiusM":50,"z":1"#).utf8),
            Array(w.jsonString.replacingOccurrences(of: #""color":"blue""#, with: #""color":"red""#).utf8),
        ] {
            #expect(Warning(recordJSON: bytes) == nil)
        }
        #expect(try Warning(json: Self.adding(#""future":1"#, to: w.jsonString)) == w)
    }

    /// Counts the variants of `records` the fast path reads, expecting the full decoder to read each the same;
    /// some must be read (another letter in a string, spaces between tokens) and some refused.
    static func expectVariantsAgree<T: Equatable>(_ records: [[UInt8]], fast: ([UInt8]) -> T?,
                                                  full: (JSONValue) throws -> T) {
        var read = 0, total = 0
        for r in records {
            for v in variants(of: r) {
                total += 1
                guard let value = fast(v) else { continue }
                read += 1
                #expect(Self.full(v, full) == value, "\(String(decoding: v, as: UTF8.self))")
            }
        }
        #expect(read > 0 && read < total)
    }

    @Test func everyVariantOfATaskIsRefusedOrReadAsTheFullDecoderReadsIt() throws {
        Self.expectVariantsAgree(try Self.tasks().prefix(3).map(\.json), fast: { PlanTask(recordJSON: $0) },
                                 full: { try PlanTask(json: $0) })
    }

    @Test func everyVariantOfAWarningIsRefusedOrReadAsTheFullDecoderReadsIt() throws {
        Self.expectVariantsAgree(try WarningJSONTests.sampleWarnings().suffix(2).map(\.json),
                                 fast: { Warning(recordJSON: $0) }, full: { try Warning(json: $0) })
    }

    @Test func topicsKind() throws {
        #expect(FeedKind(topic: "actual/warning/street/sz.futian.shatou.") == .warning)
        #expect(FeedKind(topic: "exercise/task/district/sz.futian.") == .task)
        #expect(FeedKind(topic: "actual/warnings/street/sz.") == .other)
        #expect(FeedKind(topic: "warning/task") == .other)
        #expect(FeedKind(topic: "actual/warn") == .other)
        #expect(FeedKind(topic: "") == .other)
        let t = try #require(try? Self.tasks().first)
        #expect(t.topic == "actual/task/street/sz.futian.shatou.")
        #expect(FeedKind(topic: t.topic) == .task)
        let w = try #require(try? WarningJSONTests.sampleWarnings().last)
        #expect(w.topic == "\(w.status.rawValue)/warning/\(w.level.rawValue)/\(w.area.rawValue).")
        #expect(FeedKind(topic: w.topic) == .warning)
    }

    /// Changes of every kind, with counts, aggregates, a tier, an exercise, a close: as classify writes them
    /// into its outbox (with the pipeline's time, and once without).
    static func changeRecords() throws -> [(bytes: [UInt8], now: Timestamp?, change: IncidentChange)] {
        var p = IncidentPipeline()
        _ = p.feed(Make.event("f0", "report.fire", values: ["injured": 3]))
        _ = p.feed(Make.event("f1", "report.fire", at: 30, values: [:]))
        _ = p.feed(Make.event("wl", "water_level", at: 35, Make.offset(Make.here, east: 3000), values: ["level_m": 1.0]))
        _ = p.feed(Make.event("w0", "water_level", at: 40, Make.offset(Make.here, east: 3000), values: ["level_m": 2.7]))
        _ = p.feed(Make.event("w1", "water_level", at: 90, Make.offset(Make.here, east: 3000), values: ["level_m": 3.6]))
        _ = p.feed(Make.event("g0", "gas_concentration", at: 50, Make.offset(Make.here, north: 4000),
                              values: ["ppm": 60, "lel_pct": 4.5], status: .exercise))
        _ = p.close("inc-1", at: Make.time(600))
        _ = p.tick(Make.time(100_000))
        let kinds = Set(p.changes.map { c -> Int in
            switch c.kind {
            case .opened: 0
            case .updated(let t): t == nil ? 1 : 2
            case .closed: 3
            }
        })
        #expect(kinds == [0, 1, 2, 3])
        return p.changes.enumerated().map { k, change in
            let now: Timestamp? = k == 0 ? nil : Make.time(Double(k))
            return (IncidentChange.recordJSON(now: now, change: change), now, change)
        }
    }

    @Test func changeRecordsTakeTheFastPath() throws {
        let records = try Self.changeRecords()
        #expect(records.contains { !$0.change.incident.counts.isEmpty })
        #expect(records.contains { $0.change.incident.aggregates.values.contains { $0.count > 1 } })
        #expect(records.contains { $0.change.incident.closedAt != nil })
        for r in records {
            let read = try #require(IncidentChange.readRecord(r.bytes))
            #expect(read.now == r.now && read.change == r.change)
            let full = try IncidentChange.recordByTree(r.bytes)
            #expect(full.now == r.now && full.change == r.change)
        }
    }

    @Test func everyVariantOfAChangeRecordIsRefusedOrReadAsTheFullDecoderReadsIt() throws {
        var fast = 0, total = 0
        let records = try Self.changeRecords()
        for r in [records[1], records.last!] {
            for v in Self.variants(of: r.bytes) {
                total += 1
                guard let read = IncidentChange.readRecord(v) else { continue }
                fast += 1
                let full = try? IncidentChange.recordByTree(v)
                #expect(full?.now == read.now && full?.change == read.change, "\(String(decoding: v, as: UTF8.self))")
            }
        }
        #expect(fast > 0 && fast < total)
        // Nulls, unknown members and repeats go to the full decoder, which reads or rejects them.
        let text = String(decoding: records[1].bytes, as: UTF8.self)
        for bytes in [
            Self.adding(#""extra":1"#, to: text), Array(text.replacingOccurrences(of: #""isOpen""#, with: #""tier":null,"isOpen""#).utf8),
            Array(text.replacingOccurrences(of: #""version""#, with: #""version":1,"version""#).utf8),
        ] {
            #expect(IncidentChange.readRecord(bytes) == nil)
        }
        #expect(try IncidentChange.record(json: Self.adding(#""extra":1"#, to: text)).change == records[1].change)
    }
}
