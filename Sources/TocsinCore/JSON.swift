// A small, strict, fast JSON (RFC 8259) parser and writer over UTF-8 bytes. No Foundation.
//
// Strictness: exactly one value with optional surrounding whitespace (space, tab, LF, CR); no BOM, no comments,
// no trailing commas, no NaN/Infinity, no leading zeros, no control characters inside strings, valid UTF-8 only,
// no lone UTF-16 surrogates in `\u` escapes, no duplicate keys in an object, nesting at most `JSONValue.maxDepth`.

/// A parsed JSON document.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Any JSON number, as a `Double`. A number too large for a `Double` (`1e309`) parses to ±infinity.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The deepest nesting of arrays and objects the parser accepts (a top-level array has depth 1).
    public static let maxDepth = 64

    public var isNull: Bool { if case .null = self { true } else { false } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var numberValue: Double? { if case .number(let n) = self { n } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }

    /// The member `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { o[key] } else { nil }
    }

    /// A short English name of the value's type: "null", "a boolean", "a number", "a string", "an array", "an object".
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object that keeps its members in document (insertion) order and has unique keys.
///
/// Equality and hashing are by the ordered list of members.
public struct JSONObject: Sendable, Hashable, Sequence {
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var members: [Member]
    /// Key -> position, built only for larger objects; small ones are searched linearly (faster).
    private var index: [String: Int]?
    private static let indexThreshold = 12

    public init() {
        members = []
        index = nil
    }

    /// Builds an object from pairs; returns `nil` when a key repeats.
    public init?(_ pairs: [(String, JSONValue)]) {
        self.init()
        members.reserveCapacity(pairs.count)
        for (k, v) in pairs {
            if !insertNew(k, v) { return nil }
        }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }
    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    public func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in members.indices where members[i].key == key { return i }
        return nil
    }

    /// The value for `key`; setting replaces in place or appends, setting `nil` removes.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = position(of: key) else { return nil }
            return members[i].value
        }
        set {
            if let i = position(of: key) {
                if let newValue {
                    members[i].value = newValue
                } else {
                    members.remove(at: i)
                    rebuildIndex()
                }
            } else if let newValue {
                _ = insertNew(key, newValue)
            }
        }
    }

    /// Appends a member; returns `false` (and changes nothing) when the key is already present.
    @discardableResult
    public mutating func insertNew(_ key: String, _ value: JSONValue) -> Bool {
        if index != nil {
            guard index![key] == nil else { return false }
            index![key] = members.count
        } else {
            for m in members where m.key == key { return false }
            if members.count >= Self.indexThreshold {
                members.append(Member(key: key, value: value))
                rebuildIndex()
                return true
            }
        }
        members.append(Member(key: key, value: value))
        return true
    }

    private mutating func rebuildIndex() {
        guard members.count > Self.indexThreshold else {
            index = nil
            return
        }
        var map = [String: Int](minimumCapacity: members.count)
        for (i, m) in members.enumerated() { map[m.key] = i }
        index = map
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.members == b.members }
    public func hash(into hasher: inout Hasher) { hasher.combine(members) }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Literal objects must not repeat a key (a programming error, trapped).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        guard let o = JSONObject(elements) else { preconditionFailure("duplicate key in JSONObject literal") }
        self = o
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        guard let o = JSONObject(elements) else { preconditionFailure("duplicate key in JSONValue literal") }
        self = .object(o)
    }
}

// MARK: - Errors

/// Why a document is not (strict) JSON. `offset` is the 0-based byte offset of the problem.
///
/// `description` is `invalid JSON at byte <offset>: <message>`, e.g. `invalid JSON at byte 17: expected ':'`.
/// Messages: `unexpected end of input`, `unexpected character 'x'`, `unexpected byte 0xNN`,
/// `expected a value`, `expected a string key`, `expected ':'`, `expected ',' or '}'`, `expected ',' or ']'`,
/// `unterminated string`, `control character in string`, `invalid UTF-8`, `invalid escape`,
/// `invalid \u escape`, `lone surrogate`, `leading zero in number`, `expected a digit`,
/// `NaN and Infinity are not valid JSON`, `invalid literal`, `duplicate key "k"`, `nesting deeper than 64`,
/// `unexpected data after the JSON value`.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

