import Testing
import TocsinCore

private let s2026 = Int64(1_782_894_600) * 1_000_000  // 2026-07-01T08:30:00Z

@Suite struct RFC3339Tests {
    struct ParseCase: Sendable, CustomTestStringConvertible {
        var text: String
        var micros: Int64
        var testDescription: String { text }
        init(_ text: String, _ micros: Int64) {
            self.text = text
            self.micros = micros
        }
    }

    static let rfc3339Valid: [ParseCase] = [
        ParseCase("1970-01-01T00:00:00Z", 0),
        ParseCase("1969-12-31T23:59:59Z", -1_000_000),
        ParseCase("1969-12-31T23:59:59.5Z", -500_000),
        ParseCase("1970-01-01T00:00:00.000001Z", 1),
        ParseCase("2038-01-19T03:14:07Z", 2_147_483_647_000_000),
        ParseCase("2038-01-19T03:14:08Z", 2_147_483_648_000_000),
        ParseCase("2000-02-29T00:00:00Z", 951_782_400_000_000),
        ParseCase("2024-02-29T12:34:56Z", 1_709_210_096_000_000),
        ParseCase("1600-02-29T00:00:00Z", -11_670_998_400_000_000),
        ParseCase("1900-03-01T00:00:00Z", -2_203_891_200_000_000),
        ParseCase("9999-12-31T23:59:59Z", 253_402_300_799_000_000),
        ParseCase("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
        ParseCase("0001-01-01T00:00:00Z", -62_135_596_800_000_000),
        ParseCase("2026-07-01T08:30:00Z", s2026),
        ParseCase("2026-07-01T16:30:00+08:00", s2026),
        ParseCase("2026-07-01T03:30:00-05:00", s2026),
        ParseCase("2026-07-01T14:00:00+05:30", s2026),
        ParseCase("2026-07-01T08:30:00-00:00", s2026),
        ParseCase("2026-07-01T08:30:00+00:00", s2026),
        ParseCase("2026-07-02T08:29:00+23:59", s2026),
        ParseCase("2026-07-01 08:30:00Z", s2026),
        ParseCase("2026-07-01t08:30:00z", s2026),
        ParseCase("2026-07-01T08:30:00.1Z", s2026 + 100_000),
        ParseCase("2026-07-01T08:30:00.25+08:00", s2026 - 8 * 3_600_000_000 + 250_000),
        ParseCase("2026-07-01T08:30:00.123456Z", s2026 + 123_456),
        ParseCase("2026-07-01T08:30:00.1234569Z", s2026 + 123_456),
        ParseCase("2026-07-01T08:30:00.000000001Z", s2026),
        ParseCase("2016-12-31T23:59:60Z", 1_483_228_799_999_999),
        ParseCase("2016-12-31T23:59:60.5Z", 1_483_228_799_999_999),
        ParseCase("2017-01-01T07:59:60+08:00", 1_483_228_799_999_999),
    ]

    @Test(arguments: RFC3339Tests.rfc3339Valid)
    func parsesRFC3339(_ c: ParseCase) {
        #expect(Timestamp(rfc3339: c.text)?.micros == c.micros)
        // Substrings parse the same.
        let padded = "[" + c.text + "]"
        #expect(Timestamp(rfc3339: padded.dropFirst().dropLast())?.micros == c.micros)
    }

    static let rfc3339Invalid: [String] = [
        "", "2026-07-01", "2026-07-01T08:30Z", "2026-07-01T08:30:00", "2026-07-01T08:30:00.Z",
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-07-01T24:00:00Z", "2026-07-01T23:60:00Z", "2026-07-01T23:59:61Z",
        "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "-2026-07-01T00:00:00Z", "+2026-07-01T00:00:00Z",
        "2026-07-01T08:30:00+8:00", "2026-07-01T08:30:00+0800", "2026-07-01T08:30:00+08", "2026-07-01T08:30:00+24:00",
        "2026-07-01T08:30:00+08:60", "2026-07-01X08:30:00Z", "2026-07-01T08:30:00UTC", "2026-7-01T08:30:00Z",
        "2026-07-1T08:30:00Z", "2026-07-01T8:30:00Z", "2026/07/01T08:30:00Z", "2026-07-01T08:30:00ZZ",
        "2026-07-01T08:30:00Z ", " 2026-07-01T08:30:00Z", "2026-07-01T08:30:00,5Z", "2026-07-01T08:30:00.5",
        "２026-07-01T08:30:00Z", "2026-07-01T08:30:00.12a Z", "2026-07-01T08:30:00+08:00:00",
        // Instants before year 1 or after 9999 in UTC, which `rfc3339` could not write back.
        "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-00:01",
        // A leap second anywhere but 23:59:60 UTC on the last day of a month.
        "2016-12-31T12:59:60Z", "2016-12-30T23:59:60Z", "2016-12-31T23:59:60+08:00",
    ]

    @Test(arguments: RFC3339Tests.rfc3339Invalid)
    func rejectsInvalidRFC3339(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    struct FormatCase: Sendable, CustomTestStringConvertible {
        var micros: Int64
        var offset: Int
        var rfc3339: String
        var cap: String
        var testDescription: String { rfc3339 }
        init(_ micros: Int64, _ offset: Int, _ rfc3339: String, _ cap: String) {
            self.micros = micros
            self.offset = offset
            self.rfc3339 = rfc3339
            self.cap = cap
        }
    }

    static let rfc3339Formats: [FormatCase] = [
        FormatCase(0, 0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00-00:00"),
        FormatCase(-1, 0, "1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59-00:00"),
        FormatCase(-1_000_000, 0, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59-00:00"),
        FormatCase(s2026, 0, "2026-07-01T08:30:00Z", "2026-07-01T08:30:00-00:00"),
        FormatCase(s2026, 28_800, "2026-07-01T16:30:00+08:00", "2026-07-01T16:30:00+08:00"),
        FormatCase(s2026 + 250_000, 0, "2026-07-01T08:30:00.25Z", "2026-07-01T08:30:00-00:00"),
        FormatCase(s2026 + 250_000, 28_800, "2026-07-01T16:30:00.25+08:00", "2026-07-01T16:30:00+08:00"),
        FormatCase(s2026 + 1, 0, "2026-07-01T08:30:00.000001Z", "2026-07-01T08:30:00-00:00"),
        FormatCase(s2026 + 999_999, 0, "2026-07-01T08:30:00.999999Z", "2026-07-01T08:30:00-00:00"),
        FormatCase(s2026 + 120_000, 0, "2026-07-01T08:30:00.12Z", "2026-07-01T08:30:00-00:00"),
        FormatCase(s2026, -18_000, "2026-07-01T03:30:00-05:00", "2026-07-01T03:30:00-05:00"),
        FormatCase(s2026, 19_800, "2026-07-01T14:00:00+05:30", "2026-07-01T14:00:00+05:30"),
        FormatCase(s2026, -34_200, "2026-06-30T23:00:00-09:30", "2026-06-30T23:00:00-09:30"),
        FormatCase(s2026 + 11 * 3_600_000_000, 28_800, "2026-07-02T03:30:00+08:00", "2026-07-02T03:30:00+08:00"),
        FormatCase(2_147_483_647_000_000, 0, "2038-01-19T03:14:07Z", "2038-01-19T03:14:07-00:00"),
        FormatCase(951_782_400_000_000, 0, "2000-02-29T00:00:00Z", "2000-02-29T00:00:00-00:00"),
        FormatCase(1_709_210_096_000_000, 28_800, "2024-02-29T20:34:56+08:00", "2024-02-29T20:34:56+08:00"),
        FormatCase(253_402_300_799_999_999, 0, "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-00:00"),
        FormatCase(-62_135_596_800_000_000, 0, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-00:00"),
        FormatCase(-2_203_891_200_000_000, 0, "1900-03-01T00:00:00Z", "1900-03-01T00:00:00-00:00"),
    ]

    @Test(arguments: RFC3339Tests.rfc3339Formats)
    func formatsRFC3339(_ c: FormatCase) {
        let t = Timestamp(micros: c.micros)
        #expect(t.rfc3339(offsetSeconds: c.offset) == c.rfc3339)
        #expect(t.capTime(offsetSeconds: c.offset) == c.cap)
        #expect(Timestamp(rfc3339: c.rfc3339) == t)
        #expect(Timestamp(rfc3339: c.cap)?.micros == c.micros - ((c.micros % 1_000_000) + 1_000_000) % 1_000_000)
        if c.offset == 0 { #expect(t.rfc3339 == c.rfc3339) }
    }

    @Test func capTimeDefaultsToUTCMinusZero() {
        #expect(Timestamp(micros: s2026).capTime() == "2026-07-01T08:30:00-00:00")
        #expect(!Timestamp(micros: s2026).capTime().contains("Z"))
    }

    @Test func roundTripsAcrossTheRange() {
        // A deterministic spread over years 0001-9999 and a few offsets.
        let lo: Int64 = -62_135_596_800_000_000 + 86_400_000_000
        let hi: Int64 = 253_402_300_799_999_999 - 86_400_000_000
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let micros = lo + Int64(x % UInt64(hi - lo))
            let t = Timestamp(micros: micros)
            #expect(Timestamp(rfc3339: t.rfc3339) == t)
            for offset in [28_800, -18_000, 19_800, 50_400, -43_200] {
                #expect(Timestamp(rfc3339: t.rfc3339(offsetSeconds: offset)) == t)
            }
        }
    }

    @Test func civilArithmeticMatchesDayByDayCounting() {
        // Walk every day from 1600-01-01 to 2400-12-31 and compare with the civil initialiser and `civil()`.
        var days = -135_140  // 1600-01-01 is 135,140 days before 1970-01-01
        for year in 1600...2400 {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            for month in 1...12 {
                let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
                for day in 1...length {
                    let t = Timestamp(year: year, month: month, day: day)
                    if t?.micros != Int64(days) * 86_400_000_000 {
                        Issue.record("\(year)-\(month)-\(day): \(String(describing: t)) != day \(days)")
                        return
                    }
                    let c = Timestamp(micros: Int64(days) * 86_400_000_000 + 1).civil()
                    if c.year != year || c.month != month || c.day != day || c.microsecond != 1 {
                        Issue.record("civil of day \(days) is \(c)")
                        return
                    }
                    days += 1
                }
                #expect(Timestamp(year: year, month: month, day: length + 1) == nil)
            }
        }
    }

    @Test func civilInitialiser() {
        #expect(Timestamp(year: 2026, month: 7, day: 1, hour: 16, minute: 30, offsetSeconds: 28_800)?.micros == s2026)
        #expect(Timestamp(year: 2026, month: 7, day: 1, hour: 8, minute: 30, second: 0, microsecond: 5)?.micros == s2026 + 5)
        #expect(Timestamp(year: 0, month: 1, day: 1) == nil)
        #expect(Timestamp(year: 2026, month: 7, day: 1, hour: 24) == nil)
        let c = Timestamp(micros: s2026 + 250_000).civil(offsetSeconds: 28_800)
        #expect(c.year == 2026 && c.month == 7 && c.day == 1 && c.hour == 16 && c.minute == 30 && c.second == 0)
        #expect(c.microsecond == 250_000)
    }
}
