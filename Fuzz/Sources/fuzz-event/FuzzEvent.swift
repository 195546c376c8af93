// libFuzzer harness: the ingest endpoint's event decoder (EventDecoder over the strict JSON parser and RFC 3339)
// against the shipped catalog and areas.
//
// Besides "no crash, no hang, no leak" it checks that an accepted event obeys the contract's limits and
// round-trips through the canonical encoder, that a rejection always says why, that the byte, String and parsed
// object entry points agree, and that any finite JSON document the parser accepts round-trips through the writer.

import FuzzSupport
import TocsinCore

private let config = FuzzSupport.shipped
private let decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: 300)
/// A fixed "now", so that a run is reproducible.
private let now = Timestamp(micros: 1_782_896_400_000_000)  // 2026-07-01T09:00:00Z

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    let result = decoder.decode(raw, now: now)
    switch result {
    case .success(let event): checkAccepted(event)
    case .failure(let rejection): checkRejected(rejection)
    }
    if let text = FuzzSupport.utf8Text(data, size), decoder.decode(text, now: now) != result {
        FuzzSupport.violated("the String and byte entry points disagree")
    }
    // The byte entry point may take a fast path for the common case; it must agree with the tree-based one.
    if size <= EventDecoder.maxEventBytes, let value = try? JSONValue.parse(raw), case .object(let object) = value,
        decoder.decode(object: object, now: now) != result
    {
        FuzzSupport.violated("decode(bytes) and decode(object:) disagree: \(result)")
    }
    if size <= EventDecoder.maxEventBytes, let value = try? JSONValue.parse(raw), FuzzSupport.allNumbersFinite(value) {
        let written = value.serialized()
        guard let again = try? JSONValue.parse(written), again == value else {
            FuzzSupport.violated("JSON does not round-trip: \(String(decoding: written, as: UTF8.self))")
        }
    }
    return 0
}

private func checkAccepted(_ e: Event) {
    let idBytes = e.id.utf8.count
    if idBytes == 0 || idBytes > EventDecoder.maxIdBytes { FuzzSupport.violated("accepted id of \(idBytes) bytes") }
    if e.id.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
        FuzzSupport.violated("accepted id with a control character")
    }
    guard config.areas.contains(e.source), config.areas.contains(e.area), e.area.isWithin(e.source) else {
        FuzzSupport.violated("accepted areas \(e.source) / \(e.area)")
    }
    guard let spec = config.catalog.types[e.type], spec.kind == e.kind else {
        FuzzSupport.violated("accepted type \(e.type) of kind \(e.kind)")
    }
    for v in spec.values where !v.optional && e.values[v.name] == nil {
        FuzzSupport.violated("accepted without required value \(v.name)")
    }
    for (name, x) in e.values where spec.value(named: name) == nil || !x.isFinite {
        FuzzSupport.violated("accepted value \(name) = \(x)")
    }
    let p = e.location
    guard p.lat.isFinite, p.lon.isFinite, abs(p.lat) <= 90, abs(p.lon) <= 180 else {
        FuzzSupport.violated("accepted location \(p)")
    }
    if e.time - now > 300 { FuzzSupport.violated("accepted a time more than 5 min ahead") }
    if (e.text?.utf8.count ?? 0) > EventDecoder.maxTextBytes || (e.device?.utf8.count ?? 0) > EventDecoder.maxDeviceBytes {
        FuzzSupport.violated("accepted an over-long text or device")
    }
    let encoded = EventEncoder.encode(e)
    guard case .success(let again) = decoder.decode(encoded, now: now), again == e,
        EventEncoder.encode(again) == encoded
    else {
        FuzzSupport.violated("accepted event does not round-trip: \(String(decoding: encoded, as: UTF8.self))")
    }
}

private func checkRejected(_ r: EventRejection) {
    if r.problems.isEmpty { FuzzSupport.violated("rejection without a problem") }
    if r.problems.contains(where: { $0.message.isEmpty }) { FuzzSupport.violated("problem without a message: \(r)") }
    if let id = r.id, id.isEmpty || id.utf8.count > EventDecoder.maxIdBytes {
        FuzzSupport.violated("rejection carries an invalid id")
    }
    if r.id != nil && r.problems.contains(where: { $0.path == "id" || $0.path.isEmpty }) {
        FuzzSupport.violated("rejection carries an id although the id or the frame is bad: \(r)")
    }
}