// MARK: - Parsing

extension JSONValue {
    /// Parses exactly one JSON document.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONParseError) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses exactly one JSON document from a string's UTF-8.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONParseError> = text.withUTF8 { buffer in
            do throws(JSONParseError) { return .success(try parse(UnsafeRawBufferPointer(buffer))) } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses exactly one JSON document from raw UTF-8 bytes.
    public static func parse(_ buffer: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            throw JSONParseError(offset: 0, message: "unexpected end of input")
        }
        var parser = JSONParser(base: base.assumingMemoryBound(to: UInt8.self), count: buffer.count)
        return try parser.parseDocument()
    }
}

/// Eight bytes of a JSON string at a time, for the scans of the event decoder and `JSONWriter`.
enum ASCIIWord {
    /// The bytes of `w` (little-endian: the first byte lowest) that are a quote, a backslash, below 0x20 or above
    /// 0x7E, as the high bit of each such byte; bits above the lowest one set may be false (the "has a zero byte"
    /// trick's borrows only run upwards), the lowest is exact: it marks the first such byte.
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeros(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let below20 = (w &- 0x2020_2020_2020_2020) & ~w & highs
        return below20 | (w & highs) | zeros(w ^ 0x2222_2222_2222_2222) | zeros(w ^ 0x5C5C_5C5C_5C5C_5C5C)
            | zeros(w ^ 0x7F7F_7F7F_7F7F_7F7F)
    }

    /// False when none of the eight bytes in `w` is a quote, a backslash, below 0x20 or above 0x7E.
    @inline(__always)
    static func mayEndString(_ w: UInt64) -> Bool { specialBytes(w) != 0 }

    /// The position of the first byte from `k` on that is a quote, a backslash, below 0x20 or above 0x7E, found
    /// eight bytes at a time; where fewer than eight bytes are left before `end` without one, that position (the
    /// byte loops of the string scans take over from there). Every byte before the position returned is plain
    /// printable ASCII. (It returned the start of the word holding that byte until the ninth round: the byte
    /// loops then went through up to seven plain bytes again.)
    @inline(__always)
    static func skipPlain(_ p: UnsafePointer<UInt8>, from k: Int, end: Int) -> Int {
        var k = k
        while k + 8 <= end {
            let special = specialBytes(UInt64(littleEndian: UnsafeRawPointer(p + k).loadUnaligned(as: UInt64.self)))
            if special != 0 { return k + special.trailingZeroBitCount >> 3 }
            k += 8
        }
        return k
    }
}

private enum Ascii {
    static let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, slash: UInt8 = 0x2F
    static let comma: UInt8 = 0x2C, colon: UInt8 = 0x3A, minus: UInt8 = 0x2D, plus: UInt8 = 0x2B, dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30, nine: UInt8 = 0x39
    static let lbrace: UInt8 = 0x7B, rbrace: UInt8 = 0x7D, lbracket: UInt8 = 0x5B, rbracket: UInt8 = 0x5D
    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
    static let e: UInt8 = 0x65, E: UInt8 = 0x45
}

/// Exact powers of ten for the fast (Clinger) path of number conversion.
private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
]

