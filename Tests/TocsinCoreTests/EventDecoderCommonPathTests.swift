import Testing
@testable import TocsinCore

private typealias F = CoreFixtures

/// `EventDecoder.decodeCommon` (no JSON tree) against the full path (`JSONValue.parse`, then
/// `decode(object:now:)`): it must never accept what the full path rejects, must give the same event when it
/// accepts, and must take the common frames (or it saves nothing).
@Suite struct EventDecoderCommonPathTests {
    /// The full path alone.
    static func full(_ bytes: [UInt8], decoder: EventDecoder = F.decoder) -> Result<Event, EventRejection> {
        guard bytes.count <= EventDecoder.maxEventBytes else {
            return .failure(EventRejection(id: nil, message: "event larger than 64 KiB"))
        }
        guard let value = try? JSONValue.parse(bytes) else { return .failure(EventRejection(id: nil, message: "not JSON")) }
        guard case .object(let o) = value else { return .failure(EventRejection(id: nil, message: "not an object")) }
        return decoder.decode(object: o, now: F.now)
    }

    static func common(_ bytes: [UInt8], decoder: EventDecoder = F.decoder) -> Event? {
        bytes.withUnsafeBytes { decoder.decodeCommon($0, now: F.now) }
    }

    @Test(arguments: EventDecoderTests.badEvents)
    func takesNoBadEvent(_ c: EventDecoderTests.BadEvent) {
        #expect(Self.common(c.bytes) == nil)
    }

    @Test(arguments: EventDecoderTests.goodEvents)
    func givesTheFullPathsEvent(_ c: EventDecoderTests.GoodEvent) throws {
        let bytes = Array(c.json.utf8)
        let expected = try Self.full(bytes).get()
        if let event = Self.common(bytes) {
            #expect(event == expected)
        } else {
            // Only what it leaves to the full path on purpose: a byte outside printable ASCII, or an escape.
            #expect(bytes.contains { $0 >= 0x7F || $0 < 0x20 || $0 == UInt8(ascii: "\\") }, "\(c.json)")
        }
    }

    /// `decodeWithoutDetails` accepts and refuses exactly what `decode` does, and gives its event without `text`
    /// and `device`, by either path (the escapes and non-ASCII bytes among the good events take the full one).
    @Test func correlationDecodeIsDecodeWithoutDetails() throws {
        var withDetails = 0
        for c in EventDecoderTests.goodEvents {
            let bytes = Array(c.json.utf8)
            var expected = try F.decoder.decode(bytes, now: F.now).get()
            if expected.text != nil || expected.device != nil { withDetails += 1 }
            expected.text = nil
            expected.device = nil
            let event = try bytes.withUnsafeBytes { try F.decoder.decodeWithoutDetails($0, now: F.now).get() }
            #expect(event == expected, "\(c.json)")
        }
        #expect(withDetails > 0)
        for c in EventDecoderTests.badEvents {
            let refused = c.bytes.withUnsafeBytes { F.decoder.decodeWithoutDetails($0, now: F.now) }
            let expected = F.decoder.decode(c.bytes, now: F.now)
            guard case .failure(let rejection) = refused, case .failure(let wanted) = expected else {
                Issue.record("accepted a bad event: \(String(decoding: c.bytes, as: UTF8.self))")
                continue
            }
            #expect(rejection == wanted)
        }
    }

