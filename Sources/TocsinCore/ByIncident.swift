#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dictionary by incident id that keys the ids the engine makes (`inc-<n>`, `n` its `openingSeq`) by their
/// number: 8-byte keys instead of 16, and hashing a word instead of a string. Swift's dictionaries keep their
/// buckets at most three quarters full, so at 100,000 incidents each key costs 2.6 times its size. An id of any
/// other form is kept by its text.
package struct ByIncident<Value: Sendable>: Sendable {
    private var byNumber: [Int64: Value] = [:]
    private var byText: [String: Value] = [:]

    package init() {}

    /// `n` when `id` is exactly `inc-<n>`.
    static func number(_ id: String) -> Int64? { canonicalNumber(id, prefix: "inc-") }

    package var count: Int { byNumber.count + byText.count }

    package var isEmpty: Bool { byNumber.isEmpty && byText.isEmpty }

    package subscript(id: String) -> Value? {
        get {
            if let n = Self.number(id) { byNumber[n] } else { byText[id] }
        }
        set {
            if let n = Self.number(id) { byNumber[n] = newValue } else { byText[id] = newValue }
        }
        _modify {
            if let n = Self.number(id) {
                yield &byNumber[n]
            } else {
                yield &byText[id]
            }
        }
    }

    package subscript(id: String, default value: @autoclosure () -> Value) -> Value {
        get { self[id] ?? value() }
        _modify {
            if let n = Self.number(id) {
                yield &byNumber[n, default: value()]
            } else {
                yield &byText[id, default: value()]
            }
        }
    }

    @discardableResult
    package mutating func removeValue(forKey id: String) -> Value? {
        if let n = Self.number(id) { byNumber.removeValue(forKey: n) } else { byText.removeValue(forKey: id) }
    }

    /// Every incident id kept, in no particular order.
    package var keys: [String] { byNumber.keys.map { "inc-\($0)" } + byText.keys }

    /// Every value, in no particular order.
    package var values: Values { Values(table: self) }

    package struct Values: Sequence {
        fileprivate let table: ByIncident

        package struct Iterator: IteratorProtocol {
            var numbered: Dictionary<Int64, Value>.Values.Iterator
            var texts: Dictionary<String, Value>.Values.Iterator

            package mutating func next() -> Value? { numbered.next() ?? texts.next() }
        }

        package func makeIterator() -> Iterator {
            Iterator(numbered: table.byNumber.values.makeIterator(), texts: table.byText.values.makeIterator())
        }
    }
}

/// `n` when `id` is exactly `<prefix><n>` (the form the engine and the warning book give their ids: `inc-01`
/// or `w-+1` are not).
/// Read from the bytes: the string operations it was written with took about 1,700 instructions per lookup.
func canonicalNumber(_ id: String, prefix: String) -> Int64? {
    var id = id, prefix = prefix
    return prefix.withUTF8 { p in
        id.withUTF8 { u -> Int64? in
            guard u.count > p.count, memcmp(u.baseAddress!, p.baseAddress!, p.count) == 0 else { return nil }
            var k = p.count
            let negative = u[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            guard k < u.count else { return nil }
            // No leading zero, no sign but a minus, no `-0`: exactly what `"\(prefix)\(n)"` writes.
            if u[k] == UInt8(ascii: "0") { return k + 1 == u.count && !negative ? 0 : nil }
            var n: Int64 = 0
            while k < u.count {
                let c = u[k]
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                let digit = Int64(c &- UInt8(ascii: "0"))
                let (times10, o1) = n.multipliedReportingOverflow(by: 10)
                let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
                guard !o1, !o2 else { return nil }
                n = next
                k += 1
            }
            return n
        }
    }
}