/// The parser over a byte buffer; also the scanner under `EventDecoder`'s tree-free path (EventDecoder.swift).
struct JSONParser {
    let p: UnsafePointer<UInt8>
    let end: Int
    var i = 0
    /// Reused buffer for strings with escapes.
    var scratch: [UInt8] = []

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.p = base
        self.end = count
    }

    @inline(__always)
    func fail(_ message: String, at offset: Int) -> JSONParseError { JSONParseError(offset: offset, message: message) }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < end {
            let c = p[i]
            if c == Ascii.space || c == Ascii.lf || c == Ascii.cr || c == Ascii.tab { i += 1 } else { return }
        }
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if i != end { throw fail("unexpected data after the JSON value", at: i) }
        return value
    }

    func unexpected(at offset: Int) -> JSONParseError {
        guard offset < end else { return fail("unexpected end of input", at: offset) }
        let c = p[offset]
        if c >= 0x21 && c < 0x7F { return fail("unexpected character '\(Character(Unicode.Scalar(c)))'", at: offset) }
        let hex = String(c, radix: 16, uppercase: true)
        return fail("unexpected byte 0x\(hex.count < 2 ? "0" + hex : hex)", at: offset)
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard i < end else { throw fail("unexpected end of input", at: i) }
        switch p[i] {
        case Ascii.quote:
            return .string(try parseString())
        case Ascii.lbrace:
            return try parseObject(depth: depth + 1)
        case Ascii.lbracket:
            return try parseArray(depth: depth + 1)
        case Ascii.minus, Ascii.zero...Ascii.nine:
            return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw fail("NaN and Infinity are not valid JSON", at: i)
        default:
            throw unexpected(at: i)
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard end - i >= n else { throw fail("invalid literal", at: i) }
        for k in 0..<n where p[i + k] != w[k] { throw fail("invalid literal", at: i) }
        i += n
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > JSONValue.maxDepth { throw fail("nesting deeper than \(JSONValue.maxDepth)", at: i) }
        i += 1
        skipWhitespace()
        var object = JSONObject()
        if i < end && p[i] == Ascii.rbrace {
            i += 1
            return .object(object)
        }
        while true {
            guard i < end else { throw fail("unexpected end of input", at: i) }
            guard p[i] == Ascii.quote else { throw fail("expected a string key", at: i) }
            let keyOffset = i
            let key = try parseString()
            skipWhitespace()
            guard i < end else { throw fail("unexpected end of input", at: i) }
            guard p[i] == Ascii.colon else { throw fail("expected ':'", at: i) }
            i += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if !object.insertNew(key, value) {
                throw fail("duplicate key \(JSONWriter.quoted(key))", at: keyOffset)
            }
            skipWhitespace()
            guard i < end else { throw fail("unexpected end of input", at: i) }
            let c = p[i]
            i += 1
            if c == Ascii.comma {
                skipWhitespace()
                continue
            }
            if c == Ascii.rbrace { return .object(object) }
            i -= 1
            throw fail("expected ',' or '}'", at: i)
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > JSONValue.maxDepth { throw fail("nesting deeper than \(JSONValue.maxDepth)", at: i) }
        i += 1
        skipWhitespace()
        var elements: [JSONValue] = []
        if i < end && p[i] == Ascii.rbracket {
            i += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard i < end else { throw fail("unexpected end of input", at: i) }
            let c = p[i]
            i += 1
            if c == Ascii.comma {
                skipWhitespace()
                continue
            }
            if c == Ascii.rbracket { return .array(elements) }
            i -= 1
            throw fail("expected ',' or ']'", at: i)
        }
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = i
        var negative = false
        if p[i] == Ascii.minus {
            negative = true
            i += 1
        }
        guard i < end else { throw fail("expected a digit", at: i) }
        var mantissa: UInt64 = 0
        var significant = 0  // significant digits accumulated into mantissa
        var exact = true  // false when digits were dropped
        var decimalExponent = 0
        let first = p[i]
        if first == Ascii.zero {
            i += 1
            if i < end && p[i] >= Ascii.zero && p[i] <= Ascii.nine { throw fail("leading zero in number", at: start) }
        } else if first > Ascii.zero && first <= Ascii.nine {
            while i < end {
                let c = p[i]
                guard c >= Ascii.zero && c <= Ascii.nine else { break }
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(c &- Ascii.zero)
                    significant += 1
                } else {
                    decimalExponent += 1
                    exact = false
                }
                i += 1
            }
        } else if first == UInt8(ascii: "I") || first == UInt8(ascii: "N") {
            throw fail("NaN and Infinity are not valid JSON", at: start)
        } else {
            throw fail("expected a digit", at: i)
        }
        if i < end && p[i] == Ascii.dot {
            i += 1
            guard i < end, p[i] >= Ascii.zero && p[i] <= Ascii.nine else { throw fail("expected a digit", at: i) }
            while i < end {
                let c = p[i]
                guard c >= Ascii.zero && c <= Ascii.nine else { break }
                if mantissa == 0 && c == Ascii.zero {
                    decimalExponent -= 1  // leading zeros of the fraction
                } else if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(c &- Ascii.zero)
                    significant += 1
                    decimalExponent -= 1
                } else {
                    exact = false
                }
                i += 1
            }
        }
        if i < end && (p[i] == Ascii.e || p[i] == Ascii.E) {
            i += 1
            var expNegative = false
            if i < end && (p[i] == Ascii.plus || p[i] == Ascii.minus) {
                expNegative = p[i] == Ascii.minus
                i += 1
            }
            guard i < end, p[i] >= Ascii.zero && p[i] <= Ascii.nine else { throw fail("expected a digit", at: i) }
            var exponent = 0
            while i < end {
                let c = p[i]
                guard c >= Ascii.zero && c <= Ascii.nine else { break }
                if exponent < 100_000 { exponent = exponent * 10 + Int(c - Ascii.zero) }
                i += 1
            }
            decimalExponent += expNegative ? -exponent : exponent
        }
        // Fast path (Clinger): an exact integer mantissa below 2^53 scaled by an exact power of ten is
        // correctly rounded by one IEEE multiplication or division.
        if mantissa == 0 && exact { return negative ? -0.0 : 0.0 }
        if exact && mantissa <= (1 << 53) && decimalExponent >= -22 && decimalExponent <= 22 {
            var value = Double(mantissa)
            if decimalExponent < 0 {
                value /= exactPowersOfTen[-decimalExponent]
            } else {
                value *= exactPowersOfTen[decimalExponent]
            }
            return negative ? -value : value
        }
        // Slow path: the standard library's correctly rounded conversion of the validated slice.
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        return Double(text) ?? (negative ? -.infinity : .infinity)
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes; validate and copy the slice once. Eight bytes at a time while none of them is
        // a quote, a backslash or outside 0x20-0x7E (the byte loop takes those).
        i = ASCIIWord.skipPlain(p, from: i, end: end)
        while i < end {
            let c = p[i]
            if c == Ascii.quote {
                let s = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if c == Ascii.backslash { break }
            if c < 0x20 { throw fail("control character in string", at: i) }
            if c < 0x80 {
                i += 1
            } else {
                try skipMultibyte()
            }
        }
        guard i < end else { throw fail("unterminated string", at: start - 1) }
        // Slow path: escapes, decoded into the scratch buffer.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: p + start, count: i - start))
        while i < end {
            let c = p[i]
            if c == Ascii.quote {
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c == Ascii.backslash {
                try parseEscape()
            } else if c < 0x20 {
                throw fail("control character in string", at: i)
            } else if c < 0x80 {
                scratch.append(c)
                i += 1
            } else {
                let s = i
                try skipMultibyte()
                scratch.append(contentsOf: UnsafeBufferPointer(start: p + s, count: i - s))
            }
        }
        throw fail("unterminated string", at: start - 1)
    }

    /// A string of printable ASCII (0x20-0x7E) without escapes, from its opening quote at `i`: the range of its
    /// bytes between the quotes, with `i` past the closing one; nil otherwise (`i` unchanged). Eight bytes at a
    /// time while none of them ends the string or rules it out: the tree-free readers' strings (the event
    /// decoder's, `JSONRecordScanner`'s), where a byte at a time was the largest part of decoding a reading.
    mutating func plainString() -> Range<Int>? {
        guard i < end, p[i] == Ascii.quote else { return nil }
        let start = i + 1
        var k = ASCIIWord.skipPlain(p, from: start, end: end)
        while k < end {
            let c = p[k]
            if c == Ascii.quote {
                i = k + 1
                return start..<k
            }
            guard c >= 0x20, c < 0x7F, c != Ascii.backslash else { return nil }
            k += 1
        }
        return nil
    }

    /// Whether the bytes in `range` are exactly `word`.
    @inline(__always)
    func bytes(_ range: Range<Int>, equalWord word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard range.count == n else { return false }
        let w = word.utf8Start
        for k in 0..<n where p[range.lowerBound + k] != w[k] { return false }
        return true
    }

    /// Whether the bytes in `range` are exactly the UTF-8 of `text`.
    func bytes(_ range: Range<Int>, equalText text: String) -> Bool {
        var text = text
        return text.withUTF8 { u in
            guard u.count == range.count else { return false }
            for k in 0..<u.count where p[range.lowerBound + k] != u[k] { return false }
            return true
        }
    }

    /// The bytes in `range` as a string (already validated as UTF-8).
    @inline(__always)
    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: p + range.lowerBound, count: range.count), as: UTF8.self)
    }

    /// Validates one multi-byte UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
    @inline(__always)
    mutating func skipMultibyte() throws(JSONParseError) {
        let c = p[i]
        let remaining = end - i
        @inline(__always) func cont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        switch c {
        case 0xC2...0xDF:
            if remaining >= 2 && cont(p[i + 1]) {
                i += 2
                return
            }
        case 0xE0...0xEF:
            if remaining >= 3 {
                let b1 = p[i + 1]
                let ok1: Bool =
                    switch c {
                    case 0xE0: b1 >= 0xA0 && b1 <= 0xBF
                    case 0xED: b1 >= 0x80 && b1 <= 0x9F
                    default: cont(b1)
                    }
                if ok1 && cont(p[i + 2]) {
                    i += 3
                    return
                }
            }
        case 0xF0...0xF4:
            if remaining >= 4 {
                let b1 = p[i + 1]
                let ok1: Bool =
                    switch c {
                    case 0xF0: b1 >= 0x90 && b1 <= 0xBF
                    case 0xF4: b1 >= 0x80 && b1 <= 0x8F
                    default: cont(b1)
                    }
                if ok1 && cont(p[i + 2]) && cont(p[i + 3]) {
                    i += 4
                    return
                }
            }
        default:
            break
        }
        throw fail("invalid UTF-8", at: i)
    }

    mutating func parseEscape() throws(JSONParseError) {
        let at = i
        i += 1
        guard i < end else { throw fail("unterminated string", at: at) }
        let c = p[i]
        i += 1
        switch c {
        case Ascii.quote: scratch.append(Ascii.quote)
        case Ascii.backslash: scratch.append(Ascii.backslash)
        case Ascii.slash: scratch.append(Ascii.slash)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(escapeAt: at)
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by an escaped low surrogate.
                guard end - i >= 6, p[i] == Ascii.backslash, p[i + 1] == UInt8(ascii: "u") else {
                    throw fail("lone surrogate", at: at)
                }
                i += 2
                let low = try hex4(escapeAt: i - 2)
                guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("lone surrogate", at: at) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw fail("lone surrogate", at: at)
            }
            appendUTF8(scalar)
        default:
            throw fail("invalid escape", at: at)
        }
    }

    mutating func hex4(escapeAt at: Int) throws(JSONParseError) -> UInt32 {
        guard end - i >= 4 else { throw fail("invalid \\u escape", at: at) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[i + k]
            let d: UInt32
            switch c {
            case Ascii.zero...Ascii.nine: d = UInt32(c - Ascii.zero)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape", at: at)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    mutating func appendUTF8(_ s: UInt32) {
        switch s {
        case 0..<0x80:
            scratch.append(UInt8(s))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (s >> 6)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (s >> 12)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (s >> 18)))
            scratch.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        }
    }
}