    /// Frames as platforms send them: every field, in several orders, with and without whitespace.
    @Test func takesCommonFramesInAnyOrderAndSpacing() throws {
        let fields: [(String, String)] = [
            ("id", #""gauge-17-000042""#), ("source", #""sz.futian""#), ("kind", #""sensor""#),
            ("type", #""gas_concentration""#), ("time", #""2026-07-01T16:30:00.25+08:00""#),
            ("location", #"{"lon":114.05,"lat":-0.0}"#), ("area", #""sz.futian.shatou""#),
            ("values", #"{"lel_pct":1e1,"ppm":-3.5E-2}"#), ("text", #""ok""#), ("status", #""exercise""#),
            ("device", #""gas-0042""#),
        ]
        var taken = 0
        for rotation in 0..<fields.count {
            let order = Array(fields[rotation...] + fields[..<rotation])
            for spacing in ["", " ", "\n\t "] {
                let json = "{" + spacing + order.map { "\"\($0.0)\"\(spacing):\(spacing)\($0.1)" }
                    .joined(separator: spacing + "," + spacing) + spacing + "}" + spacing
                let bytes = Array(json.utf8)
                let expected = try Self.full(bytes).get()
                let event = try #require(Self.common(bytes), "\(json)")
                #expect(event == expected)
                taken += 1
            }
        }
        #expect(taken == fields.count * 3)
    }

    /// Whatever breaks a rule goes to the full path, which rejects it.
    @Test(arguments: [
        #"{"id":"e1","id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1,"level_m":2}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1e999}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":91,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2,"alt":3},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"report","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T09:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"area":"sz.nanshan","values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.nowhere","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1},"status":"real"}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1},"text":null}"#,
        #"{"id":"","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e\u0001","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}} x"#,
        #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"1960-02-30T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#,
    ])
    func leavesBrokenRulesToTheFullPath(_ json: String) {
        let bytes = Array(json.utf8)
        #expect(Self.common(bytes) == nil)
        #expect((try? Self.full(bytes).get()) == nil)
    }

    /// Member names are matched by the word they start: a longer name that begins with a known one, or a known
    /// one written with an escape, is not that name.
    @Test func namesAreMatchedWholeOnly() throws {
        let good = #"{"id":"e1","source":"sz.futian","kind":"sensor","type":"water_level","time":"2026-07-01T08:30:00Z","location":{"lat":1,"lon":2},"values":{"level_m":1}}"#
        #expect(Self.common(Array(good.utf8)) == (try Self.full(Array(good.utf8)).get()))
        for (name, other) in [(#""id""#, #""idx""#), (#""type""#, #""types""#), (#""lat""#, #""lats""#),
                              (#""source""#, #""sourcee""#), (#""kind""#, #""k\u0069nd""#), (#""lon""#, #""lo""#)] {
            let json = good.replacingOccurrences(of: name + ":", with: other + ":")
            #expect(json != good)
            #expect(Self.common(Array(json.utf8)) == nil, "\(json)")
        }
    }

    /// Random byte mutations of valid frames: whenever the common path accepts, the full path accepts the same
    /// event.
    @Test func mutationsNeverSplitTheTwoPaths() {
        let seeds = EventDecoderTests.goodEvents.map { Array($0.json.utf8) }
        let alphabet: [UInt8] = Array(#"{}[]:,"\/u0123456789.eE+-ntfa _"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9]
        var x: UInt64 = 7
        func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
        var acceptedByBoth = 0
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...next(2) {
                let at = next(bytes.count)
                switch next(3) {
                case 0: bytes[at] = alphabet[next(alphabet.count)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[next(alphabet.count)], at: at)
                }
            }
            guard let event = Self.common(bytes) else { continue }
            #expect((try? Self.full(bytes).get()) == event, "\(String(decoding: bytes, as: UTF8.self))")
            acceptedByBoth += 1
        }
        #expect(acceptedByBoth > 100)
    }

    /// A time before 1970 with the classify worker's `now` (the largest timestamp) is not in the future, on
    /// both paths (the difference used to overflow and trap).
    @Test func oldTimesWithTheLargestNow() throws {
        let json = F.sensor(["time": #""1969-07-20T20:17:40Z""#])
        let event = try F.decoder.decode(Array(json.utf8), now: Timestamp(micros: .max)).get()
        #expect(event.time == Timestamp(rfc3339: "1969-07-20T20:17:40Z"))
        let viaFull = Self.full(Array(json.utf8))
        #expect((try? viaFull.get())?.time == event.time)
        #expect(EventDecoder.isAhead(Timestamp(micros: .max), of: Timestamp(micros: -1), by: 300))
        #expect(!EventDecoder.isAhead(Timestamp(micros: -1), of: Timestamp(micros: .max), by: 300))
    }
    /// Strings are scanned eight bytes at a time: a byte that ends a string or rules it out (a quote, a backslash,
    /// a control character, DEL, a byte of a multi-byte character) must be seen at any position of a word, in ids
    /// and texts long enough to take several words. What the fast path accepts is what the full path gives; what
    /// holds such a byte is left to the full path.
    @Test func seesEveryStoppingByteAtEveryPosition() throws {
        let stoppers: [[UInt8]] = [
            [0x01], [0x1F], [0x7F], Array(#"\""#.utf8), Array(#"\\"#.utf8), Array("é".utf8), Array("\u{202E}".utf8),
        ]
        var accepted = 0, leftToFullPath = 0
        for field in ["id", "text"] {
            for length in [7, 8, 9, 16, 23, 40] {
                for at in 0..<length {
                    for stopper in stoppers {
                        var value = Array(String(repeating: "a", count: length).utf8)
                        value.replaceSubrange(at..<(at + 1), with: stopper)
                        let json = F.sensor([field: "\"" + String(decoding: value, as: UTF8.self) + "\""])
                        let bytes = Array(json.utf8)
                        #expect(Self.common(bytes) == nil, "\(json)")
                        leftToFullPath += 1
                    }
                    // And without one, taken by the fast path with the same event as the full path.
                    let plain = F.sensor([field: "\"" + String(repeating: "b", count: at) + "-" + String(repeating: "c", count: length - at) + "\""])
                    let bytes = Array(plain.utf8)
                    let event = try #require(Self.common(bytes), "\(plain)")
                    #expect(event == (try Self.full(bytes).get()))
                    accepted += 1
                }
            }
        }
        #expect(accepted > 200 && leftToFullPath > 1000)
        // The word test alone: each stopping byte at each of the eight positions, and none in plain ASCII.
        for position in 0..<8 {
            for byte: UInt8 in [0x00, 0x1F, 0x22, 0x5C, 0x7F, 0x80, 0xC3, 0xFF] {
                var word = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                word[position] = byte
                let w = word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(ASCIIWord.mayEndString(w), "byte \(byte) at \(position)")
            }
        }
        for text in ["abcdefgh", "  ~~~~  ", "!#$%&'()", "[]{}:,.-", "01234567", "ZZZZZZZZ", "@^_`|}~ "] {
            let w = Array(text.utf8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            #expect(!ASCIIWord.mayEndString(w), "\(text)")
        }
    }
    /// `ASCIIWord.skipPlain` stops exactly at the first byte that is a quote, a backslash, below 0x20 or above
    /// 0x7E (the first of several in one word, whatever follows it: the bit trick's false marks lie above a true
    /// one), or where fewer than eight bytes are left: checked against a byte loop over 20,000 random buffers.
    @Test func skipPlainStopsAtTheFirstSpecialByte() {
        var rng = SplitMix64(seed: 0x5EED_0009)
        let specials: [UInt8] = [0x00, 0x01, 0x1F, 0x22, 0x5C, 0x7F, 0x80, 0xC3, 0xFF]
        let plain: [UInt8] = [0x20, 0x21, 0x23, 0x2F, 0x30, 0x5B, 0x5D, 0x61, 0x7E]
        func isSpecial(_ c: UInt8) -> Bool { c < 0x20 || c > 0x7E || c == 0x22 || c == 0x5C }
        for _ in 0..<20_000 {
            let count = Int(rng.next() % 41)
            let specialShare = rng.next() % 4  // from none to one byte in four
            let bytes = (0..<count).map { _ -> UInt8 in
                rng.next() % 16 < specialShare ? specials[Int(rng.next() % 9)] : plain[Int(rng.next() % 9)]
            }
            let from = count == 0 ? 0 : Int(rng.next() % UInt64(count + 1))
            let first = bytes.indices.first { $0 >= from && isSpecial(bytes[$0]) } ?? count
            var expected = from
            while expected + 8 <= count {
                if first < expected + 8 {
                    expected = first
                    break
                }
                expected += 8
            }
            let got = bytes.withUnsafeBufferPointer { b in
                b.baseAddress.map { ASCIIWord.skipPlain($0, from: from, end: count) } ?? 0
            }
            #expect(got == expected, "\(bytes) from \(from)")
            if got != expected { return }
        }
    }

    /// The common path finds areas and types by their bytes in tables the decoder builds from its catalog and
    /// area tree: a decoder whose area tree or catalog is replaced takes the new names and no longer the old.
    @Test func namesFollowTheDecodersCatalogAndAreas() throws {
        let json = F.sensor(["source": #""sz.nanshan""#, "area": #""sz.nanshan.yuehai""#])
        let bytes = Array(json.utf8)
        var decoder = F.decoder
        #expect(Self.common(bytes, decoder: decoder)?.area.rawValue == "sz.nanshan.yuehai")
        decoder.areas = AreaTree([F.area("sz", "Shenzhen", "深圳市", 22.5, 114.0),
                                  F.area("sz.nanshan", "Nanshan", "南山区", 22.5, 113.9)])
        #expect(Self.common(bytes, decoder: decoder) == nil)
        #expect(throws: EventRejection.self) { try decoder.decode(bytes, now: F.now).get() }
        let withoutArea = Array(F.sensor(["source": #""sz.nanshan""#]).utf8)
        #expect(Self.common(withoutArea, decoder: decoder)?.source.rawValue == "sz.nanshan")
        var catalog = F.catalog
        catalog.types["water_level"] = nil
        decoder.catalog = catalog
        #expect(Self.common(withoutArea, decoder: decoder) == nil)
        #expect(throws: EventRejection.self) { try decoder.decode(withoutArea, now: F.now).get() }
    }

    /// The byte tables behind those lookups: every key found with its own value among many (colliding buckets
    /// included), nothing for a prefix, an extension or a change of one byte.
    @Test func byteTableFindsExactlyItsKeys() {
        let keys = (0..<3000).map { "sz.d\($0 % 37).street_\($0)" } + ["", "a", "ab"]
        let table = ByteTable(keys.enumerated().map { (Array($0.element.utf8), $0.offset) })
        func find(_ text: String) -> Int? {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBufferPointer { b in
                table.value(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: b.count)
            }
        }
        for (i, key) in keys.enumerated() { #expect(find(key) == i, "\(key)") }
        for key in keys.prefix(200) where !key.isEmpty {
            #expect(find(key + "x") == nil)
            #expect(find(String(key.dropLast())) == nil || keys.contains(String(key.dropLast())))
            #expect(find(key.uppercased()) == nil)
        }
        #expect(find("b") == nil)
    }
}
