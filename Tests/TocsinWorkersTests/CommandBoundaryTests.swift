import Testing
import TocsinCore
import TocsinWorkers

/// Boundary values at the command endpoint's request decoding (`CommandRequestDecoder`, what the dispatch worker runs
/// before it looks at state): each case is one request frame, the field reader a handler applies to it, and the exact
/// outcome. `seq` is read as a whole number below 9e15, so that it is exact in a `Double`: 2^53 + 1 and 9e15
/// are refused rather than rounded to a neighbouring sequence number.
@Suite struct CommandBoundaryTests {
    enum Reader: Sendable {
        /// Decoding only: the outcome is the op.
        case op
        case integer(String)
        case string(String)
        case optionalString(String)
        case area(String)
    }

    enum Outcome: Sendable {
        /// The value read, as text (`nil` for an absent optional string).
        case value(String?)
        case error(String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var frame: [UInt8]
        var reader: Reader
        var outcome: Outcome
        /// Escaped, so that a NUL or invalid UTF-8 does not garble the test log.
        var testDescription: String { JSONValue.string(String(decoding: frame, as: UTF8.self)).abbreviated(limit: 70) }

        init(_ json: String, _ reader: Reader, _ outcome: Outcome) {
            self.init(bytes: Array(json.utf8), reader, outcome)
        }
        init(bytes: [UInt8], _ reader: Reader, _ outcome: Outcome) {
            self.frame = bytes
            self.reader = reader
            self.outcome = outcome
        }
    }

    static let seq = Reader.integer("seq")