// MARK: - Writing

/// Appends compact JSON (no whitespace) to a byte buffer. Commas are inserted automatically: call
/// `beginObject`, then alternately `key` and a value (or the `field` helpers), then `endObject`.
///
/// Numbers: an integral value with magnitude below 2^53 is written without a fraction (`42`, `-0`); any other
/// finite value as its shortest round-trip form (`0.1`, `1e-07`, `1e+20`); a non-finite value as `null`
/// (JSON has no NaN or infinity).
///
/// The writer keeps its own buffer and hands out `bytes` as an array at the end: each piece (a name with its
/// quotes and colon, a value) goes in with one capacity check and one copy. Through an array each piece paid
/// for the array's generic append, and a 14-member object (a plan task) took about 4,500 instructions.
/// Copies of a writer share the buffer until one of them writes (copy on write), like an array.
public struct JSONWriter: @unchecked Sendable {
    /// Owns the allocation (freed with the last writer that refers to it).
    private final class Storage {
        let base: UnsafeMutablePointer<UInt8>
        init(capacity: Int) { base = .allocate(capacity: capacity) }
        deinit { base.deallocate() }
    }

    private var storage: Storage
    /// `storage.base`, kept here so that writing reads no class property.
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var needsComma = false

    public init(capacity: Int = 256) {
        let capacity = max(capacity, 16)
        storage = Storage(capacity: capacity)
        base = storage.base
        self.capacity = capacity
    }

