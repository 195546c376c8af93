import Foundation

/// An accepted event in a compact binary form that holds no references: what the ingest worker hands the classify
/// worker of its process for each event it journaled (`JournalTap`), so that classify need not read the event back
/// from the journal and decode its JSON again, and the two threads share no reference-counted object (counting
/// references to the same strings from two cores, and freeing on one what the other allocated, cost what the second
/// decode saves).
///
/// A record carries what `EventDecoder.decodeWithoutDetails` keeps: no `text`, no `device`. Names (source and area
/// paths, the type, value names) go as their bytes, and the reading decoder finds its own copies of them
/// (`EventDecoder.event(fromRecord:)`), so the two decoders need not number them alike.
///
/// Layout, little-endian: kind (1 byte), status (1), time in microseconds (8), latitude and longitude (8 each, the
/// `Double` bits), then id, source, area and type as a 2-byte length and the bytes (the area's length 0xFFFF when it
/// is the source), then the number of values (2) and each value's name (2-byte length, bytes) and number (8).
public enum EventRecord {
    static let sameAsSource: UInt16 = 0xFFFF

    /// Appends the record of `event` to `out`: written on the stack and appended at once (a field at a time into
    /// the array cost about 2,100 instructions per event on the ingest thread).
    public static func append(_ event: Event, to out: inout [UInt8]) {
        // (The closures below capture these and not `event`: capturing it copied the whole event.)
        let kind: UInt8 = event.kind == .sensor ? 0 : 1, status = statusCode(event.status)
        let micros = UInt64(bitPattern: event.time.micros)
        let lat = event.location.lat.bitPattern, lon = event.location.lon.bitPattern
        var id = event.id, source = event.source.rawValue, type = event.type
        var area = event.area == event.source ? nil : event.area.rawValue as String?
        let valueCount = event.values.count
        // The first two values (most events have one or two), the rest only when there are more.
        var name0 = "", name1 = "", value0 = 0.0, value1 = 0.0
        var more: [(key: String, value: Double)] = []
        if valueCount > 0 { (name0, value0) = event.values[0] }
        if valueCount > 1 { (name1, value1) = event.values[1] }
        if valueCount > 2 { more = Array(event.values[2...]) }
        id.withUTF8 { idBytes in
            source.withUTF8 { sourceBytes in
                type.withUTF8 { typeBytes in
                    var size = 2 + 24 + 2 + idBytes.count + 2 + sourceBytes.count + 2 + 2 + typeBytes.count + 2
                    if let a = area { size += a.utf8.count }
                    if valueCount > 0 { size += 2 + name0.utf8.count + 8 }
                    if valueCount > 1 { size += 2 + name1.utf8.count + 8 }
                    for v in more { size += 2 + v.key.utf8.count + 8 }
                    withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer in
                        var w = Writer(p: buffer.baseAddress!)
                        w.byte(kind)
                        w.byte(status)
                        w.word(micros)
                        w.word(lat)
                        w.word(lon)
                        w.field(idBytes)
                        w.field(sourceBytes)
                        if area == nil {
                            w.length(Int(sameAsSource))
                        } else {
                            area!.withUTF8 { w.field($0) }
                        }
                        w.field(typeBytes)
                        w.length(valueCount)
                        if valueCount > 0 {
                            name0.withUTF8 { w.field($0) }
                            w.word(value0.bitPattern)
                        }
                        if valueCount > 1 {
                            name1.withUTF8 { w.field($0) }
                            w.word(value1.bitPattern)
                        }
                        for var v in more {
                            v.key.withUTF8 { w.field($0) }
                            w.word(v.value.bitPattern)
                        }
                        precondition(w.i == size)
                        out.append(contentsOf: UnsafeRawBufferPointer(start: buffer.baseAddress, count: size))
                    }
                }
            }
        }
    }

    /// Writes a record's fields into memory sized for them.
    private struct Writer {
        let p: UnsafeMutableRawPointer
        var i = 0

        mutating func byte(_ b: UInt8) {
            p.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
            i += 1
        }

        mutating func word(_ w: UInt64) {
            p.storeBytes(of: w.littleEndian, toByteOffset: i, as: UInt64.self)
            i += 8
        }

        mutating func length(_ n: Int) {
            p.storeBytes(of: UInt16(truncatingIfNeeded: n).littleEndian, toByteOffset: i, as: UInt16.self)
            i += 2
        }

        mutating func field(_ bytes: UnsafeBufferPointer<UInt8>) {
            precondition(bytes.count < 0xFFFF, "record field too long")
            length(bytes.count)
            if let base = bytes.baseAddress { (p + i).copyMemory(from: base, byteCount: bytes.count) }
            i += bytes.count
        }
    }

    static func statusCode(_ s: Status) -> UInt8 {
        switch s {
        case .actual: 0
        case .exercise: 1
        case .test: 2
        }
    }

    static func status(_ code: UInt8) -> Status? {
        switch code {
        case 0: .actual
        case 1: .exercise
        case 2: .test
        default: nil
        }
    }

    /// Reads a record field by field; every read checks the bounds.
    struct Reader {
        let p: UnsafePointer<UInt8>
        let end: Int
        var i = 0

        mutating func byte() -> UInt8? {
            guard i < end else { return nil }
            defer { i += 1 }
            return p[i]
        }

        mutating func word() -> UInt64? {
            guard i + 8 <= end else { return nil }
            defer { i += 8 }
            return UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
        }

        mutating func length() -> Int? {
            guard i + 2 <= end else { return nil }
            defer { i += 2 }
            return Int(p[i]) | Int(p[i + 1]) << 8
        }

        /// The bytes of a field of `n` bytes: their start and count.
        mutating func bytes(_ n: Int) -> (UnsafePointer<UInt8>, Int)? {
            guard n >= 0, i + n <= end else { return nil }
            defer { i += n }
            return (p + i, n)
        }
    }
}

