import Foundation
import Testing
@testable import TocsinCore

/// Helpers rewritten over UTF-8 bytes for speed, against the string operations they replaced.
@Suite struct ByteHelpersTests {
    /// What `canonicalNumber` was: `Int64` of the rest, and only when writing it back gives the id.
    static func reference(_ id: String, prefix: String) -> Int64? {
        guard id.hasPrefix(prefix), let n = Int64(id.dropFirst(prefix.count)), "\(prefix)\(n)" == id else { return nil }
        return n
    }

    @Test func canonicalNumberAgreesWithWritingTheNumberBack() {
        let rests = [
            "", "0", "00", "01", "1", "10", "-1", "-0", "+1", "1a", "a1", " 1", "1 ", "9223372036854775807",
            "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "99999999999999999999", "-", "--1",
            "١", "12345678901234567",
        ]
        for prefix in ["inc-", "w-", ""] {
            for rest in rests {
                #expect(canonicalNumber(prefix + rest, prefix: prefix) == Self.reference(prefix + rest, prefix: prefix),
                        "\(prefix)\(rest)")
            }
            #expect(canonicalNumber("x" + prefix + "1", prefix: prefix) == Self.reference("x" + prefix + "1", prefix: prefix))
        }
        #expect(canonicalNumber("inc-42", prefix: "inc-") == 42)
        #expect(canonicalNumber("in", prefix: "inc-") == nil)
    }

    @Test func fillReplacesKnownPlaceholdersOnce() {
        let values = ["area": "Shatou {tier}", "tier": "IV", "é": "e"]
        #expect(WarningBook.fill("Flood {tier} in {area}", values) == "Flood IV in Shatou {tier}")
        #expect(WarningBook.fill("{unknown} and {tier}", values) == "{unknown} and IV")
        #expect(WarningBook.fill("ab{cd", values) == "ab{cd")
        #expect(WarningBook.fill("{tier}x{", values) == "IVx{")
        #expect(WarningBook.fill("中文{é}中{tier}}", values) == "中文e中IV}")
        #expect(WarningBook.fill("{}{tier}", values) == "{}IV")
        #expect(WarningBook.fill("no placeholders", values) == "no placeholders")
        #expect(WarningBook.fill("", values) == "")
    }

    /// The parser scans strings eight bytes at a time: what it must refuse is refused at every position of a
    /// word, and what it must keep is kept.
    @Test func parserRefusesBadBytesAtEveryPositionOfAWord() throws {
        let bad: [[UInt8]] = [[0x01], [0x1F], [0x0A], [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x80]]
        for length in [1, 7, 8, 9, 15, 16, 17, 33] {
            for at in 0..<length {
                let before = [UInt8](repeating: UInt8(ascii: "a"), count: at)
                let after = [UInt8](repeating: UInt8(ascii: "z"), count: length - at - 1)
                for b in bad {
                    #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22] + before + b + after + [0x22]) }
                }
                #expect(try JSONValue.parse([0x22] + before + Array("é".utf8) + after + [0x22])
                        == .string(String(decoding: before + Array("é".utf8) + after, as: UTF8.self)))
                #expect(try JSONValue.parse([0x22] + before + [0x7F] + after + [0x22])
                        == .string(String(decoding: before + [0x7F] + after, as: UTF8.self)))
            }
            #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22] + [UInt8](repeating: 0x61, count: length)) }
        }
    }

    /// Strings that need no escape go in through a buffer on the stack up to 120 bytes, longer ones and those
    /// with escapes the long way: the same JSON either way, as a value and as a member name.
    @Test func quotedStringsOfEveryLengthAroundTheStackBuffer() throws {
        func reference(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\u{01}": out += "\\u0001"
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        for length in Array(0...130) + [500] {
            for last in ["", "\"", "\\", "\n", "\u{01}", "é", "\u{7F}"] {
                let s = String(repeating: "k", count: length) + last
                #expect(JSONWriter.quoted(s) == reference(s), "\(length) \(last.debugDescription)")
                var w = JSONWriter()
                w.beginObject()
                w.key(s)
                w.value(s)
                w.endObject()
                #expect(w.string == "{" + reference(s) + ":" + reference(s) + "}")
                #expect(try JSONValue.parse(w.bytes) == .object(try #require(JSONObject([(s, .string(s))]))))
            }
        }
    }

    @Test func timesAreWrittenAsTheirRFC3339Strings() throws {
        for micros: Int64 in [0, 1, 250_000, 1_782_894_600_000_000, 1_782_894_600_123_456, -1, Timestamp.earliestMicros,
                              Timestamp.latestMicros] {
            let t = Timestamp(micros: micros)
            var w = JSONWriter()
            w.beginArray()
            w.value(t)
            w.value(t)
            w.endArray()
            #expect(w.string == "[\"\(t.rfc3339)\",\"\(t.rfc3339)\"]")
            #expect(Timestamp(rfc3339: t.rfc3339) == t)
        }
        #expect(Timestamp(micros: 1_782_894_600_250_000).rfc3339 == "2026-07-01T08:30:00.25Z")
        #expect(Timestamp(micros: 1_782_894_600_000_000).rfc3339(offsetSeconds: 8 * 3600) == "2026-07-01T16:30:00+08:00")
        #expect(Timestamp(micros: 1_782_894_600_000_000).capTime() == "2026-07-01T08:30:00-00:00")
        #expect(Timestamp(micros: Timestamp.earliestMicros).rfc3339 == "0001-01-01T00:00:00Z")
        #expect(Timestamp(micros: Timestamp.latestMicros).rfc3339 == "9999-12-31T23:59:59.999999Z")
    }
}
