// OASIS CAP 1.2 rendering of warnings (PROTOCOL.md "CAP 1.2"), valid against the official `CAP-v1.2.xsd`.

/// Renders a `Warning` as one CAP 1.2 `<alert>` (the `cap` op).
///
/// Choices where the contract leaves room (documented in `docs/protocol.md`):
/// - `sent` and the `sent` of each reference: whole seconds at `offsetSeconds` (default +08:00, China Standard
///   Time), numeric zone, UTC as `-00:00`.
/// - `urgency`: `Immediate` for tiers I and II, `Expected` for III and IV, `Past` for a cancel (responsive action
///   is no longer required).
/// - `certainty`: `Observed`: every warning rests on sensor readings or eyewitness reports of the incident.
/// - `severity`: from the tier (Minor, Moderate, Severe, Extreme), also on a cancel.
/// - A cancel adds `<responseType>AllClear</responseType>`; an exercise adds a `<note>` saying it is a drill.
/// - `<incidents>` carries the incident id; `<parameter>`s carry tier, color, level, owner and escalated;
///   `<area>` has the area's name, the incident's circle, and a `tocsin:area` geocode with the area path.
/// - Text is XML-escaped; characters XML 1.0 cannot carry (C0 controls but tab, LF and CR) become U+FFFD.
/// - `sender` must not contain spaces or commas (CAP): any whitespace or comma in it is replaced by `_`.
public enum CAPRenderer {
    public static let namespace = "urn:oasis:names:tc:emergency:cap:1.2"
    public static let defaultSender = "tocsin@sz.gov.cn"
    /// China Standard Time, +08:00.
    public static let defaultOffsetSeconds = 28_800