    /// What was written.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    public var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// Where the next `n` bytes go: the buffer grown (or made this writer's own) first when needed. The caller
    /// writes them, then adds what it wrote to `count`.
    @inline(__always)
    private mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if _slowPath(count + n > capacity || !isKnownUniquelyReferenced(&storage)) { grow(n) }
        return base + count
    }

    @inline(never)
    private mutating func grow(_ n: Int) {
        let capacity = Swift.max(self.capacity * 2, count + n)
        let fresh = Storage(capacity: capacity)
        fresh.base.initialize(from: base, count: count)
        storage = fresh
        base = fresh.base
        self.capacity = capacity
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        count += 1
    }

    private mutating func append(_ u: UnsafeBufferPointer<UInt8>) {
        guard let from = u.baseAddress, !u.isEmpty else { return }
        reserve(u.count).update(from: from, count: u.count)
        count += u.count
    }

    private mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always)
    private mutating func separator() {
        if needsComma { append(Ascii.comma) }
    }

    public mutating func beginObject() {
        separator()
        append(Ascii.lbrace)
        needsComma = false
    }

    public mutating func endObject() {
        append(Ascii.rbrace)
        needsComma = true
    }

    public mutating func beginArray() {
        separator()
        append(Ascii.lbracket)
        needsComma = false
    }

    public mutating func endArray() {
        append(Ascii.rbracket)
        needsComma = true
    }

    public mutating func key(_ key: String) {
        quoted(key, comma: needsComma, colon: true)
        needsComma = false
    }

    /// A time as an RFC 3339 string (`Timestamp.rfc3339`), written without making the string.
    public mutating func value(_ t: Timestamp) {
        separator()
        let p = reserve(Timestamp.maxFormatted + 2)
        p[0] = Ascii.quote
        let n = t.format(into: p + 1, offsetSeconds: 0, fraction: true, utcAsZ: true)
        p[n + 1] = Ascii.quote
        count += n + 2
        needsComma = true
    }

    public mutating func value(_ s: String) {
        quoted(s, comma: needsComma, colon: false)
        needsComma = true
    }

    /// A string value from part of a string (no copy of its own).
    public mutating func value(_ s: Substring) {
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ quoted($0, comma: needsComma, colon: false) }) {
            _ = done
        } else {
            var copy = String(s)
            copy.withUTF8 { quoted($0, comma: needsComma, colon: false) }
        }
        needsComma = true
    }

    public mutating func value(_ x: Double) {
        separator()
        if !x.isFinite {
            append(Self.nullBytes)
        } else if x == x.rounded(.towardZero) && abs(x) < 9_007_199_254_740_992 {
            if x == 0 && x.sign == .minus {
                append(Ascii.minus)
                append(Ascii.zero)
            } else {
                integer(Int64(x))
            }
        } else {
            var text = x.description
            text.withUTF8 { append($0) }
        }
        needsComma = true
    }

    public mutating func value(_ n: Int) {
        separator()
        integer(Int64(n))
        needsComma = true
    }

    public mutating func value(_ b: Bool) {
        separator()
        append(b ? Self.trueBytes : Self.falseBytes)
        needsComma = true
    }

    public mutating func null() {
        separator()
        append(Self.nullBytes)
        needsComma = true
    }

    /// Writes already-serialised JSON as one value, unchanged (the caller guarantees it is valid JSON).
    public mutating func raw(_ json: [UInt8]) {
        separator()
        append(json)
        needsComma = true
    }

    /// Writes any JSON value (objects keep their member order).
    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): value(b)
        case .number(let x): value(x)
        case .string(let s): value(s)
        case .array(let a):
            beginArray()
            for e in a { value(e) }
            endArray()
        case .object(let o):
            beginObject()
            for m in o.members {
                key(m.key)
                value(m.value)
            }
            endObject()
        }
    }

    public mutating func field(_ k: String, _ v: String) {
        key(k)
        value(v)
    }
    public mutating func field(_ k: String, _ v: Double) {
        key(k)
        value(v)
    }
    public mutating func field(_ k: String, _ v: Int) {
        key(k)
        value(v)
    }
    public mutating func field(_ k: String, _ v: Bool) {
        key(k)
        value(v)
    }
    public mutating func field(_ k: String, _ v: JSONValue) {
        key(k)
        value(v)
    }
    /// Writes the field only when `v` is not nil.
    public mutating func field(_ k: String, ifPresent v: String?) {
        if let v { field(k, v) }
    }

    /// `s` as a JSON string literal (`quoted(_:comma:colon:)`). Read in place (a copy of the string to call
    /// `withUTF8` on cost a retain and a release).
    @inline(__always)
    private mutating func quoted(_ s: String, comma: Bool, colon: Bool) {
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ quoted($0, comma: comma, colon: colon) }) {
            _ = done
        } else {
            var copy = s
            copy.withUTF8 { quoted($0, comma: comma, colon: colon) }
        }
    }

    /// A comma first when `comma`, then `u` as a JSON string literal, then a colon when `colon` (a member name),
    /// with one capacity check. Text that needs no escape (names, ids, area paths, most values) is copied as it is.
    @inline(__always)
    private mutating func quoted(_ u: UnsafeBufferPointer<UInt8>, comma: Bool, colon: Bool) {
        let n = u.count
        if let from = u.baseAddress, !Self.mayNeedEscape(u) {
            var p = reserve(n + 4)
            p[0] = Ascii.comma
            if comma { p += 1 }
            p[0] = Ascii.quote
            (p + 1).update(from: from, count: n)
            p[n + 1] = Ascii.quote
            p[n + 2] = Ascii.colon
            count += n + 2 + (comma ? 1 : 0) + (colon ? 1 : 0)
            return
        }
        // At most six bytes for each byte of `u` (`\u00XX`), a comma, two quotes and a colon.
        let p = reserve(n * 6 + 4)
        var m = 0
        if comma {
            p[0] = Ascii.comma
            m = 1
        }
        p[m] = Ascii.quote
        m += 1
        m += Self.writeEscaped(u, to: p + m)
        p[m] = Ascii.quote
        m += 1
        if colon {
            p[m] = Ascii.colon
            m += 1
        }
        count += m
    }

    @inline(__always)
    private mutating func integer(_ n: Int64) {
        let p = reserve(20)
        count += Self.writeInteger(n, to: p)
    }

    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `s` as a JSON string literal, quotes included.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal: escapes `"`, `\` and control characters below U+0020
    /// (`\n`, `\r`, `\t`, `\b`, `\f`, otherwise `\u00XX`); everything else is copied as UTF-8.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            // Built on the stack (up to six bytes for each byte of `s`, `\u00XX`, and the quotes), appended once.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: u.count * 6 + 2) { t in
                let p = t.baseAddress!
                p[0] = Ascii.quote
                var m = 1
                if let from = u.baseAddress, !mayNeedEscape(u) {
                    (p + 1).update(from: from, count: u.count)
                    m += u.count
                } else {
                    m += writeEscaped(u, to: p + 1)
                }
                p[m] = Ascii.quote
                out.append(contentsOf: UnsafeBufferPointer(start: p, count: m + 1))
            }
        }
    }

    /// False when no byte of `u` is a quote, a backslash, below 0x20 or above 0x7E (true when one may be: the
    /// escaping loop then copies what needs no escape as it is).
    @inline(__always)
    private static func mayNeedEscape(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = u.baseAddress else { return false }
        let n = u.count
        var k = ASCIIWord.skipPlain(base, from: 0, end: n)
        while k < n {
            let c = base[k]
            if c < 0x20 || c > 0x7E || c == Ascii.quote || c == Ascii.backslash { return true }
            k += 1
        }
        return false
    }

    /// Writes `u` with the escapes `appendQuoted` describes to `out` (room for six bytes per byte of `u`) and
    /// returns how many bytes it wrote.
    private static func writeEscaped(_ u: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = u.baseAddress else { return 0 }
        let n = u.count
        var m = 0
        @inline(__always) func put(_ b: UInt8) {
            out[m] = b
            m += 1
        }
        var runStart = 0
        // Eight bytes at a time while none can need an escape (the word test also stops at DEL and bytes of
        // multi-byte characters, which the byte loop then takes as they are).
        var k = ASCIIWord.skipPlain(base, from: 0, end: n)
        while k < n {
            let c = base[k]
            if c >= 0x20 && c != Ascii.quote && c != Ascii.backslash {
                k += 1
                continue
            }
            (out + m).update(from: base + runStart, count: k - runStart)
            m += k - runStart
            put(Ascii.backslash)
            switch c {
            case Ascii.quote: put(Ascii.quote)
            case Ascii.backslash: put(Ascii.backslash)
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            case 0x08: put(UInt8(ascii: "b"))
            case 0x0C: put(UInt8(ascii: "f"))
            default:
                put(UInt8(ascii: "u"))
                put(Ascii.zero)
                put(Ascii.zero)
                put(hexDigits[Int(c >> 4)])
                put(hexDigits[Int(c & 0xF)])
            }
            k += 1
            runStart = k
        }
        (out + m).update(from: base + runStart, count: n - runStart)
        return m + n - runStart
    }

    /// Appends a number per the rules in the type's documentation.
    public static func appendNumber(_ x: Double, to out: inout [UInt8]) {
        var w = JSONWriter(capacity: 32)
        w.value(x)
        out.append(contentsOf: w.bytes)
    }

    public static func appendInteger(_ n: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { t in
            let m = writeInteger(n, to: t.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: t[..<m]))
        }
    }

    /// Writes `n` in decimal to `out` (room for 20 bytes) and returns how many bytes it wrote.
    @inline(__always)
    private static func writeInteger(_ n: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        if n == 0 {
            out[0] = Ascii.zero
            return 1
        }
        var v = n.magnitude
        var digits = 0
        var probe = v
        while probe > 0 {
            probe /= 10
            digits += 1
        }
        let m = digits + (n < 0 ? 1 : 0)
        if n < 0 { out[0] = Ascii.minus }
        var k = m - 1
        while v > 0 {
            out[k] = Ascii.zero + UInt8(v % 10)
            v /= 10
            k -= 1
        }
        return m
    }

    /// A number as JSON text (see the type's documentation).
    public static func numberText(_ x: Double) -> String {
        var w = JSONWriter(capacity: 32)
        w.value(x)
        return w.string
    }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON, members in order.
    public func serialized() -> [UInt8] {
        var w = JSONWriter()
        w.value(self)
        return w.bytes
    }

    /// Compact JSON as a string.
    public func serializedString() -> String { String(decoding: serialized(), as: UTF8.self) }

    public var description: String { serializedString() }

    /// Compact JSON cut to at most `limit` characters (ending in `...` when cut), for messages.
    public func abbreviated(limit: Int = 40) -> String {
        let s = serializedString()
        guard s.count > limit else { return s }
        return String(s.prefix(max(0, limit - 3))) + "..."
    }
}
