/// Terminal column widths of text, so that table cells line up and lines fit the window: plan actions carry
/// Chinese (two columns a character), combining marks take none. A small table of the East Asian Wide and
/// Fullwidth ranges (Unicode UAX #11) is enough for what Tocsin prints; other scalars take one column.
enum TextWidth {
    /// Columns one scalar takes.
    static func width(of scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v == 0 || (v < 32) || (0x7F..<0xA0).contains(v) { return 0 }
        if (0x300..<0x370).contains(v) || (0x200B...0x200F).contains(v) || (0xFE00...0xFE0F).contains(v) {
            return 0
        }
        if (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x1F900...0x1F9FF).contains(v) || (0x20000...0x3FFFD).contains(v) {
            return 2
        }
        return 1
    }

    /// Columns `text` takes.
    static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + width(of: $1) }
    }

    /// `text` cut to at most `columns` columns; a cut ends in `~` so that it shows.
    static func truncate(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        if width(text) <= columns { return text }
        var out = String.UnicodeScalarView()
        var used = 0
        for s in text.unicodeScalars {
            let w = width(of: s)
            if used + w > columns - 1 { break }
            out.append(s)
            used += w
        }
        return String(out) + "~"
    }

    /// `text` cut or padded with spaces to exactly `columns` columns (right-aligned when `right`).
    static func fit(_ text: String, _ columns: Int, right: Bool = false) -> String {
        let cut = truncate(text, to: columns)
        let pad = String(repeating: " ", count: max(0, columns - width(cut)))
        return right ? pad + cut : cut + pad
    }

    /// Control characters from outside (a headline, an action) replaced by spaces, so that they cannot move
    /// the cursor or change colours.
    static func sanitized(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            out.append(s.value < 32 || (0x7F..<0xA0).contains(s.value) ? " " : s)
        }
        return String(out)
    }
}