extension EventDecoder {
    /// The event whose record (`EventRecord.append`) is `record`, with this decoder's own strings: what
    /// `decodeWithoutDetails` returned for it. Nil when the record is cut short or names an area, type or value this
    /// decoder does not know (another catalog).
    public func event(fromRecord record: UnsafeRawBufferPointer) -> Event? {
        guard let base = record.baseAddress else { return nil }
        var r = EventRecord.Reader(p: base.assumingMemoryBound(to: UInt8.self), end: record.count)
        guard let kindCode = r.byte(), kindCode <= 1, let statusCode = r.byte(),
              let status = EventRecord.status(statusCode), let micros = r.word(), let lat = r.word(), let lon = r.word(),
              let idLength = r.length(), let id = r.bytes(idLength),
              let sourceLength = r.length(), let source = r.bytes(sourceLength),
              let sourcePath = lexicon.path(source.0, count: source.1),
              let areaLength = r.length()
        else { return nil }
        var area = sourcePath
        if areaLength != Int(EventRecord.sameAsSource) {
            guard let a = r.bytes(areaLength), let path = lexicon.path(a.0, count: a.1) else { return nil }
            area = path
        }
        guard let typeLength = r.length(), let type = r.bytes(typeLength),
              let entry = lexicon.type(type.0, count: type.1), let valueCount = r.length()
        else { return nil }
        let valueSpecs = entry.spec.values
        var values = EventValues()
        for _ in 0..<valueCount {
            guard let nameLength = r.length(), let name = r.bytes(nameLength), let bits = r.word(),
                  let spec = valueSpecs.first(where: { Self.bytes(name.0, name.1, equal: $0.name) })
            else { return nil }
            values.append(spec.name, Double(bitPattern: bits))
        }
        guard r.i == r.end else { return nil }
        return Event(
            id: String(decoding: UnsafeBufferPointer(start: id.0, count: id.1), as: UTF8.self), source: sourcePath,
            kind: kindCode == 0 ? .sensor : .report, type: entry.spec.name, time: Timestamp(micros: Int64(bitPattern: micros)),
            location: GeoPoint(lat: Double(bitPattern: lat), lon: Double(bitPattern: lon)), area: area, values: values,
            text: nil, status: status, device: nil)
    }

    private static func bytes(_ p: UnsafePointer<UInt8>, _ n: Int, equal text: String) -> Bool {
        var text = text
        return text.withUTF8 { u in u.count == n && (n == 0 || memcmp(u.baseAddress!, p, n) == 0) }
    }
}
