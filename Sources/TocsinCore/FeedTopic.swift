// What a feed message is, from its topic alone (PROTOCOL.md "Topics": `<status>/<kind>/<level>/<area>.`).

/// The kind segment of a feed topic.
public enum FeedKind: Sendable, Hashable {
    case warning
    case task
    /// Anything else (a kind this build does not know, or not a feed topic).
    case other

    /// The second segment of `topic`, compared byte for byte: a worker reading thousands of feed messages per
    /// second asked Foundation's `contains("/warning/")` (about 9,000 instructions a message; a tenth of the plan
    /// thread).
    public init(topic: String) {
        var topic = topic
        self = topic.withUTF8 { u in
            guard let slash = u.firstIndex(of: UInt8(ascii: "/")) else { return .other }
            let rest = UnsafeBufferPointer(rebasing: u[(slash + 1)...])
            if Self.starts(rest, with: "warning/") { return .warning }
            if Self.starts(rest, with: "task/") { return .task }
            return .other
        }
    }

    private static func starts(_ u: UnsafeBufferPointer<UInt8>, with word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard u.count >= n else { return false }
        let w = word.utf8Start
        for k in 0..<n where u[k] != w[k] { return false }
        return true
    }
}

extension FeedKind {
    /// `<status>/<kind>/<level>/<area>.`, built in one buffer (the interpolation it replaces cost about 3,000
    /// instructions per message on the dispatch thread).
    static func topic(status: Status, kind: StaticString, level: Level, area: AreaPath) -> String {
        var status = status.rawValue, level = level.rawValue, area = area.rawValue
        return status.withUTF8 { s in
            level.withUTF8 { l in
                area.withUTF8 { a in
                    let kindBytes = UnsafeBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount)
                    let n = s.count + kindBytes.count + l.count + a.count + 4
                    return String(unsafeUninitializedCapacity: n) { out in
                        var k = 0
                        func put(_ part: UnsafeBufferPointer<UInt8>, then separator: UInt8) {
                            if let base = part.baseAddress, part.count > 0 {
                                (out.baseAddress! + k).update(from: base, count: part.count)
                            }
                            k += part.count
                            out[k] = separator
                            k += 1
                        }
                        put(s, then: UInt8(ascii: "/"))
                        put(kindBytes, then: UInt8(ascii: "/"))
                        put(l, then: UInt8(ascii: "/"))
                        put(a, then: UInt8(ascii: "."))
                        return k
                    }
                }
            }
        }
    }
}