    static let cases: [Case] = [
        // Whole numbers for `seq`.
        Case(#"{"op":"since","seq":0}"#, seq, .value("0")),
        Case(#"{"op":"since","seq":-0}"#, seq, .value("0")),
        Case(#"{"op":"since","seq":-0.0}"#, seq, .value("0")),
        Case(#"{"op":"since","seq":1E0}"#, seq, .value("1")),
        Case(#"{"op":"since","seq":1e2}"#, seq, .value("100")),
        Case(#"{"op":"since","seq":1.00000000000000001}"#, seq, .value("1")),
        Case(#"{"op":"since","seq":-1}"#, seq, .value("-1")),  // the since handler then refuses it
        Case(#"{"op":"since","seq":8999999999999999}"#, seq, .value("8999999999999999")),
        Case(#"{"op":"since","seq":9000000000000000}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":9007199254740993}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":1.0000000000000002}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":1.5}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":1e309}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":-1e309}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":"1"}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":null}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since","seq":true}"#, seq, .error("seq: expected a whole number")),
        Case(#"{"op":"since"}"#, seq, .error(#"missing field "seq""#)),
        // Optional and required strings.
        Case(#"{"op":"since","seq":0,"prefix":null}"#, .optionalString("prefix"), .value(nil)),
        Case(#"{"op":"since","seq":0}"#, .optionalString("prefix"), .value(nil)),
        Case(#"{"op":"since","seq":0,"prefix":""}"#, .optionalString("prefix"), .value("")),
        Case(#"{"op":"since","seq":0,"prefix":1}"#, .optionalString("prefix"), .error("prefix: expected a string")),
        Case(#"{"op":"cap","warning":"w-1"}"#, .string("warning"), .value("w-1")),
        Case(#"{"op":"cap","warning":"w\u00001"}"#, .string("warning"), .value("w\u{0}1")),
        Case(#"{"op":"cap","warning":""}"#, .string("warning"), .value("")),
        Case(#"{"op":"cap","warning":7}"#, .string("warning"), .error("warning: expected a string")),
        Case(#"{"op":"cap","warning":null}"#, .string("warning"), .error("warning: expected a string")),
        Case(#"{"op":"cap"}"#, .string("warning"), .error(#"missing field "warning""#)),
        // Area paths for `by`.
        Case(#"{"op":"ack","warning":"w-1","by":"sz.futian"}"#, .area("by"), .value("sz.futian")),
        Case(#"{"op":"ack","warning":"w-1","by":"sz.\u0066utian"}"#, .area("by"), .value("sz.futian")),
        Case("{\"op\":\"ack\",\"by\":\"sz.fut\u{0456}an\"}", .area("by"), .error("by: \"sz.fut\u{0456}an\" is not an area path")),
        Case("{\"op\":\"ack\",\"by\":\"\u{FF53}\u{FF5A}\"}", .area("by"), .error("by: \"\u{FF53}\u{FF5A}\" is not an area path")),
        Case(#"{"op":"ack","by":"sz.futian\u200b"}"#, .area("by"), .error("by: \"sz.futian\u{200B}\" is not an area path")),
        Case(#"{"op":"ack","by":"SZ"}"#, .area("by"), .error(#"by: "SZ" is not an area path"#)),
        Case(#"{"op":"ack","by":"sz.futian.shatou.x"}"#, .area("by"), .error(#"by: "sz.futian.shatou.x" is not an area path"#)),
        Case(#"{"op":"ack","by":null}"#, .area("by"), .error("by: expected a string")),
        Case(#"{"op":"ack"}"#, .area("by"), .error(#"missing field "by""#)),
        // The op and the frame.
        Case(#"{"op":"stats"}"#, .op, .value("stats")),
        Case(#"{"op":""}"#, .op, .value("")),  // the dispatch worker answers unknown op ""
        Case(#"{"op":"st\u0000ats"}"#, .op, .value("st\u{0}ats")),
        Case(#"{}"#, .op, .error(#"missing field "op""#)),
        Case(#"{"op":null}"#, .op, .error("op: expected a string")),
        Case(#"{"op":7}"#, .op, .error("op: expected a string")),
        Case(#"{"op":"stats","op":"stats"}"#, .op, .error(#"not JSON: invalid JSON at byte 14: duplicate key "op""#)),
        Case(#"["stats"]"#, .op, .error("not JSON: expected an object")),
        Case("", .op, .error("not JSON: invalid JSON at byte 0: unexpected end of input")),
        Case(bytes: [0], .op, .error("not JSON: invalid JSON at byte 0: unexpected byte 0x00")),
        Case(bytes: Array(#"{"op":"st"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), .op,
             .error("not JSON: invalid JSON at byte 9: invalid UTF-8")),
        Case(bytes: Array(#"{"op":"stats"}"#.utf8) + [0], .op,
             .error("not JSON: invalid JSON at byte 14: unexpected data after the JSON value")),
        Case(#"{"op":"stats","seq":NaN}"#, .op, .error("not JSON: invalid JSON at byte 20: NaN and Infinity are not valid JSON")),
    ]

    @Test(arguments: CommandBoundaryTests.cases)
    func boundary(_ c: Case) {
        let request: CommandRequestDecoder.Request
        switch CommandRequestDecoder.decode(c.frame) {
        case .success(let r):
            request = r
        case .failure(let error):
            guard case .error(let message) = c.outcome else {
                Issue.record("refused: \(error.message)")
                return
            }
            #expect(error.message == message)
            return
        }
        let got: Result<String?, CommandError>
        do throws(CommandError) {
            switch c.reader {
            case .op: got = .success(request.op)
            case .integer(let key): got = .success(String(try request.integer(key)))
            case .string(let key): got = .success(try request.string(key))
            case .optionalString(let key): got = .success(try request.optionalString(key))
            case .area(let key): got = .success(try request.area(key).rawValue)
            }
        } catch {
            got = .failure(error)
        }
        switch (c.outcome, got) {
        case (.value(let expected), .success(let value)): #expect(value == expected)
        case (.error(let expected), .failure(let error)): #expect(error.message == expected)
        default: Issue.record("expected \(c.outcome), got \(got)")
        }
    }

    @Test func tableIsLarge() {
        #expect(Self.cases.count >= 45)
    }
}
