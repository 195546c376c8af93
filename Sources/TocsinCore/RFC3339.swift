// RFC 3339 times <-> Timestamp, with integer civil-date arithmetic (no Foundation, no calendars).

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
@inline(__always)
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = month > 2 ? month - 3 : month + 9
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
@inline(__always)
func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

@inline(__always)
func isLeapYear(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

@inline(__always)
func daysInMonth(year: Int, month: Int) -> Int {
    switch month {
    case 2: isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

extension Timestamp {
    /// Parses an RFC 3339 date-time: `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`.
    ///
    /// - The separator may be `T`, `t` or a space; the zone `Z`, `z` or a numeric offset (`-00:00` is UTC).
    /// - Fractional seconds (one or more digits) keep microseconds; further digits are truncated.
    /// - A leap second is accepted where one can occur, at 23:59:60 UTC on the last day of a month (RFC 3339
    ///   section 5.7; `2017-01-01T07:59:60+08:00` too), and read as `23:59:59.999999`: there is no table of the
    ///   seconds actually inserted. `:60` anywhere else is rejected.
    /// - Rejected: years outside 0001-9999, month 13, day 32, February 30 (and 29 outside leap years),
    ///   hour 24, minute 60, offsets beyond ±23:59, a missing zone, anything left over, and an instant outside
    ///   0001-01-01T00:00:00Z...9999-12-31T23:59:59.999999Z (`0001-01-01T00:00:00+01:00`), which could not be
    ///   written back in UTC.
    public init?(rfc3339 text: some StringProtocol) {
        let parsed: Int64? =
            text.utf8.withContiguousStorageIfAvailable { Timestamp.parseRFC3339($0) }
            ?? Array(text.utf8).withUnsafeBufferPointer { Timestamp.parseRFC3339($0) }
        guard let parsed else { return nil }
        self.init(micros: parsed)
    }

    /// A timestamp from civil date-time fields at a UTC offset; `nil` when a field is out of range
    /// (same ranges as the parser, second 0-59).
    public init?(
        year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0,
        offsetSeconds: Int = 0
    ) {
        guard (1...9999).contains(year), (1...12).contains(month),
            day >= 1, day <= daysInMonth(year: year, month: month),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second),
            (0...999_999).contains(microsecond), abs(offsetSeconds) < 86_400
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.init(micros: Int64(secs) * 1_000_000 + Int64(microsecond))
    }

    static func parseRFC3339(_ u: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = u.count
        guard n >= 20 else { return nil }  // "YYYY-MM-DDThh:mm:ssZ"
        @inline(__always) func digit(_ k: Int) -> Int? {
            let c = u[k] &- 0x30
            return c < 10 ? Int(c) : nil
        }
        @inline(__always) func two(_ k: Int) -> Int? {
            guard let a = digit(k), let b = digit(k + 1) else { return nil }
            return a * 10 + b
        }
        guard let y1 = two(0), let y2 = two(2), u[4] == 0x2D, let month = two(5), u[7] == 0x2D, let day = two(8)
        else { return nil }
        let sep = u[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        guard let hour = two(11), u[13] == 0x3A, let minute = two(14), u[16] == 0x3A, var second = two(17) else {
            return nil
        }
        let year = y1 * 100 + y2
        guard year >= 1, month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var k = 19
        var micros = 0
        if u[k] == 0x2E {  // '.'
            k += 1
            let fracStart = k
            var scale = 100_000
            while k < n, let d = digit(k) {
                micros += d * scale
                scale /= 10
                k += 1
            }
            guard k > fracStart else { return nil }
        }
        guard k < n else { return nil }
        var offset = 0
        switch u[k] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            k += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard n - k >= 6, let oh = two(k + 1), u[k + 3] == 0x3A, let om = two(k + 4), oh <= 23, om <= 59 else {
                return nil
            }
            offset = (oh * 60 + om) * 60
            if u[k] == UInt8(ascii: "-") { offset = -offset }
            k += 6
        default:
            return nil
        }
        guard k == n else { return nil }
        let leap = second == 60
        if leap {
            second = 59
            micros = 999_999
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        // A leap second ends a UTC day that is the last of its month: the next second is the 1st at midnight.
        if leap && ((secs + 1) % 86_400 != 0 || civilFromDays((secs + 1) / 86_400).day != 1) {
            return nil
        }
        let result = Int64(secs) * 1_000_000 + Int64(micros)
        guard result >= Timestamp.earliestMicros, result <= Timestamp.latestMicros else { return nil }
        return result
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: the instants `rfc3339` writes with a four-digit year.
    static let earliestMicros: Int64 = -62_135_596_800_000_000
    static let latestMicros: Int64 = 253_402_300_799_999_999

    /// The civil fields of this time at a UTC offset (seconds).
    public func civil(offsetSeconds: Int = 0) -> (
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int
    ) {
        let local = micros + Int64(offsetSeconds) * 1_000_000
        let (secs, us) = floorDivMod(local, 1_000_000)
        let (days, sod) = floorDivMod(secs, 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        return (y, m, d, Int(sod / 3600), Int(sod % 3600 / 60), Int(sod % 60), Int(us))
    }

    /// RFC 3339 in UTC with `Z`: `2026-07-01T08:30:00Z`, `2026-07-01T08:30:00.25Z` (a fraction only when
    /// nonzero, microseconds with trailing zeros trimmed).
    public var rfc3339: String { rfc3339(offsetSeconds: 0) }

    /// RFC 3339 at a UTC offset: `2026-07-01T16:30:00+08:00`. An offset of 0 is written `Z`. The offset is
    /// truncated to whole minutes.
    public func rfc3339(offsetSeconds: Int) -> String {
        format(offsetSeconds: offsetSeconds - offsetSeconds % 60, fraction: true, utcAsZ: true)
    }

    /// A CAP 1.2 `dateTime`: whole seconds and always a numeric zone, UTC as `-00:00` (never `Z`):
    /// `2026-07-01T16:30:00+08:00`, `2026-07-01T08:30:00-00:00`.
    public func capTime(offsetSeconds: Int = 0) -> String {
        format(offsetSeconds: offsetSeconds - offsetSeconds % 60, fraction: false, utcAsZ: false)
    }

    private func format(offsetSeconds: Int, fraction: Bool, utcAsZ: Bool) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxFormatted) { buffer in
            let n = format(into: buffer.baseAddress!, offsetSeconds: offsetSeconds, fraction: fraction, utcAsZ: utcAsZ)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<n]), as: UTF8.self)
        }
    }

    /// The longest text `format` writes: `-YYYYY-MM-DDThh:mm:ss.ffffff+hh:mm` with room to spare.
    static var maxFormatted: Int { 48 }

    /// Writes the text into `out` (at least `maxFormatted` bytes) and returns its length: digits into a buffer
    /// on the stack, where appending them to an array through a nested function took about 4,400 instructions
    /// per time (a feed task carries two).
    func format(into out: UnsafeMutablePointer<UInt8>, offsetSeconds: Int, fraction: Bool, utcAsZ: Bool) -> Int {
        let c = civil(offsetSeconds: offsetSeconds)
        var n = 0
        @inline(__always) func byte(_ b: UInt8) {
            out[n] = b
            n += 1
        }
        @inline(__always) func put(_ v: Int, _ width: Int) {
            var count = 1
            var t = v / 10
            while t > 0 {
                count += 1
                t /= 10
            }
            count = max(count, width)
            var x = v
            var k = n + count - 1
            while k >= n {
                out[k] = UInt8(0x30 + x % 10)
                x /= 10
                k -= 1
            }
            n += count
        }
        if c.year < 0 { byte(UInt8(ascii: "-")) }
        put(abs(c.year), 4)
        byte(UInt8(ascii: "-"))
        put(c.month, 2)
        byte(UInt8(ascii: "-"))
        put(c.day, 2)
        byte(UInt8(ascii: "T"))
        put(c.hour, 2)
        byte(UInt8(ascii: ":"))
        put(c.minute, 2)
        byte(UInt8(ascii: ":"))
        put(c.second, 2)
        if fraction && c.microsecond != 0 {
            byte(UInt8(ascii: "."))
            var us = c.microsecond
            var width = 6
            while us % 10 == 0 {
                us /= 10
                width -= 1
            }
            put(us, width)
        }
        if offsetSeconds == 0 && utcAsZ {
            byte(UInt8(ascii: "Z"))
        } else {
            byte(offsetSeconds > 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            let minutes = abs(offsetSeconds) / 60
            put(minutes / 60, 2)
            byte(UInt8(ascii: ":"))
            put(minutes % 60, 2)
        }
        return n
    }

    /// Appends `rfc3339` as a JSON string (it never needs an escape).
    func appendQuotedRFC3339(to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxFormatted + 2) { buffer in
            let base = buffer.baseAddress!
            base[0] = UInt8(ascii: "\"")
            let n = format(into: base + 1, offsetSeconds: 0, fraction: true, utcAsZ: true)
            base[n + 1] = UInt8(ascii: "\"")
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<(n + 2)]))
        }
    }
}

@inline(__always)
private func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    var q = a / b
    var r = a % b
    if r < 0 {
        q -= 1
        r += b
    }
    return (q, r)
}
