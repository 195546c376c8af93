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
func canonicalNumber(_ id: String, prefix: String) -> Int64? {
    guard id.hasPrefix(prefix), let n = Int64(id.dropFirst(prefix.count)), "\(prefix)\(n)" == id else { return nil }
    return n
}