    /// The CAP `<alert>` for `warning`. `references` are the warnings its `references` name (their `sent` times
    /// go into the triplets; ids without a warning given here are left out); `areaName` names the incident's area.
    public static func render(
        _ warning: Warning, references: [Warning], sender: String = defaultSender, areaName: String,
        offsetSeconds: Int = defaultOffsetSeconds
    ) -> String {
        let sender = sanitizedSender(sender)
        let byID = Dictionary(references.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let triplets = warning.references.compactMap { id -> String? in
            guard let r = byID[id] else { return nil }
            return "\(sender),\(sanitizedSender(r.id)),\(r.sent.capTime(offsetSeconds: offsetSeconds))"
        }

        var x = XMLText()
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        x.raw("<alert xmlns=\"\(namespace)\">\n")
        x.element("identifier", warning.id, indent: 1)
        x.element("sender", sender, indent: 1)
        x.element("sent", warning.sent.capTime(offsetSeconds: offsetSeconds), indent: 1)
        x.element("status", capStatus(warning.status), indent: 1)
        x.element("msgType", warning.msgType.capValue, indent: 1)
        x.element("scope", "Public", indent: 1)
        if warning.status == .exercise {
            x.element("note", "Exercise: drill traffic, not a real incident.", indent: 1)
        } else if warning.status == .test {
            x.element("note", "Test message: disregard.", indent: 1)
        }
        if !triplets.isEmpty { x.element("references", triplets.joined(separator: " "), indent: 1) }
        x.element("incidents", sanitizedSender(warning.incident), indent: 1)
        x.raw("  <info>\n")
        x.element("language", "en-US", indent: 2)
        for c in warning.capCategory { x.element("category", c.rawValue, indent: 2) }
        x.element("event", warning.event, indent: 2)
        if warning.msgType == .cancel { x.element("responseType", "AllClear", indent: 2) }
        x.element("urgency", urgency(warning), indent: 2)
        x.element("severity", warning.tier.capSeverity, indent: 2)
        x.element("certainty", "Observed", indent: 2)
        x.element("headline", warning.headline, indent: 2)
        x.element("description", description(warning, offsetSeconds: offsetSeconds), indent: 2)
        x.element("instruction", warning.instruction, indent: 2)
        for (name, value) in [
            ("tier", warning.tier.rawValue), ("color", warning.color), ("level", warning.level.rawValue),
            ("owner", warning.owner.rawValue), ("escalated", warning.escalated ? "true" : "false"),
        ] {
            x.raw("    <parameter>\n")
            x.element("valueName", name, indent: 3)
            x.element("value", value, indent: 3)
            x.raw("    </parameter>\n")
        }
        x.raw("    <area>\n")
        x.element("areaDesc", areaName.isEmpty ? warning.area.rawValue : areaName, indent: 3)
        x.element("circle", circle(warning.location), indent: 3)
        x.raw("      <geocode>\n")
        x.element("valueName", "tocsin:area", indent: 4)
        x.element("value", warning.area.rawValue, indent: 4)
        x.raw("      </geocode>\n")
        x.raw("    </area>\n")
        x.raw("  </info>\n")
        x.raw("</alert>\n")
        return x.text
    }

    /// `Actual`, `Exercise`, `Test`.
    public static func capStatus(_ status: Status) -> String {
        switch status {
        case .actual: "Actual"
        case .exercise: "Exercise"
        case .test: "Test"
        }
    }

    /// `Past` for a cancel; `Immediate` for I and II; `Expected` for III and IV.
    public static func urgency(_ warning: Warning) -> String {
        if warning.msgType == .cancel { return "Past" }
        switch warning.tier {
        case .i, .ii: return "Immediate"
        case .iii, .iv: return "Expected"
        }
    }

    /// `lat,lon radius_km`, e.g. `22.5277,114.025 0.5` (degrees to 6 decimals, km to 3).
    public static func circle(_ location: Warning.Location) -> String {
        "\(decimal(location.lat, places: 6)),\(decimal(location.lon, places: 6)) \(decimal(location.radiusM / 1000, places: 3))"
    }

    static func description(_ w: Warning, offsetSeconds: Int) -> String {
        let events = w.evidence.events == 1 ? "1 event" : "\(w.evidence.events) events"
        return "Incident \(w.incident) (\(w.event)), tier \(w.tier.rawValue) (\(w.color)): \(events) from "
            + "\(w.evidence.first.capTime(offsetSeconds: offsetSeconds)) to "
            + "\(w.evidence.last.capTime(offsetSeconds: offsetSeconds)). Owner: \(w.owner) (\(w.level.rawValue))"
            + (w.escalated ? ", escalated." : ".")
    }

    /// CAP forbids spaces and commas in `sender` and `identifier` (they separate `references` triplets).
    static func sanitizedSender(_ s: String) -> String {
        let cleaned = String(s.unicodeScalars.map { $0 == "," || $0.properties.isWhitespace ? "_" : Character($0) })
        return cleaned.isEmpty ? "_" : cleaned
    }

    /// A fixed-point decimal with at most `places` decimals, trailing zeros trimmed: `22.5277`, `0.05`, `-3`.
    static func decimal(_ x: Double, places: Int) -> String {
        guard x.isFinite else { return "0" }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((x * Double(scale)).rounded())
        if scaled == 0 { return "0" }
        let magnitude = scaled.magnitude
        let whole = magnitude / UInt64(scale)
        var fraction = String(magnitude % UInt64(scale))
        fraction = String(repeating: "0", count: places - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return (scaled < 0 ? "-" : "") + "\(whole)" + (fraction.isEmpty ? "" : ".\(fraction)")
    }
}

/// A small XML text builder with escaping.
struct XMLText {
    var text = ""

    mutating func raw(_ s: String) { text += s }

    mutating func element(_ name: String, _ content: String, indent: Int) {
        text += String(repeating: "  ", count: indent)
        text += "<\(name)>"
        Self.escape(content, into: &text)
        text += "</\(name)>\n"
    }

    /// Escapes `& < > " '`, keeps CR as `&#13;` (parsers would normalise a raw CR away), and replaces characters
    /// XML 1.0 cannot carry by U+FFFD.
    static func escape(_ s: String, into out: inout String) {
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }

    static func escaped(_ s: String) -> String {
        var out = ""
        escape(s, into: &out)
        return out
    }
}

extension CAPRenderer {
    /// `s` escaped for XML text and attribute values (also for the Atom feed and the dashboard's SVG).
    public static func escaped(_ s: String) -> String { XMLText.escaped(s) }
}
