// A tree-free reader of the flat JSON records the workers pass each other (tasks, warnings).

/// Reads one JSON object member by member over its bytes, without building a `JSONValue` tree: the fast path of
/// the decoders of the records the workers pass each other, each read several times per warning (the generic
/// tree and its keyed lookups were about 21,000 instructions per task in the dispatch thread).
///
/// Every read returns `nil` (or `.bad`) when the bytes are not what it reads; the decoder then gives up its fast
/// path and decodes with the full parser, whose errors are the ones reported. So a fast path that succeeds must
/// give exactly what the full decoder gives: it reads strings and numbers with the full parser's own code,
/// refuses repeated members (the full parser rejects them) and members it does not know (left to the full
/// decoder, which ignores them but also checks them for repeats and syntax), and checks that nothing follows
/// the object.
struct JSONRecordScanner {
    /// One step through an object.
    enum Member {
        /// A member's name (its raw bytes, between the quotes) and the colon after it: read its value next.
        case name(Range<Int>)
        /// The object's closing brace.
        case end
        /// Anything else: give up the fast path.
        case bad
    }

    var s: JSONParser
    private var started = false

    init(base: UnsafePointer<UInt8>, count: Int) {
        s = JSONParser(base: base, count: count)
    }

    /// The opening brace of an object (at the start, or as a member's value).
    mutating func begin() -> Bool {
        s.skipWhitespace()
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: "{") else { return false }
        s.i += 1
        started = false
        return true
    }

    /// The next member of the object begun last. A member's value may be an object read with `begin` and
    /// `member` in turn: after its end, `member` goes on with the parent's members.
    mutating func member() -> Member {
        s.skipWhitespace()
        guard s.i < s.end else { return .bad }
        if s.p[s.i] == UInt8(ascii: "}") {
            s.i += 1
            started = true
            return .end
        }
        if started {
            guard s.p[s.i] == UInt8(ascii: ",") else { return .bad }
            s.i += 1
            s.skipWhitespace()
        }
        started = true
        guard let name = plain() else { return .bad }
        s.skipWhitespace()
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: ":") else { return .bad }
        s.i += 1
        s.skipWhitespace()
        return .name(name)
    }

    /// An object whose members are all among `names`, each at most once, from its opening brace to its closing
    /// one: `read` reads the value of the member at the given position of `names` and says whether it could.
    /// Returns which members were read; nil for anything else (a member not in `names` or repeated, a value
    /// `read` refused, broken syntax).
    mutating func object(_ names: [StaticString], _ read: (inout JSONRecordScanner, Int) -> Bool) -> MemberSet? {
        guard begin() else { return nil }
        var seen = MemberSet()
        while true {
            // The member the writer writes next, found by its name right at the cursor; anything else (another
            // member, spaces, the end) the general way.
            if hint < names.count, nextMember(is: names[hint]) {
                let k = hint
                hint += 1
                guard seen.insert(k), read(&self, k) else { return nil }
                continue
            }
            switch member() {
            case .end: return seen
            case .bad: return nil
            case .name(let name):
                guard let k = index(of: name, in: names), seen.insert(k), read(&self, k) else { return nil }
            }
        }
    }

    /// True, past the member's colon, when the next member is exactly `word` written without spaces or escapes
    /// (`,"word":`, or `"word":` first); false, having moved nothing, otherwise. About a fifth of `member` and
    /// `index(of:in:)` together, which scan the name first and compare it after.
    @inline(__always)
    private mutating func nextMember(is word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        var i = s.i
        if started {
            guard i < s.end, s.p[i] == UInt8(ascii: ",") else { return false }
            i += 1
        }
        guard i + n + 2 < s.end, s.p[i] == UInt8(ascii: "\""), s.p[i + n + 1] == UInt8(ascii: "\""),
              s.p[i + n + 2] == UInt8(ascii: ":") else { return false }
        let w = word.utf8Start
        for k in 0..<n where s.p[i + 1 + k] != w[k] { return false }
        s.i = i + n + 3
        started = true
        s.skipWhitespace()
        return true
    }

    /// Whether `name` is exactly `word`.
    @inline(__always)
    func name(_ name: Range<Int>, is word: StaticString) -> Bool { s.bytes(name, equalWord: word) }

    /// The position of `name` in `words`, or nil. The word after the last one found is tried first: writers
    /// write members in their list's order, so that is nearly always the one (a search from the start cost
    /// about a tenth of reading a task).
    mutating func index(of name: Range<Int>, in words: [StaticString]) -> Int? {
        if hint < words.count, matches(name, words[hint]) {
            hint += 1
            return hint - 1
        }
        for k in words.indices where matches(name, words[k]) {
            hint = k + 1
            return k
        }
        return nil
    }

    private var hint = 0

    @inline(__always)
    private func matches(_ name: Range<Int>, _ word: StaticString) -> Bool {
        word.utf8CodeUnitCount == name.count && s.bytes(name, equalWord: word)
    }

    /// A string of printable ASCII without escapes (names, times, enumerations): its bytes between the quotes.
    mutating func plain() -> Range<Int>? { s.plainString() }

    /// Any string (escapes and UTF-8 checked by the full parser's code).
    mutating func string() -> String? {
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: "\"") else { return nil }
        do throws(JSONParseError) { return try s.parseString() } catch { return nil }
    }

    /// Any string, passed over without making it (escapes are passed over as two bytes, or six for `\u`; the
    /// text is not checked further).
    mutating func skipString() -> Bool {
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: "\"") else { return false }
        var k = s.i + 1
        while true {
            k = ASCIIWord.skipPlain(s.p, from: k, end: s.end)
            guard k < s.end else { return false }
            switch s.p[k] {
            case UInt8(ascii: "\""):
                s.i = k + 1
                return true
            case UInt8(ascii: "\\"):
                guard k + 1 < s.end else { return false }
                k += s.p[k + 1] == UInt8(ascii: "u") ? 6 : 2
            case ..<0x20:
                return false
            default:
                k += 1
            }
        }
    }

    /// A string, number, `true`, `false` or `null`, passed over (strings as `skipString` passes them).
    mutating func skipScalar() -> Bool {
        guard s.i < s.end else { return false }
        switch s.p[s.i] {
        case UInt8(ascii: "\""): return skipString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return bool() != nil
        case UInt8(ascii: "n"):
            do throws(JSONParseError) { try s.literal("null") } catch { return false }
            return true
        default: return number() != nil
        }
    }

    /// Any value, passed over: a scalar as `skipScalar` passes it, an object or array to its matching close
    /// (strings inside passed over as `skipString` does; the brackets are counted, not checked pair by pair).
    mutating func skipValue() -> Bool {
        guard s.i < s.end else { return false }
        let open = s.p[s.i]
        guard open == UInt8(ascii: "{") || open == UInt8(ascii: "[") else { return skipScalar() }
        var depth = 0
        while s.i < s.end {
            switch s.p[s.i] {
            case UInt8(ascii: "\""):
                guard skipString() else { return false }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    s.i += 1
                    return true
                }
            default:
                break
            }
            s.i += 1
        }
        return false
    }

    /// A finite number.
    mutating func number() -> Double? {
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: "-") || (s.p[s.i] >= 0x30 && s.p[s.i] <= 0x39) else { return nil }
        do throws(JSONParseError) {
            let x = try s.parseNumber()
            return x.isFinite ? x : nil
        } catch { return nil }
    }

    /// A non-negative integer below 2^53 (sequence numbers, counts).
    mutating func count() -> Int64? {
        guard let x = number(), x >= 0, x == x.rounded(), x < 9_007_199_254_740_992 else { return nil }
        return Int64(x)
    }

    /// An integer of either sign below 2^53 in magnitude (times in microseconds, counts).
    mutating func integer() -> Int64? {
        guard let x = number(), x == x.rounded(), abs(x) < 9_007_199_254_740_992 else { return nil }
        return Int64(x)
    }

    /// The name of a member as a string (names with escapes are refused by `member`).
    func text(_ name: Range<Int>) -> String { s.string(name) }

    mutating func bool() -> Bool? {
        guard s.i < s.end else { return nil }
        switch s.p[s.i] {
        case UInt8(ascii: "t"):
            do throws(JSONParseError) { try s.literal("true") } catch { return nil }
            return true
        case UInt8(ascii: "f"):
            do throws(JSONParseError) { try s.literal("false") } catch { return nil }
            return false
        default:
            return nil
        }
    }

    /// An RFC 3339 time written without escapes.
    mutating func time() -> Timestamp? {
        guard let r = plain(),
              let micros = Timestamp.parseRFC3339(UnsafeBufferPointer(start: s.p + r.lowerBound, count: r.count))
        else { return nil }
        return Timestamp(micros: micros)
    }

    /// An area path (validated as `AreaPath` validates it).
    mutating func area() -> AreaPath? {
        guard let r = plain() else { return nil }
        return AreaPath(s.string(r))
    }

    /// A value of a string enumeration.
    mutating func enumValue<E: RawRepresentable>(_: E.Type = E.self) -> E? where E.RawValue == String {
        guard let r = plain() else { return nil }
        return E(rawValue: s.string(r))
    }

    /// An array of strings.
    mutating func strings() -> [String]? {
        guard s.i < s.end, s.p[s.i] == UInt8(ascii: "[") else { return nil }
        s.i += 1
        s.skipWhitespace()
        var out: [String] = []
        if s.i < s.end && s.p[s.i] == UInt8(ascii: "]") {
            s.i += 1
            return out
        }
        while true {
            guard let e = string() else { return nil }
            out.append(e)
            s.skipWhitespace()
            guard s.i < s.end else { return nil }
            let c = s.p[s.i]
            s.i += 1
            if c == UInt8(ascii: "]") { return out }
            guard c == UInt8(ascii: ",") else { return nil }
            s.skipWhitespace()
        }
    }

    /// Nothing but whitespace left.
    mutating func atEnd() -> Bool {
        s.skipWhitespace()
        return s.i == s.end
    }

    /// Runs `read` over `bytes` (nil when empty).
    static func read<T>(_ bytes: [UInt8], _ read: (inout JSONRecordScanner) -> T?) -> T? {
        bytes.withUnsafeBufferPointer { u in
            guard let base = u.baseAddress, u.count > 0 else { return nil }
            var scanner = JSONRecordScanner(base: base, count: u.count)
            return read(&scanner)
        }
    }
}

/// Which of a record's members have been read, by their position in its list of names.
struct MemberSet {
    private(set) var bits: UInt64 = 0

    /// Marks member `k`; false when it was read before (a repeated member).
    @inline(__always)
    mutating func insert(_ k: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(k)
        if bits & bit != 0 { return false }
        bits |= bit
        return true
    }

    /// Whether every member in `required` (a mask of positions) was read.
    func contains(all required: UInt64) -> Bool { bits & required == required }

    /// Whether the first `count` members were all read.
    func contains(first count: Int) -> Bool { contains(all: (1 << UInt64(count)) - 1) }
}
