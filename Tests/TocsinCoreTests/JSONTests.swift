import Testing
import TocsinCore

private func nested(_ depth: Int) -> (String, JSONValue) {
    var value: JSONValue = 1
    for _ in 0..<depth { value = .array([value]) }
    return (String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth), value)
}

@Suite struct JSONTests {
    struct ValidJSON: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: JSONValue
        var testDescription: String { text.count > 60 ? String(text.prefix(57)) + "..." : text }
        init(_ text: String, _ expected: JSONValue) {
            self.text = text
            self.expected = expected
        }
    }

    static let validJSON: [ValidJSON] = [
        ValidJSON("null", nil),
        ValidJSON("true", true),
        ValidJSON(" false ", false),
        ValidJSON("0", 0),
        ValidJSON("-1", -1),
        ValidJSON("3.14", 3.14),
        ValidJSON("1e3", 1000),
        ValidJSON("1E+3", 1000),
        ValidJSON("-2.5e-3", -0.0025),
        ValidJSON("0.1", 0.1),
        ValidJSON("123456789012345678901234567890", .number(1.2345678901234568e29)),
        ValidJSON("1.7976931348623157e308", .number(.greatestFiniteMagnitude)),
        ValidJSON("5e-324", .number(.leastNonzeroMagnitude)),
        ValidJSON("1e309", .number(.infinity)),
        ValidJSON("-1e309", .number(-.infinity)),
        ValidJSON("1e-400", 0),
        ValidJSON("[]", []),
        ValidJSON("{}", [:]),
        ValidJSON(" \t\r\n[1, 2 ,3]\n", [1, 2, 3]),
        ValidJSON(#"{"a":{"b":[null,true,"x"]},"c":-0.5}"#, ["a": ["b": [nil, true, "x"]], "c": -0.5]),
        ValidJSON(#""""#, ""),
        ValidJSON(#""caf\u00e9""#, "café"),
        ValidJSON(#""\u00E9\u4e2d""#, "é中"),
        ValidJSON(#""\ud83d\ude92""#, "🚒"),
        ValidJSON(#""\uD83D\uDD25x""#, "🔥x"),
        ValidJSON(#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
        ValidJSON(#""\u0000""#, "\u{0}"),
        ValidJSON(#""\uffff\u0800\u007f""#, "\u{FFFF}\u{800}\u{7F}"),
        ValidJSON("\"é中🔥\u{7F}\"", "é中🔥\u{7F}"),
        ValidJSON(#"{"b":1,"a":2}"#, ["b": 1, "a": 2]),
        ValidJSON(#"{"":0}"#, ["": 0]),
        ValidJSON(nested(64).0, nested(64).1),
        ValidJSON(#"[{"a":[]},{}]"#, [["a": []], [:]]),
    ]

    @Test(arguments: JSONTests.validJSON)
    func parsesValidJSON(_ c: ValidJSON) throws {
        let v = try JSONValue.parse(c.text)
        #expect(v == c.expected)
        #expect(try JSONValue.parse(Array(c.text.utf8)) == c.expected)
        // Re-serialising and parsing gives the same value (except infinities, written as null).
        if case .number(let x) = v, !x.isFinite { return }
        #expect(try JSONValue.parse(v.serialized()) == v)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let v = try JSONValue.parse("-0")
        #expect(v.numberValue?.sign == .minus)
        #expect(v.serializedString() == "-0")
        #expect(try JSONValue.parse("-0.0").numberValue?.sign == .minus)
    }

    /// Number conversion agrees with the standard library's correctly rounded parser.
    @Test(arguments: [
        "0.1", "0.2", "0.3", "22.5431", "114.0579", "1.25", "-0.25", "90.0001", "9007199254740991", "9007199254740993",
        "0.30000000000000004", "123.456e-7", "4.9e-324", "2.2250738585072014e-308", "2.2250738585072011e-308",
        "1e22", "1e23", "12345678901234567890", "1234567890123456789012", "0.000001", "1.00000000000000011102230246251565",
        "3.141592653589793238462643383279", "100000000000000000000000", "7.2057594037927933e16", "1e-22", "8.5e-23",
        "0.0000000000000000000000000001", "179769313486231580793728971405303415079934132710037826936173778980444968292764",
    ])

    func numbersMatchTheStandardLibrary(_ text: String) throws {
        let parsed = try JSONValue.parse(text).numberValue
        #expect(parsed == Double(text)!)
    }

    struct InvalidJSON: Sendable, CustomTestStringConvertible {
        var bytes: [UInt8]
        var message: String
        var offset: Int
        var testDescription: String { String(decoding: bytes.prefix(40), as: UTF8.self) + " -> " + message }
        init(_ text: String, _ message: String, at offset: Int) {
            self.init(bytes: Array(text.utf8), message, at: offset)
        }
        init(bytes: [UInt8], _ message: String, at offset: Int) {
            self.bytes = bytes
            self.message = message
            self.offset = offset
        }
    }

    static let invalidJSON: [InvalidJSON] = [
        InvalidJSON("", "unexpected end of input", at: 0),
        InvalidJSON("  ", "unexpected end of input", at: 2),
        InvalidJSON("{", "unexpected end of input", at: 1),
        InvalidJSON("[1,", "unexpected end of input", at: 3),
        InvalidJSON(#"{"a"}"#, "expected ':'", at: 4),
        InvalidJSON(#"{"a":1,}"#, "expected a string key", at: 7),
        InvalidJSON(#"{"a":1 "b":2}"#, "expected ',' or '}'", at: 7),
        InvalidJSON("[1,]", "unexpected character ']'", at: 3),
        InvalidJSON("[1 2]", "expected ',' or ']'", at: 3),
        InvalidJSON("{a:1}", "expected a string key", at: 1),
        InvalidJSON("{'a':1}", "expected a string key", at: 1),
        InvalidJSON("01", "leading zero in number", at: 0),
        InvalidJSON("-01", "leading zero in number", at: 0),
        InvalidJSON("1.", "expected a digit", at: 2),
        InvalidJSON("1.e5", "expected a digit", at: 2),
        InvalidJSON(".5", "unexpected character '.'", at: 0),
        InvalidJSON("1e", "expected a digit", at: 2),
        InvalidJSON("1e+", "expected a digit", at: 3),
        InvalidJSON("+1", "unexpected character '+'", at: 0),
        InvalidJSON("-", "expected a digit", at: 1),
        InvalidJSON("- 1", "expected a digit", at: 1),
        InvalidJSON("0x10", "unexpected data after the JSON value", at: 1),
        InvalidJSON("NaN", "NaN and Infinity are not valid JSON", at: 0),
        InvalidJSON("Infinity", "NaN and Infinity are not valid JSON", at: 0),
        InvalidJSON("-Infinity", "NaN and Infinity are not valid JSON", at: 0),
        InvalidJSON("[nan]", "invalid literal", at: 1),
        InvalidJSON("nul", "invalid literal", at: 0),
        InvalidJSON("True", "unexpected character 'T'", at: 0),
        InvalidJSON("tru e", "invalid literal", at: 0),
        InvalidJSON("nullx", "unexpected data after the JSON value", at: 4),
        InvalidJSON(#""abc"#, "unterminated string", at: 0),
        InvalidJSON(#"["a\"]"#, "unterminated string", at: 1),
        InvalidJSON("\"a\u{1}b\"", "control character in string", at: 2),
        InvalidJSON("\"a\nb\"", "control character in string", at: 2),
        InvalidJSON(#""\x""#, "invalid escape", at: 1),
        InvalidJSON(#""\U00e9""#, "invalid escape", at: 1),
        InvalidJSON(#""\u12""#, #"invalid \u escape"#, at: 1),
        InvalidJSON(#""\u12g4""#, #"invalid \u escape"#, at: 1),
        InvalidJSON(#""\ud800""#, "lone surrogate", at: 1),
        InvalidJSON(#""\udc00""#, "lone surrogate", at: 1),
        InvalidJSON(#""\ud800\u0041""#, "lone surrogate", at: 1),
        InvalidJSON(#""\ud800\ud800""#, "lone surrogate", at: 1),
        InvalidJSON(#""x\ud800y""#, "lone surrogate", at: 2),
        InvalidJSON(bytes: [0x22, 0xFF, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0x80, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0xC0, 0xAF, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0xE0, 0x80, 0xAF, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0x22, 0x61, 0xE4, 0xB8, 0x22], "invalid UTF-8", at: 2),
        InvalidJSON(bytes: [0x22, 0x5C, 0x6E, 0xE4, 0x22], "invalid UTF-8", at: 3),
        InvalidJSON(bytes: [0x22, 0xE4, 0xB8], "invalid UTF-8", at: 1),
        InvalidJSON(bytes: [0xEF, 0xBB, 0xBF, 0x7B, 0x7D], "unexpected byte 0xEF", at: 0),
        InvalidJSON(bytes: [0x5B, 0x00, 0x5D], "unexpected byte 0x00", at: 1),
        InvalidJSON(#"{"a":1,"a":2}"#, #"duplicate key "a""#, at: 7),
        InvalidJSON(#"{"a":{"b":1,"b":1}}"#, #"duplicate key "b""#, at: 12),
        InvalidJSON(#"{"caf\u00e9":1,"café":2}"#, #"duplicate key "café""#, at: 15),
        InvalidJSON(
            "{" + (0..<20).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k3\":0}",
            #"duplicate key "k3""#, at: 161),
        InvalidJSON(#"{"a":1} x"#, "unexpected data after the JSON value", at: 8),
        InvalidJSON("[1][2]", "unexpected data after the JSON value", at: 3),
        InvalidJSON(nested(65).0, "nesting deeper than 64", at: 64),
        InvalidJSON(String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65),
                    "nesting deeper than 64", at: 320),
        InvalidJSON("// c\n{}", "unexpected character '/'", at: 0),
        InvalidJSON(#"{"a":1,"b":[1,2,{"c":}]}"#, "unexpected character '}'", at: 21),
        InvalidJSON(#"{"a":1,"b":[1,2,{"c":1}}"#, "expected ',' or ']'", at: 23),
    ]

    @Test(arguments: JSONTests.invalidJSON)
    func rejectsInvalidJSON(_ c: InvalidJSON) {
        do {
            let v = try JSONValue.parse(c.bytes)
            Issue.record("parsed as \(v)")
        } catch {
            #expect(error.message == c.message)
            #expect(error.offset == c.offset)
            #expect(error.description == "invalid JSON at byte \(c.offset): \(c.message)")
        }
    }

    @Test func objectsKeepOrderAndLookUp() throws {
        let keys = (0..<30).map { "k\(($0 * 7) % 30)" }
        let text = "{" + keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        let o = try #require(try JSONValue.parse(text).objectValue)
        #expect(o.keys == keys)
        for (i, k) in keys.enumerated() { #expect(o[k] == .number(Double(i))) }
        #expect(o["missing"] == nil)
        #expect(try JSONValue.parse(text).serializedString() == text)

        var small: JSONObject = ["b": 1, "a": 2]
        let insertedC = small.insertNew("c", 3)
        let insertedA = small.insertNew("a", 9)
        #expect(insertedC && !insertedA)
        small["a"] = 5
        small["b"] = nil
        #expect(JSONValue.object(small).serializedString() == #"{"a":5,"c":3}"#)
        #expect(JSONObject([("x", 1), ("x", 2)]) == nil)
    }

    @Test(arguments: [
        (1.0, "1"), (-3.0, "-3"), (0.0, "0"), (-0.0, "-0"), (0.1, "0.1"), (22.5431, "22.5431"), (1e-7, "1e-07"),
        (1e20, "1e+20"), (9_007_199_254_740_991, "9007199254740991"), (9_007_199_254_740_992, "9007199254740992.0"),
        (-9_007_199_254_740_991, "-9007199254740991"), (1.5e300, "1.5e+300"), (Double.nan, "null"),
        (Double.infinity, "null"), (123456.75, "123456.75"),
    ] as [(Double, String)])

    func writesNumbers(_ x: Double, _ text: String) throws {
        #expect(JSONWriter.numberText(x) == text)
        // Inside a document, each value after a comma.
        var w = JSONWriter(capacity: 1)
        w.beginArray()
        w.value(x)
        w.value(x)
        w.endArray()
        #expect(w.string == "[\(text),\(text)]")
        if x.isFinite {
            let back = try JSONValue.parse(text).numberValue
            #expect(back == x && back?.sign == x.sign)
        }
    }

    @Test func escapesStrings() throws {
        let s = "a\"b\\c/\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é中🔥"
        let q = JSONWriter.quoted(s)
        #expect(q == #""a\"b\\c/\n\r\t\b\f\u0001\u001f"# + "\u{7F}é中🔥\"")
        #expect(try JSONValue.parse(q) == .string(s))
        #expect(JSONWriter.quoted("") == #""""#)
        #expect(JSONWriter.quoted("plain") == #""plain""#)
        // A bridged/substring-backed string takes the non-contiguous path too.
        let sub = String(s.dropFirst(2))
        #expect(try JSONValue.parse(JSONWriter.quoted(sub)) == .string(sub))
    }

    /// Strings are scanned eight bytes at a time: a character that needs an escape is escaped at any position of
    /// a word, in strings of several words, and the rest is copied as it is.
    @Test func escapesAtEveryPositionOfAWord() throws {
        let specials: [(String, String)] = [
            ("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\u{01}", #"\u0001"#), ("\u{1F}", #"\u001f"#),
            ("\u{7F}", "\u{7F}"), ("é", "é"), ("中", "中"), ("/", "/"),
        ]
        for length in [1, 7, 8, 9, 15, 16, 17, 33] {
            for at in 0..<length {
                for (raw, escaped) in specials {
                    let before = String(repeating: "a", count: at), after = String(repeating: "z", count: length - at - 1)
                    let s = before + raw + after
                    #expect(JSONWriter.quoted(s) == "\"" + before + escaped + after + "\"", "\(s)")
                    // The same text as a member name and as a value, after a comma, in the writer's buffer.
                    var w = JSONWriter(capacity: 1)
                    w.beginObject()
                    w.field(s, s)
                    w.key(s)
                    w.value(Substring(s))
                    w.endObject()
                    let q = "\"" + before + escaped + after + "\""
                    #expect(w.string == "{\(q):\(q),\(q):\(q)}", "\(s)")
                    #expect(try JSONValue.parse(JSONWriter.quoted(s)) == .string(s))
                }
            }
            let plain = String(repeating: "q", count: length)
            #expect(JSONWriter.quoted(plain) == "\"" + plain + "\"")
        }
    }

    @Test func writerBuildsCompactDocuments() throws {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", "e1")
        w.field("n", 3)
        w.field("x", 0.5)
        w.field("ok", true)
        w.key("list")
        w.beginArray()
        w.value(1)
        w.value("two")
        w.null()
        w.beginObject()
        w.endObject()
        w.endArray()
        w.field("skip", ifPresent: nil)
        w.field("keep", ifPresent: "y")
        w.field("v", ["z": [1, 2], "a": nil] as JSONValue)
        w.endObject()
        #expect(w.string == #"{"id":"e1","n":3,"x":0.5,"ok":true,"list":[1,"two",null,{}],"keep":"y","v":{"z":[1,2],"a":null}}"#)
        #expect(try JSONValue.parse(w.bytes)["list"] == [1, "two", nil, [:]])
    }

    @Test(arguments: [
        (0, "0"), (7, "7"), (-1, "-1"), (9, "9"), (10, "10"), (99, "99"), (100, "100"), (-100, "-100"),
        (1_234_567_890_123, "1234567890123"), (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808"),
    ] as [(Int, String)])
    func writesIntegers(_ n: Int, _ text: String) {
        var w = JSONWriter(capacity: 1)
        w.value(n)
        #expect(w.string == text)
        var out: [UInt8] = [0x5B]
        JSONWriter.appendInteger(Int64(n), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "[" + text)
    }

    /// The writer grows its buffer as it goes: a document far larger than the capacity asked for comes out
    /// whole, the same as one written into ample room.
    @Test func writerGrowsPastItsCapacity() throws {
        func document(capacity: Int) -> JSONWriter {
            var w = JSONWriter(capacity: capacity)
            w.beginArray()
            for i in 0..<5_000 {
                w.beginObject()
                w.field("i", i)
                w.field("name", "member \(i) with a \"quote\" and ünïcödé")
                w.field("x", Double(i) / 8)
                w.endObject()
            }
            w.endArray()
            return w
        }
        let small = document(capacity: 1), ample = document(capacity: 1 << 20)
        #expect(small.bytes == ample.bytes)
        let parsed = try JSONValue.parse(small.bytes)
        guard case .array(let items) = parsed else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 5_000)
        #expect(items[4_321]["name"] == .string("member 4321 with a \"quote\" and ünïcödé"))
        #expect(items[4_999]["x"] == .number(4_999.0 / 8))
    }

    /// Writers are values: a copy writes on without changing what the original has, and the other way round.
    @Test func writerCopiesAreIndependent() {
        var a = JSONWriter(capacity: 64)
        a.beginObject()
        a.field("k", "v")
        var b = a
        b.field("b", 1)
        a.field("a", 2)
        let c = a
        a.endObject()
        b.endObject()
        #expect(a.string == #"{"k":"v","a":2}"#)
        #expect(b.string == #"{"k":"v","b":1}"#)
        #expect(c.string == #"{"k":"v","a":2"#)
    }

    @Test func abbreviatesForMessages() {
        let long = JSONValue.string(String(repeating: "x", count: 100))
        #expect(long.abbreviated().count == 40)
        #expect(long.abbreviated().hasSuffix("..."))
        #expect(JSONValue.array([1, 2]).abbreviated() == "[1,2]")
        #expect(JSONValue.object(["k": "v"]).description == #"{"k":"v"}"#)
    }
}
