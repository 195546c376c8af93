// Scenario times: parsing offsets and durations, and the stable clock and duration texts of reports.

import Foundation
import TocsinCore

enum DrillTime {
    /// A duration: `90s`, `5m`, `2h`, `1d`, compounds such as `1h30m` or `1h5m30s`, an optional leading `+`, or a
    /// plain number of seconds. `nil` when it is none of these or negative.
    static func parseDuration(_ text: String) -> Double? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("+") { s = s.dropFirst() }
        guard !s.isEmpty else { return nil }
        if let plain = Double(s) { return plain.isFinite && plain >= 0 ? plain : nil }
        var total = 0.0
        var number = ""
        var sawUnit = false
        for c in s {
            if c.isNumber || c == "." {
                number.append(c)
                continue
            }
            let scale: Double
            switch c {
            case "d": scale = 86_400
            case "h": scale = 3_600
            case "m": scale = 60
            case "s": scale = 1
            default: return nil
            }
            guard let v = Double(number), v.isFinite else { return nil }
            total += v * scale
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { return nil }
        return total
    }

    /// The UTC offset (seconds) an RFC 3339 text was written with: `Z` is 0, `+08:00` is 28800.
    static func zoneOffset(ofRFC3339 text: String) -> Int {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.count >= 6, !(t.hasSuffix("Z") || t.hasSuffix("z")) else { return 0 }
        let zone = Array(t.suffix(6))
        guard zone[0] == "+" || zone[0] == "-", zone[3] == ":",
            let h = Int(String(zone[1...2])), let m = Int(String(zone[4...5]))
        else { return 0 }
        let seconds = (h * 60 + m) * 60
        return zone[0] == "-" ? -seconds : seconds
    }

    /// A clock time `HH:MM` or `HH:MM:SS` (no zone).
    static func parseClock(_ text: String) -> (hour: Int, minute: Int, second: Int)? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }),
            let h = Int(parts[0]), let m = Int(parts[1]), h <= 23, m <= 59
        else { return nil }
        let s = parts.count == 3 ? Int(parts[2]) ?? 99 : 0
        guard s <= 59 else { return nil }
        return (h, m, s)
    }

    /// A duration in compact YAML style for messages: `4h`, `1h30m`, `45m`, `30s`, `0s`.
    static func compact(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total == 0 { return "0s" }
        let h = total / 3600, m = total % 3600 / 60, s = total % 60
        var out = ""
        if h > 0 { out += "\(h)h" }
        if m > 0 { out += "\(m)m" }
        if s > 0 { out += "\(s)s" }
        return out
    }

    /// A duration in words for reports: `45 s`, `12 min`, `6 min 30 s`, `1 h 5 min`, `0 s`. Whole seconds.
    static func span(_ seconds: Double) -> String {
        let total = Int(abs(seconds).rounded())
        if total == 0 { return "0 s" }
        let h = total / 3600, m = total % 3600 / 60, s = total % 60
        var parts: [String] = []
        if h > 0 { parts.append("\(h) h") }
        if m > 0 { parts.append("\(m) min") }
        if s > 0 { parts.append("\(s) s") }
        return parts.joined(separator: " ")
    }

    /// The elapsed scenario time `T+HH:MM:SS` (negative offsets as `T-...`).
    static func elapsed(_ offset: Double) -> String {
        let total = Int(abs(offset).rounded())
        let h = total / 3600, m = total % 3600 / 60, s = total % 60
        return "T\(offset < 0 ? "-" : "+")\(two(h)):\(two(m)):\(two(s))"
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

extension Scenario {
    /// The moment at `offset` seconds into the scenario.
    public func time(at offset: Double) -> Timestamp { start.adding(seconds: offset) }

    /// The offset of a moment, in seconds from the start.
    public func offset(of time: Timestamp) -> Double { time - start }

    /// The clock time at `offset` in the scenario's zone: `08:52`, or `08:52:30` when the seconds are not zero;
    /// ` (+1d)` is added on a later day than the start.
    public func clock(_ offset: Double, seconds: Bool = false) -> String {
        let c = time(at: offset).civil(offsetSeconds: utcOffset)
        let s = start.civil(offsetSeconds: utcOffset)
        var text = "\(DrillTime.two(c.hour)):\(DrillTime.two(c.minute))"
        if seconds || c.second != 0 { text += ":\(DrillTime.two(c.second))" }
        let days = daysBetween(s, c)
        if days != 0 { text += " (\(days > 0 ? "+" : "")\(days)d)" }
        return text
    }

    /// RFC 3339 at the scenario's zone: `2026-09-16T08:52:00+08:00`.
    public func rfc3339(_ offset: Double) -> String { time(at: offset).rfc3339(offsetSeconds: utcOffset) }

    private func daysBetween(
        _ a: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int),
        _ b: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int)
    ) -> Int {
        guard let ta = Timestamp(year: a.year, month: a.month, day: a.day),
            let tb = Timestamp(year: b.year, month: b.month, day: b.day)
        else { return 0 }
        return Int(((tb - ta) / 86_400).rounded())
    }
}
