import Testing
@testable import TocsinCore

private typealias F = CoreFixtures

/// `EventRecord` (what ingest hands the classify worker of its process) and `EventDecoder.event(fromRecord:)`: the
/// event comes back exactly as `decodeWithoutDetails` gave it, with the reading decoder's own strings.
@Suite struct EventRecordTests {
    static func record(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        EventRecord.append(event, to: &out)
        return out
    }

    static func read(_ record: [UInt8], decoder: EventDecoder = F.decoder) -> Event? {
        record.withUnsafeBytes { decoder.event(fromRecord: $0) }
    }

    /// Equal in every field, values in the same order, numbers to the bit (`==` takes -0.0 for 0.0).
    static func expectSame(_ a: Event, _ b: Event, _ comment: Comment? = nil) {
        #expect(a == b, comment)
        #expect(a.values.map(\.key) == b.values.map(\.key), comment)
        #expect(a.values.map(\.value.bitPattern) == b.values.map(\.value.bitPattern), comment)
        #expect(a.location.lat.bitPattern == b.location.lat.bitPattern && a.location.lon.bitPattern == b.location.lon.bitPattern,
                comment)
        #expect(a.text == nil && a.device == nil && b.text == nil && b.device == nil, comment)
    }

    /// Every good event of the decoder's tests, from its record, by the decoder that wrote it and by another built
    /// from the same catalog and areas (classify's own).
    @Test(arguments: EventDecoderTests.goodEvents)
    func roundTrip(_ c: EventDecoderTests.GoodEvent) throws {
        let bytes = Array(c.json.utf8)
        let decoded = try bytes.withUnsafeBytes { try F.decoder.decodeWithoutDetails($0, now: F.now).get() }
        let record = Self.record(decoded)
        Self.expectSame(try #require(Self.read(record)), decoded, "\(c.json)")
        let other = EventDecoder(catalog: F.catalog, areas: F.areas, maxFutureSeconds: .infinity)
        Self.expectSame(try #require(Self.read(record, decoder: other)), decoded, "\(c.json)")
    }

    /// What the good events may not all show: an area other than the source, two values in the order sent, every
    /// status and kind, an id of the longest length and of non-ASCII bytes, negative zero and extreme numbers.
    @Test func everyField() throws {
        let futian = AreaPath("sz.futian")!, shatou = AreaPath("sz.futian.shatou")!
        var events: [Event] = []
        for status in Status.allCases {
            events.append(Event(
                id: String(repeating: "x", count: EventDecoder.maxIdBytes), source: futian, kind: .sensor,
                type: "gas_concentration", time: Timestamp(micros: -1), location: GeoPoint(lat: -0.0, lon: 180),
                area: shatou, values: ["lel_pct": -0.0, "ppm": 1e308], status: status))
            events.append(Event(
                id: "事件-1", source: futian, kind: .report, type: "report.fire", time: Timestamp(micros: .max),
                location: GeoPoint(lat: -90, lon: -180), status: status))
        }
        // The order the values came in, both ways round.
        var reversed = EventValues()
        reversed.append("ppm", 60)
        reversed.append("lel_pct", 21)
        events.append(Event(id: "g", source: futian, kind: .sensor, type: "gas_concentration",
                            time: Timestamp(micros: 0), location: GeoPoint(lat: 1, lon: 2), values: reversed))
        for e in events {
            Self.expectSame(try #require(Self.read(Self.record(e))), e, "\(e.id) \(e.status)")
        }
    }

    /// A record cut short, with bytes after its end, or naming what the reading decoder does not know, gives nil.
    @Test func refusesWhatItCannotRead() throws {
        let e = Event(id: "e1", source: AreaPath("sz.futian")!, kind: .sensor, type: "gas_concentration",
                      time: Timestamp(micros: 1), location: GeoPoint(lat: 22.5, lon: 114), area: AreaPath("sz.futian.shatou")!,
                      values: ["ppm": 3, "lel_pct": 4])
        let record = Self.record(e)
        #expect(Self.read(record) != nil)
        for n in 0..<record.count { #expect(Self.read(Array(record.prefix(n))) == nil, "cut at \(n)") }
        #expect(Self.read(record + [0]) == nil)
        // A decoder of another catalog (no gas_concentration) and another area tree (no sz.futian.shatou).
        var catalog = F.catalog
        catalog.types["gas_concentration"] = nil
        #expect(Self.read(record, decoder: EventDecoder(catalog: catalog, areas: F.areas)) == nil)
        let areas = AreaTree(F.areas.sorted.filter { $0.path.rawValue != "sz.futian.shatou" })
        #expect(Self.read(record, decoder: EventDecoder(catalog: F.catalog, areas: areas)) == nil)
        // A value name the type does not have.
        var renamed = record
        let at = try #require(renamed.lastIndex(of: UInt8(ascii: "m")))  // "ppm" -> "ppx"
        renamed[at] = UInt8(ascii: "x")
        #expect(Self.read(renamed) == nil)
    }
}
